"""Server tags in the database: add, replace, remove, the per-server limit, the
list filters, and their end with the server."""

from __future__ import annotations

from typing import Any

import pytest

from kumo import exception
from kumo.db import instances, tags


def _instance(name: str) -> dict[str, Any]:
    return instances.instance_create([{
        "project_id": "p1", "user_id": "u1", "display_name": name, "memory_mb": 512,
        "vcpus": 1, "root_gb": 1}])[0]


def test_tags_are_added_once_and_listed_sorted(db: str) -> None:
    server = _instance("a")

    assert tags.tag_add(server["uuid"], "web") is True
    assert tags.tag_add(server["uuid"], "blue") is True
    assert tags.tag_add(server["uuid"], "web") is False
    assert tags.tags_get(server["uuid"]) == ["blue", "web"]


def test_replacing_and_removing_tags(db: str) -> None:
    server = _instance("a")
    tags.tags_set(server["uuid"], ["x", "y", "x"])

    assert tags.tags_get(server["uuid"]) == ["x", "y"]
    assert tags.tags_set(server["uuid"], ["z"]) == ["z"]
    tags.tag_delete(server["uuid"], "z")
    with pytest.raises(exception.InstanceTagNotFound):
        tags.tag_delete(server["uuid"], "z")
    tags.tags_set(server["uuid"], ["p", "q"])
    tags.tags_delete_all(server["uuid"])
    assert tags.tags_get(server["uuid"]) == []


def test_a_server_holds_at_most_fifty_tags(db: str) -> None:
    server = _instance("a")
    tags.tags_set(server["uuid"], [f"t{i}" for i in range(50)])

    with pytest.raises(exception.TooManyInstanceTags):
        tags.tag_add(server["uuid"], "one-more")
    with pytest.raises(exception.TooManyInstanceTags):
        tags.tags_set(server["uuid"], [f"u{i}" for i in range(51)])


def test_tags_of_an_unknown_server_are_a_not_found(db: str) -> None:
    with pytest.raises(exception.InstanceNotFound):
        tags.tag_add("00000000-0000-4000-8000-000000000999", "x")


def test_tags_of_many_servers_in_one_read(db: str) -> None:
    one, two = _instance("a"), _instance("b")
    tags.tags_set(one["uuid"], ["b", "a"])

    assert tags.tags_get_by_uuids([one["uuid"], two["uuid"]]) == {
        one["uuid"]: ["a", "b"], two["uuid"]: []}


def test_list_filters_by_tags(db: str) -> None:
    red_blue, red, plain = _instance("rb"), _instance("r"), _instance("p")
    tags.tags_set(red_blue["uuid"], ["red", "blue"])
    tags.tags_set(red["uuid"], ["red"])

    def names(**filters: Any) -> list[str]:
        return sorted(i["display_name"] for i in instances.instance_get_all(filters=filters))

    assert names(tags=["red", "blue"]) == ["rb"]
    assert names(tags_any=["blue", "green"]) == ["rb"]
    assert names(tags_any=["red"]) == ["r", "rb"]
    assert names(not_tags=["red", "blue"]) == ["p", "r"]
    assert names(not_tags_any=["blue"]) == ["p", "r"]
    assert names(not_tags_any=["red"]) == ["p"]
    assert plain


def test_a_destroyed_servers_tags_go_with_it(db: str) -> None:
    server = _instance("a")
    tags.tags_set(server["uuid"], ["x"])

    instances.instance_destroy(server["uuid"])

    assert tags.tags_get(server["uuid"]) == []
