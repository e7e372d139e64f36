"""Microversions: the version a request asked for, and comparisons against it.

The negotiation itself (headers, ``latest``, 406) happens once per request in
:mod:`kumo.api.openstack.app`; it stores the result under ``ENVIRON_KEY``.
Handlers ask ``at_least(req, "2.47")`` to switch behaviour.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import webob

from kumo.api.openstack import versions

ENVIRON_KEY = "kumo.api_version"
_FORMAT = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


@functools.total_ordering
class APIVersion:
    """A ``major.minor`` microversion, comparable with others and with strings."""

    __slots__ = ("major", "minor")

    def __init__(self, text: str) -> None:
        found = _FORMAT.match(text.strip())
        if found is None:
            raise ValueError(f"Invalid microversion {text!r}")
        self.major = int(found.group(1))
        self.minor = int(found.group(2))

    def _key(self, other: Any) -> tuple[int, int]:
        version = other if isinstance(other, APIVersion) else APIVersion(str(other))
        return (version.major, version.minor)

    def __eq__(self, other: object) -> bool:
        return (self.major, self.minor) == self._key(other)

    def __lt__(self, other: Any) -> bool:
        return (self.major, self.minor) < self._key(other)

    def __hash__(self) -> int:
        return hash((self.major, self.minor))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def __repr__(self) -> str:
        return f"APIVersion('{self}')"


MIN = APIVersion(versions.MIN_VERSION)
MAX = APIVersion(versions.MAX_VERSION)


def of(req: webob.Request) -> APIVersion:
    """The microversion ``req`` was negotiated at (2.1 when nothing was negotiated)."""
    return req.environ.get(ENVIRON_KEY) or MIN


def at_least(req: webob.Request, version: str) -> bool:
    """True when ``req`` asked for ``version`` or later."""
    return of(req) >= version
