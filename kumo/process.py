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


# Which worker of a multi-process daemon this process is (kumo.launcher): None
# when the daemon runs as one process, 0..workers-1 in a forked worker.
_worker: int | None = None


def set_worker(index: int | None) -> None:
    """Record this process's worker slot (set by the launcher right after a fork)."""
    global _worker
    _worker = index


def worker() -> int | None:
    """This process's worker slot, or None in a daemon that runs as one process."""
    return _worker


def reports_for_service() -> bool:
    """True in the one process that speaks for the whole service.

    The service row's heartbeat and the periodic tasks are the service's, not
    a worker's: N workers beating the same row would only cost N times the
    conductor calls, and N periodic reconciliations would race each other.
    Worker 0 does it (a respawned worker 0 takes it up again).
    """
    return _worker in (None, 0)
