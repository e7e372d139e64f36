"""Servers whose task nobody runs any more: the conductor's reconciliation, kumo-compute's
expiry of stuck tasks and auto-confirmed resizes, and the move actions' events.

Real conductor (fake bus, SQLite) and kumo-compute managers with the fake driver; the
scheduler is the claiming stand-in of test_resize.
"""
# The ``cloud`` fixture comes from test_resize; the tests' parameters name it again.
# ruff: noqa: F811

from __future__ import annotations

import contextlib
import datetime
import time
from collections.abc import Iterator
from typing import Any

import pytest
from oslo_utils import timeutils

from kumo import exception
from kumo.compute import expiry, power_state, task_states, vm_states
from kumo.conductor import rpcapi
from kumo.conductor.tasks import reconcile
from kumo.conf import CONF
from kumo.db import api as db
from kumo.db.clock import utcnow

from .test_resize import LARGE, SMALL, _resize, _server, _used, _wait, cloud  # noqa: F401

LATER = datetime.timedelta(seconds=3600)


def _reconcile(now: datetime.datetime | None = None, **kwargs: Any) -> dict[str, int]:
    from kumo import context

    return reconcile.reconcile(context.get_admin_context(), now=now or utcnow() + LATER,
                               **kwargs)


def _building(conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any]) -> str:
    """A server being scheduled whose node the scheduler already claimed."""
    instance = conductor.instance_create(ctxt, [{
        "project_id": "p1", "user_id": "u1", "display_name": "vm", "flavor": SMALL,
        "vcpus": 1, "memory_mb": 512, "root_gb": 1, "image_ref": "img",
        "vm_state": vm_states.BUILDING, "task_state": task_states.SCHEDULING}])[0]
    conductor.compute_node_claim(ctxt, cloud["nodes"][0].uuid, instance.uuid,
                                 {"vcpus": 1, "memory_mb": 512, "disk_gb": 1},
                                 {"vcpus": 4, "memory_mb": 4096, "disk_gb": 100})
    return instance.uuid


@contextlib.contextmanager
def _clock_ahead(monkeypatch: pytest.MonkeyPatch, seconds: float) -> Iterator[None]:
    """kumo-compute's clock (oslo.utils') ``seconds`` ahead within the block."""
    ahead = timeutils.utcnow() + datetime.timedelta(seconds=seconds)
    with monkeypatch.context() as patch:
        patch.setattr(timeutils, "utcnow", lambda with_timezone=False: ahead)
        yield


def _compute_service(host: str, last_seen_up: datetime.datetime) -> None:
    db.service_create({"host": host, "binary": "kumo-compute", "topic": "compute",
                       "last_seen_up": last_seen_up})


# --- the conductor's reconciliation -------------------------------------------------------


def test_a_build_left_in_scheduling_goes_to_error_with_a_fault_and_its_claim_back(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any]) -> None:
    uuid = _building(conductor, ctxt, cloud)
    assert _used(conductor, ctxt)["host1"] == 1

    assert _reconcile() == {reconcile.FAILED: 1}

    instance = conductor.instance_get(ctxt, uuid)
    assert (instance.vm_state, instance.task_state) == (vm_states.ERROR, None)
    assert "kumo-conductor stopped while the server was scheduled" in instance.fault.message
    assert _used(conductor, ctxt)["host1"] == 0


def test_rows_younger_than_the_grace_period_or_in_this_conductors_pool_are_left_alone(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any]) -> None:
    first = _building(conductor, ctxt, cloud)
    second = _building(conductor, ctxt, cloud)

    assert _reconcile(now=utcnow()) == {}
    assert _reconcile(working_on=lambda uuid: uuid == first) == {reconcile.FAILED: 1}

    assert conductor.instance_get(ctxt, first).task_state == task_states.SCHEDULING
    assert conductor.instance_get(ctxt, second).vm_state == vm_states.ERROR


def test_a_live_task_that_moved_on_meanwhile_wins_the_race(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any]) -> None:
    uuid = _building(conductor, ctxt, cloud)
    stale = dict(conductor.instance_get(ctxt, uuid).system_metadata)
    # The live conductor placed it after the pass read the row.
    conductor.instance_update(ctxt, uuid, {"task_state": task_states.SPAWNING,
                                           "host": "host1", "node": "host1"})

    outcome = reconcile.reconcile_one(
        None, {"uuid": uuid, "task_state": task_states.SCHEDULING,
               "system_metadata": stale}, {}, utcnow())

    assert outcome == reconcile.SKIPPED
    instance = conductor.instance_get(ctxt, uuid)
    assert (instance.vm_state, instance.task_state) == (vm_states.BUILDING,
                                                        task_states.SPAWNING)
    assert _used(conductor, ctxt)["host1"] == 1


