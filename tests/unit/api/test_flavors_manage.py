"""Flavor management through the API over the real conductor: create, delete,
description (2.55), extra specs, flavor access, and the microversioned views."""

from __future__ import annotations

import pytest

from tests.unit.api.admin_cloud import MEMBER, Cloud, cloud_fixture  # noqa: F401

TINY = {"name": "m1.tiny", "ram": 512, "vcpus": 1, "disk": 1}


def _create(cloud: Cloud, version: str | None = None, **values: object) -> dict:
    response = cloud.call("POST", "/flavors", {"flavor": {**TINY, **values}}, version=version)
    assert response.status_int == 200, response.json
    return response.json["flavor"]


def test_create_shows_the_flavor_and_generates_a_uuid_id(cloud: Cloud) -> None:
    flavor = _create(cloud)
    assert len(flavor["id"]) == 36
    assert (flavor["ram"], flavor["vcpus"], flavor["disk"], flavor["swap"]) == (512, 1, 1, "")
    assert flavor["os-flavor-access:is_public"] is True
    assert "description" not in flavor
    given = _create(cloud, name="m1.big", id="42", swap=1024, rxtx_factor=2.0)
    assert (given["id"], given["swap"], given["rxtx_factor"]) == ("42", 1024, 2.0)
    assert cloud.call("GET", "/flavors/42", token=MEMBER).json["flavor"]["name"] == "m1.big"


def test_create_conflicts_and_validation(cloud: Cloud) -> None:
    _create(cloud, id="1")
    duplicate_name = cloud.call("POST", "/flavors", {"flavor": {**TINY, "id": "2"}})
    assert duplicate_name.status_int == 409
    assert duplicate_name.json["conflictingRequest"]["message"] == (
        "Flavor with name m1.tiny already exists.")
    duplicate_id = cloud.call("POST", "/flavors", {"flavor": {**TINY, "name": "x", "id": "1"}})
    assert duplicate_id.json["conflictingRequest"]["message"] == (
        "Flavor with ID 1 already exists.")
    assert cloud.call("POST", "/flavors", {"flavor": {**TINY, "ram": 0}}).status_int == 400
    assert cloud.call("POST", "/flavors", {"flavor": {"name": "x"}}).status_int == 400
    # description is 2.55's
    assert cloud.call("POST", "/flavors", {"flavor": {**TINY, "name": "d",
                                                      "description": "x"}}).status_int == 400


def test_members_may_not_manage_flavors(cloud: Cloud) -> None:
    denied = cloud.call("POST", "/flavors", {"flavor": TINY}, token=MEMBER)
    assert denied.status_int == 403
    assert denied.json["forbidden"]["message"] == (
        "Policy doesn't allow os_compute_api:os-flavor-manage:create to be performed.")
    _create(cloud, id="1")
    assert cloud.call("DELETE", "/flavors/1", token=MEMBER).status_int == 403


def test_delete(cloud: Cloud) -> None:
    _create(cloud, id="1")
    assert cloud.call("POST", "/flavors/1/os-extra_specs",
                      {"extra_specs": {"hw:cpu_policy": "dedicated"}}).status_int == 200
    assert cloud.call("DELETE", "/flavors/1").status_int == 202
    assert cloud.call("GET", "/flavors/1").status_int == 404
    assert cloud.call("DELETE", "/flavors/1").status_int == 404
    _create(cloud, id="1")  # the name and id are free again
    assert cloud.call("GET", "/flavors/1/os-extra_specs").json == {"extra_specs": {}}


def test_description_from_2_55_and_update(cloud: Cloud) -> None:
    flavor = _create(cloud, version="2.55", id="1", description="small")
    assert flavor["description"] == "small"
    listed = cloud.call("GET", "/flavors", version="2.55").json["flavors"]
    assert listed[0]["description"] == "small"
    assert cloud.call("PUT", "/flavors/1", {"flavor": {"description": "x"}}).status_int == 404
    updated = cloud.call("PUT", "/flavors/1", {"flavor": {"description": "tiny"}},
                         version="2.55")
    assert updated.status_int == 200 and updated.json["flavor"]["description"] == "tiny"
    assert cloud.call("PUT", "/flavors/1", {"flavor": {"name": "y"}},
                      version="2.55").status_int == 400
    assert cloud.call("PUT", "/flavors/9", {"flavor": {"description": None}},
                      version="2.55").status_int == 404


def test_extra_specs_in_body_from_2_61_and_swap_zero_from_2_75(cloud: Cloud) -> None:
    _create(cloud, id="1")
    cloud.call("POST", "/flavors/1/os-extra_specs", {"extra_specs": {"a": "b"}})
    assert "extra_specs" not in cloud.call("GET", "/flavors/1", version="2.60").json["flavor"]
    shown = cloud.call("GET", "/flavors/1", version="2.61", token=MEMBER).json["flavor"]
    assert shown["extra_specs"] == {"a": "b"} and shown["swap"] == ""
    detail = cloud.call("GET", "/flavors/detail", version="2.75").json["flavors"][0]
    assert detail["swap"] == 0 and detail["extra_specs"] == {"a": "b"}
    assert "extra_specs" not in cloud.call("GET", "/flavors", version="2.75"
                                           ).json["flavors"][0]


