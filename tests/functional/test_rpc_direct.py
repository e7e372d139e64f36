"""Direct reads over a real RabbitMQ (kumo/rpc_direct.py): a client's DIRECT calls go
over direct reply-to when a server serves them, and the usual oslo.messaging way
whenever the direct path cannot answer (no direct server, a server that does not
serve the method, a broker that just restarted)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import oslo_messaging as messaging
import pytest

from kumo import context, exception, rpc, rpc_direct
from kumo.conf import CONF
from tests.functional import harness

TOPIC = "rpc-direct-test"
CTXT = context.RequestContext(user_id="u", project_id="p", request_id="req-direct-1")


class Endpoint:
    target = messaging.Target(version="1.3")

    def __init__(self) -> None:
        self.threads: list[str] = []
        self.contexts: list[Any] = []

    def _note(self, ctxt: Any) -> None:
        self.threads.append(threading.current_thread().name)
        self.contexts.append(ctxt)

    def thing_get(self, ctxt: Any, value: Any) -> Any:
        self._note(ctxt)
        return {"value": value, "project": ctxt.project_id}

    def thing_get_missing(self, ctxt: Any, instance_uuid: str) -> Any:
        self._note(ctxt)
        raise exception.InstanceNotFound(instance_id=instance_uuid)

    def thing_get_unserved(self, ctxt: Any) -> str:
        self._note(ctxt)
        return "usual way"

    def thing_create(self, ctxt: Any, seconds: float = 0) -> int:
        """A write that is not idempotent; slow on the direct path when asked."""
        self._note(ctxt)
        if threading.current_thread().name.startswith("rpc-direct-"):
            time.sleep(seconds)
        return len(self.threads)

    def thing_get_slowly(self, ctxt: Any, seconds: float) -> str:
        """Slow on the direct path only."""
        self._note(ctxt)
        if threading.current_thread().name.startswith("rpc-direct-"):
            time.sleep(seconds)
        return "done"


class ThingAPI(rpc.RPCAPIBase):
    TOPIC = TOPIC
    SERVICE = "conductor"
    VERSION = "1.3"
    DIRECT = frozenset({"thing_get", "thing_get_missing", "thing_get_unserved",
                        "thing_get_slowly", "thing_create"})

    def get(self, value: Any) -> Any:
        return self.call(CTXT, "thing_get", {"value": value}, version="1.2")


# Not thing_get_unserved.
SERVED = frozenset({"thing_get", "thing_get_missing", "thing_get_slowly", "thing_create"})


@pytest.fixture(scope="module")
def bus(rabbitmq: harness.RabbitMQ) -> Iterator[harness.RabbitMQ]:
    url = rabbitmq.add_vhost("rpc-direct")
    rpc.cleanup()
    rpc_direct.reset()
    rpc.init(url=url)
    yield rabbitmq
    rpc_direct.reset()
    rpc.cleanup()


class Served:
    """The topic served the usual way and (``direct``) the direct way too."""

    def __init__(self, direct: bool = True) -> None:
        self.endpoint = Endpoint()
        self.in_flight = rpc.InFlight()
        self.server = rpc.get_server(messaging.Target(topic=TOPIC, server="s1"),
                                     [self.endpoint], in_flight=self.in_flight)
        self.direct = (rpc.get_direct_server(TOPIC, [self.endpoint], SERVED, self.in_flight)
                       if direct else None)

    def __enter__(self) -> Served:
        self.server.start()
        if self.direct is not None:
            self.direct.start()
            assert self.direct.wait_ready(10)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self.direct is not None:
            self.direct.stop()
            self.direct.wait(10)
        self.server.stop()
        self.server.wait()


def _direct_threads(endpoint: Endpoint) -> list[bool]:
    return [name.startswith("rpc-direct-") for name in endpoint.threads]


def test_a_direct_read_is_answered_over_direct_reply_to(bus: harness.RabbitMQ) -> None:
    api = ThingAPI(timeout=10)
    with Served() as served:
        assert api.get({"a": [1, 2]}) == {"value": {"a": [1, 2]}, "project": "p"}
        pooled = list(rpc_direct.client(rpc.direct_url())._idle)
        assert api.get("again") == {"value": "again", "project": "p"}
        # The healthy connection was taken again, not thrown away.
        assert rpc_direct.client(rpc.direct_url())._idle == pooled
    assert _direct_threads(served.endpoint) == [True, True]
    # The context crossed as oslo.messaging carries it.
    assert served.endpoint.contexts[0].request_id == "req-direct-1"
    assert served.endpoint.contexts[0].user_id == "u"


def test_a_remote_error_comes_back_as_its_own_class(bus: harness.RabbitMQ) -> None:
    api = ThingAPI(timeout=10)
    with Served() as served:
        with pytest.raises(exception.InstanceNotFound) as raised:
            api.call(CTXT, "thing_get_missing", {"instance_uuid": "abc"})
    assert "abc" in str(raised.value)
    assert raised.value.code == 404
    assert _direct_threads(served.endpoint) == [True]


def test_a_method_the_server_does_not_serve_directly_goes_the_usual_way(
        bus: harness.RabbitMQ) -> None:
    api = ThingAPI(timeout=10)
    with Served() as served:
        assert api.call(CTXT, "thing_get_unserved") == "usual way"
    assert _direct_threads(served.endpoint) == [False]


def test_without_a_direct_server_a_read_goes_the_usual_way_at_once(
        bus: harness.RabbitMQ) -> None:
    api = ThingAPI(timeout=10)
    with Served(direct=False) as served:
        started = time.monotonic()
        assert api.get(7) == {"value": 7, "project": "p"}
        # The broker returned the direct request at once: no wait for an answer.
        assert time.monotonic() - started < 2.0
    assert _direct_threads(served.endpoint) == [False]


def test_a_version_above_the_cap_is_refused_as_before(bus: harness.RabbitMQ) -> None:
    CONF.set_override("conductor", "1.1", group="upgrade_levels")
    try:
        api = ThingAPI(timeout=10)
        with Served() as served:
            with pytest.raises(messaging.RPCVersionCapError):
                api.get(1)
    finally:
        CONF.clear_override("conductor", group="upgrade_levels")
    assert served.endpoint.threads == []


def test_the_option_off_sends_every_call_the_usual_way(bus: harness.RabbitMQ) -> None:
    CONF.set_override("rpc_direct_calls", False)
    try:
        assert rpc.direct_url() is None
        api = ThingAPI(timeout=10)
        with Served(direct=False) as served:
            assert api.get(3)["value"] == 3
    finally:
        CONF.clear_override("rpc_direct_calls")
    assert _direct_threads(served.endpoint) == [False]


@pytest.fixture
def monitor_2s() -> Iterator[None]:
    CONF.set_override("rpc_call_monitor_timeout", 2)
    yield
    CONF.clear_override("rpc_call_monitor_timeout")


def test_a_read_without_a_direct_answer_is_sent_again_the_usual_way(
        bus: harness.RabbitMQ, monitor_2s: None) -> None:
    api = ThingAPI(timeout=30)
    with Served() as served:
        started = time.monotonic()
        assert api.call(CTXT, "thing_get_slowly", {"seconds": 3}) == "done"
        waited = time.monotonic() - started
    # The direct answer was waited for as long as the call monitor (2 s), no longer.
    assert 2.0 <= waited < 3.0, waited
    assert _direct_threads(served.endpoint) == [True, False]


def test_a_caller_that_never_resends_fails_a_read_without_a_direct_answer(
        bus: harness.RabbitMQ, monitor_2s: None) -> None:
    api = ThingAPI(timeout=30, resend=False)
    with Served() as served:
        with pytest.raises(exception.ServiceUnavailable):
            api.call(CTXT, "thing_get_slowly", {"seconds": 3})
        time.sleep(1.5)  # the direct handler ends
    assert _direct_threads(served.endpoint) == [True]


def test_after_a_broker_restart_reads_go_direct_again(bus: harness.RabbitMQ) -> None:
    # A caller that never resends (kumo-api): the pooled connection the restart
    # closed must be thrown away before use, not fail the read it would be sent on.
    api_once = ThingAPI(timeout=30, resend=False)
    with Served() as served:
        assert api_once.get("before")["value"] == "before"
        bus.stop()
        bus.start()
        assert served.direct is not None
        assert served.direct.wait_ready(30)  # the server threads reconnected
        del served.endpoint.threads[:]
        assert api_once.get("direct again")["value"] == "direct again"
        assert api_once.get("and again")["value"] == "and again"
    assert _direct_threads(served.endpoint) == [True, True]


def test_a_write_goes_direct_and_runs_once(bus: harness.RabbitMQ) -> None:
    api = ThingAPI(timeout=10)
    with Served() as served:
        assert api.call(CTXT, "thing_create") == 1
        assert api.call(CTXT, "thing_create") == 2
    assert _direct_threads(served.endpoint) == [True, True]


def test_a_write_without_a_direct_answer_fails_and_is_not_sent_again(
        bus: harness.RabbitMQ, monitor_2s: None) -> None:
    # Even a caller that resends reads: the write may have run.
    api = ThingAPI(timeout=30)
    with Served() as served:
        with pytest.raises(exception.ServiceUnavailable):
            api.call(CTXT, "thing_create", {"seconds": 3})
        time.sleep(1.5)  # the direct handler ends
    assert _direct_threads(served.endpoint) == [True]
