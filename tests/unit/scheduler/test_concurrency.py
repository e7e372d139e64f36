"""select_destinations from many threads: claims overlap, the cache never double-books.

The scheduler's lock covers only the in-memory decision; the claim round trip
runs without it. These tests hold claims inside a conductor double until the
test lets them go, so they prove decisions overlap there and that the
reservations made before the claim keep concurrent decisions off the same room.
The last tests do the same against the real kumo-conductor (its guarded
UPDATE, its answers) on the fake bus over SQLite, the very last with the
conductor's own claims of unclaimed selections (RPC 1.2) from two schedulers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import oslo_messaging as messaging
import pytest

from kumo import context, exception
from kumo.conductor import manager as conductor_manager
from kumo.conductor import rpcapi as conductor_rpcapi
from kumo.conductor.tasks import build, common
from kumo.scheduler.filter_scheduler import FilterScheduler
from kumo.scheduler.host_manager import HostManager
from tests.unit.scheduler.fakes import FakeConductor, make_node, request_spec

WAIT = 10.0


def wait_for(predicate: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


class GatedConductor(FakeConductor):
    """Claims wait at a gate (before the guarded update) until the test opens it."""

    def __init__(self, nodes: list[Any]) -> None:
        super().__init__(nodes)
        self.gate = threading.Event()
        self.arrived = 0
        self.mutex = threading.Lock()
        self.fail_with: BaseException | None = None

    def compute_node_claim(self, ctxt: Any, node_uuid: str, instance_uuid: str,
                           resources: dict[str, int], limits: dict[str, int]) -> Any:
        with self.mutex:
            self.arrived += 1
        if not self.gate.wait(WAIT):
            raise AssertionError("gate never opened")
        with self.mutex:
            if self.fail_with is not None:
                raise self.fail_with
            return super().compute_node_claim(ctxt, node_uuid, instance_uuid,
                                              resources, limits)


def gated(count: int, memory_mb: int = 4096) -> tuple[FilterScheduler, GatedConductor]:
    conductor = GatedConductor([make_node(f"h{i}", memory_mb=memory_mb) for i in range(count)])
    return FilterScheduler(HostManager(conductor=conductor)), conductor


def run(sched: FilterScheduler, spec: dict[str, Any], instance: str,
        results: dict[str, Any], ctxt: Any = None) -> threading.Thread:
    def target() -> None:
        try:
            results[instance] = sched.select_destinations(ctxt, spec, [instance])
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            results[instance] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def cache_usage(sched: FilterScheduler) -> dict[str, int]:
    return {s.host: s.memory_mb_used for s in sched.host_manager.get_all_host_states()}


def db_usage(conductor: FakeConductor) -> dict[str, int]:
    return {n.host: n.memory_mb_used for n in conductor.nodes.values()}


def test_two_decisions_wait_in_their_claims_at_the_same_time(flags: Any) -> None:
    flags(ram_allocation_ratio=1.0)
    sched, conductor = gated(4)
    results: dict[str, Any] = {}
    threads = [run(sched, request_spec(memory_mb=1024), f"i{n}", results) for n in range(2)]
    # Both are inside the claim round trip at once: the lock is not held across it.
    wait_for(lambda: conductor.arrived == 2)
    assert len(sched.host_manager.in_flight()) == 2
    assert not sched._lock.locked()
    conductor.gate.set()
    for thread in threads:
        thread.join(WAIT)
    assert all(isinstance(r, list) for r in results.values()), results
    assert sorted(conductor.claims) == ["i0", "i1"]
    assert sched.host_manager.in_flight() == []
    assert cache_usage(sched) == db_usage(conductor)


@pytest.mark.parametrize("taken_behind_the_back", [False, True])
def test_concurrent_decisions_place_exactly_the_room_there_is(
        flags: Any, taken_behind_the_back: bool) -> None:
    """3 nodes with room for 2 servers each: 10 concurrent boots place exactly 6."""
    flags(ram_allocation_ratio=1.0, max_claim_races=10)
    sched, conductor = gated(3 if not taken_behind_the_back else 4)
    if taken_behind_the_back:
        # Another scheduler filled h3 after this cache was loaded: its claims are
        # refused by the conductor, and the room is still exactly 6.
        sched.host_manager.refresh(None)
        conductor.take(next(n.uuid for n in conductor.nodes.values() if n.host == "h3"),
                       memory_mb=4096)
    results: dict[str, Any] = {}
    threads = [run(sched, request_spec(memory_mb=2048), f"i{n}", results) for n in range(10)]
    if not taken_behind_the_back:
        # The cache hands out the room once: 6 claims in flight, 4 turned away
        # without reaching the conductor.
        wait_for(lambda: conductor.arrived == 6 and len(results) == 4)
        assert len(sched.host_manager.in_flight()) == 6
    conductor.gate.set()
    for thread in threads:
        thread.join(WAIT)
    placed = [i for i, r in results.items() if isinstance(r, list)]
    refused = [r for r in results.values() if not isinstance(r, list)]
    assert len(placed) == 6 and len(refused) == 4
    assert all(isinstance(r, exception.NoValidHost) for r in refused), refused
    assert sorted(conductor.claims) == sorted(placed)
    assert all(n.memory_mb_used == 4096 for n in conductor.nodes.values())
    if not taken_behind_the_back:
        assert len(conductor.method_calls("compute_node_claim")) == 6
    # Nothing leaked: no reservation left, the cache agrees with the database.
    assert sched.host_manager.in_flight() == []
    sched.host_manager.refresh(None, force=True)
    assert cache_usage(sched) == db_usage(conductor)


def test_refresh_during_a_claim_keeps_the_reservation(flags: Any) -> None:
    flags(ram_allocation_ratio=1.0)
    sched, conductor = gated(1)
    results: dict[str, Any] = {}
    first = run(sched, request_spec(memory_mb=4096), "i0", results)
    wait_for(lambda: conductor.arrived == 1)
    with sched._lock:
        sched.host_manager.refresh(None, force=True)
    [state] = sched.host_manager.get_all_host_states()
    assert state.memory_mb_used == 4096  # the database has 0 yet: the reservation counts
    # A second decision sees no room while the first claim is in flight.
    with pytest.raises(exception.NoValidHost):
        sched.select_destinations(None, request_spec(memory_mb=4096), ["i1"])
    conductor.gate.set()
    first.join(WAIT)
    assert isinstance(results["i0"], list)
    assert state.memory_mb_used == 4096 == db_usage(conductor)["h0"]
    assert conductor.method_calls("compute_node_claim") == [
        {"node_uuid": state.node_uuid, "instance_uuid": "i0"}]


def test_a_claim_refused_by_the_conductor_undoes_its_reservation(flags: Any) -> None:
    flags(ram_allocation_ratio=1.0)
    sched, conductor = gated(1)
    conductor.gate.set()
    sched.host_manager.refresh(None)
    [node] = conductor.nodes.values()
    conductor.take(node.uuid, memory_mb=4096, touch=False)  # unseen by the cache
    with pytest.raises(exception.NoValidHost, match="claims failed on 1"):
        sched.select_destinations(None, request_spec(memory_mb=2048), ["i0"])
    assert sched.host_manager.in_flight() == []
    assert cache_usage(sched) == {"h0": 4096} == db_usage(conductor)


def test_an_rpc_failure_undoes_the_reservation_and_is_raised(flags: Any) -> None:
    sched, conductor = gated(2)
    conductor.gate.set()
    conductor.fail_with = exception.KumoException("conductor went away")
    with pytest.raises(exception.KumoException, match="went away"):
        sched.select_destinations(None, request_spec(memory_mb=2048), ["i0"])
    assert sched.host_manager.in_flight() == []
    assert set(cache_usage(sched).values()) == {0}
    assert not sched._lock.locked()


def test_a_failed_multi_create_releases_its_earlier_claims(flags: Any) -> None:
    flags(ram_allocation_ratio=1.0)
    sched, conductor = gated(2)
    conductor.gate.set()
    with pytest.raises(exception.NoValidHost, match="placing server 3 of 3"):
        sched.select_destinations(None, request_spec(memory_mb=4096, num_instances=3),
                                  ["i0", "i1", "i2"])
    assert conductor.claims == {}
    assert len(conductor.method_calls("compute_node_release")) == 2
    assert sched.host_manager.in_flight() == []
    assert set(cache_usage(sched).values()) == {0} == set(db_usage(conductor).values())


class MeetingConductor(conductor_rpcapi.ConductorAPI):
    """The real conductor's client; every claim waits until ``parties`` claims are
    under way at once (BrokenBarrierError if they never are)."""

    def __init__(self, parties: int) -> None:
        super().__init__(timeout=WAIT)
        self.meeting = threading.Barrier(parties, timeout=WAIT)

    def compute_node_claim(self, ctxt: Any, **kwargs: Any) -> Any:
        self.meeting.wait()
        return super().compute_node_claim(ctxt, **kwargs)


def _three_nodes_and_ten_servers(conductor: conductor_rpcapi.ConductorAPI,
                                 ctxt: context.RequestContext) -> list[Any]:
    """Through the real conductor: h0..h2 (up, 4096 MB each) and ten 2048 MB servers."""
    for host in ("h0", "h1", "h2"):
        service = conductor.service_register(ctxt, host, "kumo-compute", "compute", 1)
        conductor.service_heartbeat(ctxt, service.id)
        conductor.compute_nodes_report(ctxt, host, service.id, [{
            "hypervisor_hostname": host, "hypervisor_type": "fake", "hypervisor_version": 1,
            "vcpus": 8, "memory_mb": 4096, "local_gb": 100}])
    return conductor.instance_create(ctxt, [
        {"project_id": "p1", "user_id": "u1", "memory_mb": 2048, "vcpus": 1, "root_gb": 1,
         "display_name": f"vm-{n}"} for n in range(10)])


def test_concurrent_decisions_against_the_real_conductor(
        flags: Any, rpc_servers: Callable[[messaging.Target, list[Any]], None],
        conductor_db: None) -> None:
    """3 nodes with room for 2 each, 10 concurrent boots: the 6 claims are in flight
    together, the database holds exactly 6, and the cache agrees with it."""
    flags(ram_allocation_ratio=1.0)
    rpc_servers(messaging.Target(topic=conductor_rpcapi.TOPIC, server="conductor-host"),
                [conductor_manager.ConductorManager(host="conductor-host")])
    conductor = MeetingConductor(parties=6)
    ctxt = context.RequestContext(request_id="req-sched", project_id="p1", user_id="u1")
    created = _three_nodes_and_ten_servers(conductor, ctxt)
    sched = FilterScheduler(HostManager(conductor=conductor))
    results: dict[str, Any] = {}
    threads = [run(sched, request_spec(memory_mb=2048), instance.uuid, results, ctxt)
               for instance in created]
    for thread in threads:
        thread.join(WAIT * 2)
    placed = [i for i, r in results.items() if isinstance(r, list)]
    refused = [r for r in results.values() if not isinstance(r, list)]
    assert len(placed) == 6 and len(refused) == 4, results
    assert all(isinstance(r, exception.NoValidHost) for r in refused), refused
    database = {n.host: n.memory_mb_used for n in conductor.compute_node_get_all(ctxt)}
    assert database == {"h0": 4096, "h1": 4096, "h2": 4096}
    assert sched.host_manager.in_flight() == []
    sched.host_manager.refresh(ctxt, force=True)
    assert cache_usage(sched) == database


def test_two_schedulers_leaving_the_claims_to_the_conductor_never_over_commit(
        flags: Any, rpc_servers: Callable[[messaging.Target, list[Any]], None],
        conductor_db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """3 nodes with room for 2 each, 10 concurrent builds decided by two schedulers
    (two caches, each sure it has room for 6) with ``claim=False``, claimed by the
    conductor's build path: exactly 6 placed, the refused claims scheduled again
    with claims, the rest NoValidHost, no node over its room."""
    flags(ram_allocation_ratio=1.0, max_claim_races=10)
    rpc_servers(messaging.Target(topic=conductor_rpcapi.TOPIC, server="conductor-host"),
                [conductor_manager.ConductorManager(host="conductor-host")])
    conductor = conductor_rpcapi.ConductorAPI(timeout=WAIT)
    ctxt = context.RequestContext(request_id="req-sched", project_id="p1", user_id="u1")
    created = _three_nodes_and_ten_servers(conductor, ctxt)
    schedulers = [FilterScheduler(HostManager(conductor=conductor)) for _ in range(2)]
    for sched in schedulers:
        sched.host_manager.refresh(ctxt)
    mine = threading.local()
    monkeypatch.setattr(common, "scheduler", lambda: mine.scheduler)
    cast: dict[str, str] = {}

    class Compute:
        def build_and_run_instance(self, ctxt: Any, instance: Any, host: str,
                                   **kwargs: Any) -> None:
            cast[instance.uuid] = host

    monkeypatch.setattr(common, "compute", Compute)
    spec = request_spec(memory_mb=2048)
    start = threading.Barrier(10, timeout=WAIT)
    results: dict[str, Any] = {}

    def build_one(index: int, instance_uuid: str) -> None:
        mine.scheduler = schedulers[index % 2]
        start.wait()
        try:
            [candidates] = mine.scheduler.select_destinations(ctxt, spec, [instance_uuid],
                                                              claim=False)
            results[instance_uuid] = build._start_claimed(ctxt, instance_uuid, candidates,
                                                          spec, {}, None)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            results[instance_uuid] = exc

    threads = [threading.Thread(target=build_one, args=(n, instance.uuid), daemon=True)
               for n, instance in enumerate(created)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 2)
    refused = [r for r in results.values() if r is not True]
    assert len(cast) == 6 and len(refused) == 4, results
    assert all(isinstance(r, exception.NoValidHost) for r in refused), refused
    nodes = conductor.compute_node_get_all(ctxt)
    assert {n.host: n.memory_mb_used for n in nodes} == {"h0": 4096, "h1": 4096, "h2": 4096}
    # Each started server holds the claim on the node its build was cast to.
    for instance_uuid, host in cast.items():
        instance = conductor.instance_get(ctxt, instance_uuid)
        assert instance.host == host
        assert instance.system_metadata["claimed_node"] == next(
            n.uuid for n in nodes if n.host == host)
