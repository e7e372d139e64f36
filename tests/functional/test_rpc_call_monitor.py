"""The call monitor over a real RabbitMQ: a long call lives on its server's heartbeats,
and a call whose server was killed fails after the monitor timeout, not the call's.

The server runs in a process of its own (so it can be SIGKILLed), built with
:func:`kumo.rpc.get_server` as every kumo daemon's is.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from kumo import context, exception, rpc
from kumo.conf import CONF
from tests.functional import harness

TOPIC = "call-monitor-test"

SERVER = """
import sys, time
import oslo_messaging as messaging
from kumo import rpc
from kumo.conf import CONF

CONF([], project="kumo")
rpc.init(url=sys.argv[1])

class Endpoint:
    target = messaging.Target(version="1.0")

    def sleep(self, ctxt, seconds):
        time.sleep(seconds)
        return seconds

server = rpc.get_server(messaging.Target(topic=sys.argv[2], server="s1"), [Endpoint()])
server.start()
print("ready", flush=True)
sys.stdin.read()
"""


class SleepAPI(rpc.RPCAPIBase):
    TOPIC = TOPIC
    SERVICE = "conductor"


@pytest.fixture(scope="module")
def bus(rabbitmq: harness.RabbitMQ) -> Iterator[str]:
    url = rabbitmq.add_vhost("call-monitor")
    rpc.cleanup()
    rpc.init(url=url)
    CONF.set_override("rpc_call_monitor_timeout", 2)
    yield url
    CONF.clear_override("rpc_call_monitor_timeout")
    rpc.cleanup()


@pytest.fixture
def server(bus: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen([sys.executable, "-c", SERVER, bus, TOPIC], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(10)


def _call(seconds: float) -> Any:
    ctxt = context.RequestContext(user_id="u", project_id="p")
    return SleepAPI(timeout=30).call(ctxt, "sleep", {"seconds": seconds}, server="s1")


def test_a_call_longer_than_the_monitor_timeout_lives_on_heartbeats(
        server: subprocess.Popen[str]) -> None:
    assert _call(5) == 5


def test_a_call_whose_server_was_killed_fails_after_the_monitor_timeout(
        server: subprocess.Popen[str]) -> None:
    assert _call(0) == 0  # the server consumes its queue
    started = time.monotonic()

    def kill_soon() -> None:
        time.sleep(1.5)
        server.kill()

    threading.Thread(target=kill_soon, daemon=True).start()
    with pytest.raises(exception.ServiceUnavailable):
        _call(20)
    waited = time.monotonic() - started
    # Killed at 1.5 s, its last heartbeat at 1 s: the caller gives up about 2 s later.
    assert 2.5 < waited < 10, waited