def test_a_resize_left_in_resize_prep_is_given_up_and_the_server_stays_as_it_was(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any]) -> None:
    uuid = _server(conductor, ctxt, cloud)
    conductor.instance_update(ctxt, uuid, {"task_state": task_states.RESIZE_PREP})

    assert _reconcile() == {reconcile.ABORTED: 1}

    instance = conductor.instance_get(ctxt, uuid)
    assert (instance.vm_state, instance.task_state, instance.host) == (
        vm_states.ACTIVE, None, "host1")
    assert "resize or migration" in instance.fault.message


def test_a_confirmation_left_in_resize_confirming_is_done_again(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any]) -> None:
    uuid = _server(conductor, ctxt, cloud)
    _resize(conductor, ctxt, uuid, LARGE)
    conductor.instance_update(ctxt, uuid, {"task_state": task_states.RESIZE_CONFIRMING})

    assert _reconcile() == {reconcile.REDRIVEN: 1}

    instance = conductor.instance_get(ctxt, uuid)
    assert (instance.vm_state, instance.task_state) == (vm_states.ACTIVE, None)
    assert _used(conductor, ctxt) == {"host1": 0, "host2": 2, "host3": 0}


def test_an_offloaded_server_left_unshelving_is_scheduled_again(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any]) -> None:
    uuid = _server(conductor, ctxt, cloud)
    cloud["compute"].managers["host1"].driver.destroy(ctxt, conductor.instance_get(ctxt, uuid))
    conductor.compute_node_release(ctxt, cloud["nodes"][0].uuid, uuid)
    conductor.instance_update(ctxt, uuid, {
        "vm_state": vm_states.SHELVED_OFFLOADED, "task_state": task_states.UNSHELVING,
        "host": None, "node": None, "power_state": power_state.NOSTATE})

    assert _reconcile() == {reconcile.REDRIVEN: 1}

    instance = conductor.instance_get(ctxt, uuid)
    assert (instance.vm_state, instance.task_state, instance.host) == (
        vm_states.ACTIVE, None, "host1")


@pytest.mark.parametrize(("task", "vm_state", "outcome"), [
    (task_states.SPAWNING, vm_states.ERROR, reconcile.FAILED),
    (task_states.RESIZE_MIGRATED, vm_states.ERROR, reconcile.FAILED),
    (task_states.POWERING_OFF, vm_states.ACTIVE, reconcile.ABORTED),
])
def test_a_task_on_a_host_down_too_long_is_given_up_with_a_fault(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any], task: str,
        vm_state: str, outcome: str) -> None:
    uuid = _server(conductor, ctxt, cloud)
    conductor.instance_update(ctxt, uuid, {"task_state": task})
    _compute_service("host1", utcnow())

    # Up now; down for the whole timeout an hour later.
    assert _reconcile(now=utcnow() + datetime.timedelta(seconds=200)) == {
        reconcile.SKIPPED: 1}
    assert _reconcile() == {outcome: 1}

    instance = conductor.instance_get(ctxt, uuid)
    assert (instance.vm_state, instance.task_state) == (vm_state, None)
    assert "kumo-compute on host1 has been down" in instance.fault.message


def test_a_delete_on_a_host_down_too_long_is_finished_without_it(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any]) -> None:
    uuid = _server(conductor, ctxt, cloud)
    conductor.instance_update(ctxt, uuid, {"task_state": task_states.DELETING})
    _compute_service("host1", utcnow())

    assert _reconcile() == {reconcile.DELETED: 1}

    with pytest.raises(exception.InstanceNotFound):
        conductor.instance_get(ctxt, uuid)
    assert _used(conductor, ctxt)["host1"] == 0


def test_reconcile_instances_over_rpc_runs_one_pass(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any]) -> None:
    _building(conductor, ctxt, cloud)
    CONF.set_override("reconcile_grace_period", 0, group="conductor")
    try:
        time.sleep(0.01)
        assert conductor.reconcile_instances(ctxt) == {reconcile.FAILED: 1}
    finally:
        CONF.clear_override("reconcile_grace_period", group="conductor")


# --- kumo-compute: auto-confirm, stuck tasks, events ----------------------------------------


