"""Fixtures for kumo.db tests: a database kumo-conductor may open, on SQLite and PostgreSQL.

The ``postgresql`` parameter runs against KUMO_TEST_PG_URL (its public schema
is dropped and re-created before each test); without that variable it is
skipped, or fails when KUMO_REQUIRE_PG=1 says a PostgreSQL run is mandatory.
"""

from __future__ import annotations

import os
import pathlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from kumo import process
from kumo.conf import CONF
from kumo.db import api, migration

PG_URL_ENV = "KUMO_TEST_PG_URL"
REQUIRE_PG_ENV = "KUMO_REQUIRE_PG"


@pytest.fixture
def as_binary(monkeypatch: pytest.MonkeyPatch) -> Callable[[str | None], None]:
    """Make this process a given kumo binary (or none) until the test ends."""

    def set_binary(name: str | None) -> None:
        monkeypatch.setattr(process, "_binary", name)

    return set_binary


@pytest.fixture
def at_once() -> Callable[[Callable[[Any], None], Sequence[Any]], None]:
    """``at_once(work, args)``: run ``work(arg)`` for every arg, each on its own thread,
    all released together by a barrier; returns when every thread has ended."""

    def run(work: Callable[[Any], None], args: Sequence[Any]) -> None:
        barrier = threading.Barrier(len(args))

        def start(arg: Any) -> None:
            barrier.wait()
            work(arg)

        threads = [threading.Thread(target=start, args=(arg,)) for arg in args]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    return run


@pytest.fixture
def db_config() -> Iterator[Callable[..., None]]:
    """Override [database] options for one test, e.g. ``db_config(connection=url)``.

    The engine is reset on every override and at the end, so the next
    get_engine() sees the options in force.
    """
    overridden: set[str] = set()

    def override(**values: object) -> None:
        api.reset_engine()
        for name, value in values.items():
            CONF.set_override(name, value, group="database")
            overridden.add(name)

    api.reset_engine()
    yield override
    api.reset_engine()
    for name in overridden:
        CONF.clear_override(name, group="database")


def _postgresql_url() -> str:
    url = os.environ.get(PG_URL_ENV)
    if url:
        return url
    if os.environ.get(REQUIRE_PG_ENV) == "1":
        pytest.fail(f"{REQUIRE_PG_ENV}=1 but {PG_URL_ENV} is not set")
    pytest.skip(f"{PG_URL_ENV} is not set")


def _reset_postgresql(url: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def empty_db(
    request: pytest.FixtureRequest,
    tmp_path: pathlib.Path,
    as_binary: Callable[[str | None], None],
    db_config: Callable[..., None],
) -> str:
    """An empty database this process may open as kumo-conductor; returns its URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/kumo.sqlite"
    else:
        url = _postgresql_url()
        _reset_postgresql(url)
    as_binary("kumo-conductor")
    db_config(connection=url)
    return url


@pytest.fixture
def db(empty_db: str) -> str:
    """Like empty_db, migrated to the newest schema."""
    migration.db_sync()
    return empty_db
