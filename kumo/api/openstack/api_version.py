"""Microversions: the version a request asked for, and comparisons against it.

:func:`negotiate` reads the request headers (``latest``, 400, 406); the app calls
it once per resource request and stores the result under ``ENVIRON_KEY``.
Handlers ask ``at_least(req, "2.47")`` to switch behaviour.
"""

from __future__ import annotations

import re
from typing import Any

import webob

from kumo import exception
from kumo.api.openstack import versions

ENVIRON_KEY = "kumo.api_version"
_FORMAT = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


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
        if isinstance(other, APIVersion):
            return (other.major, other.minor)
        return _parsed(str(other))

    def __eq__(self, other: object) -> bool:
        return (self.major, self.minor) == self._key(other)

    def __lt__(self, other: Any) -> bool:
        return (self.major, self.minor) < self._key(other)

    # All four spelled out (not functools.total_ordering's): handlers compare a
    # dozen times a request (``at_least``), and the derived ones cost two calls.
    def __ge__(self, other: Any) -> bool:
        return (self.major, self.minor) >= self._key(other)

    def __le__(self, other: Any) -> bool:
        return (self.major, self.minor) <= self._key(other)

    def __gt__(self, other: Any) -> bool:
        return (self.major, self.minor) > self._key(other)

    def __hash__(self) -> int:
        return hash((self.major, self.minor))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def __repr__(self) -> str:
        return f"APIVersion('{self}')"


#: Version texts compared against (handlers' literals such as "2.47") -> (major, minor):
#: parsed once, not at every comparison. Bounded: emptied when full.
_PARSED: dict[str, tuple[int, int]] = {}
_MAX_PARSED = 1024


def _parsed(text: str) -> tuple[int, int]:
    """``text`` as (major, minor); ValueError as APIVersion(text) when it is not X.Y."""
    key = _PARSED.get(text)
    if key is None:
        version = APIVersion(text)
        key = (version.major, version.minor)
        if len(_PARSED) >= _MAX_PARSED:
            _PARSED.clear()
        _PARSED[text] = key
    return key


MIN = APIVersion(versions.MIN_VERSION)
MAX = APIVersion(versions.MAX_VERSION)


# The request headers that carry a microversion: the standard one (microversion
# 2.27's, "compute X.Y" among other services') and the legacy Nova one ("X.Y").
HEADER = "OpenStack-API-Version"
LEGACY_HEADER = "X-OpenStack-Nova-API-Version"
SERVICE = "compute"


class InvalidAPIVersion(exception.Invalid):
    msg_fmt = ("API Version String %(version)s is of invalid format. Must be of format "
               "MajorNum.MinorNum.")


class VersionNotSupported(exception.KumoException):
    code = 406
    msg_fmt = ("Version %(version)s is not supported by the API. Minimum is %(min_version)s "
               "and maximum is %(max_version)s.")


def _requested(headers: Any) -> str | None:
    """The version text the client asked for, or None when it asked for none."""
    standard = headers.get(HEADER)
    if standard:
        # "compute 2.53" or "compute 2.53, placement 1.10": only ours counts.
        for part in standard.split(","):
            words = part.split()
            if len(words) == 2 and words[0].lower() == SERVICE:
                return words[1]
            if len(words) == 1 and words[0].lower() == SERVICE:
                return ""
        # The standard header for other services only: fall back to the legacy one.
    legacy = headers.get(LEGACY_HEADER)
    return legacy.strip() if legacy is not None else None


def negotiate(headers: Any) -> APIVersion:
    """The microversion a request with ``headers`` is served at.

    No header means the minimum (2.1); ``latest`` means the maximum. Raises
    InvalidAPIVersion (400) for text that is not ``X.Y`` and VersionNotSupported
    (406) for a version outside [MIN, MAX].
    """
    text = _requested(headers)
    if text is None:
        return MIN
    if text.lower() == "latest":
        return MAX
    try:
        version = APIVersion(text)
    except ValueError:
        raise InvalidAPIVersion(version=text) from None
    if not MIN <= version <= MAX:
        raise VersionNotSupported(version=str(version), min_version=str(MIN),
                                  max_version=str(MAX))
    return version


def response_headers(version: APIVersion) -> dict[str, str]:
    """The headers every microversioned response carries: the version served, and a
    Vary so that caches keep one answer per requested version."""
    return {HEADER: f"{SERVICE} {version}", LEGACY_HEADER: str(version),
            "Vary": f"{HEADER}, {LEGACY_HEADER}"}


def of(req: webob.Request) -> APIVersion:
    """The microversion ``req`` was negotiated at (2.1 when nothing was negotiated)."""
    return req.environ.get(ENVIRON_KEY) or MIN


def at_least(req: webob.Request, version: str) -> bool:
    """True when ``req`` asked for ``version`` or later."""
    return of(req) >= version
