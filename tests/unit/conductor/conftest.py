"""A real kumo-conductor endpoint on the fake bus over an in-memory database."""

from __future__ import annotations

from collections.abc import Iterator

import oslo_messaging as messaging
import pytest

from kumo import context, rpc
from kumo.conductor import manager, rpcapi


@pytest.fixture
def conductor(fake_bus: None, conductor_db: None) -> Iterator[rpcapi.ConductorAPI]:
    """The conductor's RPC server, running; yields a client of it."""
    server = rpc.get_server(messaging.Target(topic=rpcapi.TOPIC, server="conductor-host"),
                            [manager.ConductorManager(host="conductor-host")])
    server.start()
    yield rpcapi.ConductorAPI(timeout=10)
    server.stop()
    server.wait()


@pytest.fixture
def ctxt() -> context.RequestContext:
    return context.RequestContext(request_id="req-conductor", project_id="p1", user_id="u1")
