"""``/os-services`` through the API over the real conductor: list, the legacy
actions (< 2.53), PUT by uuid (2.53) and delete."""

from __future__ import annotations

import datetime

from kumo.db import api as db
from tests.unit.api.admin_cloud import MEMBER, Cloud, cloud_fixture  # noqa: F401


def test_list_shows_state_zone_and_filters(cloud: Cloud) -> None:
    compute = cloud.add_service("cmp1")
    cloud.add_service("ctl", binary="kumo-scheduler")
    stale = cloud.add_service("cmp2")
    db.service_update(stale["id"], {"last_seen_up": datetime.datetime(2020, 1, 1)})
    listed = cloud.call("GET", "/os-services").json["services"]
    assert [(s["host"], s["binary"], s["zone"], s["state"], s["status"]) for s in listed] == [
        ("cmp1", "kumo-compute", "nova", "up", "enabled"),
        ("ctl", "kumo-scheduler", "internal", "up", "enabled"),
        ("cmp2", "kumo-compute", "nova", "down", "enabled")]
    first = listed[0]
    assert first["id"] == compute["id"] and first["disabled_reason"] is None
    assert "forced_down" not in first
    assert first["updated_at"].startswith(str(datetime.date.today().year))
    assert [s["host"] for s in cloud.call("GET", "/os-services?binary=kumo-compute&host=cmp2"
                                          ).json["services"]] == ["cmp2"]
    new = cloud.call("GET", "/os-services", version="2.53").json["services"][0]
    assert new["id"] == compute["uuid"] and new["forced_down"] is False
    assert cloud.call("GET", "/os-services", token=MEMBER).status_int == 403


def test_legacy_actions(cloud: Cloud) -> None:
    cloud.add_service("cmp1")
    body = {"host": "cmp1", "binary": "kumo-compute"}
    disabled = cloud.call("PUT", "/os-services/disable", body)
    assert disabled.json == {"service": {**body, "status": "disabled"}}
    with_reason = cloud.call("PUT", "/os-services/disable-log-reason",
                             {**body, "disabled_reason": "maintenance"})
    assert with_reason.json["service"]["disabled_reason"] == "maintenance"
    listed = cloud.call("GET", "/os-services").json["services"][0]
    assert (listed["status"], listed["disabled_reason"]) == ("disabled", "maintenance")
    assert cloud.call("PUT", "/os-services/disable-log-reason", body).status_int == 400
    enabled = cloud.call("PUT", "/os-services/enable", body)
    assert enabled.json == {"service": {**body, "status": "enabled"}}
    assert cloud.call("GET", "/os-services").json["services"][0]["disabled_reason"] is None

    assert cloud.call("PUT", "/os-services/force-down", {**body, "forced_down": True}
                      ).status_int == 404
    forced = cloud.call("PUT", "/os-services/force-down", {**body, "forced_down": True},
                        version="2.11")
    assert forced.json == {"service": {**body, "forced_down": True}}
    shown = cloud.call("GET", "/os-services", version="2.11").json["services"][0]
    assert (shown["forced_down"], shown["state"]) == (True, "down")

    missing = cloud.call("PUT", "/os-services/enable", {"host": "nope", "binary": "kumo-compute"})
    assert missing.status_int == 404
    assert cloud.call("PUT", "/os-services/reboot", body).status_int == 404
    assert cloud.call("PUT", "/os-services/enable", body, token=MEMBER).status_int == 403


def test_update_by_uuid_from_2_53(cloud: Cloud) -> None:
    compute = cloud.add_service("cmp1")
    scheduler = cloud.add_service("ctl", binary="kumo-scheduler")
    path = f"/os-services/{compute['uuid']}"
    updated = cloud.call("PUT", path, {"status": "disabled", "disabled_reason": "tests"},
                         version="2.53")
    assert updated.status_int == 200
    service = updated.json["service"]
    assert (service["id"], service["status"], service["disabled_reason"], service["zone"]) == (
        compute["uuid"], "disabled", "tests", "nova")
    forced = cloud.call("PUT", path, {"forced_down": True}, version="2.53").json["service"]
    assert (forced["forced_down"], forced["state"], forced["status"]) == (True, "down", "disabled")
    enabled = cloud.call("PUT", path, {"status": "enabled"}, version="2.53").json["service"]
    assert (enabled["status"], enabled["disabled_reason"]) == ("enabled", None)

    def error(body: dict, target: str = path) -> str:
        response = cloud.call("PUT", target, body, version="2.53")
        assert response.status_int == 400, response.json
        return response.json["badRequest"]["message"]

    assert error({"status": "enabled", "disabled_reason": "x"}) == (
        "Specifying 'disabled_reason' with status 'enabled' is invalid.")
    assert error({}).startswith("No updates were requested.")
    assert error({"status": "off"}).startswith("Invalid input for field/attribute status")
    assert error({"status": "disabled"}, "/os-services/disable") == "Invalid uuid disable"
    assert error({"status": "disabled"}, f"/os-services/{scheduler['uuid']}") == (
        "Updating a kumo-scheduler service is not supported. Only kumo-compute services "
        "can be updated.")
    assert cloud.call("PUT", "/os-services/00000000-0000-4000-8000-000000000000",
                      {"status": "disabled"}, version="2.53").status_int == 404


def test_delete_refuses_a_compute_service_hosting_servers(cloud: Cloud) -> None:
    busy = cloud.add_service("cmp1")
    idle = cloud.add_service("cmp2")
    cloud.add_node("cmp2", "cmp2-node", idle["id"])
    server = cloud.add_server(host="cmp1")
    refused = cloud.call("DELETE", f"/os-services/{busy['id']}")
    assert refused.status_int == 409
    assert refused.json["conflictingRequest"]["message"].startswith(
        "Unable to delete compute service that is hosting instances.")
    assert cloud.call("DELETE", f"/os-services/{busy['uuid']}").status_int == 400
    assert cloud.call("DELETE", f"/os-services/{idle['id']}", version="2.53").status_int == 400
    assert cloud.call("DELETE", f"/os-services/{idle['uuid']}", version="2.53"
                      ).status_int == 204
    assert [s["host"] for s in cloud.call("GET", "/os-services").json["services"]] == ["cmp1"]
    assert cloud.call("GET", "/os-hypervisors").json["hypervisors"] == []
    cloud.conductor.instance_destroy(cloud.ctxt, server["uuid"])
    assert cloud.call("DELETE", f"/os-services/{busy['id']}").status_int == 204
    assert cloud.call("DELETE", f"/os-services/{busy['id']}").status_int == 404


def test_delete_takes_the_nodes_reported_before_the_service_registered(cloud: Cloud) -> None:
    cloud.add_node("cmp3", "cmp3-node", None)
    service = cloud.add_service("cmp3")
    assert [h["hypervisor_hostname"] for h in cloud.call("GET", "/os-hypervisors").json[
        "hypervisors"]] == ["cmp3-node"]
    assert cloud.call("DELETE", f"/os-services/{service['id']}").status_int == 204
    assert cloud.conductor.hypervisor_get_all(cloud.ctxt) == []
