"""The call-monitor heartbeats of an RPC server: one thread for every running call.

The fake bus carries no call-monitor timeout, so these drive the dispatcher with
incoming messages that record their heartbeats; the real broker is in
tests/functional/test_rpc_call_monitor.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import oslo_messaging as messaging
import pytest
from oslo_messaging.rpc import dispatcher as rpc_dispatcher

from kumo import context, rpc


class Incoming:
    """An incoming call as the rabbit driver hands it over, recording its heartbeats."""

    def __init__(self, method: str, args: dict[str, Any] | None = None,
                 client_timeout: Any = 2, fail: bool = False,
                 hold: threading.Event | None = None) -> None:
        self.message = {"method": method, "args": args or {}, "version": "1.0"}
        self.ctxt = context.RequestContext(request_id="req-1").to_dict()
        self.client_timeout = client_timeout
        self.beats: list[float] = []
        self.fail = fail
        self.hold = hold
        self.sending = threading.Event()

    def heartbeat(self) -> None:
        self.beats.append(time.monotonic())
        self.sending.set()
        if self.hold is not None:
            self.hold.wait(10)
        if self.fail:
            raise messaging.MessageDeliveryFailure("Heartbeat send failed. Missing queue")


class Endpoint:
    target = messaging.Target(version="1.1")

    def __init__(self) -> None:
        self.release = threading.Event()

    def echo(self, ctxt: Any, value: Any) -> Any:
        return {"value": value, "request_id": ctxt.request_id}

    def block(self, ctxt: Any) -> str:
        self.release.wait(10)
        return "done"

    def sleep(self, ctxt: Any, seconds: float) -> None:
        time.sleep(seconds)

    def _private(self, ctxt: Any) -> None:
        pass


@pytest.fixture
def dispatcher() -> rpc._CountingDispatcher:
    return rpc._CountingDispatcher([Endpoint()], rpc.RequestContextSerializer(),
                                   messaging.DefaultRPCAccessPolicy,
                                   in_flight=rpc.InFlight())


def _wait_for(check: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _in_thread(target: Callable[[], Any]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_a_call_runs_and_answers(dispatcher: rpc._CountingDispatcher) -> None:
    result = dispatcher.dispatch(Incoming("echo", {"value": 3}))
    assert result == {"value": 3, "request_id": "req-1"}
    assert dispatcher.in_flight.count == 0
    assert dispatcher.monitor.watched == 0


def test_a_long_call_gets_a_heartbeat_every_half_timeout_until_it_returns(
        dispatcher: rpc._CountingDispatcher) -> None:
    incoming = Incoming("sleep", {"seconds": 2.6}, client_timeout=2)
    started = time.monotonic()
    dispatcher.dispatch(incoming)
    ended = time.monotonic()
    assert [round(beat - started) for beat in incoming.beats] == [1, 2]
    time.sleep(1.2)
    assert all(beat < ended for beat in incoming.beats)
    assert dispatcher.monitor.watched == 0


def test_one_thread_heartbeats_every_running_call(dispatcher: rpc._CountingDispatcher) -> None:
    endpoint = dispatcher.endpoints[0]
    before = threading.active_count()
    calls = [Incoming("block", client_timeout=2) for _ in range(20)]
    threads = [_in_thread(lambda incoming=incoming: dispatcher.dispatch(incoming))
               for incoming in calls]
    _wait_for(lambda: all(len(incoming.beats) >= 2 for incoming in calls))
    # 20 handler threads of this test, one monitor and its senders (a heartbeat
    # being sent), not one watchdog per call.
    assert threading.active_count() <= before + 21 + rpc.CallMonitor.SENDERS
    assert dispatcher.monitor.watched == 20
    endpoint.release.set()
    for thread in threads:
        thread.join(5)
    assert dispatcher.monitor.watched == 0


def test_a_failed_heartbeat_ends_that_calls_heartbeats_only(
        dispatcher: rpc._CountingDispatcher) -> None:
    endpoint = dispatcher.endpoints[0]
    broken, fine = Incoming("block", fail=True), Incoming("block")
    threads = [_in_thread(lambda incoming=incoming: dispatcher.dispatch(incoming))
               for incoming in (broken, fine)]
    _wait_for(lambda: len(fine.beats) >= 3, timeout=8)
    assert len(broken.beats) == 1
    endpoint.release.set()
    for thread in threads:
        thread.join(5)


def test_a_call_returns_only_after_its_heartbeat_in_flight_was_sent(
        dispatcher: rpc._CountingDispatcher) -> None:
    """No heartbeat follows the reply (sent once dispatch returns)."""
    endpoint = dispatcher.endpoints[0]
    hold = threading.Event()
    incoming = Incoming("block", hold=hold)
    returned = threading.Event()
    thread = _in_thread(lambda: (dispatcher.dispatch(incoming), returned.set()))
    assert incoming.sending.wait(5)
    endpoint.release.set()
    assert not returned.wait(0.3)
    hold.set()
    assert returned.wait(5)
    thread.join(5)
    assert len(incoming.beats) == 1


@pytest.mark.parametrize("client_timeout", [None, 0])
def test_no_heartbeats_when_the_caller_asked_for_none(
        dispatcher: rpc._CountingDispatcher, client_timeout: Any) -> None:
    assert rpc.CallMonitor.interval(Incoming("echo", client_timeout=client_timeout)) is None
    dispatcher.dispatch(Incoming("echo", {"value": 1}, client_timeout=client_timeout))
    assert dispatcher.monitor._thread is None


@pytest.mark.parametrize(("client_timeout", "interval"),
                         [(1, None), ("x", None), (2, 1.0), (20, 10.0), (21.7, 10.5)])
def test_the_interval_is_half_the_whole_second_timeout(client_timeout: Any,
                                                       interval: float | None) -> None:
    assert rpc.CallMonitor.interval(Incoming("echo", client_timeout=client_timeout)) == interval


def test_unknown_methods_and_versions_fail_as_oslo_messaging_does(
        dispatcher: rpc._CountingDispatcher) -> None:
    with pytest.raises(rpc_dispatcher.NoSuchMethod):
        dispatcher.dispatch(Incoming("nothing"))
    with pytest.raises(rpc_dispatcher.NoSuchMethod):
        dispatcher.dispatch(Incoming("_private"))
    too_new = Incoming("echo", {"value": 1})
    too_new.message["version"] = "1.2"
    with pytest.raises(rpc_dispatcher.UnsupportedVersion):
        dispatcher.dispatch(too_new)
    other = Incoming("echo", {"value": 1})
    other.message["namespace"] = "elsewhere"
    with pytest.raises(rpc_dispatcher.UnsupportedVersion):
        dispatcher.dispatch(other)
    assert dispatcher.monitor.watched == 0
    assert dispatcher.in_flight.count == 0


def test_a_blocked_heartbeat_delays_no_other_calls_heartbeats(
        dispatcher: rpc._CountingDispatcher) -> None:
    """Each heartbeat goes out on its own sender: one that blocks (a stuck
    connection) holds back neither the monitor nor the other calls' beats, and
    a call that returns waits only for its own."""
    endpoint = dispatcher.endpoints[0]
    other = threading.Event()
    endpoint.block_other = lambda ctxt: other.wait(10)
    hold = threading.Event()
    stuck = Incoming("block", hold=hold)
    threads = [_in_thread(lambda: dispatcher.dispatch(stuck))]
    assert stuck.sending.wait(5)  # stuck's first heartbeat is held
    fine = Incoming("block_other")
    returned = threading.Event()
    threads.append(_in_thread(lambda: (dispatcher.dispatch(fine), returned.set())))
    _wait_for(lambda: len(fine.beats) >= 2, timeout=5)
    assert len(stuck.beats) == 1
    other.set()
    assert returned.wait(2)
    hold.set()
    endpoint.release.set()
    for thread in threads:
        thread.join(5)
    assert dispatcher.monitor.watched == 0


def test_the_monitor_thread_ends_after_an_idle_round_and_starts_again(
        dispatcher: rpc._CountingDispatcher) -> None:
    """Once its server stops (no more calls), the monitor's thread ends within
    two rounds of the shortest interval; the next call starts it again."""
    dispatcher.dispatch(Incoming("sleep", {"seconds": 0.1}, client_timeout=2))
    assert dispatcher.monitor.running
    _wait_for(lambda: not dispatcher.monitor.running, timeout=5)
    incoming = Incoming("sleep", {"seconds": 1.3}, client_timeout=2)
    dispatcher.dispatch(incoming)
    assert len(incoming.beats) == 1
    dispatcher.monitor.stop(timeout=5)
    assert not dispatcher.monitor.running


def test_stop_ends_the_thread_at_once(dispatcher: rpc._CountingDispatcher) -> None:
    dispatcher.dispatch(Incoming("echo", {"value": 1}, client_timeout=60))
    assert dispatcher.monitor.running
    started = time.monotonic()
    dispatcher.monitor.stop(timeout=5)
    assert not dispatcher.monitor.running
    assert time.monotonic() - started < 1
