"""Shelve/unshelve, live migration and the reclaim of soft-deleted servers, with the real
conductor and kumo-compute managers (fixtures of test_resize)."""

from __future__ import annotations

import datetime
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from kumo import exception
from kumo.compute import power_state, task_states, vm_states
from kumo.conductor import rpcapi
from kumo.conf import CONF
from tests.unit.conductor.test_resize import _server, _used, _wait
from tests.unit.conductor.test_resize import cloud as _cloud  # noqa: F401  (fixture)


@pytest.fixture
def cloud(_cloud: dict[str, Any],  # noqa: F811
          tmp_path: pathlib.Path) -> Iterator[dict[str, Any]]:
    CONF.set_override("local_store_path", str(tmp_path), group="image")
    yield _cloud
    CONF.clear_override("local_store_path", group="image")


def _settle(conductor: rpcapi.ConductorAPI, ctxt: Any, uuid: str) -> Any:
    _wait(lambda: conductor.instance_get(ctxt, uuid).task_state is None)
    return conductor.instance_get(ctxt, uuid)


def test_shelve_offloads_and_unshelve_places_the_server_again(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any]) -> None:
    uuid = _server(conductor, ctxt, cloud)
    image = conductor.image_create(ctxt, {"name": "vm-shelved", "status": "queued"})
    instance = conductor.instance_update(ctxt, uuid, {"task_state": task_states.SHELVING})

    cloud["compute"].managers["host1"].shelve_instance(ctxt, instance=instance,
                                                       image_id=image.id)

    instance = conductor.instance_get(ctxt, uuid)
    assert (instance.vm_state, instance.task_state, instance.host) == (
        vm_states.SHELVED_OFFLOADED, None, None)
    assert conductor.image_get(ctxt, image.id).status == "active"
    assert cloud["compute"].managers["host1"].driver.guest(uuid) is None
    assert _used(conductor, ctxt) == {"host1": 0, "host2": 0, "host3": 0}

    conductor.instance_update(ctxt, uuid, {"task_state": task_states.UNSHELVING})
    conductor.unshelve_instance(ctxt, instance_uuid=uuid)
    instance = _settle(conductor, ctxt, uuid)

    assert (instance.vm_state, instance.host) == (vm_states.ACTIVE, "host1")
    assert _used(conductor, ctxt) == {"host1": 1, "host2": 0, "host3": 0}
    with pytest.raises(exception.ImageNotFound):
        conductor.image_get(ctxt, image.id)


def test_unshelve_to_a_host_and_zone_limits_the_choice_and_records_the_pin(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any]) -> None:
    """2.77 / 2.91: the scheduler may pick only the named host; the zone asked for
    (None: unpinned) is what the recorded request spec keeps for the next move."""
    import json

    uuid = _server(conductor, ctxt, cloud)
    conductor.instance_update(ctxt, uuid, {
        "vm_state": vm_states.SHELVED_OFFLOADED, "task_state": task_states.UNSHELVING,
        "host": None, "node": None})

    conductor.unshelve_instance(ctxt, instance_uuid=uuid, host="host3",
                                availability_zone="nova")
    instance = _settle(conductor, ctxt, uuid)

    assert instance.host == "host3"
    asked = cloud["scheduler"].specs[-1]
    assert asked["availability_zone"] == "nova"
    assert "host3" not in asked["ignore_nodes"] and "host1" in asked["ignore_nodes"]
    recorded = json.loads(instance.system_metadata["request_spec"])
    assert recorded["availability_zone"] == "nova"
    assert "ignore_nodes" not in recorded
    assert instance.availability_zone == "nova"


def test_unshelve_without_a_host_stays_offloaded_with_a_fault(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any]) -> None:
    uuid = _server(conductor, ctxt, cloud)
    conductor.instance_update(ctxt, uuid, {
        "vm_state": vm_states.SHELVED_OFFLOADED, "task_state": task_states.UNSHELVING})
    cloud["scheduler"].error = exception.NoValidHost(reason="0 hosts")

    conductor.unshelve_instance(ctxt, instance_uuid=uuid)
    instance = _settle(conductor, ctxt, uuid)

    assert instance.vm_state == vm_states.SHELVED_OFFLOADED
    assert "0 hosts" in instance.fault.message


