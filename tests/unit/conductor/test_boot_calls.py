"""Conductor 1.9 over the bus: the boot and delete paths' combined calls."""

from __future__ import annotations

from typing import Any

import pytest

from kumo import context, exception
from kumo.compute import task_states
from kumo.conductor import rpcapi
from tests.unit.conductor.test_rpcapi import _boot, tiny  # noqa: F401  (a fixture)

pytestmark = pytest.mark.usefixtures("tiny")


def _image(conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext, **values: Any) -> Any:
    return conductor.image_create(ctxt, {
        "name": "cirros", "status": "active", "visibility": "public", "owner": "admin",
        "size": 1024, "disk_format": "raw", "container_format": "bare", **values})


def test_boot_sources_reads_the_flavor_and_the_image_in_one_call(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    image = _image(conductor, ctxt)
    found = conductor.boot_sources(ctxt, flavor_id="1", image_id=image.id, project_id="p1")
    assert (found["flavor"].flavorid, found["flavor"].memory_mb) == ("1", 512)
    assert found["flavor"].extra_specs == {"hw:cpu_policy": "shared"}
    assert (found["image"].id, found["image"].status) == (image.id, "active")

    # The flavor is checked first; the image's visibility is the project's.
    with pytest.raises(exception.FlavorNotFound):
        conductor.boot_sources(ctxt, flavor_id="404", image_id="nope", project_id="p1")
    private = _image(conductor, ctxt, visibility="private", owner="other")
    with pytest.raises(exception.ImageNotFound):
        conductor.boot_sources(ctxt, flavor_id="1", image_id=private.id, project_id="p1")


def test_the_delete_update_starts_the_delete_action_when_it_wins(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    [server] = _boot(conductor, ctxt, task_state=None, vm_state="active")
    deleting = conductor.instance_update_starting_action(
        ctxt, instance_uuid=server.uuid, values={"task_state": task_states.DELETING},
        action="delete", expected_task_state=[None])
    assert deleting.task_state == task_states.DELETING
    [action] = conductor.instance_action_get_all(ctxt, instance_uuid=server.uuid)
    assert (action["action"], action["request_id"]) == ("delete", ctxt.request_id)
    # kumo-compute's event now has its action.
    event = conductor.instance_action_event_start(
        ctxt, instance_uuid=server.uuid, request_id=ctxt.request_id,
        event="compute_terminate_instance", host="cmp1")
    assert event["event"] == "compute_terminate_instance"

    # A lost race records nothing and raises as instance_update does.
    other = context.RequestContext(user_id="u1", project_id="p1")
    with pytest.raises(exception.UnexpectedDeletingTaskStateError):
        conductor.instance_update_starting_action(
            other, instance_uuid=server.uuid, values={"task_state": task_states.DELETING},
            action="delete", expected_task_state=[None])
    assert len(conductor.instance_action_get_all(ctxt, instance_uuid=server.uuid)) == 1


def test_the_active_report_finishes_the_build_event_in_the_same_call(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    [server] = _boot(conductor, ctxt, task_state=task_states.SPAWNING)
    conductor.instance_action_start(ctxt, instance_uuid=server.uuid, action="create",
                                    request_id=ctxt.request_id, user_id="u1",
                                    project_id="p1")
    conductor.instance_action_event_start(
        ctxt, instance_uuid=server.uuid, request_id=ctxt.request_id,
        event="compute_build_and_run_instance", host="cmp1")
    event = {"request_id": ctxt.request_id, "event": "compute_build_and_run_instance",
             "host": "cmp1", "result": "Success"}
    assert conductor.instance_update_finishing_event(
        ctxt, instance_uuid=server.uuid, values={"vm_state": "active", "task_state": None},
        event=event, expected_task_state=task_states.SPAWNING) is None
    assert conductor.instance_get(ctxt, server.uuid).vm_state == "active"
    [action] = conductor.instance_action_get_all(ctxt, instance_uuid=server.uuid)
    [finished] = action["events"]
    assert (finished["event"], finished["result"]) == ("compute_build_and_run_instance",
                                                       "Success")
    assert finished["finish_time"] is not None

    # A lost guard changes nothing, the event included.
    with pytest.raises(exception.UnexpectedTaskStateError):
        conductor.instance_update_finishing_event(
            ctxt, instance_uuid=server.uuid, values={"vm_state": "error"},
            event={**event, "result": "Error"}, expected_task_state=task_states.SPAWNING)
    [action] = conductor.instance_action_get_all(ctxt, instance_uuid=server.uuid)
    assert [e["result"] for e in action["events"]] == ["Success"]
    # A request without an action still gets its update.
    [other] = _boot(conductor, ctxt, task_state=task_states.SPAWNING)
    conductor.instance_update_finishing_event(
        ctxt, instance_uuid=other.uuid, values={"vm_state": "active", "task_state": None},
        event=event, expected_task_state=task_states.SPAWNING)
    assert conductor.instance_get(ctxt, other.uuid).vm_state == "active"


def test_the_destroy_finishes_the_terminate_event_in_the_same_call(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    [server] = _boot(conductor, ctxt, task_state=None, vm_state="active")
    conductor.instance_update_starting_action(
        ctxt, instance_uuid=server.uuid, values={"task_state": task_states.DELETING},
        action="delete", expected_task_state=[None])
    conductor.instance_action_event_start(
        ctxt, instance_uuid=server.uuid, request_id=ctxt.request_id,
        event="compute_terminate_instance", host="cmp1")
    event = {"request_id": ctxt.request_id, "event": "compute_terminate_instance",
             "host": "cmp1", "result": "Success"}
    assert conductor.instance_destroy_finishing_event(
        ctxt, instance_uuid=server.uuid, event=event) is None
    with pytest.raises(exception.InstanceNotFound):
        conductor.instance_get(ctxt, server.uuid)
    [action] = conductor.instance_action_get_all(ctxt, instance_uuid=server.uuid)
    assert [(e["event"], e["result"]) for e in action["events"]] == [
        ("compute_terminate_instance", "Success")]
    # Idempotent as instance_destroy is; an unknown server raises as it does.
    conductor.instance_destroy_finishing_event(ctxt, instance_uuid=server.uuid, event=event)
    with pytest.raises(exception.InstanceNotFound):
        conductor.instance_destroy_finishing_event(
            ctxt, instance_uuid="00000000-0000-4000-8000-000000000000", event=event)
