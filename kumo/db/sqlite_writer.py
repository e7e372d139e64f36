"""One SQLite writer at a time, queued in Python and on a lock file instead of in SQLite.

SQLite lets one transaction write at a time. A connection that finds the
write lock taken waits in SQLite's busy handler, which polls with sleeps of
1, 2, 5, 10 … up to 100 ms: with a dozen conductor threads writing at once
(a burst of boots) most of them sleep while the lock is already free again,
and the database sits idle between writers. Here each write transaction
first takes a process-wide lock, held from its first INSERT/UPDATE/DELETE to
its commit or rollback, so the next writer starts the moment the previous one
ends. Writers in other processes (kumo-manage) still meet SQLite's own lock.

Across processes (several kumo-conductor workers, kumo.launcher; kumo-manage)
the same writer also holds an ``flock`` on ``<database>.write-lock`` while it
writes, so the writers of all processes queue on that file instead of in
SQLite's busy handler: one thread per process waits for the file lock (the
others wait on the Python lock behind it), polling it every 0.2 to 2 ms. The
file is opened once per process (a forked child opens its own: flock locks
belong to the open file, which a fork would share with the parent).

A writer waits at most the busy timeout for these locks; past it, it goes on
and leaves the wait to SQLite, as it would have without them.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")
_HOLDS = "kumo_sqlite_write_lock"

# Polling of the lock file while another process holds it (seconds).
_POLL_FIRST, _POLL_MAX = 0.0002, 0.002


class WriteLock:
    """The process's writer lock, plus the lock file when ``path`` is given.

    Re-entrant per thread like the RLock it wraps; the file lock is taken when
    the outermost holder takes the lock and given back when it releases it.
    """

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid: int | None = None

    def acquire(self, timeout: float) -> bool:
        """Take the lock within ``timeout`` seconds; False (nothing held) past it."""
        deadline = time.monotonic() + timeout
        if not self._lock.acquire(timeout=timeout):
            return False
        try:
            locked = self._depth > 0 or self.path is None or self._lock_file(deadline)
        except BaseException:  # the lock file cannot be opened, an interrupt
            self._lock.release()
            raise
        if not locked:
            self._lock.release()
            return False
        self._depth += 1
        return True

    def release(self) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()

    def _lock_file(self, deadline: float) -> bool:
        fd = self._file()
        delay = _POLL_FIRST
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, _POLL_MAX)

    def _file(self) -> int:
        if self._pid != os.getpid():
            assert self.path is not None
            if self._fd is not None:
                # The parent's descriptor, inherited: closing this copy leaves any
                # lock the parent holds on it alone (the parent's copy keeps it).
                os.close(self._fd)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        assert self._fd is not None
        return self._fd


def lock_path(database: str) -> str:
    """The lock file of SQLite database file ``database``."""
    return os.path.abspath(database) + ".write-lock"


def install(engine: Engine, timeout_s: float, path: str | None = None) -> None:
    """Serialize the write transactions of ``engine``'s connections (file SQLite);
    across processes too when ``path`` (see :func:`lock_path`) is given."""
    lock = WriteLock(path)

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
