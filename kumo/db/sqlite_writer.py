"""One SQLite writer at a time per process, queued in Python instead of in SQLite.

SQLite lets one transaction write at a time. A connection that finds the
write lock taken waits in SQLite's busy handler, which polls with sleeps of
1, 2, 5, 10 … up to 100 ms: with a dozen conductor threads writing at once
(a burst of boots) most of them sleep while the lock is already free again,
and the database sits idle between writers. Here each write transaction
first takes a process-wide lock, held from its first INSERT/UPDATE/DELETE to
its commit or rollback, so the next writer starts the moment the previous one
ends. Writers in other processes (kumo-manage) still meet SQLite's own lock.

A writer waits at most the busy timeout for the Python lock; past it, it
goes on and leaves the wait to SQLite, as it would have without this lock.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")
_HOLDS = "kumo_sqlite_write_lock"


def install(engine: Engine, timeout_s: float) -> None:
    """Serialize the write transactions of ``engine``'s connections (file SQLite)."""
    lock = threading.RLock()

    def _release(dbapi_connection: Any, info: dict[str, Any]) -> None:
        if info.pop(_HOLDS, False):
            lock.release()

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
        info = conn.connection.info if conn.connection is not None else None
        if info is None or info.get(_HOLDS) is not None:
            return
        if statement.lstrip()[:6].upper() in _WRITES:
            # False: waited too long, SQLite's busy handler takes over (nothing to release).
            info[_HOLDS] = lock.acquire(timeout=timeout_s)

    # These events fire just before the DBAPI's COMMIT/ROLLBACK: the next writer may
    # still meet SQLite's lock for that moment, and waits for it in the busy handler.
    @event.listens_for(engine, "commit")
    def _commit(conn: Any) -> None:
        if conn.connection is not None:
            _release(conn.connection, conn.connection.info)

    @event.listens_for(engine, "rollback")
    def _rollback(conn: Any) -> None:
        if conn.connection is not None:
            _release(conn.connection, conn.connection.info)

    # A connection given back or dropped without a commit/rollback event (an error
    # while it was checked out) must not keep the lock.
    @event.listens_for(engine.pool, "checkin")
    def _checkin(dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            _release(dbapi_connection, record.info)
