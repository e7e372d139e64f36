"""A build request that comes twice, or after the build moved on, spawns no second guest."""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Callable
from typing import Any

from oslo_utils import timeutils

from kumo import exception
from kumo.compute import build_guard, task_states, vm_states
from kumo.compute import manager as compute_manager
from kumo.objects.instance import Instance
from kumo.virt.fake import driver as fake_driver

from .conftest import HOST, REQUEST_SPEC, StubConductor

Make = Callable[..., Instance]


def build(compute: compute_manager.ComputeManager, ctxt: Any, instance: Instance,
          node: str = HOST) -> None:
    compute.build_and_run_instance(ctxt, instance=instance, node=node,
                                   request_spec=REQUEST_SPEC)


def spawns(driver: fake_driver.FakeDriver, monkeypatch: Any) -> list[str]:
    """The uuids the driver is asked to spawn, in order."""
    spawned: list[str] = []
    spawn = driver.spawn

    def counting_spawn(context: Any, instance: Any, *args: Any, **kwargs: Any) -> None:
        spawned.append(instance.uuid)
        spawn(context, instance, *args, **kwargs)

    monkeypatch.setattr(driver, "spawn", counting_spawn)
    return spawned


def attempts(*nodes: str) -> dict[str, str]:
    return {"attempts": json.dumps([{"host": HOST, "node": node} for node in nodes])}


