"""kumo-compute's power actions (RPC API 1.2): reboot, stop, start, pause, unpause,
suspend, resume, and the console log.

The API moved the server into the action's task state (a guarded update, see
:mod:`kumo.compute.states`); here the driver does the work and the result is
reported with ``task_state None``, guarded on that task state, so a delete
that came meanwhile is never overwritten. A failure records a fault and puts
the task state back to None (a failed reboot whose guest does not run puts
the server in ERROR, as Nova does). Each action records its event
(``compute_<method>``) on the request's instance action.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from kumo import exception
from kumo.compute import faults, power_state, states, task_states, vm_states
from kumo.compute.faults import fault_from_exception

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


def tail(output: str, length: int | None) -> str:
    """The last ``length`` lines of ``output`` (None or -1: all of it; 0: nothing).

    Unlike Nova's split on newlines, a log ending in a newline does not count an
    empty last line, so ``length=1`` is the last line written.
    """
    if length is None or int(length) < 0:
        return output
    if int(length) == 0:
        return ""
    return "".join(output.splitlines(keepends=True)[-int(length):])


def shutdown_timeout(instance: Any) -> int:
    """Seconds a stop gives the guest OS to shut down cleanly before forcing it off:
    the image's ``os_shutdown_timeout`` property (as the server was booted with it),
    else ``[DEFAULT] shutdown_timeout`` -- Nova's clean shutdown."""
    system_metadata = (instance.system_metadata or {}) \
        if instance.obj_attr_is_set("system_metadata") else {}
    try:
        spec = json.loads(system_metadata.get("request_spec") or "{}")
        properties = (spec.get("image") or {}).get("properties") or {}
        if properties.get("os_shutdown_timeout") not in (None, ""):
            return max(0, int(properties["os_shutdown_timeout"]))
    except (ValueError, TypeError, AttributeError):
        LOG.warning("Server %s: unreadable os_shutdown_timeout; using [DEFAULT] "
                    "shutdown_timeout", instance.uuid)
    return CONF.shutdown_timeout


# Task state of a power action -> (its method, the guest's power state and the
# server's vm_state once it is done).
_RESUMABLE: dict[str, tuple[str, int, str]] = {
    task_states.POWERING_OFF: ("stop_instance", power_state.SHUTDOWN, vm_states.STOPPED),
    task_states.POWERING_ON: ("start_instance", power_state.RUNNING, vm_states.ACTIVE),
    task_states.PAUSING: ("pause_instance", power_state.PAUSED, vm_states.PAUSED),
    task_states.UNPAUSING: ("unpause_instance", power_state.RUNNING, vm_states.ACTIVE),
    task_states.SUSPENDING: ("suspend_instance", power_state.SUSPENDED, vm_states.SUSPENDED),
    task_states.RESUMING: ("resume_instance", power_state.RUNNING, vm_states.ACTIVE),
}


