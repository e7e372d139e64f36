"""One rule for recording a fault on an error path: log, retry once, never raise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kumo import exception
from kumo.compute import faults, power_state, task_states, vm_states
from kumo.compute import manager as compute_manager
from kumo.objects.instance import Instance
from kumo.virt.fake import driver as fake_driver

from .conftest import StubConductor

Make = Callable[..., Instance]
FAULT = {"code": 500, "message": "boom", "details": "trace"}


def failing(conductor: StubConductor, monkeypatch: Any, *errors: BaseException) -> None:
    """instance_fault_create raises ``errors`` one per call, then records as usual."""
    queue = list(errors)
    record = conductor.instance_fault_create

    def fault_create(*args: Any, **kwargs: Any) -> Any:
        result = record(*args, **kwargs)
        if queue:
            raise queue.pop(0)
        return result

    monkeypatch.setattr(conductor, "instance_fault_create", fault_create)


def _unavailable() -> exception.ServiceUnavailable:
    return exception.ServiceUnavailable(service="kumo-conductor",
                                        method="instance_fault_create", timeout=20)


def test_record_writes_the_fault(conductor: StubConductor, ctxt: Any) -> None:
    assert faults.record(conductor, ctxt, "u1", FAULT, "h1")
    assert conductor.calls_of("instance_fault_create") == [
        {"instance_uuid": "u1", "code": 500, "message": "boom", "details": "trace",
         "host": "h1"}]


@pytest.mark.parametrize("failures, calls", [(1, 2), (2, 2)])
def test_record_tries_once_more_and_never_raises(
        conductor: StubConductor, ctxt: Any, monkeypatch: Any, failures: int,
        calls: int) -> None:
    failing(conductor, monkeypatch, *[_unavailable() for _ in range(failures)])
    assert faults.record(conductor, ctxt, "u1", FAULT, "h1")
    assert len(conductor.calls_of("instance_fault_create")) == calls


def test_record_says_when_the_server_is_gone(
        conductor: StubConductor, ctxt: Any, monkeypatch: Any) -> None:
    failing(conductor, monkeypatch, exception.InstanceNotFound(instance_id="u1"))
    assert not faults.record(conductor, ctxt, "u1", FAULT, "h1")
    assert len(conductor.calls_of("instance_fault_create")) == 1


def test_a_failed_delete_reaches_error_although_its_fault_could_not_be_recorded(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any,
        monkeypatch: Any) -> None:
    def broken_destroy(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("hypervisor gone")

    monkeypatch.setattr(driver, "destroy", broken_destroy)
    failing(conductor, monkeypatch, _unavailable(), _unavailable())
    instance = make_instance(vm_state=vm_states.ACTIVE, task_state=task_states.DELETING)
    compute.terminate_instance(ctxt, instance=instance)
    assert len(conductor.calls_of("instance_fault_create")) == 2
    assert conductor.instances[instance.uuid].vm_state == vm_states.ERROR
    assert conductor.instances[instance.uuid].task_state is None


def test_a_failed_power_action_loses_its_task_although_its_fault_could_not_be_recorded(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any,
        monkeypatch: Any) -> None:
    instance = make_instance(vm_state=vm_states.ACTIVE, task_state=task_states.PAUSING,
                             power_state=power_state.RUNNING)
    driver.spawn(ctxt, instance, {}, [], instance.node)

    def broken_pause(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("pause refused")

    monkeypatch.setattr(driver, "pause", broken_pause)
    failing(conductor, monkeypatch, _unavailable(), _unavailable())
    compute.pause_instance(ctxt, instance=instance)
    assert len(conductor.calls_of("instance_fault_create")) == 2
    assert conductor.instances[instance.uuid].task_state is None


def test_no_error_is_set_on_a_server_that_is_gone(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any,
        monkeypatch: Any) -> None:
    def broken_destroy(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("hypervisor gone")

    monkeypatch.setattr(driver, "destroy", broken_destroy)
    failing(conductor, monkeypatch, exception.InstanceNotFound(instance_id="x"))
    instance = make_instance(vm_state=vm_states.ACTIVE, task_state=task_states.DELETING)
    compute.terminate_instance(ctxt, instance=instance)
    assert conductor.state_updates() == []
