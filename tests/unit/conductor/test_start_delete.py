"""Conductor 1.11 ``instance_start_delete``: DELETE /servers/{id}'s read and its move
to ``deleting`` in one call, over the bus, with its races and its fallback."""

from __future__ import annotations

import concurrent.futures
from typing import Any

import pytest

from kumo import context, exception
from kumo.compute import task_states
from kumo.conductor import rpcapi
from tests.unit.conductor.test_rpcapi import _boot, tiny  # noqa: F401  (a fixture)

pytestmark = pytest.mark.usefixtures("tiny")

OWNER = {"project_id": "p1", "user_id": "u1"}
DELETABLE: list[Any] = [None, task_states.SCHEDULING, task_states.SPAWNING,
                        task_states.POWERING_OFF]


def _start(conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext, uuid: str,
           **kwargs: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"project_id": "p1", "owner": OWNER, "allow_locked": False,
                            "action": "delete", "expected_task_state": DELETABLE}
    return conductor.instance_start_delete(ctxt, instance_uuid=uuid, **{**args, **kwargs})


def _actions(conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
             uuid: str) -> list[str]:
    return [a["action"] for a in conductor.instance_action_get_all(ctxt, instance_uuid=uuid)]


def test_an_idle_server_of_the_caller_moves_to_deleting_and_starts_the_action(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    [server] = _boot(conductor, ctxt, task_state=None, vm_state="active", host="cmp1")
    found = _start(conductor, ctxt, server.uuid)
    assert found["started"] is True
    instance = found["instance"]
    # Read back after the update: the state written and what the delete needs.
    assert (instance.uuid, instance.task_state, instance.host) == (
        server.uuid, task_states.DELETING, "cmp1")
    assert instance.metadata == {"k": "v"}
    assert conductor.instance_get(ctxt, server.uuid).task_state == task_states.DELETING
    assert _actions(conductor, ctxt, server.uuid) == ["delete"]


def test_a_delete_under_way_raises_and_records_nothing(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    [server] = _boot(conductor, ctxt, task_state=None, vm_state="active")
    assert _start(conductor, ctxt, server.uuid)["started"]
    again = context.RequestContext(request_id="req-again", project_id="p1", user_id="u1")
    with pytest.raises(exception.UnexpectedDeletingTaskStateError):
        _start(conductor, again, server.uuid)
    assert _actions(conductor, ctxt, server.uuid) == ["delete"]


def test_racing_deletes_start_once(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    [server] = _boot(conductor, ctxt, task_state=None, vm_state="active", host="cmp1")

    def one(index: int) -> str:
        request = context.RequestContext(request_id=f"req-{index}", project_id="p1",
                                         user_id="u1")
        try:
            return "started" if _start(conductor, request, server.uuid)["started"] else "no"
        except exception.UnexpectedDeletingTaskStateError:
            return "deleting"

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        outcomes = sorted(pool.map(one, range(6)))
    assert outcomes == ["deleting"] * 5 + ["started"]
    assert _actions(conductor, ctxt, server.uuid) == ["delete"]


def test_a_server_mid_build_may_be_deleted(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    scheduling, spawning = _boot(conductor, ctxt, count=2)
    conductor.instance_update(ctxt, spawning.uuid, {
        "task_state": task_states.SPAWNING, "host": "cmp1", "node": "n1"})
    assert _start(conductor, ctxt, scheduling.uuid)["instance"].host is None
    found = _start(conductor, ctxt, spawning.uuid)
    assert found["started"] and found["instance"].host == "cmp1"
    # A task the caller did not list (here: a migration) is not overridden.
    [moving] = _boot(conductor, ctxt, task_state="migrating", vm_state="active")
    with pytest.raises(exception.UnexpectedTaskStateError):
        _start(conductor, ctxt, moving.uuid)
    assert conductor.instance_get(ctxt, moving.uuid).task_state == "migrating"


def test_a_locked_server_is_left_for_the_caller_to_decide_unless_allowed(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    [server] = _boot(conductor, ctxt, task_state=None, vm_state="active", locked=True)
    found = _start(conductor, ctxt, server.uuid)
    assert found["started"] is False and found["instance"].locked
    assert conductor.instance_get(ctxt, server.uuid).task_state is None
    assert _actions(conductor, ctxt, server.uuid) == []
    # An admin (allow_locked) deletes it in the one call.
    assert _start(conductor, ctxt, server.uuid, allow_locked=True)["started"]


def test_another_owners_server_is_read_not_written_and_another_project_is_404(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    [server] = _boot(conductor, ctxt, task_state=None, vm_state="active")
    # A colleague of the same project (the policy decides on the real owner).
    found = _start(conductor, ctxt, server.uuid,
                   owner={"project_id": "p1", "user_id": "u2"})
    assert found["started"] is False and found["instance"].user_id == "u1"
    # An admin's unscoped call on another project's server: read only.
    found = _start(conductor, ctxt, server.uuid, project_id=None,
                   owner={"project_id": "admin", "user_id": "admin"})
    assert found["started"] is False
    assert conductor.instance_get(ctxt, server.uuid).task_state is None
    with pytest.raises(exception.InstanceNotFound):
        _start(conductor, ctxt, server.uuid, project_id="p2",
               owner={"project_id": "p2", "user_id": "u1"})
    with pytest.raises(exception.InstanceNotFound):
        _start(conductor, ctxt, "00000000-0000-4000-8000-000000000000")


def test_an_older_conductor_is_only_asked_for_the_server(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
        monkeypatch: pytest.MonkeyPatch) -> None:
    [server] = _boot(conductor, ctxt, task_state=None, vm_state="active")
    monkeypatch.setattr(conductor, "can_send_version", lambda version: version < "1.11")
    found = _start(conductor, ctxt, server.uuid)
    assert found["started"] is False and found["instance"].uuid == server.uuid
    assert conductor.instance_get(ctxt, server.uuid).task_state is None


def test_the_destroy_takes_the_server_out_of_its_groups_in_the_same_call(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    [server] = _boot(conductor, ctxt, task_state=None, vm_state="active")
    group = conductor.instance_group_create(ctxt, {
        "name": "g", "project_id": "p1", "user_id": "u1", "policy": "affinity"})
    conductor.instance_group_members_add(ctxt, group_uuid=group["uuid"],
                                         instance_uuids=[server.uuid])
    assert _start(conductor, ctxt, server.uuid)["started"]
    conductor.instance_destroy_finishing_event(ctxt, instance_uuid=server.uuid, event={
        "request_id": ctxt.request_id, "event": "compute_terminate_instance",
        "host": "cmp1", "result": "Success"})
    assert conductor.instance_group_get(ctxt, group_uuid=group["uuid"])["members"] == []
