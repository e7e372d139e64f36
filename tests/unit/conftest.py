"""Unit-test fixtures: the fake:// bus and a fresh SQLite database, no daemons."""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import oslo_messaging as messaging
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
def rpc_servers(fake_bus: None) -> Iterator[Callable[[messaging.Target, list[Any]], None]]:
    """Serve endpoints on the fake bus for one test: ``serve(target, endpoints)``.

    Every server started is stopped, then drained, at the end of the test.
    """
    servers: list[messaging.MessageHandlingServer] = []

    def serve(target: messaging.Target, endpoints: list[Any]) -> None:
        server = rpc.get_server(target, endpoints)
        server.start()
        servers.append(server)

    yield serve
    for server in servers:
        server.stop()
    for server in servers:
        server.wait()


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


@pytest.fixture
def conf(tmp_path: pathlib.Path) -> pathlib.Path:
    """A kumo-manage config file on a fresh, synced SQLite database."""
    from tests.unit.manage_cli import synced_conf

    return synced_conf(tmp_path)
