"""Which kumo binary this process is; consulted by the database access guard."""

from __future__ import annotations

_binary: str | None = None


def set_binary(name: str) -> None:
    """Record the console script this process runs as (``kumo-conductor``, …)."""
    global _binary
    _binary = name


def binary() -> str | None:
    """The binary recorded by :func:`set_binary`, or None before any was."""
    return _binary
