"""The host-state cache: refresh interval, changed_since, services, ratios, local claims."""

from __future__ import annotations

from typing import Any

from kumo.scheduler.host_manager import HostManager, HostState
from tests.unit.scheduler.fakes import FakeConductor, make_node, make_service


def test_first_refresh_fetches_everything_then_only_changes(
        host_manager: HostManager, conductor: FakeConductor, clock: Any, flags: Any) -> None:
    flags(host_state_refresh_interval=5.0)
    host_manager.refresh(None)
    assert conductor.method_calls("compute_node_get_all") == [{"changed_since": None}]
    assert conductor.method_calls("service_get_all") == [{"binary": "kumo-compute",
                                                          "host": None}]
    assert len(host_manager) == 4
    newest = max(n.updated_at for n in conductor.nodes.values())

    clock.now += 5
    host_manager.refresh(None)
    assert conductor.method_calls("compute_node_get_all")[-1] == {"changed_since": newest}


def test_refresh_waits_for_the_interval(host_manager: HostManager, conductor: FakeConductor,
                                        clock: Any, flags: Any) -> None:
    flags(host_state_refresh_interval=5.0)
    host_manager.refresh(None)
    clock.now += 4.9
    host_manager.refresh(None)
    assert len(conductor.method_calls("compute_node_get_all")) == 1
    host_manager.refresh(None, force=True)
    assert len(conductor.method_calls("compute_node_get_all")) == 2


def test_changed_nodes_and_new_nodes_arrive_with_the_incremental_refresh(
        host_manager: HostManager, conductor: FakeConductor, clock: Any) -> None:
    host_manager.refresh(None)
    node = next(iter(conductor.nodes.values()))
    conductor.take(node.uuid, memory_mb=1000)
    conductor.add_node(make_node("newcomer"))
    conductor.services.append(make_service("newcomer"))
    clock.now += 60
    host_manager.refresh(None)
    assert host_manager.get(node.uuid).memory_mb_used == 1000
    states = {h.host: h for h in host_manager.get_all_host_states()}
    assert states["newcomer"].service_up


def test_full_refresh_forgets_nodes_that_are_gone(
        host_manager: HostManager, conductor: FakeConductor, clock: Any, flags: Any) -> None:
    flags(host_state_full_refresh_interval=60.0, host_state_refresh_interval=1.0)
    host_manager.refresh(None)
    gone = next(iter(conductor.nodes))
    del conductor.nodes[gone]
    clock.now += 2
    host_manager.refresh(None)  # incremental: cannot know
    assert host_manager.get(gone) is not None
    clock.now += 60
    host_manager.refresh(None)
    assert conductor.method_calls("compute_node_get_all")[-1] == {"changed_since": None}
    assert host_manager.get(gone) is None


def test_service_state_comes_from_the_compute_services() -> None:
    conductor = FakeConductor([make_node("up"), make_node("down"), make_node("off"),
                               make_node("orphan")],
                              [make_service("up"), make_service("down", up=False),
                               make_service("off", disabled=True)])
    manager = HostManager(conductor=conductor)
    states = {h.host: h for h in manager.get_all_host_states()}
    assert not states  # nothing is fetched before a refresh
    manager.refresh(None)
    states = {h.host: h for h in manager.get_all_host_states()}
    assert (states["up"].service_up, states["up"].service_disabled) == (True, False)
    assert not states["down"].service_up
    assert states["off"].service_disabled
    assert not states["orphan"].service_up


def test_limits_use_the_nodes_ratio_or_the_default(flags: Any) -> None:
    flags(cpu_allocation_ratio=16.0, ram_allocation_ratio=1.5, disk_allocation_ratio=1.0)
    state = HostState(make_node("h", vcpus=4, memory_mb=1000, local_gb=10,
                                cpu_allocation_ratio=2.0))
    assert state.limits() == {"vcpus": 8, "memory_mb": 1500, "disk_gb": 10}
    assert state.selection() == {"host": "h", "nodename": "h", "node_uuid": state.node_uuid,
                                 "limits": {"vcpus": 8, "memory_mb": 1500, "disk_gb": 10}}


def test_consume_and_give_back() -> None:
    state = HostState(make_node("h", vcpus=4, memory_mb=1000, local_gb=10))
    resources = {"vcpus": 1, "memory_mb": 256, "disk_gb": 2}
    state.consume(resources)
    assert (state.vcpus_used, state.memory_mb_used, state.local_gb_used,
            state.running_vms) == (1, 256, 2, 1)
    state.consume(resources, sign=-1)
    assert (state.vcpus_used, state.memory_mb_used, state.local_gb_used) == (0, 0, 0)


def test_synthetic_nodes_can_be_fed_without_a_conductor() -> None:
    manager = HostManager(conductor=object())
    manager.load_nodes(make_node(f"h{i}") for i in range(100))
    manager.load_services([make_service(f"h{i}") for i in range(100)])
    assert len(manager.get_all_host_states()) == 100
    assert all(h.service_up for h in manager.get_all_host_states())


RES = {"vcpus": 1, "memory_mb": 1024, "disk_gb": 1}


def _one_node(host_manager: HostManager, conductor: FakeConductor) -> tuple[Any, HostState]:
    host_manager.refresh(None)
    node = next(iter(conductor.nodes.values()))
    state = host_manager.get(node.uuid)
    assert state is not None
    return node, state


def test_a_refresh_re_applies_reservations_in_flight(
        host_manager: HostManager, conductor: FakeConductor) -> None:
    node, state = _one_node(host_manager, conductor)
    reservation = host_manager.reserve(state, RES)
    assert state.memory_mb_used == 1024
    host_manager.refresh(None, force=True)
    host_manager.load_nodes(conductor.compute_node_get_all(None), full=True)
    assert state.memory_mb_used == 1024  # the database row has 0: the reservation stays
    host_manager.cancel(reservation)
    assert state.memory_mb_used == 0 and host_manager.in_flight() == []
    host_manager.cancel(reservation)  # twice is harmless
    assert state.memory_mb_used == 0


def test_settle_takes_the_conductors_answer_when_alone_on_the_node(
        host_manager: HostManager, conductor: FakeConductor) -> None:
    node, state = _one_node(host_manager, conductor)
    reservation = host_manager.reserve(state, RES)
    conductor.take(node.uuid, memory_mb=2048)  # another scheduler's claim
    answer = conductor.compute_node_claim(None, node.uuid, "i0", RES, state.limits())
    host_manager.settle(reservation, answer)
    assert state.memory_mb_used == 3072 and host_manager.in_flight() == []


def test_settle_keeps_its_own_count_when_claims_overlapped(
        host_manager: HostManager, conductor: FakeConductor) -> None:
    """Replies of overlapping claims may come back in either order: never under-count."""
    node, state = _one_node(host_manager, conductor)
    first = host_manager.reserve(state, RES)
    second = host_manager.reserve(state, RES)
    answer_first = conductor.compute_node_claim(None, node.uuid, "i0", RES, state.limits())
    answer_second = conductor.compute_node_claim(None, node.uuid, "i1", RES, state.limits())
    host_manager.settle(second, answer_second)
    host_manager.settle(first, answer_first)  # an answer that misses the second claim
    assert state.memory_mb_used == 2048 == conductor.nodes[node.uuid].memory_mb_used