def test_live_migration_moves_the_running_guest_and_its_claim(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any]) -> None:
    uuid = _server(conductor, ctxt, cloud)
    conductor.instance_update(ctxt, uuid, {"task_state": task_states.MIGRATING})

    conductor.live_migrate_instance(ctxt, instance_uuid=uuid, host="host3",
                                    block_migration="auto")
    instance = _settle(conductor, ctxt, uuid)

    assert (instance.vm_state, instance.host, instance.node) == (
        vm_states.ACTIVE, "host3", "host3")
    assert cloud["scheduler"].specs[0]["ignore_nodes"] == ["host1", "host2"]
    assert cloud["compute"].managers["host3"].driver.get_info(instance) == power_state.RUNNING
    # The destination clears the task, then gives the source's claim back.
    _wait(lambda: _used(conductor, ctxt) == {"host1": 0, "host2": 0, "host3": 1}, timeout=15.0)


def test_a_failed_live_migration_rolls_back_to_the_source_with_a_fault(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    uuid = _server(conductor, ctxt, cloud)
    conductor.instance_update(ctxt, uuid, {"task_state": task_states.MIGRATING})

    def fail(*args: Any, **kwargs: Any) -> None:
        raise exception.InstanceFaultInjected(operation="spawn", node="host2")

    monkeypatch.setattr(cloud["compute"].managers["host2"].driver, "live_migration_in", fail)
    conductor.live_migrate_instance(ctxt, instance_uuid=uuid, host=None,
                                    block_migration=False)
    instance = _settle(conductor, ctxt, uuid)

    assert (instance.vm_state, instance.host) == (vm_states.ACTIVE, "host1")
    assert instance.fault.message.startswith("Live migration failed")
    assert cloud["compute"].managers["host1"].driver.guest(uuid) is not None
    assert _used(conductor, ctxt) == {"host1": 1, "host2": 0, "host3": 0}


def test_soft_deleted_servers_older_than_the_interval_are_reclaimed(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any]) -> None:
    CONF.set_override("reclaim_instance_interval", 60)
    try:
        old = _server(conductor, ctxt, cloud)
        young = _server(conductor, ctxt, cloud)
        long_ago = datetime.datetime.utcnow() - datetime.timedelta(minutes=5)
        for uuid in (old, young):
            instance = conductor.instance_update(ctxt, uuid, {
                "task_state": task_states.SOFT_DELETING,
                "deleted_at": long_ago if uuid == old else datetime.datetime.utcnow()})
            cloud["compute"].managers["host1"].soft_delete_instance(ctxt, instance=instance)
        assert conductor.instance_get(ctxt, old).vm_state == vm_states.SOFT_DELETED
        assert _used(conductor, ctxt)["host1"] == 2

        cloud["compute"].managers["host1"].reclaim_soft_deleted(ctxt)

        with pytest.raises(exception.InstanceNotFound):
            conductor.instance_get(ctxt, old)
        assert conductor.instance_get(ctxt, young).vm_state == vm_states.SOFT_DELETED
        assert _used(conductor, ctxt)["host1"] == 1
    finally:
        CONF.clear_override("reclaim_instance_interval")


def test_shelved_servers_are_offloaded_after_shelved_offload_time(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any]) -> None:
    CONF.set_override("shelved_offload_time", 60)
    try:
        uuids = [_server(conductor, ctxt, cloud) for _ in range(2)]
        compute = cloud["compute"].managers["host1"]
        for uuid in uuids:
            image = conductor.image_create(ctxt, {"name": "s", "status": "queued"})
            instance = conductor.instance_update(ctxt, uuid,
                                                 {"task_state": task_states.SHELVING})
            compute.shelve_instance(ctxt, instance=instance, image_id=image.id)
        assert conductor.instance_get(ctxt, uuids[0]).vm_state == vm_states.SHELVED
        long_ago = datetime.datetime.utcnow() - datetime.timedelta(minutes=5)
        conductor.instance_update(ctxt, uuids[0], {
            "system_metadata": {"shelved_at": long_ago.isoformat()}})

        compute.reclaim_soft_deleted(ctxt)

        assert [conductor.instance_get(ctxt, uuid).vm_state for uuid in uuids] == [
            vm_states.SHELVED_OFFLOADED, vm_states.SHELVED]
        assert _used(conductor, ctxt)["host1"] == 1
    finally:
        CONF.clear_override("shelved_offload_time")
