"""The API over the real conductor manager and an in-memory database (no bus):
what the API sends is what the conductor of docs/compute-flow.md accepts."""

from __future__ import annotations

import pytest

from kumo.api.openstack import app as compute_app
from tests.unit.api.conftest import NoBuild, call


@pytest.fixture
def cloud(conductor_cloud: tuple[compute_app.ComputeAPI, NoBuild, str]
          ) -> tuple[compute_app.ComputeAPI, NoBuild, str]:
    return conductor_cloud


def test_boot_list_rename_delete_against_the_conductor(
        cloud: tuple[compute_app.ComputeAPI, NoBuild, str]) -> None:
    api, conductor, image_id = cloud
    booted = call(api, "POST", "/servers", {"server": {
        "name": "web", "imageRef": image_id, "flavorRef": "2", "min_count": 2,
        "metadata": {"role": "web"}, "return_reservation_id": True}})
    assert booted.status_int == 202, booted.json
    reservation_id = booted.json["reservation_id"]
    [(uuids, _)] = conductor.built

    listed = call(api, "GET", f"/servers/detail?reservation_id={reservation_id}"
                              "&status=BUILD&flavor=2&sort_key=display_name&sort_dir=asc")
    servers = listed.json["servers"]
    assert [s["name"] for s in servers] == ["web-1", "web-2"]
    assert sorted(s["id"] for s in servers) == sorted(uuids)
    server = servers[0]
    assert server["metadata"] == {"role": "web"}
    assert server["flavor"]["id"] == "2" and server["image"]["id"] == image_id
    assert (server["OS-EXT-STS:vm_state"], server["OS-EXT-STS:task_state"]) == (
        "building", "scheduling")
    assert server["updated"] == server["created"]

    page = call(api, "GET", "/servers?limit=1").json
    assert page["servers_links"][0]["rel"] == "next"
    assert call(api, "GET", "/servers?marker=nope").status_int == 400
    assert call(api, "GET", f"/servers/{server['id']}", token="bob:project-b"
                ).status_int == 404
    renamed = call(api, "PUT", f"/servers/{server['id']}", {"server": {"name": "www"}})
    assert renamed.json["server"]["name"] == "www"

    assert call(api, "DELETE", f"/servers/{server['id']}").status_int == 204
    assert call(api, "GET", f"/servers/{server['id']}").status_int == 404
    assert [s["name"] for s in call(api, "GET", "/servers").json["servers"]] == ["web-2"]


def test_flavors_and_images_against_the_conductor(
        cloud: tuple[compute_app.ComputeAPI, NoBuild, str]) -> None:
    api, _, image_id = cloud
    assert [f["id"] for f in call(api, "GET", "/flavors/detail").json["flavors"]] == ["2"]
    assert call(api, "GET", "/flavors/9").status_int == 404
    image = call(api, "GET", f"/images/{image_id}").json["image"]
    assert (image["name"], image["status"], image["OS-EXT-IMG-SIZE:size"]) == (
        "tiny", "ACTIVE", 1024)
    assert call(api, "GET", "/images/00000000-0000-4000-8000-000000000000").status_int == 404


def test_host_status_reads_the_servers_hosts_services(
        cloud: tuple[compute_app.ComputeAPI, NoBuild, str]) -> None:
    """2.16's host_status over the real service table: a show reads only its host's
    services, a list every host's."""
    from kumo.context import get_admin_context
    from kumo.db import api as db

    api, conductor, image_id = cloud
    db.service_heartbeat(db.service_create({"host": "h1", "binary": "kumo-compute"})["id"])
    db.service_create({"host": "h2", "binary": "kumo-compute", "disabled": True})
    booted = call(api, "POST", "/servers", {"server": {
        "name": "web", "imageRef": image_id, "flavorRef": "2", "min_count": 3}})
    assert booted.status_int == 202, booted.json
    [(uuids, _)] = conductor.built
    for uuid, host in zip(uuids, ("h1", "h2", "h9"), strict=True):
        conductor.instance_update(get_admin_context(), instance_uuid=uuid,
                                  values={"host": host})
    at_2_16 = {"OpenStack-API-Version": "compute 2.16"}

    shown = [call(api, "GET", f"/servers/{uuid}", token="admin:project-a", **at_2_16)
             .json["server"]["host_status"] for uuid in uuids]
    listed = {s["id"]: s["host_status"] for s in call(
        api, "GET", "/servers/detail", token="admin:project-a", **at_2_16).json["servers"]}
    assert shown == ["UP", "MAINTENANCE", "UNKNOWN"]
    assert [listed[uuid] for uuid in uuids] == shown