class PowerActionsMixin:
    """The power actions of :class:`kumo.compute.manager.ComputeManager`."""

    host: str
    driver: Any
    conductor: Any

    #: Task states a restart of kumo-compute may have interrupted (see finish_power_action).
    POWER_TASK_STATES = frozenset(_RESUMABLE) | frozenset(states.REBOOT_TASK_STATES)

    def finish_power_action(self, context: Any, instance: Any) -> None:
        """At start-up: finish a power action the previous run left in its task state.

        A reboot is done again; another action whose guest already reached its
        power state is only reported, else it is run again (as Nova's init_host).
        Without a guest the action fails as usual: a fault, and no task left.
        """
        task = instance.task_state
        LOG.info("Server %s was in %s when kumo-compute stopped; finishing it",
                 instance.uuid, task)
        if task in states.REBOOT_TASK_STATES:
            hard = task in (task_states.REBOOTING_HARD, task_states.REBOOT_PENDING_HARD,
                            task_states.REBOOT_STARTED_HARD)
            self.reboot_instance(context, instance, "HARD" if hard else "SOFT")
            return
        method, done_power_state, vm_state = _RESUMABLE[task]
        if self._current_power_state(instance) == done_power_state:
            self._power_action(context, instance, method, [task], lambda: None, vm_state)
        else:
            getattr(self, method)(context, instance)

    # -- RPC API 1.2 -------------------------------------------------------------

    def reboot_instance(self, context: Any, instance: Any, reboot_type: str) -> None:
        """Reboot the guest; ACTIVE afterwards, ERROR if it failed and the guest is down."""
        self._power_action(
            context, instance, "reboot_instance", list(states.REBOOT_TASK_STATES),
            lambda: self.driver.reboot(context, instance, reboot_type), vm_states.ACTIVE,
            error_if_down=True)

    def stop_instance(self, context: Any, instance: Any) -> None:
        """A clean shutdown within :func:`shutdown_timeout`, then a forced one."""
        self._power_action(context, instance, "stop_instance", [task_states.POWERING_OFF],
                           lambda: self.driver.power_off(
                               context, instance, timeout=shutdown_timeout(instance)),
                           vm_states.STOPPED)

    def start_instance(self, context: Any, instance: Any) -> None:
        self._power_action(context, instance, "start_instance", [task_states.POWERING_ON],
                           lambda: self.driver.power_on(context, instance), vm_states.ACTIVE)

    def pause_instance(self, context: Any, instance: Any) -> None:
        self._power_action(context, instance, "pause_instance", [task_states.PAUSING],
                           lambda: self.driver.pause(context, instance), vm_states.PAUSED)

    def unpause_instance(self, context: Any, instance: Any) -> None:
        self._power_action(context, instance, "unpause_instance", [task_states.UNPAUSING],
                           lambda: self.driver.unpause(context, instance), vm_states.ACTIVE)

    def suspend_instance(self, context: Any, instance: Any) -> None:
        self._power_action(context, instance, "suspend_instance", [task_states.SUSPENDING],
                           lambda: self.driver.suspend(context, instance),
                           vm_states.SUSPENDED)

    def resume_instance(self, context: Any, instance: Any) -> None:
        self._power_action(context, instance, "resume_instance", [task_states.RESUMING],
                           lambda: self.driver.resume(context, instance), vm_states.ACTIVE)

    def get_console_output(self, context: Any, instance: Any,
                           tail_length: int | None = None) -> str:
        """The guest's console log (its last ``tail_length`` lines).

        :raises InstanceNotFound: the hypervisor has no guest for the server.
        """
        output = self.driver.get_console_output(context, instance)
        if isinstance(output, bytes):
            output = output.decode("utf-8", errors="replace")
        return tail(output, tail_length)

    # -- the common path -----------------------------------------------------------

    def _power_action(self, context: Any, instance: Any, method: str,
                      expected_task_states: list[str], operation: Callable[[], None],
                      vm_state: str, error_if_down: bool = False) -> None:
        uuid = instance.uuid
        event = f"compute_{method}"
        self._event(context, instance, "start", event)
        LOG.info("%s of server %s", method, uuid)
        try:
            operation()
        except Exception as exc:
            LOG.warning("%s of server %s failed: %s", method, uuid, exc)
            self._power_action_failed(context, instance, method, expected_task_states, exc,
                                      error_if_down)
            self._event(context, instance, "finish", event, result="Error",
                        traceback="".join(traceback.format_exception(exc)))
            return
        values: dict[str, Any] = {"vm_state": vm_state, "task_state": None,
                                  "power_state": self._current_power_state(instance)}
        try:
            self.conductor.instance_update(context, instance_uuid=uuid, values=values,
                                           expected_task_state=expected_task_states)
        except (exception.UnexpectedTaskStateError, exception.InstanceNotFound) as lost:
            # A delete (or a hard reboot over a soft one) took over; it reports instead.
            LOG.info("Server %s changed during %s; result not recorded: %s",
                     uuid, method, lost)
        else:
            LOG.info("Server %s is %s after %s", uuid, vm_state, method)
        self._event(context, instance, "finish", event, result="Success")

    def _power_action_failed(self, context: Any, instance: Any, method: str,
                             expected_task_states: list[str], exc: BaseException,
                             error_if_down: bool) -> None:
        if not faults.record(self.conductor, context, instance.uuid,
                             fault_from_exception(exc), self.host):
            return
        values: dict[str, Any] = {"task_state": None}
        current = self._current_power_state(instance)
        if error_if_down and current != power_state.RUNNING:
            values["vm_state"] = vm_states.ERROR
        values["power_state"] = current
        try:
            self.conductor.instance_update(context, instance_uuid=instance.uuid,
                                           values=values,
                                           expected_task_state=expected_task_states)
        except (exception.UnexpectedTaskStateError, exception.InstanceNotFound) as lost:
            LOG.info("Server %s changed after a failed %s; left as it is: %s",
                     instance.uuid, method, lost)

    def _current_power_state(self, instance: Any) -> int:
        try:
            return self.driver.get_info(instance)
        except exception.InstanceNotFound:
            return power_state.NOSTATE

    def _event(self, context: Any, instance: Any, phase: str, event: str,
               **kwargs: Any) -> None:
        """Record the start or finish of an instance-action event; a request without an
        action (or a conductor that cannot record it) does not stop the work."""
        request_id = getattr(context, "request_id", None)
        if not request_id:
            return
        method = (self.conductor.instance_action_event_start if phase == "start"
                  else self.conductor.instance_action_event_finish)
        try:
            method(context, instance_uuid=instance.uuid, request_id=request_id, event=event,
                   host=self.host, **kwargs)
        except Exception as exc:
            LOG.warning("Could not record event %s of server %s (%s): %s", event,
                        instance.uuid, request_id, exc)
