"""``/os-hypervisors`` through the API over the real conductor, at the
microversions that change it (2.28, 2.33, 2.53, 2.75, 2.88)."""

from __future__ import annotations

import pytest

from kumo.db import api as db
from tests.unit.api.admin_cloud import MEMBER, Cloud, cloud_fixture  # noqa: F401


@pytest.fixture
def nodes(cloud: Cloud) -> list[dict]:
    first = cloud.add_service("cmp1")
    second = cloud.add_service("cmp2")
    found = [cloud.add_node("cmp1", "cmp1-node", first["id"]),
             cloud.add_node("cmp2", "cmp2-node", second["id"]),
             cloud.add_node("cmp2", "cmp2-big", second["id"], vcpus=32)]
    db.service_update(second["id"], {"disabled": True, "disabled_reason": "maint"})
    server = cloud.add_server(host="cmp1", node="cmp1-node")
    cloud.conductor.compute_node_claim(cloud.ctxt, found[0].uuid, server["uuid"],
                                       {"vcpus": 1, "memory_mb": 512, "disk_gb": 1}, {})
    return [dict(node) for node in found] + [server]


def test_list_and_detail(cloud: Cloud, nodes: list[dict]) -> None:
    listed = cloud.call("GET", "/os-hypervisors").json["hypervisors"]
    assert listed[0] == {"id": nodes[0]["id"], "hypervisor_hostname": "cmp1-node",
                         "state": "up", "status": "enabled"}
    assert [h["status"] for h in listed] == ["enabled", "disabled", "disabled"]
    detail = cloud.call("GET", "/os-hypervisors/detail").json["hypervisors"][0]
    assert (detail["vcpus"], detail["vcpus_used"], detail["memory_mb_used"],
            detail["running_vms"], detail["local_gb_used"]) == (8, 1, 512, 1, 1)
    assert detail["cpu_info"] == '{"arch": "x86_64"}'
    assert detail["service"] == {"host": "cmp1", "id": nodes[0]["service_id"],
                                 "disabled_reason": None}
    assert (detail["hypervisor_type"], detail["host_ip"]) == ("fake", "192.0.2.1")
    assert cloud.call("GET", "/os-hypervisors/detail", version="2.28").json[
        "hypervisors"][0]["cpu_info"] == {"arch": "x86_64"}
    assert cloud.call("GET", "/os-hypervisors", token=MEMBER).status_int == 403


def test_paging_from_2_33(cloud: Cloud, nodes: list[dict]) -> None:
    assert len(cloud.call("GET", "/os-hypervisors?limit=1").json["hypervisors"]) == 3
    page = cloud.call("GET", "/os-hypervisors?limit=1", version="2.33").json
    assert [h["hypervisor_hostname"] for h in page["hypervisors"]] == ["cmp1-node"]
    assert f"marker={nodes[0]['id']}" in page["hypervisors_links"][0]["href"]
    after = cloud.call("GET", f"/os-hypervisors/detail?marker={nodes[0]['id']}",
                       version="2.33").json["hypervisors"]
    assert [h["hypervisor_hostname"] for h in after] == ["cmp2-node", "cmp2-big"]
    assert cloud.call("GET", "/os-hypervisors?marker=999", version="2.33").status_int == 400


