"""The service framework over fake://: registration, heartbeat, periodic tasks, graceful stop.

An in-process kumo-conductor (its Service and ConductorManager) answers the
service rows of a second Service, as kumo-conductor does for every daemon.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from oslo_service import periodic_task

from kumo import context, exception, process, rpc, service, servicegroup
from kumo.conductor import manager as conductor_manager
from kumo.conductor import rpcapi as conductor_rpcapi
from kumo.conf import CONF
from kumo.db import api as db
from kumo.scheduler import manager as scheduler_manager
from kumo.scheduler import rpcapi as scheduler_rpcapi

HOST = "h1"
BINARY = "kumo-scheduler"
# Long enough for any event the service must produce on its own, short enough
# to keep a failing test under a few seconds.
PATIENCE = 2.5
# How long a test lets in-flight work block before it releases it.
HOLD_LIMIT = 5.0


class RecordingManager(scheduler_manager.SchedulerManager):
    """A scheduler manager that records its lifecycle and can hold work in flight."""

    def __init__(self, host: str | None = None) -> None:
        super().__init__(host=host)
        self.initialized = threading.Event()
        self.cleaned_up = threading.Event()
        self.holding = threading.Event()
        self.release = threading.Event()

    def init_host(self) -> None:
        # Not the scheduler's own: these tests need no filter scheduler.
        self.initialized.set()

    def cleanup_host(self) -> None:
        self.cleaned_up.set()

    def hold(self, ctxt: Any) -> None:
        """An RPC method that runs until the test releases it."""
        self.holding.set()
        self.release.wait(HOLD_LIMIT)


class PeriodicManager(RecordingManager):
    """Its periodic task counts its runs, fails when asked, or holds."""

    def __init__(self, host: str | None = None) -> None:
        super().__init__(host=host)
        self.runs: list[Any] = []
        self.fail = False
        self.hold_in_periodic = False

    # spacing below periodic_interval: due on every round of the loop.
    @periodic_task.periodic_task(spacing=0.5, run_immediately=True)
    def _count(self, ctxt: Any) -> None:
        self.runs.append(ctxt)
        if self.hold_in_periodic:
            self.hold(ctxt)
        if self.fail:
            raise RuntimeError("periodic task failure for the test")


def _wait_for(predicate: Callable[[], Any], what: str, timeout: float = PATIENCE) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def _live_row() -> dict[str, Any] | None:
    try:
        return db.service_get_by_host_and_binary(HOST, BINARY)
    except exception.HostBinaryNotFound:
        return None


@contextlib.contextmanager
def _rpc_call_in_flight(manager: RecordingManager,
                        admin: context.RequestContext) -> Iterator[None]:
    """Within the block, a cast to ``manager`` is running; released on the way out."""
    scheduler_rpcapi.SchedulerAPI().cast(admin, "hold", server=HOST)
    _wait_for(manager.holding.is_set, "the cast to start running")
    try:
        yield
    finally:
        manager.release.set()


def _stop(svc: service.Service) -> None:
    svc.stop(timeout=HOLD_LIMIT)


@pytest.fixture
def fast_service_options() -> Iterator[None]:
    overrides = {"report_interval": 1, "periodic_interval": 1,
                 "graceful_shutdown_timeout": 2}
    for name, value in overrides.items():
        CONF.set_override(name, value)
    yield
    for name in overrides:
        CONF.clear_override(name)


@pytest.fixture
def conductor(fake_bus: None, conductor_db: None,
              fast_service_options: None) -> Iterator[service.Service]:
    """kumo-conductor serving topic "conductor" in this process."""
    svc = service.Service("kumo-conductor", topic=conductor_rpcapi.TOPIC,
                          manager=conductor_manager.ConductorManager(host="c1"), host="c1")
    svc.start()
    try:
        yield svc
    finally:
        _stop(svc)


@pytest.fixture
def run_scheduler(conductor: service.Service) -> Iterator[Callable[..., service.Service]]:
    """Start kumo-scheduler on h1 with a given manager; stopped at the end of the test."""
    started: list[service.Service] = []

    def run(manager: scheduler_manager.SchedulerManager | None = None) -> service.Service:
        svc = service.Service(BINARY, topic=scheduler_rpcapi.TOPIC,
                              manager=manager or RecordingManager(host=HOST), host=HOST)
        started.append(svc)
        svc.start()
        return svc

    yield run
    for svc in reversed(started):
        _stop(svc)


@pytest.fixture
def admin() -> context.RequestContext:
    return context.get_admin_context()


# -- registration and heartbeat ------------------------------------------------


def test_service_registers_its_row_through_the_conductor(
        run_scheduler: Callable[..., service.Service], admin: context.RequestContext) -> None:
    manager = RecordingManager(host=HOST)
    svc = run_scheduler(manager)
    row = _wait_for(_live_row, "the scheduler's service row")
    assert manager.initialized.is_set()
    assert (row["host"], row["binary"], row["topic"]) == (HOST, BINARY, "scheduler")
    assert row["version"] == service.SERVICE_VERSION
    _wait_for(lambda: svc.service_ref is not None, "the service to hold its row")
    assert svc.service_ref.id == row["id"]
    seen = conductor_rpcapi.ConductorAPI().service_get_by_host_and_binary(admin, HOST, BINARY)
    assert seen.id == row["id"]


def test_heartbeat_advances_report_count_every_report_interval(
        run_scheduler: Callable[..., service.Service]) -> None:
    run_scheduler()
    first = _wait_for(lambda: (row := _live_row()) and row["report_count"] >= 1 and row,
                      "the first heartbeat")
    assert first["last_seen_up"] is not None
    assert servicegroup.is_up(first)
    count = first["report_count"]
    # report_interval is 1s: the next heartbeat is due within it.
    later = _wait_for(lambda: (row := _live_row()) and row["report_count"] > count and row,
                      "the next heartbeat", timeout=1.8)
    assert later["report_count"] == count + 1
    assert later["last_seen_up"] > first["last_seen_up"]


def test_conductor_heartbeats_its_own_row(conductor: service.Service) -> None:
    row = _wait_for(lambda: (found := db.service_get_all(binary="kumo-conductor"))
                    and found[0]["report_count"] >= 1 and found[0], "the conductor's heartbeat")
    assert (row["host"], row["topic"]) == ("c1", "conductor")


def test_service_registers_a_new_row_after_its_row_is_deleted(
        run_scheduler: Callable[..., service.Service], admin: context.RequestContext,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "REGISTER_RETRY_INTERVAL", 0.1)
    svc = run_scheduler()
    old = _wait_for(_live_row, "the scheduler's service row")
    conductor_rpcapi.ConductorAPI().service_destroy(admin, old["id"])
    with pytest.raises(exception.ServiceNotFound):
        db.service_get(old["id"])

    # The next heartbeat finds its row gone; the round after registers anew.
    new = _wait_for(_live_row, "the scheduler to register again")
    # The deleted row is soft-deleted and kept, so the new one has a new id.
    assert new["id"] != old["id"]
    assert (new["host"], new["binary"], new["topic"]) == (HOST, BINARY, "scheduler")
    _wait_for(lambda: svc.service_ref is not None and svc.service_ref.id == new["id"],
              "the service to hold its new row")
    _wait_for(lambda: db.service_get(new["id"])["report_count"] >= 1,
              "a heartbeat on the new row")
    assert [row["id"] for row in db.service_get_all(binary=BINARY)] == [new["id"]]


def test_restarted_service_takes_over_its_existing_row(
        run_scheduler: Callable[..., service.Service]) -> None:
    first = run_scheduler()
    row = _wait_for(_live_row, "the scheduler's service row")
    assert first.stop() is True

    second = run_scheduler()
    _wait_for(lambda: second.service_ref is not None, "the restarted service to register")
    assert second.service_ref.id == row["id"]
    assert len(db.service_get_all(binary=BINARY)) == 1


# -- periodic tasks ------------------------------------------------------------


def test_manager_periodic_task_runs_every_periodic_interval(
        run_scheduler: Callable[..., service.Service]) -> None:
    manager = PeriodicManager(host=HOST)
    run_scheduler(manager)
    _wait_for(lambda: manager.runs, "the periodic task to run", timeout=1.8)
    assert manager.runs[0].is_admin


def test_failing_periodic_task_does_not_stop_the_periodic_loop(
        run_scheduler: Callable[..., service.Service]) -> None:
    manager = PeriodicManager(host=HOST)
    manager.fail = True
    run_scheduler(manager)
    _wait_for(lambda: len(manager.runs) >= 2, "a second periodic run after a failure",
              timeout=2.8)


# -- graceful stop ---------------------------------------------------------------


def test_stop_with_nothing_in_flight_returns_true_within_graceful_shutdown_timeout(
        run_scheduler: Callable[..., service.Service], admin: context.RequestContext) -> None:
    manager = RecordingManager(host=HOST)
    svc = run_scheduler(manager)
    _wait_for(_live_row, "the scheduler's service row")
    assert scheduler_rpcapi.SchedulerAPI().ping(admin, "hi", server=HOST, timeout=1)["host"] \
        == HOST

    began = time.monotonic()
    assert svc.stop() is True
    assert time.monotonic() - began < CONF.graceful_shutdown_timeout
    assert manager.cleaned_up.is_set()
    # Stopped: it takes no more work from the bus.
    with pytest.raises(exception.ServiceUnavailable):
        scheduler_rpcapi.SchedulerAPI().ping(admin, server=HOST, timeout=0.3)


def test_stopped_service_no_longer_heartbeats(
        run_scheduler: Callable[..., service.Service]) -> None:
    svc = run_scheduler()
    _wait_for(lambda: (row := _live_row()) and row["report_count"] >= 1, "the first heartbeat")
    assert svc.stop() is True
    # stop() does not wait for a heartbeat in flight; its thread ends soon after.
    assert svc._heartbeat is not None
    svc._heartbeat.join(PATIENCE)
    assert not svc._heartbeat.is_alive()
    count = _live_row()["report_count"]  # type: ignore[index]
    time.sleep(CONF.report_interval + 0.3)
    assert _live_row()["report_count"] == count  # type: ignore[index]


def test_stop_returns_false_while_an_rpc_call_is_still_running(
        run_scheduler: Callable[..., service.Service], admin: context.RequestContext) -> None:
    manager = RecordingManager(host=HOST)
    svc = run_scheduler(manager)
    with _rpc_call_in_flight(manager, admin):
        began = time.monotonic()
        assert svc.stop(timeout=0.5) is False
        assert 0.5 <= time.monotonic() - began < 1.5
        assert not manager.cleaned_up.is_set()
    # The work in flight finishes after all, and the host is cleaned up then.
    assert manager.cleaned_up.wait(PATIENCE)


def test_stop_waits_at_most_graceful_shutdown_timeout_by_default(
        run_scheduler: Callable[..., service.Service], admin: context.RequestContext) -> None:
    CONF.set_override("graceful_shutdown_timeout", 1)
    manager = RecordingManager(host=HOST)
    svc = run_scheduler(manager)
    with _rpc_call_in_flight(manager, admin):
        began = time.monotonic()
        assert svc.stop() is False
        assert 1 <= time.monotonic() - began < 2
    assert manager.cleaned_up.wait(PATIENCE)


def test_stop_abandons_a_periodic_task_still_running_at_the_bound(
        run_scheduler: Callable[..., service.Service],
        caplog: pytest.LogCaptureFixture) -> None:
    manager = PeriodicManager(host=HOST)
    manager.hold_in_periodic = True
    svc = run_scheduler(manager)
    _wait_for(manager.holding.is_set, "the periodic task to start running")
    try:
        began = time.monotonic()
        # No request was in flight, so the stop succeeds, after the bound.
        assert svc.stop(timeout=0.5) is True
        assert 0.5 <= time.monotonic() - began < 1.5
        assert "abandoning a periodic task" in caplog.text
        # The host is not cleaned up under a task that may still be using it.
        assert not manager.cleaned_up.is_set()
    finally:
        manager.release.set()


def test_stop_waits_for_a_periodic_task_that_ends_within_the_bound(
        run_scheduler: Callable[..., service.Service]) -> None:
    manager = PeriodicManager(host=HOST)
    manager.hold_in_periodic = True
    svc = run_scheduler(manager)
    _wait_for(manager.holding.is_set, "the periodic task to start running")
    threading.Timer(0.3, manager.release.set).start()

    assert svc.stop(timeout=5) is True
    assert manager.cleaned_up.is_set()


def test_stop_does_not_wait_for_a_reply_the_bus_cannot_take(
        run_scheduler: Callable[..., service.Service], monkeypatch: pytest.MonkeyPatch) -> None:
    # oslo.messaging retries a reply for ever while the broker is away; the RPC
    # server's wait() then never returns although no handler runs any more.
    monkeypatch.setattr(service, "REPLY_DRAIN_TIMEOUT", 0.5)
    manager = RecordingManager(host=HOST)
    svc = run_scheduler(manager)
    stuck = threading.Event()
    assert svc._rpc_server is not None
    monkeypatch.setattr(svc._rpc_server, "wait", lambda: stuck.wait(HOLD_LIMIT))

    began = time.monotonic()
    assert svc.stop(timeout=2) is True
    # One REPLY_DRAIN_TIMEOUT for all the replies, not one per wait: the bus
    # connections still have to close within the stop's bound after them.
    assert time.monotonic() - began < 0.95
    assert manager.cleaned_up.wait(PATIENCE)
    stuck.set()


def test_in_flight_counts_running_handlers() -> None:
    in_flight = rpc.InFlight()
    assert in_flight.wait(0) is True
    with in_flight:
        assert in_flight.count == 1
        assert in_flight.wait(0.05) is False
    assert in_flight.count == 0 and in_flight.wait(0) is True


# -- forked workers (kumo.launcher) --------------------------------------------


def test_a_worker_other_than_0_neither_reports_nor_runs_periodic_tasks(
        run_scheduler: Callable[..., service.Service],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The row and the periodic tasks are the service's: worker 0 looks after them.
    monkeypatch.setattr(process, "_worker", 1)
    manager = PeriodicManager(host=HOST)
    svc = run_scheduler(manager)
    assert manager.initialized.is_set()
    time.sleep(1.5)  # a report_interval and a periodic_interval (1 s each) went by
    assert svc.service_ref is None and _live_row() is None
    assert manager.runs == []
    monkeypatch.setattr(process, "_worker", 0)
    assert process.reports_for_service()
