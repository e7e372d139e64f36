"""kumo's rabbit driver without a broker: the direct ``ensure`` path, and the oslo.messaging
interfaces it builds on, pinned (tests/functional/test_rpc_transport.py runs it on RabbitMQ)."""

from __future__ import annotations

import inspect
import os
from typing import Any

import oslo_messaging as messaging
import pytest
from oslo_messaging._drivers import amqp as rpc_amqp
from oslo_messaging._drivers import amqpdriver, impl_rabbit
from oslo_messaging._drivers import common as driver_common

from kumo import rpc_transport


class Recorder:
    """Stands in for oslo's full ``ensure`` (the superclass method)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, method: Any, *args: Any) -> Any:
        self.calls.append(args)
        return method()


@pytest.fixture
def full(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(impl_rabbit.Connection, "ensure",
                        lambda conn, method, *args: recorder(method, *args))
    return recorder


def _connection(channel: Any = "channel") -> rpc_transport.Connection:
    conn = object.__new__(rpc_transport.Connection)
    conn.channel = channel
    conn._initial_pid = os.getpid()
    return conn


def test_healthy_work_runs_once_without_oslos_ensure(full: Recorder) -> None:
    runs = []
    assert _connection().ensure(lambda: runs.append(1) or "done", retry=3) == "done"
    assert runs == [1]
    assert full.calls == []


def test_a_broken_connection_goes_through_oslos_ensure(full: Recorder) -> None:
    attempts = []

    def work() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionResetError("gone")
        return "sent"

    callback = object()
    assert _connection().ensure(work, 5, callback, None, True) == "sent"
    assert len(attempts) == 2
    assert full.calls == [(5, callback, None, True)]


@pytest.mark.parametrize("error", [driver_common.Timeout(),
                                   rpc_amqp.AMQPDestinationNotFound("x"),
                                   messaging.MessageUndeliverable(None, "e", "k", {})])
def test_what_oslo_passes_on_is_passed_on(full: Recorder, error: Exception) -> None:
    def work() -> None:
        raise error

    with pytest.raises(type(error)):
        _connection().ensure(work)
    assert full.calls == []


def test_no_channel_or_a_forked_child_takes_oslos_ensure(full: Recorder) -> None:
    _connection(channel=None).ensure(lambda: None)
    forked = _connection()
    forked._initial_pid = -1
    forked.ensure(lambda: None)
    assert len(full.calls) == 2


def test_the_oslo_interfaces_the_driver_overrides_are_unchanged() -> None:
    """Fails when an oslo.messaging upgrade changes what kumo/rpc_transport.py relies on:
    read docs/decisions.md ("RPC publishes without confirms...") before adapting."""
    assert list(inspect.signature(impl_rabbit.Connection.ensure).parameters) == [
        "self", "method", "retry", "recoverable_error_callback", "error_callback",
        "timeout_is_error"]
    assert list(inspect.signature(impl_rabbit.Connection.__init__).parameters) == [
        "self", "conf", "url", "purpose", "retry"]
    init = inspect.getsource(impl_rabbit.Connection.__init__)
    assert "'confirm_publish': True" in init and "self.ensure_connection()" in init
    assert "self.direct_mandatory_flag" in inspect.getsource(impl_rabbit.Connection.direct_send)
    assert list(inspect.signature(amqpdriver.AMQPDriverBase._get_connection).parameters) == [
        "self", "purpose", "retry"]
    # Replies and heartbeats get their connection from the driver's _get_connection.
    for method in (amqpdriver.AMQPIncomingMessage.reply,
                   amqpdriver.AMQPIncomingMessage.heartbeat):
        assert "self.listener.driver._get_connection(" in inspect.getsource(method)
    assert "self._get_connection(rpc_common.PURPOSE_SEND" in inspect.getsource(
        amqpdriver.AMQPDriverBase._send)
    assert list(inspect.signature(impl_rabbit.RabbitDriver.__init__).parameters) == [
        "self", "conf", "url", "default_exchange", "allowed_remote_exmods"]


def test_oslo_declares_reply_queues_as_direct_consumers_through_declare_consumer() -> None:
    """ReplyConsumer's hook: oslo's reply waiter declares its queue with
    ``declare_direct_consumer``, which builds a plain ``Consumer`` of type
    "direct" and hands it to ``declare_consumer``; ``Consumer.declare`` builds
    the kombu queue that ``consume`` then consumes from (no ``no_ack`` passed)."""
    assert "declare_direct_consumer(" in inspect.getsource(amqpdriver.ReplyWaiter.__init__)
    direct = inspect.getsource(impl_rabbit.Connection.declare_direct_consumer)
    assert "type='direct'" in direct and "self.declare_consumer(consumer)" in direct
    for method in ("declare_topic_consumer", "declare_fanout_consumer"):
        assert "'direct'" not in inspect.getsource(getattr(impl_rabbit.Connection, method))
    assert "self.queue = kombu.entity.Queue(" in inspect.getsource(impl_rabbit.Consumer.declare)
    consume = inspect.getsource(impl_rabbit.Consumer.consume)
    assert "self.queue.consume(" in consume and "no_ack" not in consume


def test_only_a_plain_direct_consumer_becomes_a_reply_consumer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(impl_rabbit.Connection, "declare_consumer",
                        lambda conn, consumer: consumer)
    conn = _connection()
    kinds = {}
    for kind in ("direct", "topic", "fanout"):
        consumer = object.__new__(impl_rabbit.Consumer)
        consumer.type = kind
        kinds[kind] = type(conn.declare_consumer(consumer))
    assert kinds == {"direct": rpc_transport.ReplyConsumer, "topic": impl_rabbit.Consumer,
                     "fanout": impl_rabbit.Consumer}
