"""The power-state sync through conductor 1.12's plain rows (``instance_power_states``).

The stub conductor answers with the rows the database query gives (the same
filter: idle servers not building, in ERROR or deleted, and spawning ones);
the scenarios of test_manager's power sync (which go the pre-1.12 way) must
end the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kumo.compute import manager as compute_manager
from kumo.compute import power_state, power_sync, task_states, vm_states
from kumo.objects.instance import Instance
from kumo.virt.fake import driver as fake_driver

from .conftest import HOST, StubConductor

Make = Callable[..., Instance]


class RowConductor(StubConductor):
    """A 1.12 conductor: instance_power_states answers from ``instances``."""

    def instance_power_states(self, ctxt: Any, host: str) -> list[list[Any]]:
        self._record("instance_power_states", host=host)
        return [[i.uuid, i.vm_state, i.task_state, i.power_state]
                for i in self.instances.values()
                if i.host == host and not i.deleted
                and (i.task_state == task_states.SPAWNING
                     or (i.task_state is None and i.vm_state not in (
                         vm_states.BUILDING, vm_states.ERROR, vm_states.DELETED)))]


@pytest.fixture
def conductor() -> StubConductor:
    return RowConductor()


def active_server(make_instance: Make, driver: fake_driver.FakeDriver, ctxt: Any,
                  **values: Any) -> Instance:
    instance = make_instance(**{"vm_state": vm_states.ACTIVE, "task_state": None,
                                "power_state": power_state.RUNNING, **values})
    driver.spawn(ctxt, instance, {}, [], HOST)
    return instance


def test_sync_reads_rows_not_instances(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any) -> None:
    for _ in range(3):
        active_server(make_instance, driver, ctxt)
    compute.sync_power_states(ctxt)
    assert conductor.methods() == ["instance_power_states"]


def test_sync_stops_a_server_whose_guest_shut_down(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any) -> None:
    instance = active_server(make_instance, driver, ctxt)
    quiet = active_server(make_instance, driver, ctxt)
    paused = active_server(make_instance, driver, ctxt)
    busy = active_server(make_instance, driver, ctxt, task_state=task_states.REBOOTING)
    driver.set_power_state(instance.uuid, power_state.SHUTDOWN)
    driver.set_power_state(busy.uuid, power_state.SHUTDOWN)
    driver.pause(ctxt, paused)
    compute.sync_power_states(ctxt)
    updates = {update["instance_uuid"]: update for update in conductor.calls_of(
        "instance_update")}
    assert set(updates) == {instance.uuid, paused.uuid}
    assert updates[instance.uuid]["values"] == {"vm_state": vm_states.STOPPED,
                                                "power_state": power_state.SHUTDOWN}
    assert updates[instance.uuid]["expected_task_state"] == [None]
    assert updates[paused.uuid]["values"] == {"power_state": power_state.PAUSED}
    assert conductor.instances[quiet.uuid].vm_state == vm_states.ACTIVE


def test_sync_reads_a_lost_build_whole_and_reports_it(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any) -> None:
    instance = make_instance()  # spawning on HOST
    driver.spawn(ctxt, instance, {}, [], HOST)
    compute.sync_power_states(ctxt)
    assert conductor.calls_of("instance_get")[0]["instance_uuid"] == instance.uuid
    assert conductor.instances[instance.uuid].vm_state == vm_states.ACTIVE


def test_sync_skips_a_build_running_here_without_reading_it(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        make_instance: Make, ctxt: Any) -> None:
    instance = make_instance()
    compute._building.add(instance.uuid)
    compute.sync_power_states(ctxt)
    assert conductor.methods() == ["instance_power_states"]


def test_a_conductor_older_than_1_12_is_asked_for_instances(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any,
        monkeypatch: Any) -> None:
    monkeypatch.setattr(conductor, "instance_power_states", lambda ctxt, host: None)
    instance = active_server(make_instance, driver, ctxt)
    driver.set_power_state(instance.uuid, power_state.SHUTDOWN)
    compute.sync_power_states(ctxt)
    assert "instance_get_all" in conductor.methods()
    assert conductor.instances[instance.uuid].vm_state == vm_states.STOPPED


def test_a_row_stands_in_for_a_live_instance() -> None:
    row = power_sync.PowerRow("u", vm_states.ACTIVE, None, power_state.RUNNING)
    assert row.obj_attr_is_set("deleted") and not row.deleted
    assert (row.uuid, row.power_state) == ("u", power_state.RUNNING)
