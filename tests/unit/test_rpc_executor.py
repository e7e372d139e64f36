"""The RPC server's WorkerPool: oslo.messaging still builds it, it bounds and reuses
its threads, ends idle ones, and drains its queue on shutdown."""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import oslo_messaging as messaging
import pytest

from kumo import context, rpc
from kumo.conf import CONF


def _wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def pool() -> Iterator[rpc.WorkerPool]:
    workers = rpc.WorkerPool(max_workers=3)
    yield workers
    workers.shutdown(wait=True)


class _Echo:
    target = messaging.Target(version="1.0")

    def __init__(self) -> None:
        self.threads: set[str] = set()

    def echo(self, ctxt: Any, value: Any) -> Any:
        self.threads.add(threading.current_thread().name)
        return value


class _EchoAPI(rpc.RPCAPIBase):
    TOPIC = "unit-executor"
    SERVICE = "scheduler"


def test_oslo_builds_the_server_executor_from_kumos_class(fake_bus: None) -> None:
    """Pins oslo.messaging's MessageHandlingServer: start() builds ``_executor_cls``
    with ``max_workers=executor_thread_pool_size`` and submits every message to it."""
    endpoint = _Echo()
    server = rpc.get_server(messaging.Target(topic=_EchoAPI.TOPIC, server="h1"), [endpoint])
    server.start()
    try:
        executor = server._work_executor
        assert type(executor) is rpc.WorkerPool
        assert executor.max_workers == CONF.executor_thread_pool_size
        ctxt = context.RequestContext(project_id="p", user_id="u")
        api = _EchoAPI(timeout=10)
        assert [api.call(ctxt, "echo", {"value": i}, server="h1") for i in range(5)] == [
            0, 1, 2, 3, 4]
        # One call at a time: threads are reused (a call may come before the thread
        # that replied to the last one is free again, so there may be two).
        assert endpoint.threads == {"rpc-worker"}
        assert 1 <= executor.threads <= 2
    finally:
        server.stop()
        server.wait()
    assert executor.threads == 0


def test_concurrency_is_bounded_and_queued_work_runs(pool: rpc.WorkerPool) -> None:
    release = threading.Event()
    lock = threading.Lock()
    running = peak = 0
    done: list[int] = []

    def work(i: int) -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        release.wait(10)
        with lock:
            running -= 1
            done.append(i)

    for i in range(10):
        pool.submit(work, i)
    _wait_for(lambda: running == 3)
    assert pool.threads == 3
    release.set()
    _wait_for(lambda: len(done) == 10)
    assert peak == 3
    assert sorted(done) == list(range(10))


def test_free_thread_is_reused_and_idle_threads_end(pool: rpc.WorkerPool,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rpc.WorkerPool, "IDLE_SECONDS", 0.2)
    ran = threading.Semaphore(0)
    for _ in range(5):
        pool.submit(ran.release)
        assert ran.acquire(timeout=10)
        _wait_for(lambda: pool._free == 1)
    assert pool.threads == 1
    _wait_for(lambda: pool.threads == 0)
    pool.submit(ran.release)  # a pool that shrank to nothing starts a thread again
    assert ran.acquire(timeout=10)


def test_a_failing_handler_does_not_end_its_thread(pool: rpc.WorkerPool) -> None:
    ran = threading.Semaphore(0)

    def fail() -> None:
        raise RuntimeError("boom")

    pool.submit(fail)
    _wait_for(lambda: pool._free == 1)
    pool.submit(ran.release)
    assert ran.acquire(timeout=10)
    assert pool.threads == 1


def test_shutdown_runs_queued_work_then_refuses_more() -> None:
    pool = rpc.WorkerPool(max_workers=1)
    done: list[int] = []
    for i in range(5):
        pool.submit(lambda i=i: (time.sleep(0.01), done.append(i)))
    pool.shutdown(wait=True)
    assert done == [0, 1, 2, 3, 4]
    assert pool.threads == 0
    with pytest.raises(RuntimeError):
        pool.submit(print)


def test_oslos_server_start_builds_its_executor_as_pinned() -> None:
    """What _RPCServer relies on in oslo.messaging's MessageHandlingServer."""
    from oslo_messaging import server as msg_server

    start = inspect.getsource(msg_server.MessageHandlingServer.start)
    assert 'executor_opts["max_workers"]' in start
    assert "self._executor_cls(**executor_opts)" in start
    assert "self._work_executor.submit(self._process_incoming, incoming)" in inspect.getsource(
        msg_server.MessageHandlingServer._on_incoming)
    assert "self._work_executor.shutdown(wait=True)" in inspect.getsource(
        msg_server.MessageHandlingServer.wait)