def test_uuids_pattern_and_servers_from_2_53(cloud: Cloud, nodes: list[dict]) -> None:
    server = nodes[3]
    listed = cloud.call("GET", "/os-hypervisors?hypervisor_hostname_pattern=cmp1"
                        "&with_servers=true", version="2.53").json["hypervisors"]
    assert listed == [{"id": nodes[0]["uuid"], "hypervisor_hostname": "cmp1-node",
                       "state": "up", "status": "enabled",
                       "servers": [{"name": f"instance-{server['id']:08x}",
                                    "uuid": server["uuid"]}]}]
    empty = cloud.call("GET", "/os-hypervisors?hypervisor_hostname_pattern=cmp2"
                       "&with_servers=1", version="2.53").json["hypervisors"]
    assert all("servers" not in h for h in empty)
    always = cloud.call("GET", "/os-hypervisors?hypervisor_hostname_pattern=cmp2"
                        "&with_servers=1", version="2.75").json["hypervisors"]
    assert [h["servers"] for h in always] == [[], []]
    none = cloud.call("GET", "/os-hypervisors?hypervisor_hostname_pattern=zzz",
                      version="2.53")
    assert none.json["itemNotFound"]["message"] == "No hypervisor matching 'zzz' could be found."
    paged = cloud.call("GET", "/os-hypervisors?hypervisor_hostname_pattern=c&limit=1",
                       version="2.53")
    assert paged.status_int == 400
    assert cloud.call("GET", "/os-hypervisors?foo=1", version="2.53").status_int == 400
    shown = cloud.call("GET", f"/os-hypervisors/{nodes[0]['uuid']}?with_servers=true",
                       version="2.53").json["hypervisor"]
    assert shown["service"]["id"] == db.service_get(nodes[0]["service_id"])["uuid"]
    assert shown["servers"][0]["uuid"] == server["uuid"]
    assert cloud.call("GET", f"/os-hypervisors/{nodes[0]['id']}", version="2.53"
                      ).status_int == 400
    assert cloud.call("GET", f"/os-hypervisors/{nodes[0]['id']}").status_int == 200
    missing = cloud.call("GET", "/os-hypervisors/999")
    assert missing.json["itemNotFound"]["message"] == (
        "Hypervisor with ID '999' could not be found.")


def test_search_and_servers_before_2_53(cloud: Cloud, nodes: list[dict]) -> None:
    found = cloud.call("GET", "/os-hypervisors/cmp2/search").json["hypervisors"]
    assert [h["hypervisor_hostname"] for h in found] == ["cmp2-node", "cmp2-big"]
    assert cloud.call("GET", "/os-hypervisors/zzz/search").status_int == 404
    with_servers = cloud.call("GET", "/os-hypervisors/cmp/servers").json["hypervisors"]
    assert [len(h.get("servers", [])) for h in with_servers] == [1, 0, 0]
    assert cloud.call("GET", "/os-hypervisors/cmp2/search", version="2.53").status_int == 404
    assert cloud.call("GET", "/os-hypervisors/cmp2/servers", version="2.53").status_int == 404


def test_statistics_and_uptime_until_2_88(cloud: Cloud, nodes: list[dict]) -> None:
    stats = cloud.call("GET", "/os-hypervisors/statistics").json["hypervisor_statistics"]
    # The disabled service's nodes are not counted.
    assert (stats["count"], stats["vcpus"], stats["vcpus_used"], stats["memory_mb"],
            stats["running_vms"]) == (1, 8, 1, 16384, 1)
    assert cloud.call("GET", "/os-hypervisors/statistics", version="2.88").status_int == 404
    uptime = cloud.call("GET", f"/os-hypervisors/{nodes[0]['id']}/uptime")
    assert uptime.status_int == 501
    assert uptime.json["notImplemented"]["message"] == (
        "Virt driver does not implement uptime function.")
    assert cloud.call("GET", f"/os-hypervisors/{nodes[0]['uuid']}/uptime",
                      version="2.88").status_int == 404


def test_2_88_drops_the_resource_figures(cloud: Cloud, nodes: list[dict]) -> None:
    shown = cloud.call("GET", f"/os-hypervisors/{nodes[0]['uuid']}", version="2.88").json[
        "hypervisor"]
    assert sorted(shown) == ["host_ip", "hypervisor_hostname", "hypervisor_type",
                             "hypervisor_version", "id", "service", "state", "status",
                             "uptime"]
    detail = cloud.call("GET", "/os-hypervisors/detail", version="2.88").json["hypervisors"]
    assert "vcpus_used" not in detail[0] and "cpu_info" not in detail[0]
