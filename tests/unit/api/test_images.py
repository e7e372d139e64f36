"""``/images``: Nova's image proxy views over the conductor's images."""

from __future__ import annotations

from kumo.api.openstack import app as compute_app
from tests.unit.api.conftest import (
    BASE_URL,
    BIG_IMAGE,
    PRIVATE_IMAGE,
    PUBLIC_IMAGE,
    SAVING_IMAGE,
    StubConductor,
    call,
    make_image,
)

API = compute_app.ComputeAPI


def test_image_view_as_nova_shows_it(api: API) -> None:
    response = call(api, "GET", f"/images/{PUBLIC_IMAGE}")
    assert response.status_int == 200
    assert response.json == {"image": {
        "id": PUBLIC_IMAGE, "name": "cirros", "minRam": 0, "minDisk": 0,
        "metadata": {"os_distro": "cirros"},
        "created": "2026-01-02T03:04:05Z", "updated": "2026-01-02T03:04:05Z",
        "status": "ACTIVE", "progress": 100, "OS-EXT-IMG-SIZE:size": 1024,
        "links": [{"rel": "self", "href": f"{BASE_URL}/v2.1/images/{PUBLIC_IMAGE}"},
                  {"rel": "bookmark", "href": f"{BASE_URL}/images/{PUBLIC_IMAGE}"}]}}


def test_image_statuses_map_to_the_api_ones(api: API, conductor: StubConductor) -> None:
    for glance_status, api_status, progress in [
            ("queued", "SAVING", 25), ("saving", "SAVING", 50), ("killed", "ERROR", 0),
            ("deleted", "DELETED", 0), ("odd", "UNKNOWN", 0)]:
        conductor.images[SAVING_IMAGE].status = glance_status
        image = call(api, "GET", f"/images/{SAVING_IMAGE}").json["image"]
        assert (image["status"], image["progress"]) == (api_status, progress)


def test_snapshot_image_names_its_server(api: API, conductor: StubConductor) -> None:
    server_id = "55555555-5555-4555-8555-555555555555"
    snapshot = make_image("66666666-6666-4666-8666-666666666666", "snap",
                          properties={"instance_uuid": server_id, "auto_disk_config": "True"})
    conductor.images[snapshot.id] = snapshot
    image = call(api, "GET", f"/images/{snapshot.id}").json["image"]
    assert image["server"]["id"] == server_id
    assert image["server"]["links"][0]["href"] == f"{BASE_URL}/v2.1/servers/{server_id}"
    assert image["OS-DCF:diskConfig"] == "AUTO"


def test_list_shows_what_the_project_may_see(api: API, conductor: StubConductor) -> None:
    mine = call(api, "GET", "/images").json["images"]
    assert {i["id"] for i in mine} == {PUBLIC_IMAGE, PRIVATE_IMAGE, SAVING_IMAGE, BIG_IMAGE}
    assert set(mine[0]) == {"id", "name", "links"}
    theirs = call(api, "GET", "/images/detail", token="bob:project-b").json["images"]
    assert PRIVATE_IMAGE not in {i["id"] for i in theirs}
    assert conductor.called("image_get_all")[-1]["project_id"] == "project-b"
    response = call(api, "GET", f"/images/{PRIVATE_IMAGE}", token="bob:project-b")
    assert response.status_int == 404
    assert "itemNotFound" in response.json


def test_image_list_filters_and_pages(api: API) -> None:
    def names(query: str) -> list[str]:
        return [i["name"] for i in call(api, "GET", f"/images/detail?{query}").json["images"]]

    assert names("name=cirros") == ["cirros"]
    assert names("status=saving") == ["half"]
    assert names("minRam=1024") == ["big"]
    assert names("minDisk=1") == ["big"]
    body = call(api, "GET", "/images?limit=1").json
    assert len(body["images"]) == 1
    assert body["images_links"][0]["rel"] == "next"
    marker = body["images"][0]["id"]
    rest = call(api, "GET", f"/images?marker={marker}").json["images"]
    assert marker not in {i["id"] for i in rest} and len(rest) == 3
    assert call(api, "GET", "/images?minRam=x").status_int == 400


def test_changes_since_keeps_images_updated_since(api: API) -> None:
    assert len(call(api, "GET", "/images?changes-since=2026-01-01T00:00:00Z").json[
        "images"]) == 4
    assert call(api, "GET", "/images?changes-since=2027-01-01T00:00:00Z").json[
        "images"] == []
    assert call(api, "GET", "/images?changes-since=soon").status_int == 400
