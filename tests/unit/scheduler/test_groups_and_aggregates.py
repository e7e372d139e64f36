"""Host aggregates in the host states, and the server-group policies in a decision."""

from __future__ import annotations

from typing import Any

from kumo.scheduler.filter_scheduler import FilterScheduler
from kumo.scheduler.host_manager import HostManager
from tests.unit.scheduler.fakes import FakeConductor, request_spec


def uuids(count: int) -> list[str]:
    return [f"00000000-0000-0000-0000-{i:012d}" for i in range(count)]


def _hosts(selections: list[list[dict[str, Any]]]) -> list[str]:
    return [candidates[0]["host"] for candidates in selections]


def test_refresh_gives_each_host_its_zone_and_aggregates(
        host_manager: HostManager, conductor: FakeConductor) -> None:
    conductor.aggregates = [
        {"name": "zoned", "hosts": ["host1"], "availability_zone": "az1",
         "metadata": {"availability_zone": "az1"}},
        {"name": "fast", "hosts": ["host1", "host2"], "availability_zone": None,
         "metadata": {"ssd": "true"}}]
    host_manager.refresh(None)
    states = {h.host: h for h in host_manager.get_all_host_states()}
    assert states["host1"].availability_zone == "az1"
    assert [a["name"] for a in states["host1"].aggregates] == ["zoned", "fast"]
    assert (states["host2"].availability_zone, states["host3"].aggregates) == ("nova", [])

    # The next refresh forgets an aggregate that is gone.
    conductor.aggregates = []
    host_manager.refresh(None, force=True)
    assert all(h.availability_zone == "nova" and not h.aggregates
               for h in host_manager.get_all_host_states())


def test_zone_and_aggregate_specs_filter_the_hosts(
        scheduler: FilterScheduler, conductor: FakeConductor) -> None:
    conductor.aggregates = [
        {"name": "zoned", "hosts": ["host3"], "availability_zone": "az1",
         "metadata": {"availability_zone": "az1"}},
        {"name": "fast", "hosts": ["host2"], "metadata": {"ssd": "true"}}]
    zoned = scheduler.select_destinations(None, request_spec(availability_zone="az1"),
                                          uuids(2))
    assert _hosts(zoned) == ["host3", "host3"]
    fast = scheduler.select_destinations(None, request_spec(
        extra_specs={"aggregate_instance_extra_specs:ssd": "true"}), uuids(1))
    assert _hosts(fast) == ["host2"]


def test_max_server_per_host_counts_the_members_on_each_host(
        scheduler: FilterScheduler) -> None:
    group = {"uuid": "g", "policy": "anti-affinity", "rules": {"max_server_per_host": 2},
             "hosts": ["host0", "host0", "host1"]}
    selections = scheduler.select_destinations(
        None, request_spec(instance_group=group, num_instances=3), uuids(3))
    hosts = _hosts(selections)
    assert "host0" not in hosts
    assert sorted(hosts) == ["host1", "host2", "host3"]
    for candidates in selections:
        assert "host0" not in [alternate["host"] for alternate in candidates[1:]]


def test_soft_policies_prefer_but_do_not_require(scheduler: FilterScheduler) -> None:
    together = {"uuid": "g", "policy": "soft-affinity", "rules": {}, "hosts": ["host3"]}
    assert _hosts(scheduler.select_destinations(
        None, request_spec(instance_group=together), uuids(1))) == ["host3"]
    apart = {"uuid": "h", "policy": "soft-anti-affinity", "rules": {},
             "hosts": ["host0", "host1", "host2", "host3"]}
    # Every host has a member: the least crowded one still takes the server.
    assert len(scheduler.select_destinations(
        None, request_spec(instance_group=apart), uuids(1))) == 1


def test_a_zone_set_up_since_the_last_refresh_is_seen_at_once(
        scheduler: FilterScheduler, conductor: FakeConductor) -> None:
    scheduler.select_destinations(None, request_spec(), uuids(1))  # fills the cache
    conductor.aggregates = [{"name": "new", "hosts": ["host2"], "availability_zone": "az9",
                             "metadata": {"availability_zone": "az9"}}]
    selections = scheduler.select_destinations(
        None, request_spec(availability_zone="az9"), ["11111111-0000-0000-0000-000000000000"])
    assert _hosts(selections) == ["host2"]
