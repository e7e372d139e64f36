"""os-server-groups, and booting into a group, over the real conductor manager (no bus)."""

from __future__ import annotations

from typing import Any

import pytest

from kumo.api.openstack import api_version
from kumo.api.openstack import app as compute_app
from tests.unit.api.conftest import NoBuild, call

ADMIN = "admin:admin"


@pytest.fixture
def cloud(conductor_cloud: tuple[compute_app.ComputeAPI, NoBuild, str],
          monkeypatch: pytest.MonkeyPatch) -> tuple[compute_app.ComputeAPI, NoBuild, str]:
    # Whatever the API declares today, these tests speak the microversions they test.
    monkeypatch.setattr(api_version, "MAX", api_version.APIVersion("2.104"))
    return conductor_cloud


def _at(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


def _create(api: Any, body: dict[str, Any], version: str = "2.1",
            token: str = "alice:project-a") -> Any:
    return call(api, "POST", "/os-server-groups", {"server_group": body}, token=token,
                **_at(version))


def test_create_show_list_delete_with_the_2_1_body(cloud: Any) -> None:
    api, _, _ = cloud
    created = _create(api, {"name": "web", "policies": ["anti-affinity"]})
    assert created.status_int == 200, created.json
    group = created.json["server_group"]
    assert group == {"id": group["id"], "name": "web", "policies": ["anti-affinity"],
                     "members": [], "metadata": {}}

    shown = call(api, "GET", f"/os-server-groups/{group['id']}").json["server_group"]
    assert shown == group
    listed = call(api, "GET", "/os-server-groups").json["server_groups"]
    assert [g["id"] for g in listed] == [group["id"]]

    assert call(api, "DELETE", f"/os-server-groups/{group['id']}").status_int == 204
    missing = call(api, "GET", f"/os-server-groups/{group['id']}")
    assert missing.status_int == 404
    assert missing.json["itemNotFound"]["message"] == (
        f"Instance group {group['id']} could not be found.")


def test_microversions_change_the_body(cloud: Any) -> None:
    api, _, _ = cloud
    soft = {"name": "soft", "policies": ["soft-affinity"]}
    assert _create(api, soft).status_int == 400
    group = _create(api, soft, version="2.15").json["server_group"]
    assert group["policies"] == ["soft-affinity"]
    assert (group["project_id"], group["user_id"]) == ("project-a", "alice")

    ruled = _create(api, {"name": "spread", "policy": "anti-affinity",
                          "rules": {"max_server_per_host": 2}}, version="2.64")
    assert ruled.status_int == 200, ruled.json
    body = ruled.json["server_group"]
    assert (body["policy"], body["rules"]) == ("anti-affinity", {"max_server_per_host": 2})
    assert "policies" not in body and "metadata" not in body

    refused = _create(api, {"name": "x", "policy": "affinity",
                            "rules": {"max_server_per_host": 2}}, version="2.64")
    assert refused.status_int == 400
    assert refused.json["badRequest"]["message"] == "Only anti-affinity policy supports rules."
    # The 2.1 body is unknown from 2.64 on, and the other way round.
    assert _create(api, {"name": "x", "policies": ["affinity"]}, version="2.64"
                   ).status_int == 400
    assert _create(api, {"name": "x", "policy": "affinity"}).status_int == 400


def test_projects_see_their_own_groups_and_admins_all(cloud: Any) -> None:
    api, _, _ = cloud
    mine = _create(api, {"name": "a", "policies": ["affinity"]}).json["server_group"]
    theirs = _create(api, {"name": "b", "policies": ["affinity"]},
                     token="bob:project-b").json["server_group"]

    listed = call(api, "GET", "/os-server-groups?all_projects=True").json["server_groups"]
    assert [g["id"] for g in listed] == [mine["id"]]  # a member's all_projects is ignored
    everyone = call(api, "GET", "/os-server-groups?all_projects=True", token=ADMIN)
    assert {g["id"] for g in everyone.json["server_groups"]} == {mine["id"], theirs["id"]}
    paged = call(api, "GET", "/os-server-groups?all_projects=1&limit=1&offset=1",
                 token=ADMIN).json["server_groups"]
    assert [g["id"] for g in paged] == [theirs["id"]]
    assert call(api, "GET", "/os-server-groups?limit=-1").status_int == 400

    assert call(api, "GET", f"/os-server-groups/{theirs['id']}").status_int == 403
    assert call(api, "DELETE", f"/os-server-groups/{theirs['id']}").status_int == 403
    assert call(api, "DELETE", f"/os-server-groups/{theirs['id']}", token=ADMIN
                ).status_int == 204


def test_boot_into_a_group_records_members_and_the_spec(cloud: Any) -> None:
    api, conductor, image_id = cloud
    group = _create(api, {"name": "g", "policies": ["anti-affinity"]}).json["server_group"]
    booted = call(api, "POST", "/servers", {
        "server": {"name": "web", "imageRef": image_id, "flavorRef": "2", "min_count": 2,
                   "return_reservation_id": True},
        "os:scheduler_hints": {"group": group["id"]}})
    assert booted.status_int == 202, booted.json
    [(uuids, spec)] = conductor.built
    assert spec["instance_group"] == {"uuid": group["id"], "policy": "anti-affinity",
                                      "rules": {}, "hosts": []}
    members = call(api, "GET", f"/os-server-groups/{group['id']}").json["server_group"]
    assert sorted(members["members"]) == sorted(uuids)

    # A deleted server leaves its group.
    assert call(api, "DELETE", f"/servers/{uuids[0]}").status_int == 204
    members = call(api, "GET", f"/os-server-groups/{group['id']}").json["server_group"]
    assert members["members"] == [uuids[1]]


def test_boot_into_an_unknown_or_foreign_group_is_a_bad_request(cloud: Any) -> None:
    api, _, image_id = cloud
    theirs = _create(api, {"name": "b", "policies": ["affinity"]},
                     token="bob:project-b").json["server_group"]
    for hint, message in ((theirs["id"], "could not be found"),
                          ("00000000-0000-4000-8000-000000000000", "could not be found"),
                          ("not-a-uuid", "group")):
        reply = call(api, "POST", "/servers", {
            "server": {"name": "web", "imageRef": image_id, "flavorRef": "2"},
            "os:scheduler_hints": {"group": hint}})
        assert reply.status_int == 400, reply.json
        assert message in reply.json["badRequest"]["message"]


def test_server_group_quotas_are_enforced_with_over_limit(cloud: Any) -> None:
    api, _, image_id = cloud
    assert call(api, "PUT", "/os-quota-sets/project-a", {"quota_set": {
        "server_groups": 1, "server_group_members": 2}}, token=ADMIN).status_int == 200
    group = _create(api, {"name": "g", "policies": ["affinity"]}).json["server_group"]
    second = _create(api, {"name": "h", "policies": ["affinity"]})
    assert second.status_int == 403, second.json
    assert "server_groups" in second.json["overLimit"]["message"]
    # Another project's groups count against its own quota.
    assert _create(api, {"name": "b", "policies": ["affinity"]},
                   token="bob:project-b").status_int == 200

    def boot(count: int) -> Any:
        return call(api, "POST", "/servers", {
            "server": {"name": "web", "imageRef": image_id, "flavorRef": "2",
                       "min_count": count},
            "os:scheduler_hints": {"group": group["id"]}})

    over = boot(3)
    assert over.status_int == 403, over.json
    assert over.json["overLimit"]["message"] == (
        "Quota exceeded for server_group_members: Requested 3, but already used 0 of 2 "
        "server_group_members")
    assert boot(2).status_int == 202
    full = boot(1)
    assert full.status_int == 403
    assert "used 2 of 2 server_group_members" in full.json["overLimit"]["message"]
    # Deleting the group gives the quota back.
    assert call(api, "DELETE", f"/os-server-groups/{group['id']}").status_int == 204
    assert _create(api, {"name": "h", "policies": ["affinity"]}).status_int == 200


def test_a_boot_that_loses_the_members_race_is_refused_and_leaves_no_server(
        cloud: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from kumo.api.openstack.compute import server_groups
    from kumo.db import instance_groups, instances

    api, _, image_id = cloud
    assert call(api, "PUT", "/os-quota-sets/project-a", {"quota_set": {
        "server_group_members": 2}}, token=ADMIN).status_int == 200
    group = _create(api, {"name": "g", "policies": ["affinity"]}).json["server_group"]
    first_check = server_groups.check_members_quota

    def check_then_lose_the_race(*args: Any, **kwargs: Any) -> int | None:
        # The early check passes on an empty group; then a concurrent boot
        # takes both places before this boot's members are added.
        limit = first_check(*args, **kwargs)
        rivals = instances.instance_create([
            {"project_id": "project-a", "user_id": "alice", "display_name": "rival",
             "memory_mb": 512, "vcpus": 1, "root_gb": 1} for _ in range(2)])
        instance_groups.members_add(group["id"], [row["uuid"] for row in rivals])
        return limit

    monkeypatch.setattr(server_groups, "check_members_quota", check_then_lose_the_race)
    before = {s["id"] for s in call(api, "GET", "/servers").json["servers"]}
    reply = call(api, "POST", "/servers", {
        "server": {"name": "web", "imageRef": image_id, "flavorRef": "2"},
        "os:scheduler_hints": {"group": group["id"]}})
    assert reply.status_int == 403, reply.json
    assert reply.json["overLimit"]["message"] == (
        "Quota exceeded for server_group_members: Requested 1, but already used 2 of 2 "
        "server_group_members")
    after = {s["id"]: s["name"] for s in call(api, "GET", "/servers").json["servers"]}
    assert sorted(name for uuid, name in after.items() if uuid not in before) == [
        "rival", "rival"]
