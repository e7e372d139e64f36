"""A real kumo-conductor endpoint on the fake bus over an in-memory database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import oslo_messaging as messaging
import pytest

from kumo import context
from kumo.conductor import manager, rpcapi


@pytest.fixture
def conductor(rpc_servers: Callable[[messaging.Target, list[Any]], None],
              conductor_db: None) -> rpcapi.ConductorAPI:
    """The conductor's RPC server, running; a client of it."""
    rpc_servers(messaging.Target(topic=rpcapi.TOPIC, server="conductor-host"),
                [manager.ConductorManager(host="conductor-host")])
    return rpcapi.ConductorAPI(timeout=10)


@pytest.fixture
def ctxt() -> context.RequestContext:
    return context.RequestContext(request_id="req-conductor", project_id="p1", user_id="u1")
