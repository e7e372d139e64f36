"""Conductor 1.2 over the bus: instance-action records and metadata changes."""

from __future__ import annotations

import pytest

from kumo import context, exception
from kumo.conductor import rpcapi
from tests.unit.conductor.test_rpcapi import _boot, tiny  # noqa: F401  (a fixture)

pytestmark = pytest.mark.usefixtures("tiny")


def test_an_action_collects_its_events_by_request_id(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    [server] = _boot(conductor, ctxt)
    uuid = server.uuid
    action = conductor.instance_action_start(ctxt, instance_uuid=uuid, action="stop",
                                             request_id="req-stop", user_id="u1",
                                             project_id="p1")
    assert (action["action"], action["request_id"], action["message"]) == (
        "stop", "req-stop", None)
    # Idempotent per request.
    again = conductor.instance_action_start(ctxt, instance_uuid=uuid, action="stop",
                                            request_id="req-stop", user_id="u1",
                                            project_id="p1")
    assert again["id"] == action["id"]

    started = conductor.instance_action_event_start(
        ctxt, instance_uuid=uuid, request_id="req-stop", event="compute_stop_instance",
        host="cmp1")
    assert started["finish_time"] is None
    finished = conductor.instance_action_event_finish(
        ctxt, instance_uuid=uuid, request_id="req-stop", event="compute_stop_instance",
        host="cmp1", result="Error", traceback="Traceback: boom")
    assert finished["id"] == started["id"]
    assert (finished["result"], finished["traceback"]) == ("Error", "Traceback: boom")
    assert finished["finish_time"] is not None

    shown = conductor.instance_action_get_by_request_id(
        ctxt, instance_uuid=uuid, request_id="req-stop")
    assert shown["message"] == "Error"
    assert [event["event"] for event in shown["events"]] == ["compute_stop_instance"]
    assert [a["action"] for a in conductor.instance_action_get_all(
        ctxt, instance_uuid=uuid)] == ["stop"]
    assert conductor.instance_action_get_by_request_id(
        ctxt, instance_uuid=uuid, request_id="req-other") is None


def test_an_event_needs_an_action_and_an_action_a_server(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    [server] = _boot(conductor, ctxt)
    with pytest.raises(exception.InstanceActionNotFound):
        conductor.instance_action_event_start(ctxt, instance_uuid=server.uuid,
                                              request_id="req-none", event="e")
    with pytest.raises(exception.InstanceNotFound):
        conductor.instance_action_start(
            ctxt, instance_uuid="00000000-0000-4000-8000-000000000000", action="stop",
            request_id="req-x", user_id="u1", project_id="p1")


def test_metadata_merges_replaces_and_deletes_keys(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    [server] = _boot(conductor, ctxt)  # metadata {"k": "v"}
    uuid = server.uuid
    assert conductor.instance_metadata_update(
        ctxt, instance_uuid=uuid, metadata={"a": "1", "k": "w"}) == {"k": "w", "a": "1"}
    assert conductor.instance_metadata_update(
        ctxt, instance_uuid=uuid, metadata={"b": "2"}, delete=True) == {"b": "2"}
    assert conductor.instance_metadata_delete(ctxt, instance_uuid=uuid, key="b") == {}
    assert conductor.instance_get(ctxt, uuid).metadata == {}
    conductor.instance_destroy(ctxt, uuid)
    with pytest.raises(exception.InstanceNotFound):
        conductor.instance_metadata_update(ctxt, instance_uuid=uuid, metadata={"a": "1"})
