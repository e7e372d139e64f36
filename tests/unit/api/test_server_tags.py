"""``/servers/{id}/tags`` and the 2.26 tags of the server view and list filters."""

from __future__ import annotations

from typing import Any

import pytest

from kumo.api.openstack import app as compute_app
from kumo.compute import vm_states
from tests.unit.api.conftest import BASE_URL, StubConductor, call

API = compute_app.ComputeAPI
V = {"OpenStack-API-Version": "compute 2.26"}


def _tags(api: API, method: str, path: str, body: Any = None, **kw: str) -> Any:
    return call(api, method, path, body, **{**V, **kw})


def test_tags_need_microversion_2_26(api: API, conductor: StubConductor) -> None:
    server = conductor.add_instance()

    response = call(api, "GET", f"/servers/{server.uuid}/tags",
                    **{"OpenStack-API-Version": "compute 2.25"})

    assert response.status_int == 404


def test_add_check_list_and_remove_one_tag(api: API, conductor: StubConductor) -> None:
    server = conductor.add_instance()
    path = f"/servers/{server.uuid}/tags"

    created = _tags(api, "PUT", path + "/web")
    again = _tags(api, "PUT", path + "/web")

    assert created.status_int == 201
    assert created.headers["Location"] == f"{BASE_URL}/v2.1/servers/{server.uuid}/tags/web"
    assert again.status_int == 204
    assert _tags(api, "GET", path + "/web").status_int == 204
    missing = _tags(api, "GET", path + "/db")
    assert missing.status_int == 404
    assert missing.json["itemNotFound"]["message"] == (
        f"Instance {server.uuid} has no tag 'db'")
    assert _tags(api, "GET", path).json == {"tags": ["web"]}
    assert _tags(api, "DELETE", path + "/web").status_int == 204
    assert _tags(api, "DELETE", path + "/web").status_int == 404


def test_replace_and_clear_every_tag(api: API, conductor: StubConductor) -> None:
    server = conductor.add_instance()
    path = f"/servers/{server.uuid}/tags"

    replaced = _tags(api, "PUT", path, {"tags": ["b", "a"]})

    assert replaced.status_int == 200 and replaced.json == {"tags": ["a", "b"]}
    assert _tags(api, "DELETE", path).status_int == 204
    assert _tags(api, "GET", path).json == {"tags": []}


@pytest.mark.parametrize("tag", ["a,b", "x" * 61])
def test_an_invalid_tag_is_a_bad_request(api: API, conductor: StubConductor,
                                         tag: str) -> None:
    server = conductor.add_instance()

    one = _tags(api, "PUT", f"/servers/{server.uuid}/tags/{tag}")
    many = _tags(api, "PUT", f"/servers/{server.uuid}/tags", {"tags": [tag]})

    assert one.status_int == 400
    assert one.json["badRequest"]["message"].startswith(f"Tag '{tag}' is invalid.")
    assert many.status_int == 400


def test_more_than_fifty_tags_is_a_bad_request(api: API, conductor: StubConductor) -> None:
    server = conductor.add_instance()

    response = _tags(api, "PUT", f"/servers/{server.uuid}/tags",
                     {"tags": [f"t{i}" for i in range(51)]})

    assert response.status_int == 400
    assert response.json["badRequest"]["message"] == (
        "The number of tags exceeded the per-server limit 50")


def test_tags_of_a_building_server_do_not_change(api: API, conductor: StubConductor) -> None:
    server = conductor.add_instance(vm_state=vm_states.BUILDING)

    response = _tags(api, "PUT", f"/servers/{server.uuid}/tags/web")

    assert response.status_int == 409
    assert response.json["conflictingRequest"]["message"] == (
        f"Cannot 'update tag' instance {server.uuid} while it is in vm_state building")
    assert _tags(api, "GET", f"/servers/{server.uuid}/tags").status_int == 200


def test_another_projects_server_tags_are_not_found(api: API,
                                                    conductor: StubConductor) -> None:
    server = conductor.add_instance(project_id="project-a")

    response = _tags(api, "GET", f"/servers/{server.uuid}/tags", token="bob:project-b")

    assert response.status_int == 404


def test_the_server_view_shows_tags_from_2_26(api: API, conductor: StubConductor) -> None:
    server = conductor.add_instance()
    conductor.tags[server.uuid] = ["web"]

    old = call(api, "GET", f"/servers/{server.uuid}",
               **{"OpenStack-API-Version": "compute 2.25"}).json["server"]
    new = _tags(api, "GET", f"/servers/{server.uuid}").json["server"]
    listed = _tags(api, "GET", "/servers/detail").json["servers"]

    assert "tags" not in old
    assert new["tags"] == ["web"]
    assert listed[0]["tags"] == ["web"]


def test_tag_filters_reach_the_conductor_for_members(api: API,
                                                     conductor: StubConductor) -> None:
    query = "tags=a,b&tags-any=c&not-tags=d&not-tags-any=e,f"

    call(api, "GET", f"/servers?{query}", **{"OpenStack-API-Version": "compute 2.25"})
    _tags(api, "GET", f"/servers?{query}")

    before, after = (c["filters"] for c in conductor.called("instance_get_all"))
    assert "tags" not in before and "tags_any" not in before
    assert (after["tags"], after["tags_any"], after["not_tags"], after["not_tags_any"]) == (
        ["a", "b"], ["c"], ["d"], ["e", "f"])
