"""kumo's rabbit driver over a real RabbitMQ: calls, replies and heartbeats go out
without publisher confirms, casts with them (kumo/rpc_transport.py).

These pin the driver to the installed oslo.messaging, kombu and py-amqp: should
oslo stop connecting through ``Connection.ensure_connection``, stop taking a
reply's connection from the driver's ``_get_connection``, or kombu stop reading
``confirm_publish`` on every connection, a check here fails.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import oslo_messaging as messaging
import pytest

from kumo import context, rpc, rpc_transport
from kumo.conf import CONF
from tests.functional import harness

TOPIC = "rpc-transport-test"


class Endpoint:
    target = messaging.Target(version="1.0")

    def __init__(self) -> None:
        self.casts: list[Any] = []
        self.cast_came = threading.Event()

    def echo(self, ctxt: Any, value: Any) -> Any:
        return value

    def note(self, ctxt: Any, value: Any) -> None:
        self.casts.append(value)
        self.cast_came.set()


class EchoAPI(rpc.RPCAPIBase):
    TOPIC = TOPIC
    SERVICE = "conductor"


@pytest.fixture(scope="module")
def served(rabbitmq: harness.RabbitMQ) -> Iterator[Endpoint]:
    url = rabbitmq.add_vhost("rpc-transport")
    rpc.cleanup()
    rpc.init(url=url)
    CONF.set_override("rpc_call_monitor_timeout", 4)
    endpoint = Endpoint()
    server = rpc.get_server(messaging.Target(topic=TOPIC, server="s1"), [endpoint])
    server.start()
    yield endpoint
    server.stop()
    server.wait()
    CONF.clear_override("rpc_call_monitor_timeout")
    rpc.cleanup()


def _driver() -> rpc_transport.RabbitDriver:
    driver = rpc.get_transport()._driver
    assert isinstance(driver, rpc_transport.RabbitDriver)
    return driver


def _inspect(pool: Any) -> tuple[bool, bool]:
    """(the connection asked for confirms, its channel is in confirm mode) of the
    connection ``pool`` hands out next."""
    conn = pool.get()
    try:
        return conn.connection.connection.confirm_publish, conn.channel._confirm_selected
    finally:
        pool.put(conn)


CTXT = context.RequestContext(user_id="u", project_id="p")


def test_calls_and_their_replies_go_unconfirmed(served: Endpoint) -> None:
    api = EchoAPI(timeout=20)
    for value in range(5):
        assert api.call(CTXT, "echo", {"value": value}, server="s1") == value
    pools = _driver().pools
    # The caller's request and the server's reply (same process here) took the
    # unconfirmed pool; no connection of the confirmed one published.
    assert _inspect(pools["unconfirmed"]) == (False, False)
    assert _inspect(pools["confirmed"])[1] is False


def test_replies_are_consumed_without_acks(served: Endpoint) -> None:
    """Pins oslo's reply queue: declared through ``Connection.declare_consumer`` as a
    direct consumer, whose kombu queue consumes with ``no_ack``."""
    api = EchoAPI(timeout=20)
    assert api.call(CTXT, "echo", {"value": "x"}, server="s1") == "x"
    conn = _driver()._waiter.conn.connection
    assert isinstance(conn, rpc_transport.Connection)
    [(consumer, tag)] = conn._consumers.items()
    assert type(consumer) is rpc_transport.ReplyConsumer
    assert consumer.queue.no_ack is True
    assert str(tag) in conn.channel.no_ack_consumers
    # Replies (and a heartbeat of a slower call) still arrive, and only once.
    assert [api.call(CTXT, "echo", {"value": i}, server="s1") for i in range(20)] == list(
        range(20))


def test_the_server_runs_handlers_on_kumos_worker_pool(served: Endpoint) -> None:
    server = rpc.get_server(messaging.Target(topic=TOPIC, server="s2"), [Endpoint()])
    server.start()
    try:
        assert type(server._work_executor) is rpc.WorkerPool
        assert EchoAPI(timeout=20).call(CTXT, "echo", {"value": 1}, server="s2") == 1
    finally:
        server.stop()
        server.wait()


def test_a_cast_goes_confirmed_and_arrives(served: Endpoint) -> None:
    EchoAPI().cast(CTXT, "note", {"value": "cast-1"}, server="s1")
    assert served.cast_came.wait(20)
    assert served.casts == ["cast-1"]
    assert _inspect(_driver().pools["confirmed"]) == (True, True)


def test_other_transports_are_oslo_messagings() -> None:
    transport = rpc_transport.get_rpc_transport(CONF, "fake://", [])
    try:
        assert not isinstance(transport._driver, rpc_transport.RabbitDriver)
    finally:
        transport.cleanup()
