"""select_destinations: one decision per request, claimed, with alternates and explanations."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from kumo import exception
from kumo.scheduler.filter_scheduler import FilterScheduler
from kumo.scheduler.host_manager import HostManager
from tests.unit.scheduler.fakes import EPOCH, FakeConductor, make_node, make_service, request_spec


def uuids(count: int) -> list[str]:
    return [f"00000000-0000-0000-0000-{i:012d}" for i in range(count)]


def scheduler_over(nodes: list[Any], services: list[Any] | None = None
                   ) -> tuple[FilterScheduler, FakeConductor]:
    conductor = FakeConductor(nodes, services)
    return FilterScheduler(HostManager(conductor=conductor)), conductor


def test_selected_node_is_claimed_and_alternates_follow(
        scheduler: FilterScheduler, conductor: FakeConductor, flags: Any) -> None:
    flags(max_attempts=3)
    [selections] = scheduler.select_destinations(None, request_spec(memory_mb=1024), uuids(1))
    assert len(selections) == 3
    chosen, *alternates = selections
    assert set(chosen) == {"host", "nodename", "node_uuid", "limits"}
    assert conductor.claims == {uuids(1)[0]: (chosen["node_uuid"],
                                              {"vcpus": 1, "memory_mb": 1024, "disk_gb": 1})}
    assert chosen["node_uuid"] not in {alt["node_uuid"] for alt in alternates}
    claim = conductor.method_calls("compute_node_claim")
    assert claim == [{"node_uuid": chosen["node_uuid"], "instance_uuid": uuids(1)[0]}]


def test_no_alternates_when_not_asked_or_max_attempts_is_one(
        scheduler: FilterScheduler, flags: Any) -> None:
    result = scheduler.select_destinations(None, request_spec(), uuids(1),
                                           return_alternates=False)
    assert len(result[0]) == 1
    flags(max_attempts=1)
    assert len(scheduler.select_destinations(None, request_spec(), uuids(2)[1:])[0]) == 1


def test_multi_create_spreads_and_sees_its_own_claims(flags: Any) -> None:
    flags(ram_weight_multiplier=1.0)
    sched, conductor = scheduler_over([make_node(f"h{i}") for i in range(3)])
    result = sched.select_destinations(None, request_spec(memory_mb=4096, num_instances=3),
                                       uuids(3))
    assert sorted(r[0]["host"] for r in result) == ["h0", "h1", "h2"]


def test_multi_create_never_over_commits_a_node(flags: Any) -> None:
    flags(ram_allocation_ratio=1.0, ram_weight_multiplier=-1.0)  # pack: same node if it fits
    sched, conductor = scheduler_over([make_node("a", memory_mb=4096),
                                       make_node("b", memory_mb=4096)])
    result = sched.select_destinations(None, request_spec(memory_mb=2048, num_instances=4),
                                       uuids(4))
    hosts = [r[0]["host"] for r in result]
    assert sorted(hosts) == ["a", "a", "b", "b"]
    # The cache saw every claim: no claim had to be refused by the conductor.
    assert len(conductor.method_calls("compute_node_claim")) == 4
    assert all(n.memory_mb_used == 4096 for n in conductor.nodes.values())


def test_anti_affinity_puts_each_member_on_its_own_host(flags: Any) -> None:
    flags(ram_weight_multiplier=-1.0)  # packing would otherwise stack them
    nodes = [make_node(f"h{i}") for i in range(3)]
    sched, conductor = scheduler_over(nodes)
    group = {"uuid": "g", "policy": "anti-affinity", "rules": {}, "hosts": []}
    result = sched.select_destinations(
        None, request_spec(num_instances=3, instance_group=group), uuids(3))
    assert sorted(r[0]["host"] for r in result) == ["h0", "h1", "h2"]


def test_anti_affinity_failure_releases_the_claims_already_made() -> None:
    sched, conductor = scheduler_over([make_node("h0"), make_node("h1")])
    group = {"uuid": "g", "policy": "anti-affinity", "rules": {}, "hosts": []}
    with pytest.raises(exception.NoValidHost) as info:
        sched.select_destinations(None, request_spec(num_instances=3, instance_group=group),
                                  uuids(3))
    assert str(info.value) == (
        "No valid host was found. 2 hosts: ServerGroupAntiAffinityFilter rejected 2 "
        "(server group anti-affinity: host already has a member) (placing server 3 of 3)")
    assert conductor.claims == {}
    assert len(conductor.method_calls("compute_node_release")) == 2
    assert all(n.memory_mb_used == 0 for n in conductor.nodes.values())
    # The cache gave them back too: the next request sees free hosts.
    assert all(h.memory_mb_used == 0 for h in sched.host_manager.get_all_host_states())


def test_affinity_keeps_a_multi_create_on_one_host(flags: Any) -> None:
    flags(ram_weight_multiplier=1.0)
    sched, _ = scheduler_over([make_node(f"h{i}") for i in range(3)])
    group = {"uuid": "g", "policy": "affinity", "rules": {}, "hosts": []}
    result = sched.select_destinations(
        None, request_spec(num_instances=3, instance_group=group), uuids(3))
    assert len({r[0]["host"] for r in result}) == 1


def test_no_valid_host_names_each_filter_and_the_best_host(flags: Any) -> None:
    flags(ram_allocation_ratio=1.0)
    nodes = [make_node("small1", memory_mb=2048), make_node("small2", memory_mb=4096),
             make_node("small3", memory_mb=4096, memory_mb_used=1024),
             make_node("far", memory_mb=65536)]
    sched, conductor = scheduler_over(nodes)
    conductor.aggregates = [{"name": "far", "hosts": ["far"], "availability_zone": "elsewhere",
                             "metadata": {"availability_zone": "elsewhere"}}]
    with pytest.raises(exception.NoValidHost) as info:
        sched.select_destinations(
            None, request_spec(memory_mb=8192, availability_zone="nova"), uuids(1))
    assert info.value.kwargs["reason"] == (
        "4 hosts: AvailabilityZoneFilter rejected 1 (not in zone 'nova'), "
        "RamFilter rejected 3 (need 8192 MB, best has 4096 MB)")
    assert conductor.method_calls("compute_node_claim") == []


def test_no_valid_host_without_any_node() -> None:
    sched, _ = scheduler_over([])
    with pytest.raises(exception.NoValidHost, match="0 hosts: no compute nodes"):
        sched.select_destinations(None, request_spec(), uuids(1))


def test_down_hosts_and_ignored_hosts_are_explained() -> None:
    sched, _ = scheduler_over([make_node("a"), make_node("b"), make_node("c")],
                              [make_service("a", up=False), make_service("b"),
                               make_service("c")])
    with pytest.raises(exception.NoValidHost) as info:
        sched.select_destinations(None, request_spec(ignore_hosts=["b", "c"]), uuids(1))
    assert info.value.kwargs["reason"] == (
        "3 hosts: ignore_hosts removed 2, ComputeFilter rejected 1 (1 compute service down)")


def test_stale_cache_claim_failure_falls_to_the_next_host(flags: Any) -> None:
    flags(ram_weight_multiplier=1.0, ram_allocation_ratio=1.0, host_state_refresh_interval=60)
    sched, conductor = scheduler_over([make_node("big", memory_mb=8192),
                                       make_node("small", memory_mb=4096)])
    sched.host_manager.refresh(None)
    big = next(n for n in conductor.nodes.values() if n.host == "big")
    # Another scheduler fills "big"; our cache has not seen it yet.
    conductor.take(big.uuid, memory_mb=8192)
    [selections] = sched.select_destinations(None, request_spec(memory_mb=2048), uuids(1))
    assert selections[0]["host"] == "small"
    claims = conductor.method_calls("compute_node_claim")
    assert [c["node_uuid"] for c in claims] == [big.uuid, selections[0]["node_uuid"]]
    # The failure forced a refresh, so the cache now knows "big" is full...
    assert sched.host_manager.get(big.uuid).memory_mb_used == 8192
    # ...and the raced node is not offered as an alternate.
    assert len(selections) == 1


def test_claims_racing_everywhere_end_in_no_valid_host(flags: Any) -> None:
    flags(host_state_refresh_interval=60)
    sched, conductor = scheduler_over([make_node("a", memory_mb=1024),
                                       make_node("b", memory_mb=1024)])
    sched.host_manager.refresh(None)
    for node in conductor.nodes.values():
        conductor.take(node.uuid, memory_mb=4096, touch=False)
    with pytest.raises(exception.NoValidHost) as info:
        sched.select_destinations(None, request_spec(memory_mb=512), uuids(1))
    # The first claim fails; the forced refresh then shows the other node full too.
    assert info.value.kwargs["reason"] == (
        "2 hosts: RamFilter rejected 1 (need 512 MB, best has 0 MB), "
        "claims failed on 1 (taken by concurrent requests)")
    assert len(conductor.method_calls("compute_node_claim")) == 1


def test_claim_races_are_bounded(flags: Any) -> None:
    flags(host_state_refresh_interval=60, max_claim_races=2)
    sched, conductor = scheduler_over([make_node(f"h{i}", memory_mb=1024) for i in range(5)])
    sched.host_manager.refresh(None)
    for node in conductor.nodes.values():
        conductor.take(node.uuid, memory_mb=4096, touch=False)
        node.updated_at = EPOCH - datetime.timedelta(days=1)  # invisible to changed_since
    with pytest.raises(exception.NoValidHost, match="claims failed on 2"):
        sched.select_destinations(None, request_spec(memory_mb=512), uuids(1))
    assert len(conductor.method_calls("compute_node_claim")) == 2


def test_consecutive_requests_see_earlier_claims_before_a_refresh(flags: Any) -> None:
    flags(ram_allocation_ratio=1.0, host_state_refresh_interval=3600)
    sched, conductor = scheduler_over([make_node("only", memory_mb=4096)])
    sched.select_destinations(None, request_spec(memory_mb=3072), uuids(1))
    with pytest.raises(exception.NoValidHost, match="need 3072 MB, best has 1024 MB"):
        sched.select_destinations(None, request_spec(memory_mb=3072), uuids(2)[1:])
    assert len(conductor.method_calls("compute_node_claim")) == 1
    assert len(conductor.method_calls("compute_node_get_all")) == 1


def test_anti_affinity_alternates_never_hold_another_member(flags: Any) -> None:
    flags(max_attempts=4)
    sched, _ = scheduler_over([make_node(f"h{i}") for i in range(4)])
    group = {"uuid": "g", "policy": "anti-affinity", "rules": {}, "hosts": []}
    result = sched.select_destinations(
        None, request_spec(num_instances=3, instance_group=group), uuids(3))
    chosen = [r[0]["host"] for r in result]
    assert len(set(chosen)) == 3
    for selections in result:
        own = selections[0]["host"]
        assert all(alt["host"] not in set(chosen) - {own} for alt in selections[1:])
    # The first server's alternates were picked before the others were placed;
    # only the host no member took remains.
    assert [alt["host"] for alt in result[0][1:]] == sorted(
        {"h0", "h1", "h2", "h3"} - set(chosen))


def test_affinity_alternates_stay_on_the_groups_host(flags: Any) -> None:
    flags(max_attempts=3)
    sched, _ = scheduler_over([make_node("a", "a-n1"), make_node("a", "a-n2"),
                               make_node("b")])
    group = {"uuid": "g", "policy": "affinity", "rules": {}, "hosts": []}
    result = sched.select_destinations(
        None, request_spec(num_instances=2, instance_group=group), uuids(2))
    for selections in result:
        assert {s["host"] for s in selections} == {result[0][0]["host"]}


def test_claim_answer_updates_the_cached_usage(flags: Any) -> None:
    flags(host_state_refresh_interval=3600)
    sched, conductor = scheduler_over([make_node("only", memory_mb=16384)])
    sched.host_manager.refresh(None)
    node = next(iter(conductor.nodes.values()))
    conductor.take(node.uuid, memory_mb=1000, touch=False)  # someone else, unseen so far
    sched.select_destinations(None, request_spec(memory_mb=512), uuids(1))
    assert sched.host_manager.get(node.uuid).memory_mb_used == 1512


def test_a_move_avoids_ignored_nodes_and_makes_a_migration_claim(
        monkeypatch: pytest.MonkeyPatch) -> None:
    sched, conductor = scheduler_over([make_node("a"), make_node("b"), make_node("c")])
    migration_claims: list[tuple[str, str]] = []

    def claim_migration(ctxt: Any, node_uuid: str, instance_uuid: str,
                        resources: dict[str, int], limits: dict[str, int]) -> Any:
        migration_claims.append((node_uuid, instance_uuid))
        return None

    monkeypatch.setattr(conductor, "compute_node_claim_migration", claim_migration,
                        raising=False)
    [[chosen]] = sched.select_destinations(
        None, request_spec(move=True, ignore_nodes=["a", "b"]), uuids(1),
        return_alternates=False)

    assert chosen["nodename"] == "c"
    assert migration_claims == [(chosen["node_uuid"], uuids(1)[0])]
    assert conductor.method_calls("compute_node_claim") == []


def test_unclaimed_selections_leave_the_claim_to_the_caller(flags: Any) -> None:
    flags(ram_allocation_ratio=1.0, host_state_refresh_interval=3600)
    sched, conductor = scheduler_over([make_node("only", memory_mb=4096)])
    [selections] = sched.select_destinations(None, request_spec(memory_mb=3072), uuids(1),
                                             claim=False)
    assert selections[0]["claimed"] is False
    assert selections[0]["resources"] == {"vcpus": 1, "memory_mb": 3072, "disk_gb": 1}
    assert selections[0]["limits"]["memory_mb"] == 4096
    assert conductor.method_calls("compute_node_claim") == [] and conductor.claims == {}
    # The cache counts it as claimed: the next decision sees the room taken.
    with pytest.raises(exception.NoValidHost, match="need 3072 MB, best has 1024 MB"):
        sched.select_destinations(None, request_spec(memory_mb=3072), uuids(2)[1:],
                                  claim=False)


def test_an_unplaced_unclaimed_multi_create_gives_back_the_cache_only(flags: Any) -> None:
    flags(ram_allocation_ratio=1.0, host_state_refresh_interval=3600)
    sched, conductor = scheduler_over([make_node("only", memory_mb=4096)])
    with pytest.raises(exception.NoValidHost, match="placing server 2 of 2"):
        sched.select_destinations(None, request_spec(memory_mb=3072, num_instances=2),
                                  uuids(2), claim=False)
    assert conductor.method_calls("compute_node_release") == []
    assert sched.host_manager.get_all_host_states()[0].memory_mb_used == 0
