"""Building servers through the conductor: scheduling, faults, rescheduling on alternates.

The conductor is real (manager, tasks, database); only the scheduler's and
kumo-compute's RPC clients are replaced, at the bus boundary.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from kumo import context, exception
from kumo.compute import task_states, vm_states
from kumo.conductor import rpcapi
from kumo.conductor.tasks import build, common
from kumo.conf import CONF
from kumo.db import instance_actions

LIMITS = {"vcpus": 16, "memory_mb": 4096, "disk_gb": 100}
REQUEST_SPEC = {"project_id": "p1", "user_id": "u1", "flavor": {"flavorid": "1"},
                "image": {"id": "img"}, "availability_zone": None, "num_instances": 1,
                "scheduler_hints": {}, "ignore_hosts": [], "instance_group": None}


RESOURCES = {"vcpus": 1, "memory_mb": 512, "disk_gb": 1}


class FakeScheduler:
    """select_destinations that claims like the real one (or, with ``claim=False``,
    leaves the claim to the caller as the real one does since 1.2), or raises
    NoValidHost. ``stale_limits``: the limits an unclaimed selection offers, as a
    scheduler whose view of the node is out of date would."""

    def __init__(self, conductor: rpcapi.ConductorAPI, nodes: list[Any]) -> None:
        self.conductor = conductor
        self.nodes = nodes
        self.error: Exception | None = None
        self.stale_limits: dict[str, int] | None = None
        self.calls: list[bool] = []  # the claim argument of each call

    def select_destinations(self, ctxt: Any, request_spec: dict[str, Any],
                            instance_uuids: list[str], return_alternates: bool = True,
                            claim: bool = True) -> list[list[dict[str, Any]]]:
        self.calls.append(claim)
        if self.error is not None:
            raise self.error
        answers = []
        for instance_uuid in instance_uuids:
            selections = [{"host": n.host, "nodename": n.hypervisor_hostname,
                           "node_uuid": n.uuid, "limits": LIMITS} for n in self.nodes]
            first = selections[0]
            if claim:
                self.conductor.compute_node_claim(ctxt, first["node_uuid"], instance_uuid,
                                                  RESOURCES, first["limits"])
            else:
                first.update(claimed=False, resources=RESOURCES,
                             limits=self.stale_limits or LIMITS)
            answers.append(selections[:CONF.scheduler.max_attempts])
        return answers


class FakeCompute:
    """Records build_and_run_instance casts instead of sending them."""

    def __init__(self) -> None:
        self.builds: list[dict[str, Any]] = []

    def build_and_run_instance(self, ctxt: Any, instance: Any, node: str,
                               request_spec: dict[str, Any], host: str) -> None:
        self.builds.append({"uuid": instance.uuid, "host": host, "node": node,
                            "request_spec": request_spec})


@pytest.fixture
def nodes(conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> list[Any]:
    return [conductor.compute_nodes_report(ctxt, f"host{i}", None, [{
        "hypervisor_hostname": f"node{i}", "hypervisor_type": "fake", "hypervisor_version": 1,
        "vcpus": 4, "memory_mb": 4096, "local_gb": 100}])[0] for i in range(1, 5)]


@pytest.fixture
def scheduler(monkeypatch: pytest.MonkeyPatch, conductor: rpcapi.ConductorAPI,
              nodes: list[Any]) -> FakeScheduler:
    fake = FakeScheduler(conductor, nodes)
    monkeypatch.setattr(common, "scheduler", lambda: fake)
    return fake


@pytest.fixture
def compute(monkeypatch: pytest.MonkeyPatch) -> FakeCompute:
    fake = FakeCompute()
    monkeypatch.setattr(common, "compute", lambda: fake)
    return fake


def _boot(conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
          count: int = 1) -> list[str]:
    created = conductor.instance_create(ctxt, [
        {"project_id": "p1", "user_id": "u1", "memory_mb": 512, "vcpus": 1, "root_gb": 1,
         "display_name": f"vm-{index}"} for index in range(count)])
    return [instance.uuid for instance in created]


def _wait(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _used(conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> dict[str, int]:
    return {n.hypervisor_hostname: n.vcpus_used for n in conductor.compute_node_get_all(ctxt)}


def test_build_casts_to_the_selected_host_and_stores_alternates(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
        scheduler: FakeScheduler, compute: FakeCompute) -> None:
    uuids = _boot(conductor, ctxt, count=2)

    conductor.build_instances(ctxt, instance_uuids=uuids, request_spec=REQUEST_SPEC)
    _wait(lambda: len(compute.builds) == 2)

    assert [(b["host"], b["node"]) for b in compute.builds] == [("host1", "node1")] * 2
    assert compute.builds[0]["request_spec"]["project_id"] == "p1"
    instance = conductor.instance_get(ctxt, uuids[0])
    assert (instance.host, instance.node) == ("host1", "node1")
    assert instance.task_state == task_states.SPAWNING and instance.scheduled_at
    alternates = json.loads(instance.system_metadata[build.ALTERNATES])
    assert [a["nodename"] for a in alternates] == ["node2", "node3"]
    assert _used(conductor, ctxt)["node1"] == 2
    actions = instance_actions.action_get_all(uuids[0])
    assert [(a["action"], a["request_id"]) for a in actions] == [("create", "req-conductor")]
    assert [(e["event"], e["result"]) for e in actions[0]["events"]] == [
        ("conductor_schedule_and_build_instances", "Success")]


def test_the_conductor_claims_what_the_scheduler_left_unclaimed(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
        scheduler: FakeScheduler, compute: FakeCompute) -> None:
    uuid = _boot(conductor, ctxt)[0]

    build.build_instances(ctxt, [uuid], REQUEST_SPEC)

    # One decision, no claim by the scheduler: the conductor's claim is the only one.
    assert scheduler.calls == [False]
    assert _used(conductor, ctxt) == {"node1": 1, "node2": 0, "node3": 0, "node4": 0}
    instance = conductor.instance_get(ctxt, uuid)
    assert instance.system_metadata["claimed_node"] == scheduler.nodes[0].uuid
    assert [b["node"] for b in compute.builds] == ["node1"]


def test_a_claim_refused_after_a_stale_decision_is_scheduled_again_with_claims(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
        scheduler: FakeScheduler, compute: FakeCompute) -> None:
    # The scheduler's view had room the node no longer has: its guarded UPDATE refuses.
    scheduler.stale_limits = {"vcpus": 0}
    uuid = _boot(conductor, ctxt)[0]

    build.build_instances(ctxt, [uuid], REQUEST_SPEC)

    assert scheduler.calls == [False, True]
    assert _used(conductor, ctxt)["node1"] == 1  # claimed once, by the second decision
    assert [b["node"] for b in compute.builds] == ["node1"]
    assert conductor.instance_get(ctxt, uuid).task_state == task_states.SPAWNING


def test_no_host_left_when_scheduled_again_is_a_fault(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
        scheduler: FakeScheduler, compute: FakeCompute) -> None:
    scheduler.stale_limits = {"vcpus": 0}
    select = scheduler.select_destinations

    def then_full(*args: Any, **kwargs: Any) -> Any:
        if scheduler.calls:
            scheduler.error = exception.NoValidHost(reason="4 hosts: claims failed on 4")
        return select(*args, **kwargs)

    scheduler.select_destinations = then_full  # type: ignore[method-assign]
    uuid = _boot(conductor, ctxt)[0]

    build.build_instances(ctxt, [uuid], REQUEST_SPEC)

    instance = conductor.instance_get(ctxt, uuid)
    assert instance.vm_state == vm_states.ERROR
    assert "claims failed on 4" in instance.fault.message
    assert compute.builds == [] and _used(conductor, ctxt)["node1"] == 0


def test_no_valid_host_puts_every_instance_in_error_with_the_reason(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
        scheduler: FakeScheduler, compute: FakeCompute) -> None:
    scheduler.error = exception.NoValidHost(
        reason="4 hosts: RamFilter rejected 4 (need 8192 MB, best has 4096 MB)")
    uuids = _boot(conductor, ctxt, count=2)

    conductor.build_instances(ctxt, instance_uuids=uuids, request_spec=REQUEST_SPEC)
    _wait(lambda: all(conductor.instance_get(ctxt, u).vm_state == vm_states.ERROR
                      for u in uuids))

    for uuid in uuids:
        instance = conductor.instance_get(ctxt, uuid)
        assert instance.task_state is None
        assert instance.fault.code == 500
        assert "RamFilter rejected 4" in instance.fault.message
    assert compute.builds == []
    events = instance_actions.action_get_all(uuids[0])[0]["events"]
    assert events[0]["result"] == "Error" and "RamFilter" in events[0]["traceback"]


def test_scheduler_unavailable_is_a_fault_too(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
        scheduler: FakeScheduler, compute: FakeCompute) -> None:
    scheduler.error = exception.ServiceUnavailable(
        service="kumo-scheduler", method="select_destinations", timeout=60)
    uuid = _boot(conductor, ctxt)[0]

    build.build_instances(ctxt, [uuid], REQUEST_SPEC)

    instance = conductor.instance_get(ctxt, uuid)
    assert instance.vm_state == vm_states.ERROR
    assert "kumo-scheduler did not answer" in instance.fault.message


def test_instance_deleted_while_scheduling_is_skipped_and_its_claim_released(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
        scheduler: FakeScheduler, compute: FakeCompute) -> None:
    uuid = _boot(conductor, ctxt)[0]
    select = scheduler.select_destinations

    def select_then_delete(*args: Any, **kwargs: Any) -> Any:
        answer = select(*args, **kwargs)
        conductor.instance_update(ctxt, uuid, {"task_state": task_states.DELETING},
                                  expected_task_state=[None, task_states.SCHEDULING])
        return answer

    scheduler.select_destinations = select_then_delete  # type: ignore[method-assign]

    build.build_instances(ctxt, [uuid], REQUEST_SPEC)

    assert compute.builds == []
    assert _used(conductor, ctxt)["node1"] == 0
    assert conductor.instance_get(ctxt, uuid).task_state == task_states.DELETING


def test_reschedule_moves_to_the_next_alternate(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
        scheduler: FakeScheduler, compute: FakeCompute) -> None:
    uuid = _boot(conductor, ctxt)[0]
    build.build_instances(ctxt, [uuid], REQUEST_SPEC)

    conductor.reschedule_instance(ctxt, instance_uuid=uuid, host="host1", node="node1",
                                  fault={"code": 500, "message": "disk full", "details": ""})
    _wait(lambda: len(compute.builds) == 2)

    assert (compute.builds[1]["host"], compute.builds[1]["node"]) == ("host2", "node2")
    assert compute.builds[1]["request_spec"]["project_id"] == "p1"
    assert _used(conductor, ctxt) == {"node1": 0, "node2": 1, "node3": 0, "node4": 0}
    instance = conductor.instance_get(ctxt, uuid)
    assert (instance.host, instance.node, instance.task_state) == (
        "host2", "node2", task_states.SPAWNING)


def test_reschedule_skips_an_alternate_whose_claim_fails(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
        scheduler: FakeScheduler, compute: FakeCompute, nodes: list[Any]) -> None:
    uuid, filler = _boot(conductor, ctxt, count=2)
    build.build_instances(ctxt, [uuid], REQUEST_SPEC)
    # Someone else fills node2 before the retry.
    conductor.compute_node_claim(ctxt, nodes[1].uuid, filler,
                                 {"vcpus": 16, "memory_mb": 1, "disk_gb": 1}, LIMITS)

    build.reschedule_instance(ctxt, uuid, "host1", "node1",
                              {"code": 500, "message": "boom", "details": None})

    assert [(b["host"], b["node"]) for b in compute.builds] == [
        ("host1", "node1"), ("host3", "node3")]
    assert _used(conductor, ctxt)["node3"] == 1


def test_reschedule_gives_up_after_max_attempts_naming_every_host(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
        scheduler: FakeScheduler, compute: FakeCompute) -> None:
    uuid = _boot(conductor, ctxt)[0]
    build.build_instances(ctxt, [uuid], REQUEST_SPEC)

    for attempt in range(CONF.scheduler.max_attempts):
        last = compute.builds[-1]
        build.reschedule_instance(ctxt, uuid, last["host"], last["node"],
                                  {"code": 500, "message": f"spawn failed {attempt}",
                                   "details": "Traceback: ..."})

    assert len(compute.builds) == 3
    instance = conductor.instance_get(ctxt, uuid)
    assert (instance.vm_state, instance.task_state) == (vm_states.ERROR, None)
    for name in ("host1/node1", "host2/node2", "host3/node3"):
        assert name in instance.fault.message
    assert "spawn failed 0" in instance.fault.details
    assert "Traceback" in instance.fault.details
    events = instance_actions.action_get_all(uuid)[0]["events"]
    assert [e["result"] for e in events] == ["Success", "Success", "Success", "Error"]
    assert set(_used(conductor, ctxt).values()) == {0}


def test_reschedule_of_a_deleted_instance_only_releases(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
        scheduler: FakeScheduler, compute: FakeCompute) -> None:
    uuid = _boot(conductor, ctxt)[0]
    build.build_instances(ctxt, [uuid], REQUEST_SPEC)
    conductor.instance_update(ctxt, uuid, {"task_state": task_states.DELETING})

    build.reschedule_instance(ctxt, uuid, "host1", "node1",
                              {"code": 500, "message": "x", "details": None})

    assert len(compute.builds) == 1
    assert _used(conductor, ctxt)["node1"] == 0
    assert conductor.instance_get(ctxt, uuid).vm_state == vm_states.BUILDING


def test_a_short_answer_from_the_scheduler_fails_the_servers_left_over(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
        scheduler: FakeScheduler, compute: FakeCompute) -> None:
    first, second = _boot(conductor, ctxt, count=2)
    select = scheduler.select_destinations

    def one_only(*args: Any, **kwargs: Any) -> Any:
        return select(*args, **kwargs)[:1]

    scheduler.select_destinations = one_only  # type: ignore[method-assign]

    build.build_instances(ctxt, [first, second], REQUEST_SPEC)

    assert [b["uuid"] for b in compute.builds] == [first]
    assert conductor.instance_get(ctxt, second).vm_state == vm_states.ERROR


def test_build_of_an_unknown_instance_does_not_crash(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
        scheduler: FakeScheduler, compute: FakeCompute) -> None:
    scheduler.error = exception.NoValidHost(reason="none")

    build.build_instances(ctxt, ["00000000-0000-0000-0000-000000000000"], REQUEST_SPEC)

    assert compute.builds == []
