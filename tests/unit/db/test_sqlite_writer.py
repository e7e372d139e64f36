"""kumo.db.sqlite_writer: one writer at a time per process, released however the
transaction ends."""

from __future__ import annotations

import pathlib
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
