"""``os-instance-actions`` at the microversions that change it (2.21, 2.51, 2.58,
2.62, 2.66, 2.84), through the API over the real conductor."""

from __future__ import annotations

import pytest

from tests.unit.api.admin_cloud import MEMBER, Cloud, cloud_fixture  # noqa: F401


@pytest.fixture
def server(cloud: Cloud) -> dict:
    server = cloud.add_server()
    for number in range(3):
        request_id = f"req-{number}"
        cloud.conductor.instance_action_start(
            cloud.ctxt, server["uuid"], "reboot", request_id, "alice", "project-a")
        cloud.conductor.instance_action_event_start(
            cloud.ctxt, server["uuid"], request_id, "compute_reboot_instance", host="cmp1")
        cloud.conductor.instance_action_event_finish(
            cloud.ctxt, server["uuid"], request_id, "compute_reboot_instance", host="cmp1",
            result="Error", traceback="Traceback: boom")
    return server


def _path(server: dict, rest: str = "") -> str:
    return f"/servers/{server['uuid']}/os-instance-actions{rest}"


def test_events_for_members_from_2_51_without_traceback(cloud: Cloud, server: dict) -> None:
    old = cloud.call("GET", _path(server, "/req-0"), token=MEMBER).json["instanceAction"]
    assert "events" not in old
    [event] = cloud.call("GET", _path(server, "/req-0"), token=MEMBER,
                         version="2.51").json["instanceAction"]["events"]
    assert event["event"] == "compute_reboot_instance" and "traceback" not in event
    [admin_event] = cloud.call("GET", _path(server, "/req-0"),
                               version="2.51").json["instanceAction"]["events"]
    assert admin_event["traceback"] == "Traceback: boom"


def test_host_id_from_2_62_and_details_from_2_84(cloud: Cloud, server: dict) -> None:
    [event] = cloud.call("GET", _path(server, "/req-0"), token=MEMBER,
                         version="2.62").json["instanceAction"]["events"]
    assert len(event["hostId"]) == 56 and "host" not in event and "details" not in event
    [admin_event] = cloud.call("GET", _path(server, "/req-0"),
                               version="2.84").json["instanceAction"]["events"]
    assert admin_event["host"] == "cmp1" and admin_event["hostId"] == event["hostId"]
    assert "details" in admin_event


def test_paging_and_changes_since_from_2_58(cloud: Cloud, server: dict) -> None:
    full = cloud.call("GET", _path(server), version="2.58").json
    assert [a["request_id"] for a in full["instanceActions"]] == ["req-2", "req-1", "req-0"]
    assert full["instanceActions"][0]["updated_at"] is not None
    page = cloud.call("GET", _path(server, "?limit=1&marker=req-2"), version="2.58").json
    assert [a["request_id"] for a in page["instanceActions"]] == ["req-1"]
    assert "marker=req-1" in page["links"][0]["href"]
    bad = cloud.call("GET", _path(server, "?marker=nope"), version="2.58")
    assert bad.status_int == 400
    assert bad.json["badRequest"]["message"] == "Marker nope could not be found."
    assert cloud.call("GET", _path(server, "?changes-since=2000-01-01T00:00:00Z"),
                      version="2.58").json["instanceActions"] != []
    assert cloud.call("GET", _path(server, "?changes-since=2999-01-01T00:00:00Z"),
                      version="2.58").json["instanceActions"] == []
    assert cloud.call("GET", _path(server, "?changes-since=soon"),
                      version="2.58").status_int == 400
    assert cloud.call("GET", _path(server, "?changes-before=2999-01-01T00:00:00Z"),
                      version="2.58").status_int == 400
    assert len(cloud.call("GET", _path(server, "?changes-before=2999-01-01T00:00:00Z"),
                          version="2.66").json["instanceActions"]) == 3
    assert cloud.call("GET", _path(server, "?changes-since=2999-01-01T00:00:00Z"
                                           "&changes-before=2000-01-01T00:00:00Z"),
                      version="2.66").status_int == 400
    # Before 2.58 the list is whole, whatever the query says.
    assert len(cloud.call("GET", _path(server, "?limit=1")).json["instanceActions"]) == 3


def test_deleted_server_actions_from_2_21(cloud: Cloud, server: dict) -> None:
    cloud.conductor.instance_destroy(cloud.ctxt, server["uuid"])
    assert cloud.call("GET", _path(server), token=MEMBER).status_int == 404
    listed = cloud.call("GET", _path(server), token=MEMBER, version="2.21")
    assert listed.status_int == 200 and len(listed.json["instanceActions"]) == 3
    assert cloud.call("GET", _path(server, "/req-1"), version="2.21").status_int == 200
    assert cloud.call("GET", _path(server), token="bob:project-b",
                      version="2.21").status_int == 404
