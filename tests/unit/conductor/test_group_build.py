"""Builds into server groups, zones and aggregates: the real conductor (manager, tasks,
database) and the real filter scheduler in-process; only kumo-compute is replaced."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from kumo import context, exception
from kumo.compute import vm_states
from kumo.conductor import rpcapi
from kumo.conductor.tasks import common
from kumo.db import instance_groups as group_db
from kumo.scheduler.filter_scheduler import FilterScheduler
from kumo.scheduler.host_manager import HostManager
from tests.unit.conductor.test_build import FakeCompute

HOSTS = ["host1", "host2", "host3"]


@pytest.fixture
def cloud(conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
          monkeypatch: pytest.MonkeyPatch) -> FakeCompute:
    """Three up compute hosts of one node each, the real scheduler, a recording compute."""
    for host in HOSTS:
        service = conductor.service_register(ctxt, host, "kumo-compute", "compute", 1)
        conductor.service_heartbeat(ctxt, service.id)
        conductor.compute_nodes_report(ctxt, host, service.id, [{
            "hypervisor_hostname": f"{host}-node", "hypervisor_type": "fake",
            "hypervisor_version": 1, "vcpus": 8, "memory_mb": 8192, "local_gb": 100}])
    scheduler = FilterScheduler(HostManager(conductor=conductor))
    monkeypatch.setattr(common, "scheduler", lambda: scheduler)
    fake = FakeCompute()
    monkeypatch.setattr(common, "compute", lambda: fake)
    return fake


def _spec(**values: Any) -> dict[str, Any]:
    return {"project_id": "p1", "user_id": "u1",
            "flavor": {"flavorid": "1", "vcpus": 1, "memory_mb": 512, "root_gb": 1,
                       "extra_specs": values.pop("extra_specs", {})},
            "image": {"id": "img", "properties": {}}, "availability_zone": None,
            "num_instances": 1, "scheduler_hints": {}, "ignore_hosts": [],
            "instance_group": None, **values}


def _boot(conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext, count: int,
          group: dict[str, Any] | None = None) -> list[str]:
    created = conductor.instance_create(ctxt, [
        {"project_id": "p1", "user_id": "u1", "memory_mb": 512, "vcpus": 1, "root_gb": 1,
         "display_name": f"vm-{index}"} for index in range(count)])
    uuids = [instance.uuid for instance in created]
    if group is not None:
        conductor.instance_group_members_add(ctxt, group["uuid"], uuids)
    return uuids


def _wait(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _group(conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext, policy: str,
           **rules: Any) -> dict[str, Any]:
    return conductor.instance_group_create(ctxt, {
        "name": policy, "project_id": "p1", "user_id": "u1", "policy": policy,
        "rules": rules})


def _settled(conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
             uuids: list[str]) -> list[Any]:
    instances: list[Any] = []

    def done() -> bool:
        instances[:] = [conductor.instance_get(ctxt, uuid) for uuid in uuids]
        return all(i.host or i.vm_state == vm_states.ERROR for i in instances)

    _wait(done)
    return instances


def test_anti_affinity_spreads_a_group_and_fails_only_the_members_that_do_not_fit(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
        cloud: FakeCompute) -> None:
    group = _group(conductor, ctxt, "anti-affinity")
    uuids = _boot(conductor, ctxt, 4, group)
    spec = _spec(instance_group={"uuid": group["uuid"], "policy": "anti-affinity",
                                 "rules": {}, "hosts": []}, num_instances=4)

    conductor.build_instances(ctxt, instance_uuids=uuids, request_spec=spec)
    instances = _settled(conductor, ctxt, uuids)

    placed = [i for i in instances if i.host]
    assert sorted(i.host for i in placed) == HOSTS
    [failed] = [i for i in instances if i.vm_state == vm_states.ERROR]
    fault = conductor.instance_get(ctxt, failed.uuid).fault
    assert fault.message.startswith("No valid host was found."), fault.message
    assert "ServerGroupAntiAffinityFilter rejected 3" in fault.message, fault.message
    assert group_db.group_hosts(group["uuid"]) != []


def test_max_server_per_host_allows_that_many_members_a_host(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
        cloud: FakeCompute) -> None:
    group = _group(conductor, ctxt, "anti-affinity", max_server_per_host=2)
    uuids = _boot(conductor, ctxt, 6, group)
    spec = _spec(instance_group={"uuid": group["uuid"], "policy": "anti-affinity",
                                 "rules": {"max_server_per_host": 2}, "hosts": []})

    conductor.build_instances(ctxt, instance_uuids=uuids, request_spec=spec)
    instances = _settled(conductor, ctxt, uuids)

    assert sorted(i.host for i in instances) == sorted(HOSTS * 2)


def test_affinity_keeps_members_together_even_across_requests(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
        cloud: FakeCompute) -> None:
    group = _group(conductor, ctxt, "affinity")
    spec = _spec(instance_group={"uuid": group["uuid"], "policy": "affinity", "rules": {},
                                 "hosts": []})
    first = _boot(conductor, ctxt, 2, group)
    conductor.build_instances(ctxt, instance_uuids=first, request_spec=spec)
    hosts = {i.host for i in _settled(conductor, ctxt, first)}
    later = _boot(conductor, ctxt, 1, group)
    conductor.build_instances(ctxt, instance_uuids=later, request_spec=spec)
    hosts |= {i.host for i in _settled(conductor, ctxt, later)}
    assert len(hosts) == 1


def test_zone_and_aggregate_metadata_steer_the_placement(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
        cloud: FakeCompute) -> None:
    zoned = conductor.aggregate_create(ctxt, "zoned", availability_zone="az1")
    conductor.aggregate_host_add(ctxt, zoned["id"], "host3")
    fast = conductor.aggregate_create(ctxt, "fast", metadata={"ssd": "true"})
    conductor.aggregate_host_add(ctxt, fast["id"], "host2")

    in_zone = _boot(conductor, ctxt, 2)
    conductor.build_instances(ctxt, instance_uuids=in_zone,
                              request_spec=_spec(availability_zone="az1"))
    placed = _settled(conductor, ctxt, in_zone)
    assert {(i.host, i.availability_zone) for i in placed} == {("host3", "az1")}

    on_ssd = _boot(conductor, ctxt, 2)
    conductor.build_instances(ctxt, instance_uuids=on_ssd, request_spec=_spec(
        extra_specs={"aggregate_instance_extra_specs:ssd": "true"}))
    placed = _settled(conductor, ctxt, on_ssd)
    # A host in no zoned aggregate is in the default zone.
    assert {(i.host, i.availability_zone) for i in placed} == {("host2", "nova")}


def test_the_member_claim_lets_one_of_two_racing_builds_take_a_host(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    group = _group(conductor, ctxt, "anti-affinity")
    first, second = _boot(conductor, ctxt, 2, group)

    group_db.member_claim_host(group["uuid"], first, "host1")
    with pytest.raises(exception.InstanceGroupPolicyViolation) as raised:
        group_db.member_claim_host(group["uuid"], second, "host1")
    assert "Anti-affinity instance group policy was violated" in raised.value.message
    group_db.member_claim_host(group["uuid"], second, "host2")
    assert sorted(group_db.group_hosts(group["uuid"])) == ["host1", "host2"]
    # A member's claim never counts against itself (a reschedule re-claims).
    group_db.member_claim_host(group["uuid"], first, "host3")
    assert sorted(group_db.group_hosts(group["uuid"])) == ["host2", "host3"]

    conductor.instance_destroy(ctxt, second)
    assert group_db.group_hosts(group["uuid"]) == ["host3"]
    assert conductor.instance_group_get(ctxt, group["uuid"])["members"] == [first]


def test_a_member_moves_under_the_groups_policy_as_it_is_now(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
        cloud: FakeCompute) -> None:
    group = _group(conductor, ctxt, "anti-affinity")
    moving, sibling = _boot(conductor, ctxt, 2, group)
    group_db.member_claim_host(group["uuid"], moving, "host1")
    group_db.member_claim_host(group["uuid"], sibling, "host2")
    # The spec recorded at boot knew no hosts yet; the move reads them again.
    spec = _spec(instance_group={"uuid": group["uuid"], "policy": "anti-affinity",
                                 "rules": {}, "hosts": []}, ignore_hosts=["host1"])

    selected = common.select_one(ctxt, moving, spec)

    assert selected["host"] == "host3"
