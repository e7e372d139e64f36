"""ComputeManager flows against a recording conductor: build, delete, restart, power sync."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kumo import exception
from kumo.compute import manager as compute_manager
from kumo.compute import power_state, task_states, vm_states
from kumo.objects.instance import Instance
from kumo.virt.fake import driver as fake_driver

from .conftest import HOST, REQUEST_SPEC, StubConductor

Make = Callable[..., Instance]


def build(compute: compute_manager.ComputeManager, ctxt: Any, instance: Instance,
          node: str = HOST) -> None:
    compute.build_and_run_instance(ctxt, instance=instance, node=node,
                                   request_spec=REQUEST_SPEC)


def during_spawn(driver: fake_driver.FakeDriver, monkeypatch: Any,
                 change: Callable[[], Any]) -> None:
    """Make ``change`` happen while the driver spawns (after the build was taken)."""
    spawn = driver.spawn

    def spawn_and_change(*args: Any, **kwargs: Any) -> None:
        spawn(*args, **kwargs)
        change()

    monkeypatch.setattr(driver, "spawn", spawn_and_change)


def active_server(make_instance: Make, driver: fake_driver.FakeDriver, ctxt: Any,
                  **values: Any) -> Instance:
    """An ACTIVE server of this host (idle unless ``values`` say otherwise) whose guest runs."""
    instance = make_instance(**{"vm_state": vm_states.ACTIVE, "task_state": None,
                                "power_state": power_state.RUNNING, **values})
    driver.spawn(ctxt, instance, {}, [], HOST)
    return instance


# -- build ---------------------------------------------------------------------


def test_build_spawns_the_guest_and_reports_active(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any) -> None:
    instance = make_instance()
    build(compute, ctxt, instance)
    assert driver.get_info(instance) == power_state.RUNNING
    [update] = conductor.state_updates()
    assert update["instance_uuid"] == instance.uuid
    assert update["expected_task_state"] == task_states.SPAWNING
    values = update["values"]
    assert values["vm_state"] == vm_states.ACTIVE
    assert values["task_state"] is None
    assert values["power_state"] == power_state.RUNNING
    assert values["launched_at"]
    assert "reschedule_instance" not in conductor.methods()


def test_failed_spawn_is_rescheduled_with_a_fault(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any,
        flags: Callable[..., None]) -> None:
    flags(node_count=2, fail_spawn_on_nodes=[f"{HOST}-node1"])
    instance = make_instance(node=f"{HOST}-node1")
    build(compute, ctxt, instance, node=f"{HOST}-node1")
    [reschedule] = conductor.calls_of("reschedule_instance")
    assert reschedule["instance_uuid"] == instance.uuid
    assert (reschedule["host"], reschedule["node"]) == (HOST, f"{HOST}-node1")
    fault = reschedule["fault"]
    assert fault["code"] == 500
    assert "Injected failure of spawn" in fault["message"]
    assert "InstanceFaultInjected" in fault["details"]
    assert conductor.state_updates() == []
    assert driver.list_instance_uuids() == []


def test_unexpected_driver_error_is_rescheduled_too(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any,
        monkeypatch: Any) -> None:
    def broken_spawn(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(driver, "spawn", broken_spawn)
    instance = make_instance()
    build(compute, ctxt, instance)
    [reschedule] = conductor.calls_of("reschedule_instance")
    assert reschedule["fault"]["code"] == 500
    assert reschedule["fault"]["message"] == "disk full"


def test_build_of_a_server_deleted_meanwhile_destroys_the_guest(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any,
        monkeypatch: Any) -> None:
    instance = make_instance()
    during_spawn(driver, monkeypatch, lambda: setattr(
        conductor.instances[instance.uuid], "task_state", task_states.DELETING))
    build(compute, ctxt, instance)
    assert driver.list_instance_uuids() == []
    assert conductor.calls_of("instance_destroy") == [{"instance_uuid": instance.uuid}]


def test_build_of_a_server_already_gone_destroys_the_guest(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any) -> None:
    instance = make_instance()
    del conductor.instances[instance.uuid]
    build(compute, ctxt, instance)
    assert driver.list_instance_uuids() == []
    assert "reschedule_instance" not in conductor.methods()


def test_build_whose_task_changed_to_something_else_keeps_the_guest(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any,
        monkeypatch: Any) -> None:
    instance = make_instance()
    during_spawn(driver, monkeypatch, lambda: setattr(
        conductor.instances[instance.uuid], "task_state", task_states.REBOOTING))
    build(compute, ctxt, instance)
    assert driver.list_instance_uuids() == [instance.uuid]
    assert "instance_destroy" not in conductor.methods()


# -- delete --------------------------------------------------------------------


def test_terminate_destroys_the_guest_then_the_row(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any) -> None:
    instance = make_instance()
    build(compute, ctxt, instance)
    conductor.instances[instance.uuid].task_state = task_states.DELETING
    compute.terminate_instance(ctxt, instance=instance)
    assert driver.list_instance_uuids() == []
    assert conductor.calls_of("instance_destroy") == [{"instance_uuid": instance.uuid}]


def test_terminate_without_a_guest_still_deletes_the_row(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        make_instance: Make, ctxt: Any) -> None:
    instance = make_instance(task_state=task_states.DELETING)
    compute.terminate_instance(ctxt, instance=instance)
    assert conductor.calls_of("instance_destroy") == [{"instance_uuid": instance.uuid}]


def test_terminate_whose_destroy_fails_puts_the_server_in_error(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any,
        monkeypatch: Any) -> None:
    def broken_destroy(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("hypervisor gone")

    monkeypatch.setattr(driver, "destroy", broken_destroy)
    instance = make_instance(vm_state=vm_states.ACTIVE, task_state=task_states.DELETING)
    compute.terminate_instance(ctxt, instance=instance)
    [fault] = conductor.calls_of("instance_fault_create")
    assert fault["instance_uuid"] == instance.uuid
    assert "hypervisor gone" in fault["message"]
    assert fault["host"] == HOST
    [update] = conductor.calls_of("instance_update")
    assert update["values"] == {"vm_state": vm_states.ERROR, "task_state": None}
    assert update["expected_task_state"] == task_states.DELETING
    assert "instance_destroy" not in conductor.methods()


# -- init_host -----------------------------------------------------------------


def test_init_host_reports_the_nodes(compute: compute_manager.ComputeManager,
                                     conductor: StubConductor) -> None:
    compute.init_host()
    [report] = conductor.calls_of("compute_nodes_report")
    assert report["host"] == HOST
    assert [node["hypervisor_hostname"] for node in report["nodes"]] == [HOST]


def test_init_host_reschedules_a_build_without_a_guest(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        make_instance: Make) -> None:
    spawning = make_instance(task_state=task_states.SPAWNING)
    scheduling = make_instance(task_state=task_states.SCHEDULING)
    compute.init_host()
    reschedules = {call["instance_uuid"]: call
                   for call in conductor.calls_of("reschedule_instance")}
    assert set(reschedules) == {spawning.uuid, scheduling.uuid}
    fault = reschedules[spawning.uuid]["fault"]
    assert fault["message"] == "kumo-compute restarted during the build"
    assert fault["code"] == 500
    assert reschedules[spawning.uuid]["node"] == HOST
    assert reschedules[spawning.uuid]["host"] == HOST


def test_init_host_marks_a_build_with_a_running_guest_active(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any) -> None:
    instance = make_instance(task_state=task_states.SPAWNING)
    driver.spawn(ctxt, instance, {}, [], HOST)
    compute.init_host()
    [update] = conductor.calls_of("instance_update")
    assert update["values"]["vm_state"] == vm_states.ACTIVE
    assert update["expected_task_state"] == task_states.SPAWNING
    assert "reschedule_instance" not in conductor.methods()


def test_init_host_finishes_a_delete(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any) -> None:
    instance = make_instance(vm_state=vm_states.ACTIVE, task_state=task_states.DELETING)
    driver.spawn(ctxt, instance, {}, [], HOST)
    compute.init_host()
    assert driver.list_instance_uuids() == []
    assert conductor.calls_of("instance_destroy") == [{"instance_uuid": instance.uuid}]


def test_init_host_leaves_unknown_guests_and_idle_servers_alone(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any) -> None:
    active = make_instance(vm_state=vm_states.ACTIVE, task_state=None,
                           power_state=power_state.RUNNING)
    driver.spawn(ctxt, active, {}, [], HOST)
    stranger = Instance(uuid="6f1a3a53-1d2b-4c35-9b8b-5a4b0c3a2f10", display_name="x")
    driver.spawn(ctxt, stranger, {}, [], HOST)
    compute.init_host()
    assert sorted(driver.list_instance_uuids()) == sorted([active.uuid, stranger.uuid])
    assert [method for method in conductor.methods()
            if method not in ("service_get_by_host_and_binary", "compute_nodes_report")] == [
        "instance_get_all"]


def test_init_host_survives_an_absent_conductor_and_reconciles_later(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        make_instance: Make, ctxt: Any) -> None:
    instance = make_instance(task_state=task_states.SPAWNING)
    conductor.fail["instance_get_all"] = exception.ServiceUnavailable(
        service="kumo-conductor", method="instance_get_all", timeout=1)
    conductor.fail["compute_nodes_report"] = exception.ServiceUnavailable(
        service="kumo-conductor", method="compute_nodes_report", timeout=1)
    compute.init_host()
    assert "reschedule_instance" not in conductor.methods()
    conductor.fail.clear()
    compute.report_resources(ctxt)
    [reschedule] = conductor.calls_of("reschedule_instance")
    assert reschedule["instance_uuid"] == instance.uuid


# -- periodic tasks ------------------------------------------------------------


def test_periodic_spacing_comes_from_the_configuration(
        conductor: StubConductor, driver: fake_driver.FakeDriver,
        flags: Callable[..., None]) -> None:
    flags(group="compute", resource_report_interval=3.0, sync_power_state_interval=7.0)
    compute = compute_manager.ComputeManager(host=HOST, driver=driver, conductor=conductor)
    assert compute._periodic_spacing["report_resources"] == 3.0
    assert compute._periodic_spacing["sync_power_states"] == 7.0


def test_periodic_report_sends_the_nodes_with_the_service_id(
        compute: compute_manager.ComputeManager, conductor: StubConductor, ctxt: Any,
        flags: Callable[..., None]) -> None:
    flags(node_count=2)
    conductor.service_id = 17
    compute.report_resources(ctxt)
    [report] = conductor.calls_of("compute_nodes_report")
    assert report["service_id"] == 17
    assert [node["hypervisor_hostname"] for node in report["nodes"]] == [
        f"{HOST}-node0", f"{HOST}-node1"]


def test_power_sync_stops_a_server_whose_guest_shut_down(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any) -> None:
    instance = active_server(make_instance, driver, ctxt)
    driver.set_power_state(instance.uuid, power_state.SHUTDOWN)
    compute.sync_power_states(ctxt)
    [update] = conductor.calls_of("instance_update")
    assert update["values"] == {"vm_state": vm_states.STOPPED,
                                "power_state": power_state.SHUTDOWN}
    assert update["expected_task_state"] == [None]
    assert conductor.instances[instance.uuid].vm_state == vm_states.STOPPED


def test_power_sync_leaves_servers_with_a_task_alone(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any) -> None:
    instance = active_server(make_instance, driver, ctxt, task_state=task_states.REBOOTING)
    driver.set_power_state(instance.uuid, power_state.SHUTDOWN)
    compute.sync_power_states(ctxt)
    assert "instance_update" not in conductor.methods()


def test_power_sync_loses_quietly_to_a_task_that_starts_meanwhile(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any) -> None:
    instance = active_server(make_instance, driver, ctxt)
    driver.set_power_state(instance.uuid, power_state.SHUTDOWN)
    conductor.fail["instance_update"] = exception.UnexpectedTaskStateError(
        instance_uuid=instance.uuid, expected=[None], actual=task_states.POWERING_OFF)
    compute.sync_power_states(ctxt)
    assert conductor.methods().count("instance_update") == 1


def test_power_sync_records_a_paused_guest_without_changing_vm_state(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any) -> None:
    instance = active_server(make_instance, driver, ctxt)
    driver.pause(ctxt, instance)
    compute.sync_power_states(ctxt)
    [update] = conductor.calls_of("instance_update")
    assert update["values"] == {"power_state": power_state.PAUSED}


def test_power_sync_of_matching_states_updates_nothing(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any) -> None:
    active_server(make_instance, driver, ctxt)
    compute.sync_power_states(ctxt)
    assert "instance_update" not in conductor.methods()


def test_power_sync_reports_a_build_whose_active_report_was_lost(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any,
        monkeypatch: Any) -> None:
    instance = make_instance()
    during_spawn(driver, monkeypatch, lambda: conductor.fail.update(
        instance_update=exception.ServiceUnavailable(
            service="kumo-conductor", method="instance_update", timeout=1)))
    build(compute, ctxt, instance)
    assert conductor.instances[instance.uuid].vm_state == vm_states.BUILDING
    del conductor.fail["instance_update"]
    compute.sync_power_states(ctxt)
    assert conductor.instances[instance.uuid].vm_state == vm_states.ACTIVE
    assert conductor.calls_of("instance_update")[-1]["expected_task_state"] == (
        task_states.SPAWNING)


def test_power_sync_leaves_a_spawn_without_a_guest_to_its_build(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        make_instance: Make, ctxt: Any) -> None:
    make_instance()
    compute.sync_power_states(ctxt)
    assert [m for m in conductor.methods() if m != "instance_get_all"] == []
