"""The metadata tree: walking a path through nested dicts and rendering a node as text.

The EC2 tree is served the way every EC2-style client expects: a dict lists its
keys, one a line, with a ``/`` after keys that have children (or, for a child
with a ``_name``, that name instead — how ``public-keys/`` shows ``0=mykey``);
a list is its items, one a line; anything else is its text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

LATEST = "latest"


class PathNotFound(LookupError):
    """No node at the path asked for (the service answers 404)."""


class InvalidVersion(LookupError):
    """A version that is neither one of the tree's versions nor ``latest``."""


def resolve_version(version: str, versions: Sequence[str]) -> str:
    """``version`` itself, or the newest of ``versions`` (oldest first) for ``latest``.

    :raises InvalidVersion:
    """
    if version == LATEST:
        return versions[-1]
    if version not in versions:
        raise InvalidVersion(version)
    return version


def find(data: Any, tokens: Sequence[str]) -> Any:
    """The node of ``data`` at ``tokens``; raises PathNotFound."""
    for token in tokens:
        if not isinstance(data, dict) or token not in data or token == "_name":
            raise PathNotFound("/".join(tokens))
        data = data[token]
    return data


def render(data: Any) -> str:
    """A node as the text the service answers with."""
    if isinstance(data, dict):
        lines = []
        for key in sorted(data):
            if key == "_name":
                continue
            child = data[key]
            if isinstance(child, dict):
                lines.append(str(child["_name"]) if "_name" in child else f"{key}/")
            else:
                lines.append(key)
        return "\n".join(lines)
    if isinstance(data, (list, tuple)):
        return "\n".join(str(item) for item in data)
    if data is None:
        return ""
    return str(data)
