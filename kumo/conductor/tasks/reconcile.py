"""Reconciling servers whose task nobody runs any more: re-drive it, or give it up with a fault.

A task lives in a process: a conductor's task pool (``scheduling``,
``resize_prep``, ``resize_confirming``, ``unshelving`` before a host is
chosen, ``migrating`` before the destination is claimed) or a kumo-compute
host (everything after the cast). When that process dies, the row keeps its
task state and the API keeps answering 409 — for ever, without this pass.

kumo-compute finishes its own tasks when it starts again (``init_host``).
This module covers the two cases it cannot:

* **a conductor that stopped mid-task.** Idempotent steps are done again
  (``resize_confirming``, an offloaded ``unshelving``); a build being
  scheduled or a resize being prepared goes to ERROR (the build) or back to
  how it was (the resize), each with a fault that says why — their request
  (scheduler hints, the new flavor) travelled in the lost cast only;
* **a compute host that stays down.** After ``[conductor]
  compute_down_task_timeout`` a build or move goes to ERROR, a power action
  or snapshot loses its task, and a delete is finished without the host.

Both act only on rows unchanged for ``[conductor] reconcile_grace_period``
and not in this conductor's own task pool, so a live conductor's task is never
taken over; and every change is a guarded update (``expected_task_state``), so
a task that was still alive after all wins the race and nothing runs twice.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from kumo import exception, servicegroup
from kumo.compute import states, task_states, vm_states
from kumo.compute.move_actions import INTERRUPTIBLE_TASK_STATES, SNAPSHOT_TASK_STATES
from kumo.compute.system_metadata import MOVE_KEYS
from kumo.conductor.tasks import common, resize, shelve
from kumo.db import api as db
from kumo.db import instances as instance_db
from kumo.db import migration_claims
from kumo.db.clock import utcnow

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

#: Outcomes of one server's reconciliation (the pass returns how many of each).
REDRIVEN, FAILED, ABORTED, DELETED, SKIPPED = (
    "redriven", "failed", "aborted", "deleted", "skipped")

_POWER_TASK_STATES = frozenset(states.REBOOT_TASK_STATES) | {
    task_states.POWERING_OFF, task_states.POWERING_ON, task_states.PAUSING,
    task_states.UNPAUSING, task_states.SUSPENDING, task_states.RESUMING}
# Tasks that only lose their task state (with a fault) when their host is gone:
# the server is still what it was before they started.
_CLEARED_TASK_STATES = (_POWER_TASK_STATES | frozenset(SNAPSHOT_TASK_STATES)
                        | {task_states.SOFT_DELETING, task_states.RESTORING})
# Tasks whose server goes to ERROR when their host is gone: where the guest is
# (or whether it exists) is not known any more.
_ERROR_TASK_STATES = ((frozenset(INTERRUPTIBLE_TASK_STATES) - _CLEARED_TASK_STATES)
                      | {task_states.SPAWNING, task_states.UNSHELVING})
_WATCHED = sorted(_CLEARED_TASK_STATES | _ERROR_TASK_STATES | {
    task_states.SCHEDULING, task_states.RESIZE_PREP, task_states.RESIZE_CONFIRMING,
    task_states.DELETING})

_CONDUCTOR_STOPPED = "kumo-conductor stopped while the server was {doing}"


def reconcile(ctxt: Any, working_on: Callable[[str], bool] = lambda uuid: False,
              now: datetime.datetime | None = None) -> dict[str, int]:
    """One pass over every server with a task; returns how many were re-driven,
    failed (ERROR), aborted (task cleared), deleted or skipped.

    ``working_on(uuid)`` tells which servers this conductor's own task pool has
    in hand (they are skipped whatever their age).
    """
    now = now or utcnow()
    grace = datetime.timedelta(seconds=CONF.conductor.reconcile_grace_period)
    computes = _compute_services()
    counts: dict[str, int] = {}
    for instance in instance_db.instance_get_all(filters={"task_state": _WATCHED}):
        changed = instance.get("updated_at") or instance.get("created_at")
        if working_on(instance["uuid"]) or (changed is not None and now - changed < grace):
            continue
        try:
            outcome = reconcile_one(ctxt, instance, computes, now)
        except Exception:
            LOG.exception("Could not reconcile server %s (task %s)", instance["uuid"],
                          instance["task_state"])
            outcome = SKIPPED
        counts[outcome] = counts.get(outcome, 0) + 1
    if any(outcome != SKIPPED for outcome in counts):
        LOG.info("Reconciled servers whose task was abandoned: %s", counts)
    return counts


def reconcile_one(ctxt: Any, instance: Mapping[str, Any],
                  computes: Mapping[str, Mapping[str, Any]],
                  now: datetime.datetime) -> str:
    """Reconcile one server whose row is older than the grace period (module docstring)."""
    uuid, task = instance["uuid"], instance["task_state"]
    system_metadata = instance.get("system_metadata") or {}
    if task == task_states.SCHEDULING:
        return _fail_build(uuid, system_metadata)
    if task == task_states.RESIZE_PREP:
        LOG.warning("Server %s was left in resize_prep; giving the resize up", uuid)
        resize.abort(uuid, task, 500, _CONDUCTOR_STOPPED.format(
            doing="scheduled for its resize or migration") + "; try again.")
        return ABORTED
    if task == task_states.RESIZE_CONFIRMING:
        LOG.warning("Server %s was left in resize_confirming; confirming it again", uuid)
        resize.confirm_resize(ctxt, uuid)
        return REDRIVEN
    if task == task_states.UNSHELVING and not instance.get("host"):
        LOG.warning("Server %s was left unshelving without a host; scheduling it again",
                    uuid)
        shelve.unshelve_instance(ctxt, uuid)
        return REDRIVEN
    if (task == task_states.MIGRATING
            and not system_metadata.get(migration_claims.MIGRATION_CLAIM_NODE)):
        LOG.warning("Server %s was left migrating without a destination; giving the "
                    "live migration up", uuid)
        resize.abort(uuid, task, 500, _CONDUCTOR_STOPPED.format(
            doing="scheduled for its live migration") + "; try again.")
        return ABORTED
    return _if_host_down(instance, computes, now)


def _fail_build(uuid: str, system_metadata: Mapping[str, Any]) -> str:
    """A build whose scheduling died with its conductor: ERROR with a fault, claim back.

    Not re-driven: the request's scheduler hints and server group were only in
    the lost cast, and a build placed without them could break anti-affinity.
    """
    LOG.warning("Server %s was left in scheduling; its build is given up", uuid)
    message = (_CONDUCTOR_STOPPED.format(doing="scheduled")
               + "; the build was given up. Delete the server and create it again.")
    try:
        instance_db.instance_update(uuid, {"vm_state": vm_states.ERROR, "task_state": None},
                                    expected_task_state=task_states.SCHEDULING)
    except (exception.InstanceNotFound, exception.UnexpectedTaskStateError) as error:
        LOG.info("Server %s moved on meanwhile: %s", uuid, error.message)
        return SKIPPED
    instance_db.instance_fault_create(uuid, 500, message, host=CONF.host)
    # The scheduler may have claimed a node before the conductor stopped.
    common.release(system_metadata.get(instance_db.CLAIMED_NODE), uuid)
    return FAILED


def _if_host_down(instance: Mapping[str, Any], computes: Mapping[str, Mapping[str, Any]],
                  now: datetime.datetime) -> str:
    """A task on a compute host: give it up when the host has been down long enough."""
    timeout = CONF.conductor.compute_down_task_timeout
    host, uuid, task = instance.get("host"), instance["uuid"], instance["task_state"]
    if not host or timeout <= 0:
        return SKIPPED
    down_for = _down_for(computes.get(host), now)
    if down_for is None or down_for < timeout:
        return SKIPPED
    since = f"kumo-compute on {host} has been down for {int(down_for)} s"
    LOG.warning("Server %s is in %s on %s, which is down; giving the task up", uuid,
                task, host)
    if task == task_states.DELETING:
        # As Nova's API does for a host that is down: delete without it.
        instance_db.instance_destroy(uuid)
        return DELETED
    if task in _CLEARED_TASK_STATES:
        common.end_with_fault(uuid, {"task_state": None}, task, 500,
                              f"{since}; its {task} was given up.", host=host)
        return ABORTED
    migration_claims.migration_claim_release(uuid)
    values: dict[str, Any] = {"vm_state": vm_states.ERROR, "task_state": None}
    if task != task_states.SPAWNING:
        values["system_metadata"] = dict.fromkeys(MOVE_KEYS)
    common.end_with_fault(uuid, values, task, 500,
                          f"{since}; the server was in {task} and is given up.", host=host)
    return FAILED


def _compute_services() -> dict[str, dict[str, Any]]:
    return {row["host"]: row for row in db.service_get_all(binary="kumo-compute")}


def _down_for(service: Mapping[str, Any] | None, now: datetime.datetime) -> float | None:
    """Seconds since a down compute service's last heartbeat; None while it is up.

    A host without a service row (deleted by the operator) counts as down for ever.
    """
    if service is None:
        return float("inf")
    aware_now = now.replace(tzinfo=datetime.UTC)
    if servicegroup.is_up(service, now=aware_now):
        return None
    last = servicegroup.last_heartbeat(service)
    return float("inf") if last is None else (aware_now - last).total_seconds()
