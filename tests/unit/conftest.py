"""Unit-test fixtures: the fake:// bus and an in-memory database, no daemons."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from kumo import objects, process, rpc
from kumo.conf import CONF

objects.register_all()


@pytest.fixture
def fake_bus() -> Iterator[None]:
    """oslo.messaging's in-process fake transport, fresh for one test."""
    rpc.cleanup()
    rpc.init(url="fake://")
    yield
    rpc.cleanup()


@pytest.fixture
def conductor_db(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process may open the database (as kumo-conductor); a fresh SQLite file.

    A file, not ``sqlite://``: an in-memory database is one connection shared
    by every thread, and the conductor serves RPC calls from many threads.
    """
    from kumo.db import api, migration

    monkeypatch.setattr(process, "_binary", "kumo-conductor")
    api.reset_engine()
    CONF.set_override("connection", f"sqlite:///{tmp_path}/kumo.sqlite", group="database")
    migration.db_sync()
    yield
    api.reset_engine()
    CONF.clear_override("connection", group="database")
