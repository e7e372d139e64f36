"""``/servers`` over a stub conductor: boot, list, show, rename, delete."""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from typing import Any

import pytest

from kumo.api.openstack import app as compute_app
from kumo.compute import task_states
from kumo.conf import CONF
from tests.unit.api.conftest import (
    BASE_URL,
    BIG_IMAGE,
    PRIVATE_IMAGE,
    PUBLIC_IMAGE,
    SAVING_IMAGE,
    StubCompute,
    StubConductor,
    call,
    fault,
)

API = compute_app.ComputeAPI


def _boot(api: API, token: str = "alice:project-a", **server: Any) -> Any:
    body = {"name": "web", "imageRef": PUBLIC_IMAGE, "flavorRef": "1", **server}
    return call(api, "POST", "/servers", {"server": body}, token=token)


# --- POST /servers -----------------------------------------------------------------------


def test_boot_creates_a_building_instance_and_casts_build_instances(
        api: API, conductor: StubConductor) -> None:
    response = _boot(api, metadata={"role": "web"}, availability_zone="az1",
                     accessIPv4="192.0.2.10")

    assert response.status_int == 202
    server = response.json["server"]
    assert set(server) == {"id", "links", "adminPass", "OS-DCF:diskConfig", "security_groups"}
    assert server["links"] == [
        {"rel": "self", "href": f"{BASE_URL}/v2.1/servers/{server['id']}"},
        {"rel": "bookmark", "href": f"{BASE_URL}/servers/{server['id']}"},
    ]
    assert len(server["adminPass"]) == 12
    assert server["OS-DCF:diskConfig"] == "MANUAL"
    assert server["security_groups"] == [{"name": "default"}]
    assert response.headers["Location"] == server["links"][0]["href"]

    [create] = conductor.called("instance_create")
    [values] = create["values_list"]
    assert values["uuid"] == server["id"]
    assert values["project_id"] == "project-a" and values["user_id"] == "alice"
    assert values["display_name"] == "web"
    assert (values["vm_state"], values["task_state"], values["power_state"]) == (
        "building", "scheduling", 0)
    assert re.fullmatch(r"r-[0-9a-z]{8}", values["reservation_id"])
    assert values["launch_index"] == 0
    assert values["image_ref"] == PUBLIC_IMAGE
    assert values["metadata"] == {"role": "web"}
    assert values["availability_zone"] == "az1"
    assert values["access_ip_v4"] == "192.0.2.10"
    assert (values["memory_mb"], values["vcpus"], values["root_gb"]) == (512, 1, 1)
    assert values["flavor"]["flavorid"] == "1"
    assert values["flavor"]["extra_specs"] == {}

    [build] = conductor.called("build_instances")
    assert build["instance_uuids"] == [server["id"]]
    spec = build["request_spec"]
    assert spec["project_id"] == "project-a" and spec["user_id"] == "alice"
    assert spec["flavor"]["memory_mb"] == 512
    assert spec["image"] == {"id": PUBLIC_IMAGE, "properties": {"os_distro": "cirros"},
                             "min_ram": 0, "min_disk": 0, "size": 1024}
    assert spec["availability_zone"] == "az1"
    assert spec["num_instances"] == 1
    assert spec["scheduler_hints"] == {}
    assert spec["ignore_hosts"] == [] and spec["instance_group"] is None
    assert build["context"].request_id == response.headers["x-openstack-request-id"]


def test_boot_accepts_flavor_and_image_links(api: API, conductor: StubConductor) -> None:
    response = _boot(api, flavorRef=f"{BASE_URL}/flavors/2",
                     imageRef=f"{BASE_URL}/images/{PUBLIC_IMAGE}")
    assert response.status_int == 202
    [values] = conductor.called("instance_create")[0]["values_list"]
    assert values["flavor"]["flavorid"] == "2"
    assert values["memory_mb"] == 2048


