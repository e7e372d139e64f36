"""kumo-compute's live migration: the guest is carried (driver handoff), not rebooted,
and the source's copy is dropped once the destination runs it, or restored on a
rollback; a server deleted after a resize has its source drop the kept disks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kumo import exception
from kumo.compute import manager as compute_manager
from kumo.compute import power_state, task_states, vm_states
from kumo.compute.system_metadata import OLD_HOST
from kumo.objects.instance import Instance
from kumo.virt.fake import driver as fake_driver
from tests.unit.compute.conftest import HOST, StubConductor

NODES = (f"{HOST}-node0", f"{HOST}-node1")


class LoopbackCompute:
    """The compute RPC client, delivering each cast to ``compute`` at once (one host
    plays source and destination) and recording it."""

    def __init__(self, compute: compute_manager.ComputeManager) -> None:
        self.compute = compute
        self.casts: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, method: str) -> Callable[..., None]:
        def cast(ctxt: Any, **kwargs: Any) -> None:
            self.casts.append((method, dict(kwargs)))
            kwargs.pop("host")
            getattr(self.compute, method)(ctxt, **kwargs)
        return cast


@pytest.fixture
def two_nodes(flags: Callable[..., None]) -> None:
    flags(node_count=2)


@pytest.fixture
def loopback(compute: compute_manager.ComputeManager, conductor: StubConductor,
             monkeypatch: pytest.MonkeyPatch) -> LoopbackCompute:
    client = LoopbackCompute(compute)
    monkeypatch.setattr(compute, "_compute_rpc", lambda: client)
    for method in ("compute_node_release_migration", "compute_node_confirm_migration"):
        monkeypatch.setattr(conductor, method, lambda ctxt, instance_uuid: None,
                            raising=False)
    return client


def _migrating(make_instance: Callable[..., Instance], driver: fake_driver.FakeDriver,
               ctxt: Any) -> Instance:
    instance = make_instance(vm_state=vm_states.ACTIVE, task_state=task_states.MIGRATING,
                             node=NODES[0])
    driver.spawn(ctxt, instance, {"id": "img-1"}, [], NODES[0])
    return instance


@pytest.mark.usefixtures("two_nodes")
def test_the_guest_is_carried_with_its_state_and_the_source_drops_its_copy(
        compute: compute_manager.ComputeManager, driver: fake_driver.FakeDriver,
        make_instance: Callable[..., Instance], ctxt: Any, loopback: LoopbackCompute,
        monkeypatch: pytest.MonkeyPatch) -> None:
    instance = _migrating(make_instance, driver, ctxt)
    driver.pause(ctxt, instance)
    dropped: list[str] = []
    monkeypatch.setattr(driver, "confirm_migration", lambda c, inst: dropped.append(inst.uuid))

    compute.live_migrate_instance(ctxt, instance, dest_host=HOST, dest_node=NODES[1])

    guest = driver.guest(instance.uuid)
    assert guest is not None and guest.node == NODES[1]
    # The same guest: still paused, its console history kept, no new boot.
    assert guest.power_state == power_state.PAUSED
    console = driver.get_console_output(ctxt, instance)
    assert console.count("booted") == 1 and f"migrated to {NODES[1]}" in console
    assert (instance.node, instance.task_state, instance.power_state) == (
        NODES[1], None, power_state.PAUSED)
    finish = dict(loopback.casts)["finish_live_migration"]
    assert finish["handoff"]["power"] == power_state.PAUSED
    assert dropped == [instance.uuid]  # cleanup_move_source on the source


@pytest.mark.usefixtures("two_nodes")
def test_a_failed_destination_rolls_back_to_the_same_guest_with_a_fault(
        compute: compute_manager.ComputeManager, driver: fake_driver.FakeDriver,
        make_instance: Callable[..., Instance], ctxt: Any, loopback: LoopbackCompute,
        conductor: StubConductor, flags: Callable[..., None]) -> None:
    instance = _migrating(make_instance, driver, ctxt)
    flags(node_count=2, fail_spawn_on_nodes=[NODES[1]])

    compute.live_migrate_instance(ctxt, instance, dest_host=HOST, dest_node=NODES[1])

    guest = driver.guest(instance.uuid)
    assert guest is not None and guest.node == NODES[0]
    console = driver.get_console_output(ctxt, instance)
    assert console.count("booted") == 1 and f"rolled back to {NODES[0]}" in console
    assert (instance.vm_state, instance.task_state, instance.node) == (
        vm_states.ACTIVE, None, NODES[0])
    assert "Live migration failed" in conductor.calls_of("instance_fault_create")[0][
        "message"]
    assert [method for method, _ in loopback.casts] == [
        "finish_live_migration", "rollback_live_migration"]


def test_a_source_that_cannot_stop_the_guest_keeps_it_running(
        compute: compute_manager.ComputeManager, driver: fake_driver.FakeDriver,
        make_instance: Callable[..., Instance], ctxt: Any, loopback: LoopbackCompute,
        conductor: StubConductor) -> None:
    instance = make_instance(vm_state=vm_states.ACTIVE, task_state=task_states.MIGRATING)

    compute.live_migrate_instance(ctxt, instance, dest_host="other", dest_node="other")

    assert loopback.casts == []
    assert instance.task_state is None
    assert "Live migration failed" in conductor.calls_of("instance_fault_create")[0][
        "message"]


def test_a_handoff_without_state_starts_the_guest_afresh(
        driver: fake_driver.FakeDriver, make_instance: Callable[..., Instance],
        ctxt: Any) -> None:
    """A source driver that keeps nothing (the interface's default) still works."""
    instance = make_instance(vm_state=vm_states.ACTIVE, image_ref="img-1")
    assert driver.live_migration_in(ctxt, instance, {"power": power_state.PAUSED},
                                    HOST) == power_state.PAUSED
    assert "from image img-1" in driver.get_console_output(ctxt, instance)


def test_deleting_a_resized_server_has_its_source_drop_the_kept_disks(
        compute: compute_manager.ComputeManager, make_instance: Callable[..., Instance],
        ctxt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    casts: list[tuple[str, str]] = []

    class Compute:
        def cleanup_move_source(self, ctxt: Any, instance: Any, host: str) -> None:
            casts.append((instance.uuid, host))

    monkeypatch.setattr(compute, "_compute_rpc", lambda: Compute())
    resized = make_instance(vm_state=vm_states.RESIZED, task_state=task_states.DELETING,
                            system_metadata={OLD_HOST: "cmp0"})
    plain = make_instance(vm_state=vm_states.ACTIVE, task_state=task_states.DELETING)
    same_host = make_instance(vm_state=vm_states.RESIZED, task_state=task_states.DELETING,
                              system_metadata={OLD_HOST: HOST})

    for instance in (resized, plain, same_host):
        compute.terminate_instance(ctxt, instance)

    assert casts == [(resized.uuid, "cmp0")]


def test_a_resize_source_whose_server_went_away_drops_the_kept_disks(
        compute: compute_manager.ComputeManager, driver: fake_driver.FakeDriver,
        make_instance: Callable[..., Instance], ctxt: Any, conductor: StubConductor,
        monkeypatch: pytest.MonkeyPatch) -> None:
    dropped: list[str] = []
    monkeypatch.setattr(driver, "confirm_migration", lambda c, inst: dropped.append(inst.uuid))
    monkeypatch.setattr(conductor, "compute_node_release_migration",
                        lambda ctxt, instance_uuid: None, raising=False)
    instance = make_instance(task_state=task_states.RESIZE_MIGRATING)
    conductor.fail["instance_update"] = exception.InstanceNotFound(instance_id=instance.uuid)

    compute.resize_instance(ctxt, instance, dest_host="other", dest_node="other",
                            flavor={"name": "m1.small"})

    assert dropped == [instance.uuid]


def test_fake_handoff_is_json(driver: fake_driver.FakeDriver,
                              make_instance: Callable[..., Instance], ctxt: Any) -> None:
    import json

    instance = make_instance(vm_state=vm_states.ACTIVE)
    driver.spawn(ctxt, instance, {"id": "img-1"}, [{"id": "port-1"}], HOST)
    handoff = driver.live_migration_out(ctxt, instance, "other")
    assert json.loads(json.dumps(handoff)) == handoff
    assert driver.guest(instance.uuid) is None
    assert driver.live_migration_in(ctxt, instance, handoff, HOST) == power_state.RUNNING
    guest = driver.guest(instance.uuid)
    assert guest is not None and guest.network_info == [{"id": "port-1"}]
