"""Conductor 1.10 over the bus: the build take, create-and-build, the terminate step
recorded by the destroy (fewer round trips per boot and delete)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kumo import context, exception
from kumo.compute import build_guard, task_states
from kumo.conductor import manager, rpcapi
from tests.unit.conductor.test_rpcapi import _boot, tiny  # noqa: F401  (a fixture)

pytestmark = pytest.mark.usefixtures("tiny")

EVENT = build_guard.BUILD_EVENT


def _spawning(conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> Any:
    [server] = _boot(conductor, ctxt, task_state=task_states.SPAWNING, host="cmp1",
                     node="cmp1-node0", system_metadata={
                         "attempts": json.dumps([{"host": "cmp1", "node": "cmp1-node0"}])})
    conductor.instance_action_start(ctxt, instance_uuid=server.uuid, action="create",
                                    request_id=ctxt.request_id, user_id="u1",
                                    project_id="p1")
    return server


def _take(conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext, uuid: str,
          token: str = "cmp1/cmp1-node0#1", node: str = "cmp1-node0") -> str | None:
    return conductor.instance_build_take(
        ctxt, instance_uuid=uuid, host="cmp1", node=node, token=token,
        event={"request_id": ctxt.request_id, "event": EVENT, "host": "cmp1"})


def test_a_build_is_taken_once_and_its_event_started_in_the_same_call(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    server = _spawning(conductor, ctxt)
    assert _take(conductor, ctxt, server.uuid) is None
    taken = conductor.instance_get(ctxt, server.uuid)
    assert taken.system_metadata[build_guard.BUILD_TAKEN] == "cmp1/cmp1-node0#1"
    assert "attempts" in taken.system_metadata  # merged, not replaced
    [action] = conductor.instance_action_get_all(ctxt, instance_uuid=server.uuid)
    [started] = action["events"]
    assert (started["event"], started["finish_time"]) == (EVENT, None)

    # The same request again (a redelivered cast) takes nothing.
    assert _take(conductor, ctxt, server.uuid) == (
        "an earlier request already took this attempt")
    # An outdated attempt, another node: refused with the reason.
    assert _take(conductor, ctxt, server.uuid, token="cmp1/cmp1-node0#0") == (
        "it is now at attempt cmp1/cmp1-node0#1")
    assert _take(conductor, ctxt, server.uuid, node="cmp1-node1",
                 token="cmp1/cmp1-node1#1") == "it is now placed on cmp1/cmp1-node0"


def test_a_build_of_a_deleted_or_deleting_server_is_not_taken(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    server = _spawning(conductor, ctxt)
    conductor.instance_update(ctxt, instance_uuid=server.uuid,
                              values={"task_state": task_states.DELETING})
    assert _take(conductor, ctxt, server.uuid) == "its task is now deleting"
    conductor.instance_destroy(ctxt, instance_uuid=server.uuid)
    assert _take(conductor, ctxt, server.uuid) == "the server was deleted"
    # A request that started no action still gets its answer.
    other = context.RequestContext(request_id="req-other", project_id="p1", user_id="u1")
    assert _take(conductor, other, server.uuid) == "the server was deleted"


def test_create_and_build_answers_uuids_and_starts_the_build(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
        monkeypatch: Any) -> None:
    built: list[tuple[list[str], dict[str, Any]]] = []
    monkeypatch.setattr(manager.ConductorManager, "build_instances",
                        lambda self, ctx, uuids, spec: built.append((uuids, spec)))
    flavor = conductor.flavor_get_by_flavor_id(ctxt, "1")
    values = [{"project_id": "p1", "user_id": "u1", "display_name": f"vm-{i}",
               "flavor_id": flavor.id, "memory_mb": 512, "vcpus": 1, "root_gb": 1,
               "metadata": {"k": "v"} if i else {}} for i in range(2)]
    uuids = conductor.instance_create_and_build(
        ctxt, values_list=values, min_count=1, request_spec={"num_instances": 9})
    assert built == [(uuids, {"num_instances": 2})]
    servers = [conductor.instance_get(ctxt, uuid) for uuid in uuids]
    assert [s.display_name for s in servers] == ["vm-0", "vm-1"]
    assert [s.metadata for s in servers] == [{}, {"k": "v"}]

    # Over the quota: nothing created, nothing built.
    conductor.quota_update(ctxt, project_id="p1", values={"instances": 2})
    with pytest.raises(exception.TooManyInstances):
        conductor.instance_create_and_build(ctxt, values_list=values[:1], min_count=1,
                                            request_spec={})
    assert len(built) == 1


def test_the_destroy_records_a_terminate_step_that_was_never_started(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    [server] = _boot(conductor, ctxt, task_state=None, vm_state="active")
    conductor.instance_update_starting_action(
        ctxt, instance_uuid=server.uuid, values={"task_state": task_states.DELETING},
        action="delete", expected_task_state=[None])
    conductor.instance_destroy_finishing_event(ctxt, instance_uuid=server.uuid, event={
        "request_id": ctxt.request_id, "event": "compute_terminate_instance",
        "host": "cmp1", "result": "Success", "start_time": "2026-01-02T03:04:05.000006"})
    [action] = conductor.instance_action_get_all(ctxt, instance_uuid=server.uuid)
    [event] = action["events"]
    assert (event["event"], event["result"]) == ("compute_terminate_instance", "Success")
    assert str(event["start_time"]).startswith("2026-01-02")
    assert event["finish_time"] is not None
