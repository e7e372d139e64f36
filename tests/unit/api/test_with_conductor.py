"""The API over the real conductor manager and an in-memory database (no bus):
what the API sends is what the conductor of docs/compute-flow.md accepts."""

from __future__ import annotations

from typing import Any

import pytest

from kumo.api.openstack import app as compute_app
from kumo.context import get_admin_context
from tests.unit.api.conftest import StubCompute, call


class _NoBuild:
    """The conductor manager, but build_instances (which needs a scheduler) is recorded."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager
        self.built: list[list[str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.manager, name)

    def build_instances(self, ctxt: Any, instance_uuids: list[str],
                        request_spec: dict[str, Any]) -> None:
        self.built.append(instance_uuids)


@pytest.fixture
def cloud(conductor_db: None) -> tuple[compute_app.ComputeAPI, _NoBuild, str]:
    from kumo.conductor import manager

    conductor = _NoBuild(manager.ConductorManager(host="conductor-host"))
    ctxt = get_admin_context()
    conductor.flavor_create(ctxt, values={"name": "m1.small", "flavorid": "2",
                                          "memory_mb": 2048, "vcpus": 1, "root_gb": 20})
    image = conductor.image_create(ctxt, values={
        "name": "tiny", "status": "active", "visibility": "public", "owner": "admin",
        "size": 1024, "disk_format": "raw", "container_format": "bare"})
    api = compute_app.app_factory(conductor=conductor, compute=StubCompute(),
                                  auth_strategy="noauth2")
    return api, conductor, image.id


def test_boot_list_rename_delete_against_the_conductor(
        cloud: tuple[compute_app.ComputeAPI, _NoBuild, str]) -> None:
    api, conductor, image_id = cloud
    booted = call(api, "POST", "/servers", {"server": {
        "name": "web", "imageRef": image_id, "flavorRef": "2", "min_count": 2,
        "metadata": {"role": "web"}, "return_reservation_id": True}})
    assert booted.status_int == 202, booted.json
    reservation_id = booted.json["reservation_id"]
    [uuids] = conductor.built

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
        cloud: tuple[compute_app.ComputeAPI, _NoBuild, str]) -> None:
    api, _, image_id = cloud
    assert [f["id"] for f in call(api, "GET", "/flavors/detail").json["flavors"]] == ["2"]
    assert call(api, "GET", "/flavors/9").status_int == 404
    image = call(api, "GET", f"/images/{image_id}").json["image"]
    assert (image["name"], image["status"], image["OS-EXT-IMG-SIZE:size"]) == (
        "tiny", "ACTIVE", 1024)
    assert call(api, "GET", "/images/00000000-0000-4000-8000-000000000000").status_int == 404
