"""kumo-compute's waits that run out: resizes confirmed by themselves, tasks nobody runs.

Two periodic tasks of :class:`kumo.compute.manager.ComputeManager` do their
work here:

* :func:`confirm_resizes` — a server left in VERIFY_RESIZE longer than
  ``[DEFAULT] resize_confirm_window`` seconds is confirmed, as if its owner had
  asked (an instance action ``confirmResize`` records it);
* :func:`expire_stuck_tasks` — a server on this host whose task (spawning,
  resize_migrating, powering-off, deleting, ...) has not moved for ``[compute]
  task_timeout`` seconds while this process is not running it is handled as
  one a restart interrupted (``ComputeManager._reconcile_one``): its cast was
  lost (e.g. while the broker restarted) and nobody else will finish it.

A third, :func:`reschedule_lost_build`, runs with the power-state sync: a
build is safe to try again much sooner (``[compute] lost_build_timeout``),
because a request that only came late spawns nothing
(:mod:`kumo.compute.build_guard`).
"""

from __future__ import annotations

from typing import Any

from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import timeutils

from kumo import context as kumo_context
from kumo import exception
from kumo.compute import build_guard, task_states, vm_states
from kumo.compute.move_actions import INTERRUPTIBLE_TASK_STATES

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


def _changed_at(instance: Any) -> Any:
    """When the server's row last changed, if the object says."""
    for name in ("updated_at", "created_at"):
        if instance.obj_attr_is_set(name) and getattr(instance, name) is not None:
            return getattr(instance, name)
    return None


def _unchanged_for(instance: Any, seconds: float) -> bool:
    """Whether the server's row has not changed for ``seconds`` (True if unknown)."""
    moment = _changed_at(instance)
    return moment is None or timeutils.is_older_than(moment, seconds)


def confirm_resizes(manager: Any, context: Any) -> int:
    """Confirm this host's resized servers older than the window; how many were."""
    window = CONF.resize_confirm_window
    if window <= 0:
        return 0
    conductor = manager.conductor
    confirmed = 0
    for instance in conductor.instance_get_all(context, filters={
            "host": manager.host, "vm_state": [vm_states.RESIZED], "task_state": [None]}):
        if instance.task_state is not None or not _unchanged_for(instance, window):
            continue
        # A request of its own, so that os-instance-actions shows who confirmed.
        ctxt = kumo_context.get_admin_context()
        try:
            conductor.instance_update(
                ctxt, instance_uuid=instance.uuid,
                values={"task_state": task_states.RESIZE_CONFIRMING},
                expected_task_state=[None], expected_vm_state=[vm_states.RESIZED])
        except (exception.InstanceNotFound, exception.UnexpectedTaskStateError) as exc:
            LOG.info("Server %s changed before its resize was confirmed: %s",
                     instance.uuid, exc)
            continue
        LOG.info("Confirming the resize of server %s: it waited over %ss "
                 "([DEFAULT] resize_confirm_window)", instance.uuid, window)
        try:
            conductor.instance_action_start(
                ctxt, instance_uuid=instance.uuid, action="confirmResize",
                request_id=ctxt.request_id, user_id=None, project_id=instance.project_id)
        except Exception as exc:
            LOG.warning("Could not record the confirmation of %s: %s", instance.uuid, exc)
        conductor.confirm_resize(ctxt, instance_uuid=instance.uuid)
        confirmed += 1
    return confirmed


def expire_stuck_tasks(manager: Any, context: Any) -> int:
    """Finish or fail this host's tasks older than [compute] task_timeout that this
    process does not run; how many it handled."""
    timeout = CONF.compute.task_timeout
    if timeout <= 0:
        return 0
    watched = (set(INTERRUPTIBLE_TASK_STATES) | set(manager.POWER_TASK_STATES)
               | {task_states.SPAWNING, task_states.DELETING})
    instances = [instance for instance in manager.conductor.instance_get_all(
                     context, filters={"host": manager.host, "task_state": sorted(watched)})
                 if instance.task_state in watched
                 and not manager._is_building_here(instance.uuid)
                 and _unchanged_for(instance, timeout)]
    if not instances:
        return 0
    guests = set(manager.driver.list_instance_uuids())
    for instance in instances:
        LOG.warning("Server %s has been in %s for over %ss ([compute] task_timeout) and "
                    "nothing here runs it; handling it as interrupted", instance.uuid,
                    instance.task_state, timeout)
        try:
            manager._reconcile_one(context, instance, instance.uuid in guests,
                                   reason=f"the build on {manager.host} was lost (no progress "
                                          f"for {timeout} s)")
        except Exception:
            LOG.exception("Could not finish the task of server %s", instance.uuid)
    return len(instances)


def reschedule_lost_build(manager: Any, context: Any, instance: Any) -> bool:
    """Hand a lost build of this host back to the conductor; whether it was.

    ``instance`` is in spawning without a guest here. It is lost when nothing
    here runs it and its row has not changed for ``[compute]
    lost_build_timeout`` seconds: its cast never came, or its reschedule
    (after a failed spawn) never reached the conductor. The attempt is taken
    first (unless this host took it already), so that its cast, should it
    come after all, spawns nothing.
    """
    timeout = CONF.compute.lost_build_timeout
    moment = _changed_at(instance)
    if timeout <= 0 or moment is None or not timeutils.is_older_than(moment, timeout):
        return False
    uuid, host, node = instance.uuid, manager.host, instance.node
    if not build_guard.wait_turn(manager._building_lock, manager._building, uuid,
                                 timeout=0):
        return False
    try:
        token = build_guard.attempt_token(instance, host, node)
        taken = build_guard.taken_attempt(instance) == token
        if not taken and not build_guard.take(manager, context, instance, node):
            return False
        LOG.warning("Server %s has been spawning on %s/%s for over %ss ([compute] "
                    "lost_build_timeout) without a guest and nothing here builds it; "
                    "handing it back to the conductor", uuid, host, node, timeout)
        manager._reschedule(context, instance, node, {
            "code": 500,
            "message": f"The build on {host} was lost (no progress for {timeout} s)",
            "details": f"host {host}, node {node}, attempt {token}, "
                       f"{'started' if taken else 'never started'} here"})
        return True
    except Exception:
        LOG.exception("Could not hand the lost build of server %s back", uuid)
        return False
    finally:
        with manager._building_lock:
            manager._building.discard(uuid)
