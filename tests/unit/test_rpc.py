"""The bus: versioning, caps, timeouts, remote errors and request ids over fake://."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import oslo_messaging as messaging
import pytest

from kumo import context, exception, rpc
from kumo.conf import CONF

pytestmark = pytest.mark.usefixtures("fake_bus")


class Endpoint:
    target = messaging.Target(version="1.1")

    def echo(self, ctxt: Any, value: Any) -> dict[str, Any]:
        return {"value": value, "request_id": ctxt.request_id}

    def fail(self, ctxt: Any) -> None:
        raise exception.ServiceNotFound(service_id=7)

    def slow(self, ctxt: Any, seconds: float) -> None:
        time.sleep(seconds)


class OldEndpoint(Endpoint):
    target = messaging.Target(version="1.0")


class EchoAPI(rpc.RPCAPIBase):
    TOPIC = "unit-test"
    SERVICE = "scheduler"  # borrows [upgrade_levels] scheduler for its cap
    VERSION = "1.1"


def _serve(rpc_servers: Callable[..., None], endpoint: Any) -> None:
    rpc_servers(messaging.Target(topic=EchoAPI.TOPIC, server="h1"),
                [endpoint, rpc.BaseEndpoint("kumo-test", "h1")])


@pytest.fixture
def server(rpc_servers: Callable[..., None]) -> None:
    _serve(rpc_servers, Endpoint())


@pytest.fixture
def old_server(rpc_servers: Callable[..., None]) -> None:
    _serve(rpc_servers, OldEndpoint())


@pytest.fixture
def ctxt() -> context.RequestContext:
    return context.RequestContext(request_id="req-0123", project_id="p1", user_id="u1")


@pytest.mark.usefixtures("server")
def test_call_carries_the_request_id_to_the_server(ctxt: context.RequestContext) -> None:
    answer = EchoAPI().call(ctxt, "echo", {"value": [1, "two"]})
    assert answer == {"value": [1, "two"], "request_id": "req-0123"}


@pytest.mark.usefixtures("server")
def test_remote_kumo_error_is_raised_as_its_own_class(ctxt: context.RequestContext) -> None:
    with pytest.raises(exception.ServiceNotFound) as raised:
        EchoAPI().call(ctxt, "fail")
    assert "Service 7 could not be found." in str(raised.value)
    assert raised.value.code == 404


def test_call_without_server_times_out_with_a_clear_error(
        ctxt: context.RequestContext) -> None:
    started = time.monotonic()
    with pytest.raises(exception.ServiceUnavailable) as raised:
        EchoAPI(timeout=0.5).call(ctxt, "echo", {"value": 1})
    assert time.monotonic() - started < 5
    assert "kumo-scheduler" in raised.value.message
    assert "echo" in raised.value.message
    assert raised.value.code == 503


@pytest.mark.usefixtures("server")
def test_slow_call_times_out_and_names_the_host(ctxt: context.RequestContext) -> None:
    with pytest.raises(exception.ServiceUnavailable) as raised:
        EchoAPI(timeout=0.3).call(ctxt, "slow", {"seconds": 1.0}, server="h1")
    assert "on h1" in raised.value.message


def test_version_cap_stops_newer_calls(ctxt: context.RequestContext) -> None:
    CONF.set_override("scheduler", "1.0", group="upgrade_levels")
    try:
        api = EchoAPI()
        assert api.can_send_version("1.0")
        assert not api.can_send_version("1.1")
        with pytest.raises(messaging.RPCVersionCapError):
            api.call(ctxt, "echo", {"value": 1}, version="1.1")
    finally:
        CONF.clear_override("scheduler", group="upgrade_levels")


@pytest.mark.usefixtures("old_server")
def test_server_refuses_a_version_newer_than_it_serves(ctxt: context.RequestContext) -> None:
    api = EchoAPI()
    assert api.call(ctxt, "echo", {"value": 1}, version="1.0")["value"] == 1
    with pytest.raises(messaging.UnsupportedVersion):
        api.call(ctxt, "echo", {"value": 1}, version="1.1")


@pytest.mark.usefixtures("server")
def test_ping_reaches_the_base_endpoint(ctxt: context.RequestContext) -> None:
    assert EchoAPI().ping(ctxt, arg="hi", server="h1") == {
        "binary": "kumo-test", "host": "h1", "arg": "hi"}


@pytest.mark.usefixtures("server")
def test_cast_returns_at_once(ctxt: context.RequestContext) -> None:
    started = time.monotonic()
    EchoAPI().cast(ctxt, "slow", {"seconds": 0.5})
    assert time.monotonic() - started < 0.4
