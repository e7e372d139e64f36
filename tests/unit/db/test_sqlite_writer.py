"""kumo.db.sqlite_writer: one writer at a time per process and across processes,
released however the transaction ends."""

from __future__ import annotations

import fcntl
import os
import pathlib
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from kumo.db import api, migration, models, sqlite_writer

_classes = models.QuotaClass.__table__


@pytest.fixture(autouse=True)
def sqlite_db(as_binary: Callable[[str | None], None], db_config: Callable[..., None],
              tmp_path: pathlib.Path) -> None:
    as_binary("kumo-conductor")
    db_config(connection=f"sqlite:///{tmp_path}/kumo.sqlite", sqlite_busy_timeout=5000)
    migration.db_sync()


def _holders() -> int:
    """How many pooled connections hold the write lock now."""
    pool = api.get_engine().pool
    records = list(pool._pool.queue)  # type: ignore[attr-defined]
    return sum(1 for record in records if record.info.get(sqlite_writer._HOLDS))


def _write(session: Any, name: str) -> None:
    session.execute(sa.insert(_classes).values(class_name=name, resource="cores",
                                               hard_limit=1))


def test_the_lock_is_given_back_on_commit_rollback_and_error() -> None:
    with api.session() as session:
        _write(session, "a")
    with pytest.raises(RuntimeError), api.session() as session:
        _write(session, "b")
        raise RuntimeError("boom")
    with api.session() as session:  # a read-only transaction takes nothing
        session.execute(sa.select(_classes)).all()
    assert _holders() == 0
    # Another thread can write at once (a lock left held would block it).
    done = threading.Event()

    def other() -> None:
        with api.session() as session:
            _write(session, "c")
        done.set()

    threading.Thread(target=other).start()
    assert done.wait(5)
    with api.session() as session:
        names = {row.class_name for row in session.execute(sa.select(_classes))}
    assert {"a", "c"} <= names and "b" not in names


def test_concurrent_writers_all_commit(at_once: Callable[..., None]) -> None:
    def work(i: int) -> None:
        for j in range(5):
            with api.session() as session:
                _write(session, f"w{i}-{j}")
                # A read in the middle of the transaction sees its own write.
                assert session.execute(sa.select(sa.func.count()).select_from(_classes)
                                       .where(_classes.c.class_name == f"w{i}-{j}")
                                       ).scalar() == 1

    at_once(work, list(range(12)))
    with api.session() as session:
        count = session.execute(sa.select(sa.func.count()).select_from(_classes).where(
            _classes.c.class_name.like("w%"))).scalar()
    assert count == 60


def test_a_writer_waits_for_the_one_holding_the_lock() -> None:
    inside, release = threading.Event(), threading.Event()
    order: list[str] = []

    def first() -> None:
        with api.session() as session:
            _write(session, "first")
            inside.set()
            release.wait(5)
            order.append("first commits")

    thread = threading.Thread(target=first)
    thread.start()
    assert inside.wait(5)
    second = threading.Thread(target=lambda: _second(order))
    second.start()
    second.join(0.3)
    assert second.is_alive()  # queued behind the first writer, not failed
    release.set()
    thread.join(5)
    second.join(5)
    assert order == ["first commits", "second wrote"]


def _second(order: list[str]) -> None:
    with api.session() as session:
        _write(session, "second")
        order.append("second wrote")


# -- across processes (several kumo-conductor workers) ----------------------------------

# Run by each writer process: THREADS threads, each committing ROWS transactions of an
# INSERT and a read; prints the errors it met (none expected) as its last line.
_WRITER = """
import sys, threading
import sqlalchemy as sa
from kumo import process
from kumo.conf import CONF
from kumo.db import api, models

db, tag, threads, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
process.set_binary("kumo-conductor")
CONF([], project="kumo")
CONF.set_override("connection", "sqlite:///" + db, group="database")
table = models.QuotaClass.__table__
errors = []

def work(i):
    for j in range(rows):
        try:
            with api.session() as session:
                session.execute(sa.insert(table).values(
                    class_name=f"{tag}-{i}-{j}", resource="cores", hard_limit=1))
                session.execute(sa.select(sa.func.count()).select_from(table)).scalar()
        except Exception as error:
            errors.append(repr(error))

workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
print(len(errors), errors[:3])
"""


def _spawn_writer(db: str, tag: str, threads: int, rows: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", _WRITER, db, tag, str(threads), str(rows)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _count(prefix: str) -> int:
    with api.session() as session:
        return session.execute(sa.select(sa.func.count()).select_from(_classes).where(
            _classes.c.class_name.like(f"{prefix}%"))).scalar()


def test_two_processes_writing_at_once_lose_nothing(tmp_path: pathlib.Path) -> None:
    # Two conductor workers, 8 threads each, 25 transactions per thread, against one
    # SQLite file: every row commits, and neither process meets "database is locked".
    db = str(tmp_path / "kumo.sqlite")
    writers = [_spawn_writer(db, tag, 8, 25) for tag in ("p1", "p2")]
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        assert out.strip().splitlines()[-1] == "0 []", out + err
    assert _count("p1-") == 200 and _count("p2-") == 200
    assert os.path.exists(sqlite_writer.lock_path(db))


def test_a_writer_in_another_process_waits_for_the_lock_file(tmp_path: pathlib.Path) -> None:
    db = str(tmp_path / "kumo.sqlite")
    fd = os.open(sqlite_writer.lock_path(db), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as another process's writer would hold it
        writer = _spawn_writer(db, "late", 1, 1)
        with pytest.raises(subprocess.TimeoutExpired):
            writer.wait(timeout=3)  # started, reached its INSERT, and queued
        assert _count("late-") == 0
        fcntl.flock(fd, fcntl.LOCK_UN)
        out, err = writer.communicate(timeout=60)
    finally:
        os.close(fd)
    assert out.strip().splitlines()[-1] == "0 []", out + err
    assert _count("late-") == 1


def test_a_lock_file_that_cannot_be_opened_gives_the_process_lock_back(
        tmp_path: pathlib.Path) -> None:
    lock = sqlite_writer.WriteLock(str(tmp_path / "missing" / "kumo.sqlite.write-lock"))
    with pytest.raises(FileNotFoundError):
        lock.acquire(timeout=1)
    # Another thread is not kept waiting behind the failed attempt.
    lock.path = sqlite_writer.lock_path(str(tmp_path / "kumo.sqlite"))
    taken: list[bool] = []
    thread = threading.Thread(target=lambda: taken.append(lock.acquire(timeout=1)))
    thread.start()
    thread.join(5)
    assert taken == [True]
