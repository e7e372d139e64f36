"""Quotas and limits through the WSGI app over the real conductor and a SQLite file:
``/os-quota-sets``, ``/os-quota-class-sets``, ``/limits`` and enforcement at boot,
resize and metadata changes."""

from __future__ import annotations

import threading
from typing import Any

from kumo.compute import vm_states
from kumo.context import get_admin_context
from tests.unit.api.conftest import call
from tests.unit.api.test_keypairs import cloud, v  # noqa: F401 - the fixture

ADMIN = "admin:admin"


def _boot(api: Any, image_id: str, token: str = "alice:project-a", **extra: Any) -> Any:
    return call(api, "POST", "/servers", {"server": {
        "name": "s", "imageRef": image_id, "flavorRef": "2", **extra}}, token=token)


def _set(api: Any, project: str, query: str = "", **limits: Any) -> Any:
    return call(api, "PUT", f"/os-quota-sets/{project}{query}", {"quota_set": limits},
                token=ADMIN)


def test_quota_set_shows_defaults_per_microversion(cloud: Any) -> None:  # noqa: F811
    api, _, _ = cloud
    shown = call(api, "GET", "/os-quota-sets/project-a").json["quota_set"]
    assert shown == {
        "id": "project-a", "instances": 10, "cores": 20, "ram": 51200,
        "metadata_items": 128, "injected_files": 5, "injected_file_content_bytes": 10240,
        "injected_file_path_bytes": 255, "key_pairs": 100, "server_groups": 10,
        "server_group_members": 10, "floating_ips": 10, "fixed_ips": -1,
        "security_groups": 10, "security_group_rules": 20}
    at_2_36 = call(api, "GET", "/os-quota-sets/project-a", **v("2.36")).json["quota_set"]
    assert "floating_ips" not in at_2_36 and "injected_files" in at_2_36
    at_2_57 = call(api, "GET", "/os-quota-sets/project-a", **v("2.57")).json["quota_set"]
    assert "injected_files" not in at_2_57 and at_2_57["instances"] == 10
    defaults = call(api, "GET", "/os-quota-sets/project-a/defaults").json["quota_set"]
    assert defaults["instances"] == 10 and defaults["id"] == "project-a"


def test_only_admins_change_quotas_and_members_see_only_their_own(
        cloud: Any) -> None:  # noqa: F811
    api, _, _ = cloud
    assert call(api, "GET", "/os-quota-sets/project-b").status_int == 403
    assert _set(api, "project-a", instances=5).status_int == 200
    member = call(api, "PUT", "/os-quota-sets/project-a", {"quota_set": {"instances": 50}})
    assert member.status_int == 403
    assert call(api, "DELETE", "/os-quota-sets/project-a").status_int == 403
    assert call(api, "GET", "/os-quota-sets/project-a").json["quota_set"]["instances"] == 5
    assert call(api, "DELETE", "/os-quota-sets/project-a", token=ADMIN).status_int == 202
    assert call(api, "GET", "/os-quota-sets/project-a").json["quota_set"]["instances"] == 10
    # Network quotas are gone from 2.36 on: updating one is a 400 there.
    assert call(api, "PUT", "/os-quota-sets/project-a", {"quota_set": {"floating_ips": 1}},
                token=ADMIN, **v("2.36")).status_int == 400
    assert _set(api, "project-a", instances=-2).status_int == 400


def test_boot_beyond_the_instance_quota_is_403_overlimit_and_delete_gives_it_back(
        cloud: Any) -> None:  # noqa: F811
    api, _, image_id = cloud
    _set(api, "project-a", instances=3)
    first = _boot(api, image_id, min_count=2)
    assert first.status_int == 202
    over = _boot(api, image_id, min_count=2)
    assert over.status_int == 403
    assert over.json["overLimit"]["message"] == (
        "Quota exceeded for instances: Requested 2, but already used 2 of 3 instances")
    # min_count 1 .. max_count 5: as many as fit.
    assert _boot(api, image_id, min_count=1, max_count=5, return_reservation_id=True
                 ).status_int == 202
    detail = call(api, "GET", "/os-quota-sets/project-a/detail").json["quota_set"]
    assert detail["instances"] == {"limit": 3, "in_use": 3, "reserved": 0}
    assert detail["cores"]["in_use"] == 3 and detail["ram"]["in_use"] == 3 * 2048
    # Another project has its own quota.
    assert _boot(api, image_id, token="bob:project-b").status_int == 202

    for server in call(api, "GET", "/servers").json["servers"]:
        assert call(api, "DELETE", f"/servers/{server['id']}").status_int == 204
    detail = call(api, "GET", "/os-quota-sets/project-a/detail").json["quota_set"]
    assert detail["instances"]["in_use"] == detail["cores"]["in_use"] == 0
    assert _boot(api, image_id).status_int == 202


