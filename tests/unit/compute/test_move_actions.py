"""kumo-compute's rebuild and snapshot (the move actions' single-host steps)."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import pytest

from kumo import exception
from kumo.compute import manager as compute_manager
from kumo.compute import power_state, task_states, vm_states
from kumo.conf import CONF
from kumo.objects.instance import Instance
from kumo.virt.fake import driver as fake_driver
from tests.unit.compute.conftest import HOST, StubConductor

IMAGE_ID = "66666666-6666-4666-8666-666666666666"


@pytest.fixture
def images(monkeypatch: pytest.MonkeyPatch, conductor: StubConductor,
           tmp_path: pathlib.Path) -> dict[str, dict[str, Any]]:
    CONF.set_override("local_store_path", str(tmp_path), group="image")
    store: dict[str, dict[str, Any]] = {IMAGE_ID: {"status": "queued"}}
    monkeypatch.setattr(conductor, "image_update", lambda ctxt, image_id, values:
                        store[image_id].update(values), raising=False)
    monkeypatch.setattr(conductor, "image_delete", lambda ctxt, image_id:
                        store.pop(image_id), raising=False)
    yield store
    CONF.clear_override("local_store_path", group="image")


def test_rebuild_replaces_the_guest_and_reports_active_with_the_new_image(
        compute: compute_manager.ComputeManager, driver: fake_driver.FakeDriver,
        make_instance: Callable[..., Instance], ctxt: Any) -> None:
    instance = make_instance(vm_state=vm_states.STOPPED, task_state=task_states.REBUILDING)
    driver.spawn(ctxt, instance, {"id": "img-1"}, [], HOST)

    compute.rebuild_instance(ctxt, instance=instance, image={"id": "img-2"})

    assert (instance.vm_state, instance.task_state, instance.image_ref) == (
        vm_states.ACTIVE, None, "img-2")
    assert instance.power_state == power_state.RUNNING
    assert "from image img-2" in driver.get_console_output(ctxt, instance)


def test_a_failed_rebuild_ends_in_error_with_a_fault(
        compute: compute_manager.ComputeManager, driver: fake_driver.FakeDriver,
        make_instance: Callable[..., Instance], ctxt: Any,
        monkeypatch: pytest.MonkeyPatch, conductor: StubConductor) -> None:
    instance = make_instance(vm_state=vm_states.ACTIVE, task_state=task_states.REBUILDING)

    def fail(*args: Any, **kwargs: Any) -> None:
        raise exception.InstanceFaultInjected(operation="spawn", node=HOST)

    monkeypatch.setattr(driver, "spawn", fail)
    compute.rebuild_instance(ctxt, instance=instance, image={"id": "img-2"})

    assert (instance.vm_state, instance.task_state) == (vm_states.ERROR, None)
    assert "Rebuilding the server failed" in conductor.calls_of(
        "instance_fault_create")[0]["message"]


def test_snapshot_makes_the_image_active_and_clears_the_task(
        compute: compute_manager.ComputeManager, driver: fake_driver.FakeDriver,
        make_instance: Callable[..., Instance], ctxt: Any,
        images: dict[str, dict[str, Any]], tmp_path: pathlib.Path) -> None:
    instance = make_instance(vm_state=vm_states.ACTIVE, task_state=task_states.IMAGE_SNAPSHOT)
    driver.spawn(ctxt, instance, {"id": "img-1"}, [], HOST)

    compute.snapshot_instance(ctxt, instance=instance, image_id=IMAGE_ID)

    assert images[IMAGE_ID]["status"] == "active"
    assert driver.snapshots == {IMAGE_ID: instance.uuid}
    assert (tmp_path / IMAGE_ID).exists()
    assert instance.task_state is None and instance.vm_state == vm_states.ACTIVE


def test_a_failed_snapshot_deletes_the_image_and_records_a_fault(
        compute: compute_manager.ComputeManager, make_instance: Callable[..., Instance],
        ctxt: Any, images: dict[str, dict[str, Any]], conductor: StubConductor) -> None:
    # No guest: the driver cannot snapshot it.
    instance = make_instance(vm_state=vm_states.ACTIVE, task_state=task_states.IMAGE_SNAPSHOT)

    compute.snapshot_instance(ctxt, instance=instance, image_id=IMAGE_ID)

    assert IMAGE_ID not in images
    assert instance.task_state is None and instance.vm_state == vm_states.ACTIVE
    assert conductor.calls_of("instance_fault_create")[0]["message"].startswith(
        "Snapshot failed")


@pytest.mark.parametrize("task_state", [task_states.RESIZE_MIGRATING, task_states.MIGRATING,
                                        task_states.REBUILDING, task_states.SHELVING])
def test_a_restart_during_a_move_ends_it_in_error_with_a_fault(
        compute: compute_manager.ComputeManager, make_instance: Callable[..., Instance],
        ctxt: Any, conductor: StubConductor, monkeypatch: pytest.MonkeyPatch,
        task_state: str) -> None:
    monkeypatch.setattr(conductor, "compute_node_release_migration",
                        lambda ctxt, instance_uuid: None, raising=False)
    instance = make_instance(vm_state=vm_states.ACTIVE, task_state=task_state)

    compute.reconcile(ctxt)

    assert (instance.vm_state, instance.task_state) == (vm_states.ERROR, None)
    assert f"restarted during {task_state}" in conductor.calls_of(
        "instance_fault_create")[0]["message"]


def test_a_restart_during_a_snapshot_only_clears_the_task(
        compute: compute_manager.ComputeManager, make_instance: Callable[..., Instance],
        ctxt: Any) -> None:
    instance = make_instance(vm_state=vm_states.STOPPED, task_state=task_states.IMAGE_SNAPSHOT)

    compute.reconcile(ctxt)

    assert (instance.vm_state, instance.task_state) == (vm_states.STOPPED, None)


def test_the_source_tells_the_destination_where_its_kept_disks_are(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Callable[..., Instance],
        ctxt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from kumo.compute.system_metadata import RESIZE_SOURCE_DISKS

    instance = make_instance(task_state=task_states.RESIZE_MIGRATING)
    record = {"host": HOST, "path": "/srv/instances/x_resize"}
    monkeypatch.setattr(driver, "migration_source", lambda inst: record)
    handed: list[dict[str, Any]] = []

    class Compute:
        def finish_resize(self, ctxt: Any, **kwargs: Any) -> None:
            handed.append(kwargs)

    monkeypatch.setattr(compute, "_compute_rpc", lambda: Compute())
    compute.resize_instance(ctxt, instance, dest_host="other", dest_node="other",
                            flavor={"name": "m1.small"})
    update = conductor.calls_of("instance_update")[-1]
    assert update["values"] == {"task_state": task_states.RESIZE_MIGRATED,
                                "system_metadata": {RESIZE_SOURCE_DISKS: json.dumps(record)}}
    assert handed and handed[0]["host"] == "other"


def test_confirm_resize_lets_the_source_drop_what_it_kept(
        compute: compute_manager.ComputeManager, driver: fake_driver.FakeDriver,
        make_instance: Callable[..., Instance], ctxt: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    dropped: list[str] = []
    monkeypatch.setattr(driver, "confirm_migration",
                        lambda c, inst: dropped.append(inst.uuid))
    instance = make_instance()
    compute.confirm_resize(ctxt, instance)
    assert dropped == [instance.uuid]
