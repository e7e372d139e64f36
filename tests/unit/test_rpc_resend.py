"""Calls a dead server had taken: the call monitor fails them fast, idempotent ones are re-sent."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import oslo_messaging as messaging
import pytest

from kumo import context, exception, rpc
from kumo.conductor import rpcapi as conductor_rpcapi
from kumo.conf import CONF

pytestmark = pytest.mark.usefixtures("fake_bus")


class EchoAPI(rpc.RPCAPIBase):
    TOPIC = "unit-test-resend"
    SERVICE = "scheduler"
    VERSION = "1.1"
    IDEMPOTENT = frozenset({"set_value"})


class Flaky:
    """A prepared client whose calls time out ``lost`` times (after ``delay`` s), then answer."""

    def __init__(self, lost: int, delay: float = 0.0) -> None:
        self.lost, self.delay = lost, delay
        self.prepared: list[dict[str, Any]] = []

    def prepare(self, **options: Any) -> Flaky:
        self.prepared.append(options)
        self.timeout = options["timeout"]
        return self

    def call(self, ctxt: Any, method: str, **kwargs: Any) -> str:
        if self.lost:
            self.lost -= 1
            time.sleep(self.delay)
            raise messaging.MessagingTimeout("no heartbeat")
        return "answer"


@pytest.fixture
def monitor() -> Iterator[None]:
    CONF.set_override("rpc_call_monitor_timeout", 1)
    yield
    CONF.clear_override("rpc_call_monitor_timeout")


def _api(flaky: Flaky, timeout: float = 60) -> EchoAPI:
    api = EchoAPI(timeout=timeout)
    api.client = flaky  # type: ignore[assignment]
    return api


CTXT = context.RequestContext(request_id="req-1", project_id="p", user_id="u")


def test_every_call_asks_for_heartbeats_and_a_lost_read_is_sent_again() -> None:
    flaky = Flaky(lost=1)
    assert _api(flaky).call(CTXT, "thing_get", {}) == "answer"
    assert [options["call_monitor_timeout"] for options in flaky.prepared] == [
        CONF.rpc_call_monitor_timeout] * 2
    # The second try only has what is left of the call's own timeout.
    assert flaky.prepared[1]["timeout"] <= flaky.prepared[0]["timeout"]


def test_a_listed_idempotent_method_is_sent_again_too() -> None:
    flaky = Flaky(lost=2)
    assert _api(flaky).call(CTXT, "set_value", {}) == "answer"
    assert len(flaky.prepared) == 3


def test_any_other_call_fails_at_once_with_the_time_it_waited() -> None:
    flaky = Flaky(lost=1)
    with pytest.raises(exception.ServiceUnavailable) as raised:
        _api(flaky).call(CTXT, "thing_create", {})
    assert len(flaky.prepared) == 1
    assert "did not answer within 0" in raised.value.message


@pytest.mark.usefixtures("monitor")
def test_resending_stops_at_the_call_timeout() -> None:
    flaky = Flaky(lost=10, delay=1.0)
    started = time.monotonic()
    with pytest.raises(exception.ServiceUnavailable):
        _api(flaky, timeout=2.5).call(CTXT, "thing_get", {})
    assert len(flaky.prepared) == 2
    assert time.monotonic() - started < 2.5 + 1


def test_no_monitor_when_it_is_off_or_longer_than_the_call() -> None:
    flaky = Flaky(lost=0)
    _api(flaky, timeout=CONF.rpc_call_monitor_timeout).call(CTXT, "thing_get", {})
    CONF.set_override("rpc_call_monitor_timeout", 0)
    try:
        _api(flaky).call(CTXT, "thing_get", {})
    finally:
        CONF.clear_override("rpc_call_monitor_timeout")
    assert ["call_monitor_timeout" in options for options in flaky.prepared] == [False] * 2


def test_which_conductor_methods_are_sent_again() -> None:
    api = conductor_rpcapi.ConductorAPI()
    for method in ("instance_get", "instance_get_all", "service_get_by_host_and_binary",
                   "get_instance_nw_info", "instance_update", "instance_destroy"):
        assert api.is_idempotent(method), method
    for method in ("instance_create", "instance_fault_create", "compute_node_claim",
                   "network_get_or_create_for_project", "instance_action_event_start"):
        assert not api.is_idempotent(method), method


def test_a_client_made_not_to_resend_fails_a_lost_read_at_once() -> None:
    flaky = Flaky(lost=1)
    api = EchoAPI(resend=False)
    api.client = flaky  # type: ignore[assignment]
    with pytest.raises(exception.ServiceUnavailable):
        api.call(CTXT, "thing_get", {})
    assert len(flaky.prepared) == 1