def test_extra_specs_crud(cloud: Cloud) -> None:
    _create(cloud, id="1")
    created = cloud.call("POST", "/flavors/1/os-extra_specs",
                         {"extra_specs": {"hw:numa_nodes": 2, "trait:X": "required"}})
    assert created.json == {"extra_specs": {"hw:numa_nodes": "2", "trait:X": "required"}}
    assert cloud.call("GET", "/flavors/1/os-extra_specs", token=MEMBER).json[
        "extra_specs"] == {"hw:numa_nodes": "2", "trait:X": "required"}
    assert cloud.call("GET", "/flavors/1/os-extra_specs/trait:X").json == {
        "trait:X": "required"}
    updated = cloud.call("PUT", "/flavors/1/os-extra_specs/trait:X", {"trait:X": "forbidden"})
    assert updated.json == {"trait:X": "forbidden"}
    mismatch = cloud.call("PUT", "/flavors/1/os-extra_specs/trait:X", {"other": "1"})
    assert mismatch.json["badRequest"]["message"] == "Request body and URI mismatch"
    too_many = cloud.call("PUT", "/flavors/1/os-extra_specs/trait:X",
                          {"trait:X": "a", "b": "c"})
    assert too_many.json["badRequest"]["message"] == "Request body contains too many items"
    assert cloud.call("DELETE", "/flavors/1/os-extra_specs/trait:X").status_int == 202
    missing = cloud.call("GET", "/flavors/1/os-extra_specs/trait:X")
    assert missing.json["itemNotFound"]["message"] == (
        "Flavor 1 has no extra specs with key trait:X.")
    assert cloud.call("DELETE", "/flavors/1/os-extra_specs/trait:X").status_int == 404
    assert cloud.call("POST", "/flavors/1/os-extra_specs", {"extra_specs": {"a": "b"}},
                      token=MEMBER).status_int == 403
    assert cloud.call("POST", "/flavors/1/os-extra_specs",
                      {"extra_specs": {"bad key!": "b"}}).status_int == 400


def test_flavor_access(cloud: Cloud) -> None:
    _create(cloud, id="1")
    _create(cloud, id="p", name="private", **{"os-flavor-access:is_public": False})
    public = cloud.call("GET", "/flavors/1/os-flavor-access")
    assert public.status_int == 404
    assert public.json["itemNotFound"]["message"] == (
        "Access list not available for public flavors.")
    add_public = cloud.call("POST", "/flavors/1/action", {"addTenantAccess": {"tenant": "x"}})
    assert add_public.status_int == 409
    assert cloud.call("GET", "/flavors/p", token=MEMBER).status_int == 404

    added = cloud.call("POST", "/flavors/p/action", {"addTenantAccess": {"tenant": "project-a"}})
    assert added.json == {"flavor_access": [{"flavor_id": "p", "tenant_id": "project-a"}]}
    again = cloud.call("POST", "/flavors/p/action", {"addTenantAccess": {"tenant": "project-a"}})
    assert again.status_int == 409
    assert again.json["conflictingRequest"]["message"] == (
        "Flavor access already exists for flavor p and project project-a combination.")
    assert cloud.call("GET", "/flavors/p/os-flavor-access").json["flavor_access"] == [
        {"flavor_id": "p", "tenant_id": "project-a"}]
    assert cloud.call("GET", "/flavors/p", token=MEMBER).status_int == 200
    member_ids = [f["id"] for f in cloud.call("GET", "/flavors", token=MEMBER).json["flavors"]]
    assert member_ids == ["1", "p"]
    assert cloud.call("POST", "/flavors/p/action", {"addTenantAccess": {"tenant": "b"}},
                      token=MEMBER).status_int == 403

    removed = cloud.call("POST", "/flavors/p/action",
                         {"removeTenantAccess": {"tenant": "project-a"}})
    assert removed.json == {"flavor_access": []}
    gone = cloud.call("POST", "/flavors/p/action", {"removeTenantAccess": {"tenant": "project-a"}})
    assert gone.status_int == 404
    assert cloud.call("POST", "/flavors/p/action", {"explode": {}}).status_int == 400


@pytest.mark.parametrize("query,expected", [
    ("", ["1", "2", "3"]),
    ("?sort_key=memory_mb&sort_dir=desc", ["2", "3", "1"]),
    ("?minRam=1024", ["2", "3"]),
    ("?minDisk=10", ["3"]),
    ("?limit=1&marker=1", ["2"]),
    ("?is_public=false", ["9"]),
    ("?is_public=none", ["1", "2", "3", "9"]),
])
def test_list_filters_sorts_and_pages(cloud: Cloud, query: str, expected: list[str]) -> None:
    _create(cloud, id="1", name="a", ram=512)
    _create(cloud, id="2", name="b", ram=4096)
    _create(cloud, id="3", name="c", ram=2048, disk=20)
    _create(cloud, id="9", name="p", ram=2048, **{"os-flavor-access:is_public": False})
    listed = cloud.call("GET", "/flavors" + query)
    assert [f["id"] for f in listed.json["flavors"]] == expected


def test_list_query_errors(cloud: Cloud) -> None:
    assert cloud.call("GET", "/flavors?sort_key=bogus").status_int == 400
    assert cloud.call("GET", "/flavors?sort_dir=up").status_int == 400
    assert cloud.call("GET", "/flavors?marker=nope").status_int == 400
    assert cloud.call("GET", "/flavors?foo=1", version="2.74").status_int == 200
    unknown = cloud.call("GET", "/flavors?foo=1", version="2.75")
    assert unknown.status_int == 400
    assert "'foo' was unexpected" in unknown.json["badRequest"]["message"]
