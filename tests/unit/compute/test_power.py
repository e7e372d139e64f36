"""kumo-compute's power actions over the fake driver and a recording conductor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kumo import context, exception
from kumo.compute import manager as compute_manager
from kumo.compute import power, power_state, task_states, vm_states
from kumo.objects.instance import Instance
from kumo.virt.fake import driver as fake_driver
from tests.unit.compute.conftest import HOST, REQUEST_SPEC, StubConductor


@pytest.fixture
def running(compute: compute_manager.ComputeManager, make_instance: Callable[..., Instance],
            ctxt: context.RequestContext) -> Instance:
    """An ACTIVE server whose guest runs on the fake driver."""
    instance = make_instance()
    compute.build_and_run_instance(ctxt, instance, HOST, REQUEST_SPEC)
    assert instance.vm_state == vm_states.ACTIVE
    return instance


CASES = [
    ("stop_instance", vm_states.ACTIVE, task_states.POWERING_OFF, vm_states.STOPPED,
     power_state.SHUTDOWN),
    ("pause_instance", vm_states.ACTIVE, task_states.PAUSING, vm_states.PAUSED,
     power_state.PAUSED),
    ("suspend_instance", vm_states.ACTIVE, task_states.SUSPENDING, vm_states.SUSPENDED,
     power_state.SUSPENDED),
]


@pytest.mark.parametrize("method, _from, task, vm_state, power", CASES)
def test_an_action_reports_the_new_state_guarded_on_its_task(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        running: Instance, ctxt: context.RequestContext, method: str, _from: str,
        task: str, vm_state: str, power: int) -> None:
    running.task_state = task
    getattr(compute, method)(ctxt, running)

    update = conductor.calls_of("instance_update")[-1]
    assert update["values"] == {"vm_state": vm_state, "task_state": None,
                                "power_state": power}
    assert update["expected_task_state"] == [task]
    assert running.vm_state == vm_state and running.task_state is None
    event = f"compute_{method}"
    assert conductor.calls_of("instance_action_event_start")[-1]["event"] == event
    finish = conductor.calls_of("instance_action_event_finish")[-1]
    assert (finish["event"], finish["result"], finish["request_id"], finish["host"]) == (
        event, "Success", "req-42", HOST)


def test_stop_start_pause_unpause_suspend_resume_round_trip(
        compute: compute_manager.ComputeManager, driver: fake_driver.FakeDriver,
        running: Instance, ctxt: context.RequestContext) -> None:
    for method, task, vm_state in (
            ("stop_instance", task_states.POWERING_OFF, vm_states.STOPPED),
            ("start_instance", task_states.POWERING_ON, vm_states.ACTIVE),
            ("pause_instance", task_states.PAUSING, vm_states.PAUSED),
            ("unpause_instance", task_states.UNPAUSING, vm_states.ACTIVE),
            ("suspend_instance", task_states.SUSPENDING, vm_states.SUSPENDED),
            ("resume_instance", task_states.RESUMING, vm_states.ACTIVE)):
        running.task_state = task
        getattr(compute, method)(ctxt, running)
        assert (running.vm_state, running.task_state) == (vm_state, None), method
    assert driver.get_info(running) == power_state.RUNNING


def test_a_failed_action_records_a_fault_and_clears_the_task(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        running: Instance, ctxt: context.RequestContext) -> None:
    running.task_state = task_states.UNPAUSING  # the guest runs: unpause is refused
    compute.unpause_instance(ctxt, running)

    [fault] = conductor.calls_of("instance_fault_create")
    assert fault["code"] == 409 and "unpause" in fault["message"]
    assert (running.vm_state, running.task_state) == (vm_states.ACTIVE, None)
    finish = conductor.calls_of("instance_action_event_finish")[-1]
    assert finish["result"] == "Error" and "Traceback" in finish["traceback"]


def test_a_reboot_that_fails_with_the_guest_down_puts_the_server_in_error(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, running: Instance,
        ctxt: context.RequestContext, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> None:
        driver.set_power_state(running.uuid, power_state.SHUTDOWN)
        raise exception.InstanceFaultInjected(operation="reboot", node=HOST)

    monkeypatch.setattr(driver, "reboot", broken)
    running.task_state = task_states.REBOOTING_HARD
    compute.reboot_instance(ctxt, running, "HARD")

    assert (running.vm_state, running.task_state) == (vm_states.ERROR, None)
    assert len(conductor.calls_of("instance_fault_create")) == 1


def test_a_reboot_reports_active_and_running(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, running: Instance,
        ctxt: context.RequestContext) -> None:
    driver.set_power_state(running.uuid, power_state.SHUTDOWN)
    running.vm_state, running.task_state = vm_states.STOPPED, task_states.REBOOTING_HARD
    compute.reboot_instance(ctxt, running, "HARD")

    assert (running.vm_state, running.task_state, running.power_state) == (
        vm_states.ACTIVE, None, power_state.RUNNING)
    assert task_states.REBOOTING_HARD in conductor.calls_of(
        "instance_update")[-1]["expected_task_state"]


def test_a_delete_during_an_action_wins(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        running: Instance, ctxt: context.RequestContext) -> None:
    running.task_state = task_states.DELETING
    compute.stop_instance(ctxt, running)
    assert (running.vm_state, running.task_state) == (vm_states.ACTIVE, task_states.DELETING)


def test_console_output_is_tailed(compute: compute_manager.ComputeManager,
                                  running: Instance, ctxt: context.RequestContext) -> None:
    running.task_state = task_states.POWERING_OFF
    compute.stop_instance(ctxt, running)
    full = compute.get_console_output(ctxt, running, None)
    assert "booted" in full and full.endswith("powered off\n")
    assert compute.get_console_output(ctxt, running, 1) == full.splitlines(keepends=True)[-1]
    assert compute.get_console_output(ctxt, running, 0) == ""
    assert compute.get_console_output(ctxt, running, -1) == full


def test_tail_counts_lines_not_separators() -> None:
    assert power.tail("a\nb\nc\n", 2) == "b\nc\n"
    assert power.tail("a\nb\nc", 2) == "b\nc"
    assert power.tail("a\n", 5) == "a\n"


@pytest.mark.parametrize("task, guest_state, vm_state", [
    (task_states.POWERING_OFF, power_state.RUNNING, vm_states.STOPPED),
    (task_states.POWERING_OFF, power_state.SHUTDOWN, vm_states.STOPPED),
    (task_states.PAUSING, power_state.PAUSED, vm_states.PAUSED),
    (task_states.REBOOTING, power_state.RUNNING, vm_states.ACTIVE),
])
def test_a_restart_finishes_an_interrupted_power_action(
        compute: compute_manager.ComputeManager, driver: fake_driver.FakeDriver,
        running: Instance, ctxt: context.RequestContext, task: str, guest_state: int,
        vm_state: str) -> None:
    driver.set_power_state(running.uuid, guest_state)
    running.task_state = task
    compute.reconcile(ctxt)
    assert (running.vm_state, running.task_state) == (vm_state, None)


def test_a_restart_fails_a_power_action_whose_guest_is_gone(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        make_instance: Callable[..., Instance], ctxt: context.RequestContext) -> None:
    instance = make_instance(vm_state=vm_states.ACTIVE, task_state=task_states.POWERING_OFF)
    compute.reconcile(ctxt)
    assert (instance.vm_state, instance.task_state) == (vm_states.ACTIVE, None)
    assert len(conductor.calls_of("instance_fault_create")) == 1