def test_multi_create_numbers_names_and_can_return_the_reservation_id(
        api: API, conductor: StubConductor) -> None:
    response = _boot(api, min_count=3, max_count=3, return_reservation_id=True)

    assert response.status_int == 202
    reservation_id = response.json["reservation_id"]
    assert list(response.json) == ["reservation_id"]
    values_list = conductor.called("instance_create")[0]["values_list"]
    assert [v["display_name"] for v in values_list] == ["web-1", "web-2", "web-3"]
    assert [v["launch_index"] for v in values_list] == [0, 1, 2]
    assert {v["reservation_id"] for v in values_list} == {reservation_id}
    [build] = conductor.called("build_instances")
    assert build["instance_uuids"] == [v["uuid"] for v in values_list]
    assert build["request_spec"]["num_instances"] == 3


def test_min_count_alone_creates_that_many(api: API, conductor: StubConductor) -> None:
    assert _boot(api, min_count="2").status_int == 202
    assert len(conductor.called("instance_create")[0]["values_list"]) == 2


def test_boot_passes_scheduler_hints_and_ignores_networks(
        api: API, conductor: StubConductor) -> None:
    body = {"server": {"name": "a", "imageRef": PUBLIC_IMAGE, "flavorRef": 1,
                       "networks": "auto", "user_data": "aGVsbG8=",
                       "security_groups": [{"name": "web"}]},
            "os:scheduler_hints": {"different_host": ["x"]}}
    # "auto"/"none" are microversion 2.37's.
    v2_37 = {"OpenStack-API-Version": "compute 2.37"}
    assert call(api, "POST", "/servers", body).status_int == 400
    response = call(api, "POST", "/servers", body, **v2_37)
    assert response.status_int == 202, response.json
    assert response.json["server"]["security_groups"] == [{"name": "web"}]
    spec = conductor.called("build_instances")[0]["request_spec"]
    assert spec["scheduler_hints"] == {"different_host": ["x"]}
    assert conductor.called("instance_create")[0]["values_list"][0]["user_data"] == "aGVsbG8="
    assert _boot(api, networks=[{"uuid": "net"}]).status_int == 202
    assert call(api, "POST", "/servers", {"server": {
        "name": "b", "imageRef": PUBLIC_IMAGE, "flavorRef": "1", "networks": "none"}},
        **v2_37).status_int == 202


@pytest.mark.parametrize(("server", "message"), [
    ({"imageRef": PUBLIC_IMAGE, "flavorRef": "1"}, "'name' is a required property"),
    ({"name": "x", "imageRef": PUBLIC_IMAGE}, "'flavorRef' is a required property"),
    ({"name": "", "imageRef": PUBLIC_IMAGE, "flavorRef": "1"},
     "Invalid input for field/attribute name. Value: . "),
    ({"name": " x", "imageRef": PUBLIC_IMAGE, "flavorRef": "1"},
     "Can not start or end with whitespace."),
    ({"name": "x", "imageRef": PUBLIC_IMAGE, "flavorRef": "1", "colour": "red"},
     "Additional properties are not allowed ('colour' was unexpected)"),
    ({"name": "x", "imageRef": PUBLIC_IMAGE, "flavorRef": "1", "user_data": "!!"},
     "Invalid input for field/attribute user_data. Value: !!. '!!' is not a 'base64'"),
    ({"name": "x", "imageRef": PUBLIC_IMAGE, "flavorRef": "1", "min_count": 0},
     "Invalid input for field/attribute min_count."),
    ({"name": "x", "imageRef": PUBLIC_IMAGE, "flavorRef": "1", "min_count": 3, "max_count": 2},
     "min_count must be <= max_count"),
    ({"name": "x", "imageRef": PUBLIC_IMAGE, "flavorRef": "1", "metadata": {"a": 1}},
     "Invalid input for field/attribute a. Value: 1. 1 is not of type 'string'"),
    ({"name": "x", "imageRef": PUBLIC_IMAGE, "flavorRef": "1", "accessIPv4": "nope"},
     "'nope' is not a 'ipv4'"),
    ({"name": "x", "imageRef": PUBLIC_IMAGE, "flavorRef": "1", "key_name": "mykey"},
     "Invalid key_name provided."),
    ({"name": "x", "imageRef": PUBLIC_IMAGE, "flavorRef": "nope"},
     "Flavor nope could not be found."),
    ({"name": "x", "imageRef": PUBLIC_IMAGE, "flavorRef": "8"}, "Flavor 8 could not be found."),
    ({"name": "x", "imageRef": "6b8c7f5e-0000-4000-8000-000000000000", "flavorRef": "1"},
     "Can not find requested image"),
    ({"name": "x", "imageRef": "not-a-uuid", "flavorRef": "1"}, "Invalid imageRef provided."),
    ({"name": "x", "imageRef": "", "flavorRef": "1"}, "Missing imageRef attribute"),
    ({"name": "x", "imageRef": SAVING_IMAGE, "flavorRef": "1"},
     f"Image {SAVING_IMAGE} is not active."),
    ({"name": "x", "imageRef": BIG_IMAGE, "flavorRef": "1"},
     "Flavor's memory is too small for requested image."),
    ({"name": "x", "imageRef": BIG_IMAGE, "flavorRef": "2"},
     "Flavor's disk is too small for requested image."),
])
def test_bad_boot_request_is_400_with_the_reason(
        api: API, conductor: StubConductor, server: dict[str, Any], message: str) -> None:
    response = call(api, "POST", "/servers", {"server": server})
    assert response.status_int == 400, response.json
    assert response.json["badRequest"]["code"] == 400
    assert message in response.json["badRequest"]["message"]
    assert not conductor.called("instance_create")
    assert not conductor.called("build_instances")


