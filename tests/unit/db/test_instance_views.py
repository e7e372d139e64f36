"""The one-query server read of GET /servers/{id} answers what instance_get answers."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from kumo import exception
from kumo.db import instance_metadata, instance_views, instances

PROJECT = "p1"


def _instance(**values: Any) -> dict[str, Any]:
    base = {"project_id": PROJECT, "user_id": "u1", "display_name": "vm", "memory_mb": 512,
            "vcpus": 1, "root_gb": 1,
            "flavor": {"flavorid": "1", "name": "m1.tiny", "extra_specs": {"a": "b"}}}
    return instances.instance_create([{**base, **values}])[0]


def _both(uuid: str, project_id: str | None = None) -> dict[str, Any]:
    expected = instances.instance_get(uuid, project_id=project_id)
    got = instance_views.instance_get(uuid, project_id=project_id)
    assert got == expected
    return got


def test_a_plain_server_reads_as_instance_get(db: str) -> None:
    server = _instance(system_metadata={"locked_reason": "x"})
    got = _both(server["uuid"])
    assert got["metadata"] == {} and got["fault"] is None and got["deleted"] is False
    assert got["flavor"]["extra_specs"] == {"a": "b"}
    assert got["system_metadata"] == {"locked_reason": "x"}
    _both(server["uuid"], project_id=PROJECT)


def test_metadata_and_the_newest_fault_come_in_the_same_read(db: str) -> None:
    server = _instance(metadata={"role": "web", "tier": "1", "empty": None})
    other = _instance(metadata={"role": "db"})
    instances.instance_fault_create(server["uuid"], 500, "first", details="trace")
    instances.instance_fault_create(server["uuid"], 404, "second")
    instances.instance_fault_create(other["uuid"], 500, "other's")

    got = _both(server["uuid"])
    assert got["metadata"] == {"role": "web", "tier": "1", "empty": None}
    assert got["fault"]["message"] == "second" and got["fault"]["code"] == 404
    assert _both(other["uuid"])["metadata"] == {"role": "db"}


def test_deleted_metadata_is_not_shown(db: str) -> None:
    server = _instance(metadata={"a": "1", "b": "2"})
    instance_metadata.instance_metadata_delete(server["uuid"], "a")
    assert _both(server["uuid"])["metadata"] == {"b": "2"}


def test_another_projects_or_a_deleted_server_is_not_found(db: str) -> None:
    server = _instance()
    with pytest.raises(exception.InstanceNotFound):
        instance_views.instance_get(server["uuid"], project_id="p2")
    instances.instance_destroy(server["uuid"])
    with pytest.raises(exception.InstanceNotFound):
        instance_views.instance_get(server["uuid"])
    with pytest.raises(exception.InstanceNotFound):
        instance_views.instance_get("00000000-0000-0000-0000-000000000000")


def test_the_read_is_compiled_once_and_types_its_columns_as_sqlalchemy_does(db: str) -> None:
    server = _instance(metadata={"a": "1"})
    instances.instance_fault_create(server["uuid"], 500, "boom")
    got = _both(server["uuid"])
    # The DBAPI's text came back through the columns' result processors.
    assert isinstance(got["created_at"], datetime.datetime)
    assert isinstance(got["fault"]["created_at"], datetime.datetime)
    prepared = dict(instance_views._prepared)
    _both(server["uuid"], project_id=PROJECT)
    _both(server["uuid"])
    # One compiled statement per (dialect, project scoping), kept across reads.
    assert all(instance_views._prepared[key] is value for key, value in prepared.items())
    assert len(instance_views._prepared) >= 2


# --- the listings' reads (GET /servers/detail, GET /flavors/detail) ----------------------


def test_listing_rows_keep_system_metadata_text_and_only_the_columns_asked(db: str) -> None:
    server = _instance(system_metadata={"locked_reason": "x", "claimed_node": "n1"})
    listed = instances.instance_get_all(system_metadata_text=True,
                                        columns=("uuid", "system_metadata", "display_name"))
    assert [row["uuid"] for row in listed] == [server["uuid"]]
    assert set(listed[0]) == {"uuid", "system_metadata", "display_name", "flavor",
                              "deleted", "metadata", "fault"}
    assert instances.decode_json(listed[0]["system_metadata"]) == {
        "locked_reason": "x", "claimed_node": "n1"}


def _old_flavor_get_all(**filters: Any) -> list[dict[str, Any]]:
    """The listing as the two ORM reads answered it before it became one statement."""
    import sqlalchemy as sa

    from kumo.db import api, flavors

    statement = sa.select(flavors._flavors).where(
        flavors._visible_to(filters.get("project_id"))).order_by(
        flavors._flavors.c.flavorid, flavors._flavors.c.id)
    if filters.get("is_public") is not None:
        statement = statement.where(flavors._flavors.c.is_public == filters["is_public"])
    if filters.get("min_memory_mb") is not None:
        statement = statement.where(flavors._flavors.c.memory_mb >= filters["min_memory_mb"])
    if filters.get("min_disk") is not None:
        statement = statement.where(flavors._flavors.c.root_gb >= filters["min_disk"])
    with api.session() as db_session:
        return flavors._with_extra_specs(db_session, db_session.execute(statement).mappings())


def test_flavor_listing_reads_as_before_with_extra_specs_access_and_filters(db: str) -> None:
    from kumo.db import flavors

    flavors.flavor_create({"name": "big", "flavorid": "3", "memory_mb": 4096, "vcpus": 2,
                           "root_gb": 40, "extra_specs": {"z": "1", "a": "2", "m": None}})
    flavors.flavor_create({"name": "tiny", "flavorid": "1", "memory_mb": 512, "vcpus": 1,
                           "root_gb": 1})
    flavors.flavor_create({"name": "secret", "flavorid": "2", "memory_mb": 1024, "vcpus": 1,
                           "root_gb": 10, "is_public": False, "projects": ["p2", "p3"],
                           "extra_specs": {"hw:cpu_policy": "dedicated"}})
    flavors.flavor_extra_specs_update("3", {"b": "late"})
    for filters in ({}, {"project_id": PROJECT}, {"project_id": "p2"}, {"is_public": True},
                    {"is_public": False}, {"min_memory_mb": 1024}, {"min_disk": 20},
                    {"min_memory_mb": 600, "min_disk": 5, "project_id": "p3"}):
        got = flavors.flavor_get_all(**filters)
        expected = _old_flavor_get_all(**filters)
        assert got == expected, filters
        assert [list(f["extra_specs"].items()) for f in got] == [
            list(f["extra_specs"].items()) for f in expected]
    assert [f["flavorid"] for f in flavors.flavor_get_all(project_id="p2")] == ["1", "2", "3"]
    assert flavors.flavor_get_all(project_id=PROJECT)[-1]["extra_specs"] == {
        "z": "1", "a": "2", "m": None, "b": "late"}
