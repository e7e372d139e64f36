"""The quota engine on SQLite and PostgreSQL: counted usage, limits, and checks that
stay atomic when many boots race."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from kumo import exception
from kumo.db import instances, keypairs, quotas


def _values(project_id: str = "p1", user_id: str = "u1", vcpus: int = 1,
            memory_mb: int = 512) -> dict[str, Any]:
    return {"uuid": str(uuid.uuid4()), "project_id": project_id, "user_id": user_id,
            "display_name": "s", "vcpus": vcpus, "memory_mb": memory_mb,
            "flavor": {"vcpus": vcpus, "memory_mb": memory_mb}}


def test_usage_is_counted_from_live_rows_and_released_on_delete(db: str) -> None:
    created = instances.instance_create([_values(vcpus=2, memory_mb=1024),
                                         _values(user_id="u2")], min_count=1)
    detail = quotas.quota_get("p1", detail=True)
    assert (detail["instances"]["in_use"], detail["cores"]["in_use"],
            detail["ram"]["in_use"]) == (2, 3, 1536)
    assert quotas.quota_get("p1", user_id="u2", detail=True)["instances"]["in_use"] == 1

    for instance in created:
        instances.instance_destroy(instance["uuid"])
    detail = quotas.quota_get("p1", detail=True)
    assert detail["instances"]["in_use"] == detail["cores"]["in_use"] == 0


def test_multi_create_places_as_many_as_fit_or_none(db: str) -> None:
    quotas.quota_update("p1", {"instances": 3})
    assert len(instances.instance_create([_values() for _ in range(5)], min_count=2)) == 3
    with pytest.raises(exception.TooManyInstances) as error:
        instances.instance_create([_values()], min_count=1)
    assert error.value.message == (
        "Quota exceeded for instances: Requested 1, but already used 3 of 3 instances")
    # Without min_count (internal callers) nothing is checked.
    assert len(instances.instance_create([_values()])) == 1


def test_limits_resolve_defaults_class_project_user(db: str) -> None:
    assert quotas.quota_get("p1")["cores"] == 20
    quotas.quota_class_update("default", {"cores": 30})
    assert quotas.quota_get("p1")["cores"] == 30
    quotas.quota_update("p1", {"cores": 40})
    assert quotas.quota_get("p1")["cores"] == 40
    assert quotas.quota_get("p1", user_id="u1")["cores"] == 40
    quotas.quota_update("p1", {"cores": 5}, user_id="u1")
    assert quotas.quota_get("p1", user_id="u1")["cores"] == 5
    quotas.quota_delete("p1")
    assert quotas.quota_get("p1", user_id="u1")["cores"] == 30


def test_resize_counts_the_bigger_flavor_until_confirmed(db: str) -> None:
    quotas.quota_update("p1", {"cores": 4})
    [server] = instances.instance_create([_values(vcpus=1)], min_count=1)
    quotas.resize_check(server["uuid"], vcpus=4, memory_mb=512)
    with pytest.raises(exception.OverQuota):
        quotas.resize_check(server["uuid"], vcpus=5, memory_mb=512)
    instances.instance_update(server["uuid"], {"system_metadata": {
        "old_flavor": '{"vcpus": 1, "memory_mb": 512}',
        "new_flavor": '{"vcpus": 3, "memory_mb": 512}'}})
    assert quotas.quota_get("p1", detail=True)["cores"]["in_use"] == 3
    [other] = instances.instance_create([_values(vcpus=1)], min_count=1)
    with pytest.raises(exception.OverQuota):
        quotas.resize_check(other["uuid"], vcpus=2, memory_mb=512)


def test_key_pair_quota_and_names(db: str) -> None:
    quotas.quota_update("p1", {"key_pairs": 1})
    values = {"name": "k", "user_id": "u1", "fingerprint": "f", "public_key": "x",
              "type": "ssh"}
    keypairs.key_pair_create(values, "p1")
    with pytest.raises(exception.KeypairLimitExceeded):
        keypairs.key_pair_create({**values, "name": "k2"}, "p1")
    quotas.quota_update("p1", {"key_pairs": 5})
    with pytest.raises(exception.KeyPairExists):
        keypairs.key_pair_create(values, "p1")
    keypairs.key_pair_destroy("u1", "k")
    keypairs.key_pair_create(values, "p1")
    assert [k["name"] for k in keypairs.key_pair_get_all("u1")] == ["k"]


def test_concurrent_boots_never_exceed_the_instance_quota(
        db: str, at_once: Callable[..., None]) -> None:
    quotas.quota_update("p1", {"instances": 5})
    results: list[str] = []

    def boot(_: int) -> None:
        try:
            instances.instance_create([_values()], min_count=1)
            results.append("created")
        except exception.TooManyInstances:
            results.append("over")

    at_once(boot, range(12))
    assert sorted(results) == ["created"] * 5 + ["over"] * 7
    assert quotas.quota_get("p1", detail=True)["instances"]["in_use"] == 5