def test_image_too_large_for_the_root_disk_is_400(api: API, conductor: StubConductor) -> None:
    conductor.images[BIG_IMAGE].min_ram = 0
    conductor.images[BIG_IMAGE].min_disk = 0
    response = _boot(api, imageRef=BIG_IMAGE, flavorRef="1")
    assert response.status_int == 400
    assert response.json["badRequest"]["message"] == (
        "Flavor's disk is too small for requested image. Flavor disk is 1073741824 bytes, "
        "image is 2147483648 bytes.")


def test_body_that_is_not_json_is_400(api: API) -> None:
    request_body = b"{not json"
    from webob import Request
    request = Request.blank("/v2.1/servers", method="POST", body=request_body,
                            headers={"X-Auth-Token": "alice:project-a"})
    response = request.get_response(api)
    assert response.status_int == 400
    assert response.json == {"badRequest": {"code": 400, "message": "Malformed request body"}}


def test_a_missing_server_key_is_400(api: API) -> None:
    response = call(api, "POST", "/servers", {"name": "x"})
    assert response.status_int == 400
    assert "'server' is a required property" in response.json["badRequest"]["message"]


def test_private_image_and_flavor_are_visible_only_to_their_project(
        api: API, conductor: StubConductor) -> None:
    assert _boot(api, imageRef=PRIVATE_IMAGE, flavorRef="7").status_int == 202
    response = _boot(api, token="bob:project-b", imageRef=PRIVATE_IMAGE)
    assert response.status_int == 400
    assert response.json["badRequest"]["message"] == "Can not find requested image"
    response = _boot(api, token="bob:project-b", flavorRef="7")
    assert response.json["badRequest"]["message"] == "Flavor 7 could not be found."


# --- GET /servers/{id} and the detail view ------------------------------------------------