def test_a_resize_waiting_longer_than_the_window_is_confirmed_by_its_host(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    uuid = _server(conductor, ctxt, cloud)
    _resize(conductor, ctxt, uuid, LARGE)
    destination = cloud["compute"].managers["host2"]
    CONF.set_override("resize_confirm_window", 600)
    try:
        assert expiry.confirm_resizes(destination, ctxt) == 0
        with _clock_ahead(monkeypatch, 601):
            assert expiry.confirm_resizes(destination, ctxt) == 1
    finally:
        CONF.clear_override("resize_confirm_window")

    _wait(lambda: conductor.instance_get(ctxt, uuid).vm_state == vm_states.ACTIVE)
    assert conductor.instance_get(ctxt, uuid).task_state is None
    assert _used(conductor, ctxt) == {"host1": 0, "host2": 2, "host3": 0}
    action, = [a for a in conductor.instance_action_get_all(ctxt, uuid)
               if a["action"] == "confirmResize"]

    def events() -> list[tuple[str, str]]:
        found = conductor.instance_action_get_by_request_id(ctxt, uuid, action["request_id"])
        return sorted((e["event"], e["result"]) for e in found["events"])

    # The source host's step (it drops the disks kept for a revert) comes by a cast.
    _wait(lambda: len(events()) == 2)
    assert events() == [("compute_confirm_resize", "Success"),
                        ("conductor_confirm_resize", "Success")]


def test_a_build_whose_cast_was_lost_is_handed_back_after_the_task_timeout(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    uuid = _building(conductor, ctxt, cloud)
    conductor.instance_update(ctxt, uuid, {"task_state": task_states.SPAWNING,
                                           "host": "host1", "node": "host1"})
    compute = cloud["compute"].managers["host1"]
    CONF.set_override("task_timeout", 600, group="compute")
    try:
        assert expiry.expire_stuck_tasks(compute, ctxt) == 0
        with _clock_ahead(monkeypatch, 601):
            assert expiry.expire_stuck_tasks(compute, ctxt) == 1
    finally:
        CONF.clear_override("task_timeout", group="compute")

    # ERROR first, then the fault: wait for both.
    _wait(lambda: conductor.instance_get(ctxt, uuid).fault is not None)
    instance = conductor.instance_get(ctxt, uuid)
    assert instance.vm_state == vm_states.ERROR
    assert instance.task_state is None
    assert "was lost" in instance.fault.message


def test_move_actions_record_their_compute_events(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any]) -> None:
    uuid = _server(conductor, ctxt, cloud)
    conductor.instance_action_start(ctxt, uuid, "resize", ctxt.request_id, "u1", "p1")

    _resize(conductor, ctxt, uuid, LARGE)

    def events() -> dict[str, str]:
        action = conductor.instance_action_get_by_request_id(ctxt, uuid, ctxt.request_id)
        return {event["event"]: event["result"] for event in action["events"]}

    # The steps finish their events just after the server's last update.
    _wait(lambda: None not in events().values())
    recorded = events()
    assert recorded["compute_resize_instance"] == "Success"
    assert recorded["compute_finish_resize"] == "Success"


def test_shelve_offload_requested_by_the_api_frees_the_host(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any]) -> None:
    uuid = _server(conductor, ctxt, cloud)
    conductor.instance_update(ctxt, uuid, {"vm_state": vm_states.SHELVED})
    instance = conductor.instance_update(ctxt, uuid, {
        "task_state": task_states.SHELVING_OFFLOADING})
    conductor.instance_action_start(ctxt, uuid, "shelveOffload", ctxt.request_id, "u1", "p1")

    cloud["compute"].managers["host1"].shelve_offload_instance(ctxt, instance=instance)

    instance = conductor.instance_get(ctxt, uuid)
    assert (instance.vm_state, instance.task_state, instance.host) == (
        vm_states.SHELVED_OFFLOADED, None, None)
    assert _used(conductor, ctxt)["host1"] == 0
    assert cloud["compute"].managers["host1"].driver.guest(uuid) is None
    action = conductor.instance_action_get_by_request_id(ctxt, uuid, ctxt.request_id)
    assert [(e["event"], e["result"]) for e in action["events"]] == [
        ("compute_shelve_offload_instance", "Success")]


def test_the_conductor_runs_the_reconciliation_as_a_periodic_task() -> None:
    from kumo.conductor import manager

    assert "reconcile_abandoned_tasks" in dict(manager.ConductorManager._periodic_tasks)
