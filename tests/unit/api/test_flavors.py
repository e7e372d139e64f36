"""``/flavors``: views, visibility, filters and paging."""

from __future__ import annotations

import urllib.parse

from kumo.api.openstack import app as compute_app
from tests.unit.api.conftest import BASE_URL, StubConductor, call

API = compute_app.ComputeAPI


def test_flavor_detail_view_as_the_reference_shows_it(api: API) -> None:
    response = call(api, "GET", "/flavors/3")
    assert response.status_int == 200
    assert response.json == {"flavor": {
        "id": "3", "name": "m1.medium", "ram": 4096, "vcpus": 2, "disk": 40,
        "OS-FLV-EXT-DATA:ephemeral": 0, "swap": 512, "rxtx_factor": 1.0,
        "os-flavor-access:is_public": True, "OS-FLV-DISABLED:disabled": False,
        "links": [{"rel": "self", "href": f"{BASE_URL}/v2.1/flavors/3"},
                  {"rel": "bookmark", "href": f"{BASE_URL}/flavors/3"}]}}


def test_no_swap_is_an_empty_string_at_2_1(api: API) -> None:
    assert call(api, "GET", "/flavors/1").json["flavor"]["swap"] == ""


def test_index_lists_id_name_links_of_visible_enabled_flavors(
        api: API, conductor: StubConductor) -> None:
    flavors = call(api, "GET", "/flavors").json["flavors"]
    assert [f["id"] for f in flavors] == ["1", "2", "3", "7"]
    assert set(flavors[0]) == {"id", "name", "links"}
    assert [f["id"] for f in call(api, "GET", "/flavors", token="bob:project-b").json[
        "flavors"]] == ["1", "2", "3"]
    assert conductor.called("flavor_get_all")[-1]["project_id"] == "project-b"


def test_admin_lists_public_by_default_and_chooses_with_is_public(api: API) -> None:
    def ids(query: str) -> list[str]:
        return [f["id"] for f in call(api, "GET", f"/flavors/detail{query}",
                                      token="admin:admin").json["flavors"]]

    assert ids("") == ["1", "2", "3", "8"]
    assert ids("?is_public=false") == ["7"]
    assert ids("?is_public=none") == ["1", "2", "3", "7", "8"]
    response = call(api, "GET", "/flavors?is_public=perhaps", token="admin:admin")
    assert response.status_int == 400
    assert response.json["badRequest"]["message"] == "Invalid is_public filter [perhaps]"


def test_min_ram_and_min_disk_filter(api: API) -> None:
    flavors = call(api, "GET", "/flavors/detail?minRam=1024&minDisk=30").json["flavors"]
    assert [f["id"] for f in flavors] == ["3"]
    response = call(api, "GET", "/flavors?minRam=lots")
    assert response.status_int == 400
    assert response.json["badRequest"]["message"] == "Invalid minRam filter [lots]"


def test_flavor_pages_link_onwards(api: API) -> None:
    body = call(api, "GET", "/flavors?limit=2").json
    assert [f["id"] for f in body["flavors"]] == ["1", "2"]
    query = urllib.parse.urlsplit(body["flavors_links"][0]["href"]).query
    assert urllib.parse.parse_qs(query) == {"limit": ["2"], "marker": ["2"]}
    rest = call(api, "GET", f"/flavors?{query}").json
    assert [f["id"] for f in rest["flavors"]] == ["3", "7"]
    response = call(api, "GET", "/flavors?marker=99")
    assert response.status_int == 400
    assert response.json["badRequest"]["message"] == "marker [99] not found"


def test_unknown_or_invisible_flavor_is_404(api: API) -> None:
    response = call(api, "GET", "/flavors/nope")
    assert response.status_int == 404
    assert response.json == {"itemNotFound": {
        "code": 404, "message": "Flavor nope could not be found."}}
    assert call(api, "GET", "/flavors/7", token="bob:project-b").status_int == 404
    assert call(api, "GET", "/flavors/7", token="admin:admin").status_int == 200