def test_cores_and_ram_quotas_name_the_resources(cloud: Any) -> None:  # noqa: F811
    api, _, image_id = cloud
    _set(api, "project-a", cores=0, ram=1024)
    over = _boot(api, image_id)
    assert over.status_int == 403
    assert over.json["overLimit"]["message"] == (
        "Quota exceeded for cores, ram: Requested 1, but already used 0 of 0 cores")


def test_user_quota_within_the_project(cloud: Any) -> None:  # noqa: F811
    api, _, image_id = cloud
    assert _set(api, "project-a", "?user_id=alice", instances=1).status_int == 200
    assert call(api, "GET", "/os-quota-sets/project-a?user_id=alice"
                ).json["quota_set"]["instances"] == 1
    assert _boot(api, image_id).status_int == 202
    assert _boot(api, image_id).status_int == 403
    assert _boot(api, image_id, token="bob:project-a").status_int == 202
    # A user's limit may not exceed the project's, nor go below its usage without force.
    too_high = _set(api, "project-a", "?user_id=alice", instances=11)
    assert too_high.json["badRequest"]["message"] == (
        "Quota limit 11 for instances must be less than or equal to 10.")
    below = _set(api, "project-a", instances=1)
    assert below.json["badRequest"]["message"] == (
        "Quota limit 1 for instances must be greater than or equal to already used and "
        "reserved 2.")
    assert _set(api, "project-a", instances=1, force=True).status_int == 200


def test_quota_class_default_changes_every_projects_defaults(
        cloud: Any) -> None:  # noqa: F811
    api, _, image_id = cloud
    assert call(api, "GET", "/os-quota-class-sets/default").status_int == 403
    shown = call(api, "GET", "/os-quota-class-sets/default", token=ADMIN
                 ).json["quota_class_set"]
    assert shown["id"] == "default" and "server_groups" not in shown
    assert "floating_ips" in shown
    at_2_50 = call(api, "GET", "/os-quota-class-sets/default", token=ADMIN, **v("2.50")
                   ).json["quota_class_set"]
    assert at_2_50["server_groups"] == 10 and "floating_ips" not in at_2_50
    updated = call(api, "PUT", "/os-quota-class-sets/default",
                   {"quota_class_set": {"instances": 1}}, token=ADMIN)
    assert updated.json["quota_class_set"]["instances"] == 1
    assert "id" not in updated.json["quota_class_set"]
    assert call(api, "GET", "/os-quota-sets/project-z/defaults").json[
        "quota_set"]["instances"] == 1
    assert _boot(api, image_id).status_int == 202
    assert _boot(api, image_id).status_int == 403


def test_limits_show_absolute_limits_with_usage(cloud: Any) -> None:  # noqa: F811
    api, _, image_id = cloud
    _boot(api, image_id)
    limits = call(api, "GET", "/limits").json["limits"]
    assert limits["rate"] == []
    absolute = limits["absolute"]
    assert (absolute["maxTotalInstances"], absolute["totalInstancesUsed"]) == (10, 1)
    assert (absolute["maxTotalCores"], absolute["totalCoresUsed"]) == (20, 1)
    assert (absolute["maxTotalRAMSize"], absolute["totalRAMUsed"]) == (51200, 2048)
    assert absolute["maxTotalKeypairs"] == 100 and absolute["maxServerMeta"] == 128
    assert absolute["totalServerGroupsUsed"] == 0 and "maxTotalFloatingIps" in absolute
    later = call(api, "GET", "/limits", **v("2.57")).json["limits"]["absolute"]
    for gone in ("maxTotalFloatingIps", "maxSecurityGroups", "maxImageMeta",
                 "maxPersonality", "maxPersonalitySize"):
        assert gone not in later
    # Another project's limits: admins only.
    assert call(api, "GET", "/limits?tenant_id=project-b").status_int == 403
    other = call(api, "GET", "/limits?tenant_id=project-a", token=ADMIN).json
    assert other["limits"]["absolute"]["totalInstancesUsed"] == 1


