"""Server group and host aggregate queries, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kumo import exception
from kumo.db import aggregates, instance_groups, instances
from kumo.db import api as db_api


def _instance(**values: Any) -> dict[str, Any]:
    base = {"project_id": "p1", "user_id": "u1", "display_name": "vm", "memory_mb": 512,
            "vcpus": 1, "root_gb": 1}
    return instances.instance_create([{**base, **values}])[0]


def _group(policy: str = "anti-affinity", **rules: Any) -> dict[str, Any]:
    return instance_groups.group_create({"name": "g", "project_id": "p1", "user_id": "u1",
                                         "policy": policy, "rules": rules})


def test_groups_page_and_keep_live_members_only(db: str) -> None:
    first, second = _group(), _group("affinity")
    other = instance_groups.group_create({"name": "o", "project_id": "p2", "user_id": "u2",
                                          "policy": "affinity"})
    assert [g["uuid"] for g in instance_groups.group_get_all(project_id="p1")] == [
        first["uuid"], second["uuid"]]
    assert [g["uuid"] for g in instance_groups.group_get_all(limit=1, offset=2)] == [
        other["uuid"]]
    live, gone = _instance(), _instance()
    instance_groups.members_add(first["uuid"], [live["uuid"], gone["uuid"], live["uuid"]])
    instances.instance_destroy(gone["uuid"])
    assert instance_groups.group_get(first["uuid"])["members"] == [live["uuid"]]
    instance_groups.group_delete(first["uuid"])
    with pytest.raises(exception.InstanceGroupNotFound):
        instance_groups.group_get(first["uuid"])


def test_concurrent_claims_on_one_host_let_exactly_one_member_in(
        db: str, at_once: Callable[..., None]) -> None:
    group = _group()
    members = [_instance()["uuid"] for _ in range(6)]
    instance_groups.members_add(group["uuid"], members)
    results: list[str] = []

    def claim(uuid: str) -> None:
        try:
            instance_groups.member_claim_host(group["uuid"], uuid, "host1")
            results.append("ok")
        except exception.InstanceGroupPolicyViolation:
            results.append("refused")

    at_once(claim, members)
    assert sorted(results) == ["ok"] + ["refused"] * 5
    assert instance_groups.group_hosts(group["uuid"]) == ["host1"]


def test_max_server_per_host_and_affinity_rules(db: str) -> None:
    spread = _group(max_server_per_host=2)
    a, b, c = (_instance()["uuid"] for _ in range(3))
    instance_groups.member_claim_host(spread["uuid"], a, "h1")
    instance_groups.member_claim_host(spread["uuid"], b, "h1")
    with pytest.raises(exception.InstanceGroupPolicyViolation, match="at most 2 per host"):
        instance_groups.member_claim_host(spread["uuid"], c, "h1")

    together = _group("affinity")
    instance_groups.member_claim_host(together["uuid"], a, "h1")
    with pytest.raises(exception.InstanceGroupPolicyViolation, match="Affinity"):
        instance_groups.member_claim_host(together["uuid"], b, "h2")
    soft = _group("soft-anti-affinity")
    instance_groups.member_claim_host(soft["uuid"], a, "h1")
    instance_groups.member_claim_host(soft["uuid"], b, "h1")


def test_a_host_is_in_one_zone_only(db: str) -> None:
    db_api.service_create({"host": "h1", "binary": "kumo-compute"})
    first = aggregates.aggregate_create("a", availability_zone="az1")
    second = aggregates.aggregate_create("b", availability_zone="az2")
    plain = aggregates.aggregate_create("c", metadata={"ssd": "true"})
    aggregates.aggregate_host_add(first["id"], "h1")
    aggregates.aggregate_host_add(plain["id"], "h1")
    with pytest.raises(exception.InvalidAggregateActionAdd):
        aggregates.aggregate_host_add(second["id"], "h1")
    with pytest.raises(exception.InvalidAggregateActionUpdateMeta):
        aggregates.aggregate_metadata_set(plain["id"], {"availability_zone": "az2"})
    with pytest.raises(exception.InvalidAggregateActionUpdate):
        aggregates.aggregate_update(plain["id"], {"availability_zone": "az2"})
    # The same zone is fine.
    aggregates.aggregate_metadata_set(plain["id"], {"availability_zone": "az1"})
    assert aggregates.host_availability_zone("h1") == "az1"
    assert aggregates.host_availability_zone("h2") is None
    with pytest.raises(exception.ComputeHostNotFound):
        aggregates.aggregate_host_add(first["id"], "h2")
    with pytest.raises(exception.AggregateNameExists):
        aggregates.aggregate_create("a")
    with pytest.raises(exception.AggregateNameExists):
        aggregates.aggregate_update(plain["id"], {"name": "b"})


def test_concurrent_boots_into_one_group_stay_within_the_members_quota(
        db: str, at_once: Callable[..., None]) -> None:
    # Six boots of two servers each race for a group with room for five: the
    # count and the insert are one transaction, so exactly two boots get in.
    group = _group()
    boots = [[_instance()["uuid"], _instance()["uuid"]] for _ in range(6)]
    results: list[str] = []

    def boot(uuids: list[str]) -> None:
        try:
            instance_groups.members_add(group["uuid"], uuids, limit=5)
            results.append("ok")
        except exception.OverQuota as error:
            assert "server_group_members" in str(error)
            results.append("over")

    at_once(boot, boots)
    assert sorted(results) == ["ok"] * 2 + ["over"] * 4
    assert len(instance_groups.group_get(group["uuid"])["members"]) == 4
    # A deleted member frees its place; members already in do not count twice.
    gone = instance_groups.group_get(group["uuid"])["members"][0]
    instances.instance_destroy(gone)
    kept = instance_groups.group_get(group["uuid"])["members"]
    fresh = [_instance()["uuid"] for _ in range(4)]
    instance_groups.members_add(group["uuid"], kept + fresh[:2], limit=5)
    with pytest.raises(exception.OverQuota):
        instance_groups.members_add(group["uuid"], fresh[2:3], limit=5)
    instance_groups.members_add(group["uuid"], fresh[2:], limit=-1)
    assert len(instance_groups.group_get(group["uuid"])["members"]) == 7