def test_the_same_request_delivered_twice_spawns_once(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any,
        monkeypatch: Any) -> None:
    spawned = spawns(driver, monkeypatch)
    instance = make_instance()
    cast = instance.obj_clone()
    # The first spawn fails: its reschedule is still on the way when the copy comes.
    during = driver.spawn

    def failing_spawn(*args: Any, **kwargs: Any) -> None:
        during(*args, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(driver, "spawn", failing_spawn)
    build(compute, ctxt, instance)
    build(compute, ctxt, cast)
    assert spawned == [instance.uuid]
    assert len(conductor.calls_of("reschedule_instance")) == 1
    taken = conductor.instances[instance.uuid].system_metadata[build_guard.BUILD_TAKEN]
    assert taken == f"{HOST}/{HOST}#0"


def test_a_duplicate_that_comes_after_the_build_ended_active_spawns_nothing(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any,
        monkeypatch: Any) -> None:
    spawned = spawns(driver, monkeypatch)
    instance = make_instance()
    build(compute, ctxt, instance.obj_clone())
    assert conductor.instances[instance.uuid].vm_state == vm_states.ACTIVE
    build(compute, ctxt, instance.obj_clone())
    assert spawned == [instance.uuid]
    assert len(conductor.state_updates()) == 1


def test_a_request_for_an_outdated_attempt_or_another_node_spawns_nothing(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any,
        monkeypatch: Any) -> None:
    spawned = spawns(driver, monkeypatch)
    # The conductor rescheduled to the host's second node: attempt 2 on node1.
    instance = make_instance(node=f"{HOST}-node1",
                             system_metadata=attempts(HOST, f"{HOST}-node1"))
    old = instance.obj_clone()
    old.system_metadata = attempts(HOST)
    build(compute, ctxt, old, node=HOST)
    old.node = f"{HOST}-node1"
    build(compute, ctxt, old, node=f"{HOST}-node1")
    assert spawned == []
    assert conductor.state_updates() == []
    assert "reschedule_instance" not in conductor.methods()


def test_a_request_for_a_server_no_longer_spawning_spawns_nothing(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any,
        monkeypatch: Any) -> None:
    spawned = spawns(driver, monkeypatch)
    deleting = make_instance(task_state=task_states.DELETING)
    errored = make_instance(vm_state=vm_states.ERROR, task_state=None)
    gone = make_instance()
    del conductor.instances[gone.uuid]
    for instance in (deleting, errored, gone):
        build(compute, ctxt, instance)
    assert spawned == []
    assert "reschedule_instance" not in conductor.methods()


def test_two_copies_at_once_spawn_one_guest(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any,
        monkeypatch: Any) -> None:
    spawned = spawns(driver, monkeypatch)
    instance = make_instance()
    threads = [threading.Thread(target=build, args=(compute, ctxt, instance.obj_clone()))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert spawned == [instance.uuid]
    assert conductor.instances[instance.uuid].vm_state == vm_states.ACTIVE


def test_a_copy_waiting_on_a_build_that_runs_long_is_dropped(
        compute: compute_manager.ComputeManager, make_instance: Make) -> None:
    uuid = make_instance().uuid
    compute._building.add(uuid)
    assert not build_guard.wait_turn(compute._building_lock, compute._building, uuid,
                                     timeout=0.2)
    compute._building.discard(uuid)
    assert build_guard.wait_turn(compute._building_lock, compute._building, uuid,
                                 timeout=0.2)
    assert compute._is_building_here(uuid)


def test_a_conductor_that_does_not_answer_fails_the_build_with_a_fault(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any,
        monkeypatch: Any) -> None:
    spawned = spawns(driver, monkeypatch)
    instance = make_instance()
    conductor.fail["instance_get"] = exception.ServiceUnavailable(
        service="kumo-conductor", method="instance_get", timeout=20)
    build(compute, ctxt, instance)
    assert spawned == []
    [reschedule] = conductor.calls_of("reschedule_instance")
    assert "could not start the build" in reschedule["fault"]["message"]
    assert not compute._is_building_here(instance.uuid)


# -- a build whose cast (or reschedule) was lost ---------------------------------------


def _idle(seconds: float) -> dict[str, Any]:
    moment = timeutils.utcnow() - datetime.timedelta(seconds=seconds)
    return {"created_at": moment, "updated_at": moment}


def test_power_sync_hands_a_lost_build_back_and_its_late_cast_spawns_nothing(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        driver: fake_driver.FakeDriver, make_instance: Make, ctxt: Any,
        monkeypatch: Any, flags: Callable[..., None]) -> None:
    flags(group="compute", lost_build_timeout=30)
    spawned = spawns(driver, monkeypatch)
    instance = make_instance(**_idle(60))
    cast = instance.obj_clone()
    compute.sync_power_states(ctxt)
    [reschedule] = conductor.calls_of("reschedule_instance")
    assert "was lost (no progress for 30 s)" in reschedule["fault"]["message"]
    assert "never started here" in reschedule["fault"]["details"]
    build(compute, ctxt, cast)
    assert spawned == []
    assert not compute._is_building_here(instance.uuid)


def test_a_lost_build_whose_spawn_failed_here_is_handed_back_again(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        make_instance: Make, ctxt: Any, flags: Callable[..., None]) -> None:
    flags(group="compute", lost_build_timeout=30)
    instance = make_instance(**_idle(60), system_metadata={
        build_guard.BUILD_TAKEN: f"{HOST}/{HOST}#0"})
    compute.sync_power_states(ctxt)
    [reschedule] = conductor.calls_of("reschedule_instance")
    assert reschedule["instance_uuid"] == instance.uuid
    assert "started here" in reschedule["fault"]["details"]
    assert conductor.calls_of("instance_update") == []


def test_a_build_is_not_lost_before_the_timeout_nor_while_it_runs_here(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        make_instance: Make, ctxt: Any, flags: Callable[..., None]) -> None:
    flags(group="compute", lost_build_timeout=30)
    make_instance(**_idle(5))
    running = make_instance(**_idle(60))
    compute._building.add(running.uuid)
    compute.sync_power_states(ctxt)
    flags(group="compute", lost_build_timeout=0)
    make_instance(**_idle(600))
    compute.sync_power_states(ctxt)
    assert "reschedule_instance" not in conductor.methods()


def test_a_build_waiting_on_the_conductor_to_record_its_event_is_not_lost(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        make_instance: Make, ctxt: Any, monkeypatch: Any,
        flags: Callable[..., None]) -> None:
    flags(group="compute", lost_build_timeout=30)
    instance = make_instance(**_idle(60))
    entered, release = threading.Event(), threading.Event()

    def slow_event_start(*args: Any, **kwargs: Any) -> None:
        entered.set()
        release.wait(10)

    monkeypatch.setattr(conductor, "instance_action_event_start", slow_event_start)
    thread = threading.Thread(target=build, args=(compute, ctxt, instance.obj_clone()))
    thread.start()
    try:
        assert entered.wait(10)
        compute.sync_power_states(ctxt)
        assert "reschedule_instance" not in conductor.methods()
    finally:
        release.set()
        thread.join(10)
    assert conductor.instances[instance.uuid].vm_state == vm_states.ACTIVE
