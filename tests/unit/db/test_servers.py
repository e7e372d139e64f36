"""Server lifecycle queries: flavors, images, instances, compute nodes and claims."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest

from kumo import exception
from kumo.compute import task_states, vm_states
from kumo.db import compute_nodes, flavors, images, instances

PROJECT = "p1"


def _flavor(name: str = "m1.small", flavorid: str = "2", **values: Any) -> dict[str, Any]:
    return flavors.flavor_create({"name": name, "flavorid": flavorid, "memory_mb": 2048,
                                  "vcpus": 1, "root_gb": 20, **values})


def _instance(**values: Any) -> dict[str, Any]:
    base = {"project_id": PROJECT, "user_id": "u1", "display_name": "vm", "memory_mb": 512,
            "vcpus": 1, "root_gb": 1}
    return instances.instance_create([{**base, **values}])[0]


def _node(name: str = "node1", host: str = "host1", vcpus: int = 4, memory_mb: int = 4096,
          local_gb: int = 100) -> dict[str, Any]:
    return compute_nodes.compute_nodes_report(host, None, [{
        "hypervisor_hostname": name, "hypervisor_type": "fake", "hypervisor_version": 1,
        "vcpus": vcpus, "memory_mb": memory_mb, "local_gb": local_gb, "cpu_info": "{}",
        "host_ip": "127.0.0.1"}])[0]


LIMITS = {"vcpus": 4, "memory_mb": 4096, "disk_gb": 100}
SMALL = {"vcpus": 1, "memory_mb": 1024, "disk_gb": 10}


# --- flavors -----------------------------------------------------------------------------


def test_flavor_create_returns_extra_specs_and_rejects_duplicates(db: str) -> None:
    flavor = _flavor(extra_specs={"hw:cpu_policy": "dedicated"})

    assert flavor["extra_specs"] == {"hw:cpu_policy": "dedicated"}
    with pytest.raises(exception.FlavorExists):
        _flavor(flavorid="99")
    with pytest.raises(exception.FlavorExists):
        _flavor(name="other")


def test_flavor_create_defaults_flavorid_to_a_uuid(db: str) -> None:
    flavor = flavors.flavor_create({"name": "x", "memory_mb": 1, "vcpus": 1})

    assert len(flavor["flavorid"]) == 36


def test_private_flavors_are_visible_only_to_projects_with_access(db: str) -> None:
    _flavor("m1.tiny", "1", memory_mb=512)
    _flavor("secret", "10", is_public=False, projects=["p2"])

    assert [f["name"] for f in flavors.flavor_get_all(project_id=PROJECT)] == ["m1.tiny"]
    assert [f["name"] for f in flavors.flavor_get_all(project_id="p2")] == ["m1.tiny", "secret"]
    assert len(flavors.flavor_get_all()) == 2
    assert [f["name"] for f in flavors.flavor_get_all(is_public=False)] == ["secret"]
    with pytest.raises(exception.FlavorNotFound):
        flavors.flavor_get_by_flavor_id("10", project_id=PROJECT)
    assert flavors.flavor_get_by_flavor_id("10", project_id="p2")["name"] == "secret"


def test_flavor_get_by_flavor_id_answers_as_the_listing_does(db: str) -> None:
    _flavor("m1.tiny", "1", memory_mb=512)
    specs = {"hw:cpu_policy": "dedicated", "quota:cpu_shares": "512", "aggregate:ssd": "true"}
    _flavor("fancy", "7", extra_specs=specs)

    fancy = flavors.flavor_get_by_flavor_id("7")
    assert fancy == next(f for f in flavors.flavor_get_all() if f["flavorid"] == "7")
    assert list(fancy["extra_specs"].items()) == list(specs.items())  # in written order
    assert isinstance(fancy["is_public"], bool) and fancy["created_at"] is not None
    assert flavors.flavor_get_by_flavor_id("1", project_id=PROJECT)["extra_specs"] == {}
    with pytest.raises(exception.FlavorNotFound):
        flavors.flavor_get_by_flavor_id("nope")


def test_flavor_get_all_filters_by_minimum_sizes(db: str) -> None:
    _flavor("m1.tiny", "1", memory_mb=512, root_gb=1)
    _flavor("m1.small", "2", memory_mb=2048, root_gb=20)

    assert [f["name"] for f in flavors.flavor_get_all(min_memory_mb=1024)] == ["m1.small"]
    assert [f["name"] for f in flavors.flavor_get_all(min_disk=2)] == ["m1.small"]


# --- images ------------------------------------------------------------------------------


def test_images_are_visible_when_public_or_owned(db: str) -> None:
    public = images.image_create({"name": "cirros", "visibility": "public",
                                  "properties": {"hw_disk_bus": "virtio"}})
    private = images.image_create({"name": "mine", "owner": "p2"})

    assert public["status"] == "queued"
    assert images.image_get(public["id"], project_id=PROJECT)["properties"] == {
        "hw_disk_bus": "virtio"}
    with pytest.raises(exception.ImageNotFound):
        images.image_get(private["id"], project_id=PROJECT)
    assert images.image_get(private["id"], project_id="p2")["name"] == "mine"
    assert [i["name"] for i in images.image_get_all(project_id=PROJECT)] == ["cirros"]
    assert len(images.image_get_all()) == 2
    assert [i["name"] for i in images.image_get_all(filters={"name": "mine"})] == ["mine"]


def test_image_get_answers_every_property_and_type_as_the_listing_does(db: str) -> None:
    properties = {"hw_disk_bus": "virtio", "os_distro": None, "hw_qemu_guest_agent": "yes"}
    image = images.image_create({"name": "c", "visibility": "community", "owner": "p2",
                                 "min_ram": 64, "protected": True, "properties": properties})
    bare = images.image_create({"name": "bare", "owner": PROJECT})

    got = images.image_get(image["id"], project_id=PROJECT)  # community: seen by all
    assert got == next(i for i in images.image_get_all() if i["id"] == image["id"])
    assert got["properties"] == properties and got["protected"] is True
    assert images.image_get(bare["id"], project_id=PROJECT)["properties"] == {}
    with pytest.raises(exception.ImageNotFound):
        images.image_get(bare["id"], project_id="p2")


def test_image_update_and_delete(db: str) -> None:
    image = images.image_create({"name": "a", "properties": {"x": "1"}})

    updated = images.image_update(image["id"], {"status": "active", "properties": {"y": "2"}})
    assert (updated["status"], updated["properties"]) == ("active", {"y": "2"})
    images.image_delete(image["id"])
    with pytest.raises(exception.ImageNotFound):
        images.image_get(image["id"])
    with pytest.raises(exception.ImageNotFound):
        images.image_delete(image["id"])


# --- instances ---------------------------------------------------------------------------


def test_instance_create_stores_flavor_metadata_and_build_states(db: str) -> None:
    created = instances.instance_create([
        {"project_id": PROJECT, "user_id": "u1", "memory_mb": 512, "vcpus": 1,
         "flavor": {"flavorid": "1", "name": "m1.tiny", "extra_specs": {"a": "b"}},
         "metadata": {"role": "web"}, "launch_index": index}
        for index in range(2)])

    assert len(created) == 2
    got = instances.instance_get(created[1]["uuid"], project_id=PROJECT)
    assert got["vm_state"] == vm_states.BUILDING
    assert got["task_state"] == task_states.SCHEDULING
    assert got["flavor"]["extra_specs"] == {"a": "b"}
    assert got["metadata"] == {"role": "web"}
    assert got["fault"] is None and got["deleted"] is False
    with pytest.raises(exception.InstanceNotFound):
        instances.instance_get(created[0]["uuid"], project_id="p2")


def test_instance_get_returns_the_newest_fault(db: str) -> None:
    instance = _instance()
    instances.instance_fault_create(instance["uuid"], 500, "first")
    instances.instance_fault_create(instance["uuid"], 500, "second" * 100)

    fault = instances.instance_get(instance["uuid"])["fault"]
    assert fault["message"].startswith("second") and len(fault["message"]) == 255


def test_guarded_update_succeeds_when_the_task_state_matches(db: str) -> None:
    instance = _instance()

    updated = instances.instance_update(
        instance["uuid"], {"task_state": task_states.SPAWNING, "host": "h",
                           "system_metadata": {"a": "1"}},
        expected_task_state=task_states.SCHEDULING)

    assert (updated["task_state"], updated["host"]) == (task_states.SPAWNING, "h")
    assert updated["system_metadata"] == {"a": "1"}


def test_guarded_update_accepts_a_list_with_none(db: str) -> None:
    instance = _instance(task_state=None, vm_state=vm_states.ACTIVE)

    updated = instances.instance_update(
        instance["uuid"], {"task_state": task_states.DELETING},
        expected_task_state=[None, task_states.REBOOTING], expected_vm_state=vm_states.ACTIVE)

    assert updated["task_state"] == task_states.DELETING


def test_guarded_update_mismatch_raises(db: str) -> None:
    instance = _instance()

    with pytest.raises(exception.UnexpectedTaskStateError) as error:
        instances.instance_update(instance["uuid"], {"task_state": None},
                                  expected_task_state=[None])
    assert not isinstance(error.value, exception.UnexpectedDeletingTaskStateError)
    with pytest.raises(exception.UnexpectedTaskStateError):
        instances.instance_update(instance["uuid"], {"task_state": None},
                                  expected_vm_state=vm_states.ACTIVE)
    assert instances.instance_get(instance["uuid"])["task_state"] == task_states.SCHEDULING


def test_guarded_update_on_a_deleting_instance_says_so(db: str) -> None:
    instance = _instance(task_state=task_states.DELETING)

    with pytest.raises(exception.UnexpectedDeletingTaskStateError):
        instances.instance_update(instance["uuid"], {"task_state": task_states.SPAWNING},
                                  expected_task_state=task_states.SCHEDULING)


def test_two_updates_expecting_the_same_task_state_one_wins(
        db: str, at_once: Callable[..., None]) -> None:
    instance = _instance()
    outcomes: list[str] = []

    def update(task_state: str) -> None:
        try:
            instances.instance_update(instance["uuid"], {"task_state": task_state},
                                      expected_task_state=task_states.SCHEDULING)
            outcomes.append("won")
        except exception.UnexpectedTaskStateError:
            outcomes.append("lost")

    at_once(update, [task_states.SPAWNING, task_states.DELETING])

    assert sorted(outcomes) == ["lost", "won"]


def test_update_of_an_unknown_instance_is_not_found(db: str) -> None:
    with pytest.raises(exception.InstanceNotFound):
        instances.instance_update("00000000-0000-0000-0000-000000000000", {"host": "h"},
                                  expected_task_state=None)


def test_update_merges_system_metadata_and_replaces_metadata(db: str) -> None:
    instance = _instance(system_metadata={"a": "1", "b": "2"}, metadata={"x": "1"})

    updated = instances.instance_update(
        instance["uuid"], {"system_metadata": {"b": None, "c": "3"}, "metadata": {"y": "2"}})

    assert updated["system_metadata"] == {"a": "1", "c": "3"}
    assert updated["metadata"] == {"y": "2"}


def test_update_accepts_datetimes_as_iso_strings(db: str) -> None:
    instance = _instance()

    updated = instances.instance_update(instance["uuid"],
                                        {"launched_at": "2026-01-02T03:04:05.000000"})

    assert updated["launched_at"] == datetime.datetime(2026, 1, 2, 3, 4, 5)


def test_destroy_soft_deletes_and_is_idempotent(db: str) -> None:
    instance = _instance()

    destroyed = instances.instance_destroy(instance["uuid"])
    again = instances.instance_destroy(instance["uuid"])

    assert destroyed["deleted"] and destroyed["vm_state"] == vm_states.DELETED
    assert destroyed["task_state"] is None and destroyed["terminated_at"] is not None
    assert again["deleted_at"] == destroyed["deleted_at"]
    with pytest.raises(exception.InstanceNotFound):
        instances.instance_get(instance["uuid"])
    with pytest.raises(exception.InstanceNotFound):
        instances.instance_destroy("00000000-0000-0000-0000-000000000000")


# --- listing -----------------------------------------------------------------------------


def _names(rows: list[dict[str, Any]]) -> list[str]:
    return [row["display_name"] for row in rows]


def test_get_all_filters(db: str) -> None:
    _flavor("m1.tiny", "1", memory_mb=512)
    flavor_id = flavors.flavor_get_by_flavor_id("1")["id"]
    _instance(display_name="web-1", host="h1", flavor_id=flavor_id, image_ref="img")
    _instance(display_name="web-2", host="h2", vm_state=vm_states.ACTIVE, task_state=None)
    _instance(display_name="db-1", project_id="p2")
    gone = _instance(display_name="old")
    instances.instance_destroy(gone["uuid"])

    def names(**filters: Any) -> list[str]:
        return sorted(_names(instances.instance_get_all(filters=filters)))

    assert names() == ["db-1", "web-1", "web-2"]
    assert names(project_id=PROJECT) == ["web-1", "web-2"]
    assert names(name="^web") == ["web-1", "web-2"]
    assert names(name="-1$") == ["db-1", "web-1"]
    assert names(vm_state=[vm_states.ACTIVE]) == ["web-2"]
    assert names(task_state=[None]) == ["web-2"]
    assert names(host="h1") == ["web-1"]
    assert names(flavor_id="1") == ["web-1"]
    assert names(image_ref="img") == ["web-1"]
    assert names(deleted=True) == ["old"]
    assert names(changes_since=datetime.datetime(2000, 1, 1)) == [
        "db-1", "old", "web-1", "web-2"]
    with pytest.raises(exception.Invalid):
        instances.instance_get_all(filters={"bogus": 1})
    with pytest.raises(exception.Invalid):
        instances.instance_get_all(filters={"name": "(unclosed"})


def test_get_all_sorts_and_pages_with_a_marker(db: str) -> None:
    for name in ("c", "a", "b", None, "a"):
        _instance(display_name=name)
    every = instances.instance_get_all(sort_keys=["display_name"], sort_dirs=["asc"])
    assert _names(every) == [None, "a", "a", "b", "c"]

    pages, marker = [], None
    while True:
        page = instances.instance_get_all(sort_keys=["display_name"], sort_dirs=["asc"],
                                          limit=2, marker=marker)
        if not page:
            break
        pages.append(_names(page))
        marker = page[-1]["uuid"]
    assert pages == [[None, "a"], ["a", "b"], ["c"]]

    descending = instances.instance_get_all(sort_keys=["display_name"], sort_dirs=["desc"])
    assert _names(descending) == ["c", "b", "a", "a", None]
    after = instances.instance_get_all(sort_keys=["display_name"], sort_dirs=["desc"],
                                       marker=descending[2]["uuid"])
    assert _names(after) == ["a", None]


def test_get_all_default_order_is_newest_first(db: str) -> None:
    for name in ("first", "second", "third"):
        _instance(display_name=name)

    assert _names(instances.instance_get_all()) == ["third", "second", "first"]
    assert _names(instances.instance_get_all(limit=1)) == ["third"]


def test_get_all_with_an_unknown_marker_raises(db: str) -> None:
    with pytest.raises(exception.MarkerNotFound) as error:
        instances.instance_get_all(marker="00000000-0000-0000-0000-000000000000")
    assert error.value.code == 400


# --- compute nodes and claims ------------------------------------------------------------


def test_report_creates_then_updates_a_node(db: str) -> None:
    node = _node()
    again = _node(vcpus=8)

    assert again["uuid"] == node["uuid"] and again["vcpus"] == 8
    assert (again["vcpus_used"], again["free_ram_mb"]) == (0, 4096)
    assert [n["uuid"] for n in compute_nodes.compute_node_get_all()] == [node["uuid"]]


def test_get_all_changed_since(db: str) -> None:
    node = _node()
    later = node["updated_at"] + datetime.timedelta(seconds=1)

    assert compute_nodes.compute_node_get_all(changed_since=later) == []
    assert len(compute_nodes.compute_node_get_all(
        changed_since=node["updated_at"].isoformat())) == 1


def test_claim_adds_usage_and_records_it_on_the_instance(db: str) -> None:
    node = _node()
    instance = _instance()

    claimed = compute_nodes.compute_node_claim(node["uuid"], instance["uuid"], SMALL, LIMITS)

    assert (claimed["vcpus_used"], claimed["memory_mb_used"], claimed["local_gb_used"]) == (
        1, 1024, 10)
    assert (claimed["free_ram_mb"], claimed["running_vms"]) == (3072, 1)
    stored = instances.instance_get(instance["uuid"])["system_metadata"]
    assert stored[instances.CLAIMED_NODE] == node["uuid"]


def test_claim_that_does_not_fit_raises_and_changes_nothing(db: str) -> None:
    node = _node()
    instance = _instance()

    with pytest.raises(exception.ComputeResourcesUnavailable):
        compute_nodes.compute_node_claim(node["uuid"], instance["uuid"],
                                         {"vcpus": 1, "memory_mb": 8192, "disk_gb": 1}, LIMITS)
    assert compute_nodes.compute_node_get(node["uuid"])["memory_mb_used"] == 0
    with pytest.raises(exception.ComputeNodeNotFound):
        compute_nodes.compute_node_claim("00000000-0000-0000-0000-000000000000",
                                         instance["uuid"], SMALL, LIMITS)


def test_claim_for_a_missing_instance_is_rolled_back(db: str) -> None:
    node = _node()

    with pytest.raises(exception.InstanceNotFound):
        compute_nodes.compute_node_claim(node["uuid"], "00000000-0000-0000-0000-000000000000",
                                         SMALL, LIMITS)
    assert compute_nodes.compute_node_get(node["uuid"])["vcpus_used"] == 0


def test_claim_names_a_missing_instance_before_a_full_node(db: str) -> None:
    # SQLite runs the node's UPDATE before the instance read: the error stays the same.
    node = _node()
    with pytest.raises(exception.InstanceNotFound):
        compute_nodes.compute_node_claim(node["uuid"], "00000000-0000-0000-0000-000000000000",
                                         {"vcpus": 1, "memory_mb": 8192, "disk_gb": 1}, LIMITS)


def test_claims_with_other_limits_check_only_those(db: str) -> None:
    node = _node()
    first, second = _instance(), _instance()
    # No memory limit: 8 GB on a 4 GB node is allowed (overcommit left to the caller).
    compute_nodes.compute_node_claim(node["uuid"], first["uuid"],
                                     {"vcpus": 1, "memory_mb": 8192, "disk_gb": 1},
                                     {"vcpus": 4, "memory_mb": None})
    with pytest.raises(exception.ComputeResourcesUnavailable):
        compute_nodes.compute_node_claim(node["uuid"], second["uuid"], SMALL, LIMITS)
    used = compute_nodes.compute_node_get(node["uuid"])
    assert (used["vcpus_used"], used["memory_mb_used"], used["running_vms"]) == (1, 8192, 1)


def test_concurrent_claims_never_over_commit(db: str, at_once: Callable[..., None]) -> None:
    node = _node(vcpus=4, memory_mb=4096)
    uuids = [_instance()["uuid"] for _ in range(10)]
    results: list[str] = []

    def claim(instance_uuid: str) -> None:
        try:
            compute_nodes.compute_node_claim(node["uuid"], instance_uuid, SMALL, LIMITS)
            results.append("ok")
        except exception.ComputeResourcesUnavailable:
            results.append("full")

    at_once(claim, uuids)

    assert results.count("ok") == 4
    final = compute_nodes.compute_node_get(node["uuid"])
    assert (final["vcpus_used"], final["memory_mb_used"]) == (4, 4096)


def test_release_is_idempotent(db: str) -> None:
    node = _node()
    instance = _instance()
    compute_nodes.compute_node_claim(node["uuid"], instance["uuid"], SMALL, LIMITS)

    compute_nodes.compute_node_release(node["uuid"], instance["uuid"])
    released = compute_nodes.compute_node_release(node["uuid"], instance["uuid"])

    assert (released["vcpus_used"], released["memory_mb_used"]) == (0, 0)
    assert instances.CLAIMED_NODE not in instances.instance_get(
        instance["uuid"])["system_metadata"]


def test_release_of_another_nodes_claim_does_nothing(db: str) -> None:
    node1, node2 = _node("node1"), _node("node2")
    instance = _instance()
    compute_nodes.compute_node_claim(node1["uuid"], instance["uuid"], SMALL, LIMITS)

    compute_nodes.compute_node_release(node2["uuid"], instance["uuid"])

    assert compute_nodes.compute_node_get(node1["uuid"])["vcpus_used"] == 1


def test_claim_elsewhere_moves_the_claim(db: str) -> None:
    node1, node2 = _node("node1"), _node("node2")
    instance = _instance()
    compute_nodes.compute_node_claim(node1["uuid"], instance["uuid"], SMALL, LIMITS)

    compute_nodes.compute_node_claim(node2["uuid"], instance["uuid"], SMALL, LIMITS)

    assert compute_nodes.compute_node_get(node1["uuid"])["vcpus_used"] == 0
    assert compute_nodes.compute_node_get(node2["uuid"])["vcpus_used"] == 1


def test_destroy_releases_the_claim(db: str) -> None:
    node = _node()
    instance = _instance()
    compute_nodes.compute_node_claim(node["uuid"], instance["uuid"], SMALL, LIMITS)

    instances.instance_destroy(instance["uuid"])
    instances.instance_destroy(instance["uuid"])

    assert compute_nodes.compute_node_get(node["uuid"])["vcpus_used"] == 0


def test_report_recomputes_usage_from_live_claims(db: str) -> None:
    node = _node()
    kept, gone = _instance(), _instance()
    for instance in (kept, gone):
        compute_nodes.compute_node_claim(node["uuid"], instance["uuid"], SMALL, LIMITS)
    # A usage drift (say, a crash between steps) is corrected by the next report.
    instances.instance_update(gone["uuid"], {"deleted": 1})  # ignored: not writable
    from kumo.db import api, models

    with api.session() as session:
        table = models.ComputeNode.__table__
        session.execute(table.update().values(vcpus_used=3, memory_mb_used=9999))
        instance_table = models.Instance.__table__
        session.execute(instance_table.update().where(instance_table.c.uuid == gone["uuid"])
                        .values(deleted=instance_table.c.id))

    reported = _node()

    assert (reported["vcpus_used"], reported["memory_mb_used"]) == (1, 1024)
    assert (reported["running_vms"], reported["free_ram_mb"]) == (1, 3072)