def test_resize_beyond_the_cores_quota_is_403(cloud: Any) -> None:  # noqa: F811
    api, conductor, image_id = cloud
    ctxt = get_admin_context()
    conductor.flavor_create(ctxt, values={"name": "m1.big", "flavorid": "9",
                                          "memory_mb": 2048, "vcpus": 4, "root_gb": 20})
    resized: list[str] = []
    conductor.resize_instance = lambda ctxt, instance_uuid, flavor: resized.append(
        instance_uuid)  # no scheduler here
    server_id = _boot(api, image_id).json["server"]["id"]
    conductor.instance_update(ctxt, server_id, {"vm_state": vm_states.ACTIVE,
                                                "task_state": None, "host": "h1",
                                                "node": "n1"})
    _set(api, "project-a", cores=3)
    over = call(api, "POST", f"/servers/{server_id}/action", {"resize": {"flavorRef": "9"}})
    assert over.status_int == 403
    assert over.json["overLimit"]["message"] == (
        "Quota exceeded for cores: Requested 3, but already used 1 of 3 cores")
    assert call(api, "GET", f"/servers/{server_id}").json["server"]["status"] == "ACTIVE"
    _set(api, "project-a", cores=4)
    assert call(api, "POST", f"/servers/{server_id}/action",
                {"resize": {"flavorRef": "9"}}).status_int == 202
    assert resized == [server_id]


def test_metadata_items_quota_comes_from_the_quota_engine(cloud: Any) -> None:  # noqa: F811
    api, _, image_id = cloud
    _set(api, "project-a", metadata_items=2)
    over = _boot(api, image_id, metadata={"a": "1", "b": "2", "c": "3"})
    assert over.status_int == 403
    assert over.json["forbidden"]["message"] == "Maximum number of metadata items exceeds 2"
    assert _boot(api, image_id, metadata={"a": "1", "b": "2"}).status_int == 202


def test_concurrent_boots_never_exceed_the_quota(cloud: Any) -> None:  # noqa: F811
    api, _, image_id = cloud
    _set(api, "project-a", instances=4)
    codes: list[int] = []
    barrier = threading.Barrier(10)

    def boot() -> None:
        barrier.wait()
        codes.append(_boot(api, image_id).status_int)

    threads = [threading.Thread(target=boot) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [202] * 4 + [403] * 6
    assert len(call(api, "GET", "/servers").json["servers"]) == 4


def test_detail_counts_the_network_resources(
        cloud: Any, fake_bus: None) -> None:  # noqa: F811
    # (A rule change casts "sync_host" to every kumo-network: on the fake bus.)
    api, _, _ = cloud
    made = call(api, "POST", "/os-security-groups", {"security_group": {
        "name": "web", "description": "web servers"}})
    assert made.status_int == 200, made.json
    rule = call(api, "POST", "/os-security-group-rules", {"security_group_rule": {
        "parent_group_id": made.json["security_group"]["id"], "ip_protocol": "tcp",
        "from_port": 22, "to_port": 22, "cidr": "0.0.0.0/0"}})
    assert rule.status_int == 200, rule.json

    detail = call(api, "GET", "/os-quota-sets/project-a/detail").json["quota_set"]

    assert detail["security_groups"] == {"limit": 10, "in_use": 1, "reserved": 0}
    assert detail["security_group_rules"]["in_use"] == 1
    assert detail["floating_ips"]["in_use"] == 0
    later = call(api, "GET", "/os-quota-sets/project-a/detail", **v("2.36")).json
    assert "security_groups" not in later["quota_set"]
    absolute = call(api, "GET", "/limits").json["limits"]["absolute"]
    assert (absolute["maxSecurityGroups"], absolute["totalSecurityGroupsUsed"]) == (10, 1)
    assert absolute["totalFloatingIpsUsed"] == 0