def test_show_gives_the_whole_2_1_view(api: API, conductor: StubConductor) -> None:
    instance = conductor.add_instance(metadata={"k": "v"}, key_name="kp",
                                      access_ip_v4="192.0.2.1")

    response = call(api, "GET", f"/servers/{instance.uuid}")

    assert response.status_int == 200
    server = response.json["server"]
    assert server == {
        "id": instance.uuid,
        "name": instance.display_name,
        "status": "ACTIVE",
        "tenant_id": "project-a",
        "user_id": "alice",
        "metadata": {"k": "v"},
        "hostId": hashlib.sha224(b"project-acompute-1").hexdigest(),
        "image": {"id": PUBLIC_IMAGE, "links": [
            {"rel": "bookmark", "href": f"{BASE_URL}/images/{PUBLIC_IMAGE}"}]},
        "flavor": {"id": "1", "links": [{"rel": "bookmark", "href": f"{BASE_URL}/flavors/1"}]},
        "created": server["created"],
        "updated": "2026-01-02T03:04:05Z",
        "addresses": {},
        "accessIPv4": "192.0.2.1",
        "accessIPv6": "",
        "links": [
            {"rel": "self", "href": f"{BASE_URL}/v2.1/servers/{instance.uuid}"},
            {"rel": "bookmark", "href": f"{BASE_URL}/servers/{instance.uuid}"},
        ],
        "OS-DCF:diskConfig": "MANUAL",
        "key_name": "kp",
        "config_drive": "",
        "progress": 0,
        "OS-EXT-AZ:availability_zone": "nova",
        "OS-EXT-STS:vm_state": "active",
        "OS-EXT-STS:task_state": None,
        "OS-EXT-STS:power_state": 1,
        "OS-SRV-USG:launched_at": "2026-01-02T03:04:05.000000",
        "OS-SRV-USG:terminated_at": None,
        "os-extended-volumes:volumes_attached": [],
        "security_groups": [{"name": "default"}],
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", server["created"])


def test_admin_sees_host_attributes_and_other_projects_servers(
        api: API, conductor: StubConductor) -> None:
    instance = conductor.add_instance()
    server = call(api, "GET", f"/servers/{instance.uuid}", token="admin:admin").json["server"]
    assert server["OS-EXT-SRV-ATTR:host"] == "compute-1"
    assert server["OS-EXT-SRV-ATTR:hypervisor_hostname"] == "node-1"
    assert server["OS-EXT-SRV-ATTR:instance_name"] == f"instance-{instance.id:08x}"
    own = call(api, "GET", f"/servers/{instance.uuid}").json["server"]
    assert not [key for key in own if key.startswith("OS-EXT-SRV-ATTR")]


def test_another_projects_server_is_404(api: API, conductor: StubConductor) -> None:
    instance = conductor.add_instance()
    response = call(api, "GET", f"/servers/{instance.uuid}", token="bob:project-b")
    assert response.status_int == 404
    assert response.json == {"itemNotFound": {
        "code": 404, "message": f"Instance {instance.uuid} could not be found."}}


def test_server_in_error_shows_its_fault_details_only_when_allowed(
        api: API, conductor: StubConductor) -> None:
    instance = conductor.add_instance(vm_state="error", host=None)
    instance.fault = fault(instance.uuid)

    server = call(api, "GET", f"/servers/{instance.uuid}").json["server"]
    assert server["status"] == "ERROR"
    assert server["hostId"] == ""
    assert server["fault"] == {"code": 500, "created": "2026-01-02T03:04:05Z",
                               "message": "No valid host was found. "}
    assert "progress" not in server
    admin = call(api, "GET", f"/servers/{instance.uuid}", token="admin:x").json["server"]
    assert admin["fault"]["details"] == "Traceback: boom"

    instance.fault = fault(instance.uuid, code=409, details="why")
    assert call(api, "GET", f"/servers/{instance.uuid}").json["server"]["fault"][
        "details"] == "why"


def test_building_server_shows_build_and_no_fault(api: API, conductor: StubConductor) -> None:
    instance = conductor.add_instance(vm_state="building", task_state="scheduling", host=None,
                                      launched_at=None, power_state=0)
    server = call(api, "GET", f"/servers/{instance.uuid}").json["server"]
    assert server["status"] == "BUILD"
    assert server["OS-EXT-STS:task_state"] == "scheduling"
    assert server["OS-SRV-USG:launched_at"] is None
    assert "fault" not in server


def test_links_keep_a_project_id_given_in_the_url(api: API, conductor: StubConductor) -> None:
    instance = conductor.add_instance()
    server = call(api, "GET", f"/project-a/servers/{instance.uuid}").json["server"]
    assert server["links"][0]["href"] == f"{BASE_URL}/v2.1/project-a/servers/{instance.uuid}"
    assert server["links"][1]["href"] == f"{BASE_URL}/project-a/servers/{instance.uuid}"


def test_a_url_project_id_other_than_the_callers_is_400(api: API) -> None:
    response = call(api, "GET", "/project-b/servers")
    assert response.status_int == 400
    assert "doesn't match Context's project_id 'project-a'" in (
        response.json["badRequest"]["message"])


# --- GET /servers, /servers/detail ---------------------------------------------------------


def test_index_lists_only_the_callers_project_with_the_basic_view(
        api: API, conductor: StubConductor) -> None:
    mine = conductor.add_instance()
    conductor.add_instance(project_id="project-b")

    response = call(api, "GET", "/servers")

    assert response.status_int == 200
    assert response.json == {"servers": [{
        "id": mine.uuid, "name": mine.display_name,
        "links": [{"rel": "self", "href": f"{BASE_URL}/v2.1/servers/{mine.uuid}"},
                  {"rel": "bookmark", "href": f"{BASE_URL}/servers/{mine.uuid}"}]}]}
    [listed] = conductor.called("instance_get_all")
    assert listed["filters"] == {"project_id": "project-a", "deleted": False}
    assert (listed["sort_keys"], listed["sort_dirs"]) == (["created_at"], ["desc"])
    assert listed["limit"] == 1000 and listed["marker"] is None


def test_all_tenants_is_for_admins(api: API, conductor: StubConductor) -> None:
    conductor.add_instance()
    conductor.add_instance(project_id="project-b")

    servers = call(api, "GET", "/servers/detail?all_tenants=1", token="admin:admin").json
    assert {s["tenant_id"] for s in servers["servers"]} == {"project-a", "project-b"}
    only_b = call(api, "GET", "/servers/detail?all_tenants&tenant_id=project-b",
                  token="admin:admin").json["servers"]
    assert [s["tenant_id"] for s in only_b] == ["project-b"]
    admins_own = call(api, "GET", "/servers", token="admin:admin").json["servers"]
    assert admins_own == []

    response = call(api, "GET", "/servers/detail?all_tenants=1")
    assert response.status_int == 403
    assert response.json["forbidden"]["message"] == (
        "Policy doesn't allow os_compute_api:servers:detail:get_all_tenants to be performed.")
    assert call(api, "GET", "/servers?all_tenants=0").status_int == 200
    assert call(api, "GET", "/servers?all_tenants=maybe",
                token="admin:admin").status_int == 400


def test_status_filter_maps_to_vm_and_task_states(api: API, conductor: StubConductor) -> None:
    active = conductor.add_instance()
    conductor.add_instance(vm_state="stopped", power_state=4)
    rebooting = conductor.add_instance(task_state=task_states.REBOOTING_HARD)

    shutoff = call(api, "GET", "/servers/detail?status=SHUTOFF").json["servers"]
    assert [s["status"] for s in shutoff] == ["SHUTOFF"]
    hard = call(api, "GET", "/servers/detail?status=hard_reboot").json["servers"]
    assert [s["id"] for s in hard] == [rebooting.uuid]
    assert conductor.called("instance_get_all")[-1]["filters"]["task_state"] == [
        "reboot_pending_hard", "reboot_started_hard", "rebooting_hard"]
    # As in Nova, ACTIVE is the vm_state: a rebooting active server matches too.
    both = call(api, "GET", "/servers?status=ACTIVE").json["servers"]
    assert {s["id"] for s in both} == {active.uuid, rebooting.uuid}
    assert "task_state" not in conductor.called("instance_get_all")[-1]["filters"]
    calls = len(conductor.called("instance_get_all"))
    assert call(api, "GET", "/servers?status=BOGUS").json == {"servers": []}
    assert len(conductor.called("instance_get_all")) == calls


def test_listing_deleted_servers_is_for_admins(api: API, conductor: StubConductor) -> None:
    assert call(api, "GET", "/servers?status=DELETED").status_int == 403
    assert call(api, "GET", "/servers?status=DELETED", token="admin:admin").status_int == 200
    assert conductor.called("instance_get_all")[-1]["filters"]["deleted"] is True


def test_filters_pass_through_and_admin_only_ones_are_ignored_for_users(
        api: API, conductor: StubConductor) -> None:
    call(api, "GET", f"/servers?name=web&image={BASE_URL}/images/{PUBLIC_IMAGE}&flavor=2"
                     "&reservation_id=r-1&host=compute-1&changes-since=2026-01-01T00:00:00Z")
    filters = conductor.called("instance_get_all")[-1]["filters"]
    assert filters["name"] == "web"
    assert filters["image_ref"] == PUBLIC_IMAGE
    assert filters["flavor_id"] == "2"
    assert filters["reservation_id"] == "r-1"
    assert filters["changes_since"].year == 2026
    assert "deleted" not in filters  # changes-since also reports deletions
    assert "host" not in filters
    call(api, "GET", "/servers?host=compute-1&all_tenants=1", token="admin:admin")
    assert conductor.called("instance_get_all")[-1]["filters"] == {
        "host": "compute-1", "deleted": False}


def test_bad_changes_since_is_400(api: API) -> None:
    response = call(api, "GET", "/servers?changes-since=yesterday")
    assert response.status_int == 400
    assert "changes-since" in response.json["badRequest"]["message"]


def test_sort_keys_and_dirs_go_to_the_conductor(api: API, conductor: StubConductor) -> None:
    call(api, "GET", "/servers?sort_key=display_name&sort_dir=asc&sort_key=created_at")
    listed = conductor.called("instance_get_all")[-1]
    assert (listed["sort_keys"], listed["sort_dirs"]) == (
        ["display_name", "created_at"], ["asc", "asc"])
    assert call(api, "GET", "/servers?sort_dir=sideways").status_int == 400


def test_a_full_page_links_to_the_next_one(api: API, conductor: StubConductor) -> None:
    instances = [conductor.add_instance() for _ in range(5)]
    newest_first = [i.uuid for i in reversed(instances)]

    first = call(api, "GET", "/servers/detail?limit=2&name=server").json
    assert [s["id"] for s in first["servers"]] == newest_first[:2]
    [link] = first["servers_links"]
    assert link["rel"] == "next"
    url = urllib.parse.urlsplit(link["href"])
    assert url.path == "/v2.1/servers/detail"
    assert urllib.parse.parse_qs(url.query) == {
        "limit": ["2"], "marker": [newest_first[1]], "name": ["server"]}

    second = call(api, "GET", f"/servers/detail?{url.query}").json
    assert [s["id"] for s in second["servers"]] == newest_first[2:4]
    last = call(api, "GET", f"/servers/detail?limit=2&marker={newest_first[3]}").json
    assert [s["id"] for s in last["servers"]] == newest_first[4:]
    assert "servers_links" not in last


def test_limit_is_capped_by_max_limit(api: API, conductor: StubConductor) -> None:
    CONF.set_override("max_limit", 3, group="api")
    for _ in range(4):
        conductor.add_instance()
    body = call(api, "GET", "/servers?limit=50").json
    assert len(body["servers"]) == 3
    assert conductor.called("instance_get_all")[-1]["limit"] == 3
    assert "limit=3" not in body["servers_links"][0]["href"]  # the client's query is kept


@pytest.mark.parametrize(("query", "message"), [
    ("limit=x", "limit param must be an integer"),
    ("limit=-1", "limit param must be positive"),
    ("marker=nope", "Marker nope could not be found."),
])
def test_bad_paging_is_400(api: API, query: str, message: str) -> None:
    response = call(api, "GET", f"/servers?{query}")
    assert response.status_int == 400
    assert response.json["badRequest"]["message"] == message


# --- PUT /servers/{id} --------------------------------------------------------------------


def test_update_renames_through_instance_update(api: API, conductor: StubConductor) -> None:
    instance = conductor.add_instance()
    response = call(api, "PUT", f"/servers/{instance.uuid}",
                    {"server": {"name": "renamed", "accessIPv6": "2001:db8::1"}})
    assert response.status_int == 200
    assert response.json["server"]["name"] == "renamed"
    assert response.json["server"]["accessIPv6"] == "2001:db8::1"
    [update] = conductor.called("instance_update")
    assert update["values"] == {"display_name": "renamed", "access_ip_v6": "2001:db8::1"}
    # The update's answer is the response: the server is read once, for the 404.
    assert len(conductor.called("instance_get")) == 1


def test_update_validates_and_keeps_projects_apart(api: API, conductor: StubConductor) -> None:
    instance = conductor.add_instance()
    response = call(api, "PUT", f"/servers/{instance.uuid}", {"server": {"flavor": "2"}})
    assert response.status_int == 400
    response = call(api, "PUT", f"/servers/{instance.uuid}", {"server": {"name": "x"}},
                    token="bob:project-b")
    assert response.status_int == 404
    assert not conductor.called("instance_update")


# --- DELETE /servers/{id} -----------------------------------------------------------------


def test_delete_of_a_scheduled_server_casts_terminate_to_its_host(
        api: API, conductor: StubConductor, compute: StubCompute) -> None:
    instance = conductor.add_instance(task_state=task_states.SPAWNING)

    response = call(api, "DELETE", f"/servers/{instance.uuid}")

    assert response.status_int == 204
    assert response.body == b""
    [update] = conductor.called("instance_update")
    assert update["values"] == {"task_state": "deleting"}
    expected = update["expected_task_state"]
    assert None in expected and "spawning" in expected and "deleting" not in expected
    assert compute.terminated == [(instance.uuid, "compute-1")]
    assert not conductor.called("instance_destroy")


def test_delete_of_a_never_scheduled_server_destroys_the_row(
        api: API, conductor: StubConductor, compute: StubCompute) -> None:
    instance = conductor.add_instance(vm_state="building", task_state="scheduling", host=None)
    assert call(api, "DELETE", f"/servers/{instance.uuid}").status_int == 204
    assert conductor.called("instance_destroy") == [{"instance_uuid": instance.uuid}]
    assert compute.terminated == []
    assert call(api, "GET", f"/servers/{instance.uuid}").status_int == 404


def test_delete_while_already_deleting_is_204_and_does_nothing_more(
        api: API, conductor: StubConductor, compute: StubCompute) -> None:
    instance = conductor.add_instance(task_state=task_states.DELETING)
    assert call(api, "DELETE", f"/servers/{instance.uuid}").status_int == 204
    assert compute.terminated == []
    assert not conductor.called("instance_destroy")


def test_delete_of_another_projects_server_is_404(
        api: API, conductor: StubConductor, compute: StubCompute) -> None:
    instance = conductor.add_instance()
    response = call(api, "DELETE", f"/servers/{instance.uuid}", token="bob:project-b")
    assert response.status_int == 404
    assert "itemNotFound" in response.json
    assert compute.terminated == [] and not conductor.called("instance_update")


def test_delete_of_a_locked_server_is_409_except_for_admins(
        api: API, conductor: StubConductor, compute: StubCompute) -> None:
    instance = conductor.add_instance(locked=True)
    response = call(api, "DELETE", f"/servers/{instance.uuid}")
    assert response.status_int == 409
    assert response.json["conflictingRequest"]["message"] == (
        f"Instance {instance.uuid} is locked")
    assert call(api, "DELETE", f"/servers/{instance.uuid}", token="admin:admin"
                ).status_int == 204


def test_unknown_server_method_is_405(api: API) -> None:
    response = call(api, "POST", "/servers/detail")
    assert response.status_int == 405
    assert response.headers["Allow"] == "GET"


def test_a_conductor_that_does_not_answer_is_503(api: API, conductor: StubConductor,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from kumo import exception

    def silent(*args: Any, **kwargs: Any) -> None:
        raise exception.ServiceUnavailable(service="kumo-conductor", timeout=60,
                                           method="instance_get_all")

    monkeypatch.setattr(conductor, "instance_get_all", silent)
    response = call(api, "GET", "/servers")
    assert response.status_int == 503
    assert response.json["serviceUnavailable"]["message"].startswith(
        "kumo-conductor did not answer within 60 s")
