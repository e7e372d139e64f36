"""``POST /servers/{id}/action``: the dispatcher, and the power actions (reboot,
os-stop, os-start, pause, unpause, suspend, resume), lock, unlock and
os-getConsoleOutput.

The body's only key names the action (Nova: "There is no such action", 400).
A handler is ``handler(servers_controller, req, server_id, body)`` (the
:class:`~kumo.api.openstack.compute.servers.ServersController` for its clients
and lookups); other modules add theirs with ``controller.actions.update(...)``.

A power action reads top to bottom: who asks, validate, the lock, the state
(:mod:`kumo.compute.states`: 409 with Nova's message), the guarded task-state
update (a lost race is the same 409), the instance action record, the cast,
202 without a body.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import webob

from kumo import exception
from kumo.api import validation
from kumo.api.openstack import api_version, common
from kumo.api.openstack.compute.servers import authorize, check_lock
from kumo.compute import states, vm_states

Handler = Callable[[Any, webob.Request, str, dict[str, Any]], webob.Response]

REBOOT_SCHEMA = {
    "type": "object",
    "properties": {"reboot": {
        "type": "object",
        "properties": {"type": {"type": "string", "enum": [
            "HARD", "Hard", "hard", "SOFT", "Soft", "soft"]}},
        "required": ["type"], "additionalProperties": False}},
    "required": ["reboot"], "additionalProperties": False,
}
CONSOLE_OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {"os-getConsoleOutput": {
        "type": "object",
        # -1 (and null) mean the whole log.
        "properties": {"length": {"type": ["integer", "string", "null"],
                                  "pattern": "^-?[0-9]+$", "minimum": -1}},
        "additionalProperties": False}},
    "required": ["os-getConsoleOutput"], "additionalProperties": False,
}
# 2.73: why a server is locked, kept in its system_metadata.
LOCKED_REASON = "locked_reason"
LOCK_SCHEMA_2_73 = {
    "type": "object",
    "properties": {"lock": {"oneOf": [
        {"type": "null"},
        {"type": "object",
         "properties": {"locked_reason": {"type": "string", "minLength": 1,
                                          "maxLength": 255}},
         "additionalProperties": False}]}},
    "required": ["lock"], "additionalProperties": False,
}
CRASH_DUMP_SCHEMA = {
    "type": "object",
    "properties": {"trigger_crash_dump": {"type": "null"}},
    "required": ["trigger_crash_dump"], "additionalProperties": False,
}
# Control characters Nova strips from the console log (all but tab and newline).
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f]")


# --- the dispatcher ---------------------------------------------------------------------


class ServerActionsController:
    """Dispatches ``POST /servers/{id}/action`` by the body's key to :attr:`actions`."""

    def __init__(self, servers: Any) -> None:
        self.servers = servers
        self.actions: dict[str, Handler] = dict(ACTIONS)

    def action(self, req: webob.Request, server_id: str) -> webob.Response:
        body = common.json_body(req)
        if not isinstance(body, dict) or len(body) != 1:
            raise common.BadRequest(reason="Malformed request body")
        [name] = body
        handler = self.actions.get(name)
        if handler is None or not api_version.at_least(req, _ACTIONS_SINCE.get(name, "2.1")):
            raise common.BadRequest(reason=f"There is no such action: {name}")
        return handler(self.servers, req, server_id, body)


# --- helpers ----------------------------------------------------------------------------


def _host(instance: Any) -> str:
    host = instance.get("host", None)
    if not host:
        raise exception.InstanceNotReady(instance_id=instance.uuid)
    return host


def start_task(controller: Any, context: Any, instance: Any, action: str,
               values: dict[str, Any] | None = None) -> Any:
    """Move the server into ``action``'s task state (with ``values``) by a guarded update.

    :raises InstanceInvalidState: (409) the state forbids it, or another
        request changed the state first (the message names the state found).
    """
    transition = states.check(action, instance)
    guard: dict[str, Any] = {"expected_task_state": transition.expected_task_states}
    if transition.vm_states is not None:
        guard["expected_vm_state"] = list(transition.vm_states)
    try:
        return controller.clients.conductor.instance_update(
            context, instance_uuid=instance.uuid,
            values={"task_state": transition.task_state, **(values or {})}, **guard)
    except exception.UnexpectedTaskStateError:
        # Lost a race: answer as if this request had come second.
        states.check(action, controller._get(context, instance.uuid))
        raise


def _locker(context: Any, instance: Any) -> str:
    """Who a lock by this caller belongs to: the server's project ("owner") or "admin"."""
    return "owner" if instance.project_id == context.project_id else "admin"


def record_action(controller: Any, context: Any, instance: Any, action: str) -> None:
    """Start the request's instance action (``GET /servers/{id}/os-instance-actions``)."""
    controller.clients.conductor.instance_action_start(
        context, instance_uuid=instance.uuid, action=action,
        request_id=context.request_id, user_id=context.user_id,
        project_id=context.project_id)


def _power_action(action: str, recorded: str, cast: str, rule: str) -> Handler:
    """The handler of an action that only moves the task state and casts ``cast``,
    for who passes the policy ``rule``."""

    def handler(controller: Any, req: webob.Request, server_id: str,
                body: dict[str, Any]) -> webob.Response:
        context = common.context_of(req)
        instance = controller._get(context, server_id)
        authorize(context, rule, instance)
        check_lock(context, instance)
        states.check(action, instance)
        host = _host(instance)
        instance = start_task(controller, context, instance, action)
        record_action(controller, context, instance, recorded)
        getattr(controller.clients.compute, cast)(context, instance=instance, host=host)
        return common.empty_response(202)

    handler.__name__ = recorded
    handler.__doc__ = f"``{{\"{action}\": null}}``: cast ``{cast}`` (202)."
    return handler


# --- the actions ------------------------------------------------------------------------


def reboot(controller: Any, req: webob.Request, server_id: str,
           body: dict[str, Any]) -> webob.Response:
    context = common.context_of(req)
    validation.validate(REBOOT_SCHEMA, body)
    reboot_type = body["reboot"]["type"].upper()
    instance = controller._get(context, server_id)
    authorize(context, "os_compute_api:servers:reboot", instance)
    check_lock(context, instance)
    action = "reboot_soft" if reboot_type == "SOFT" else "reboot_hard"
    # Nova checks the union of both types' states first, then the type's own.
    states.check("reboot_hard", instance)
    states.check(action, instance)
    host = _host(instance)
    instance = start_task(controller, context, instance, action)
    record_action(controller, context, instance, "reboot")
    controller.clients.compute.reboot_instance(context, instance=instance,
                                               reboot_type=reboot_type, host=host)
    return common.empty_response(202)


def lock(controller: Any, req: webob.Request, server_id: str,
         body: dict[str, Any]) -> webob.Response:
    """Lock the server against non-admin actions; ``locked_by`` owner or admin;
    2.73: ``{"lock": {"locked_reason": …}}`` says why."""
    context = common.context_of(req)
    values: dict[str, Any] = {"locked": True}
    if api_version.at_least(req, "2.73"):
        validation.validate(LOCK_SCHEMA_2_73, body)
        reason = (body["lock"] or {}).get("locked_reason")
        if reason is not None:
            values["system_metadata"] = {LOCKED_REASON: reason}
    instance = controller._get(context, server_id)
    authorize(context, "os_compute_api:os-lock-server:lock", instance)
    values["locked_by"] = _locker(context, instance)
    controller.clients.conductor.instance_update(
        context, instance_uuid=server_id, values=values)
    record_action(controller, context, instance, "lock")
    return common.empty_response(202)


def unlock(controller: Any, req: webob.Request, server_id: str,
           body: dict[str, Any]) -> webob.Response:
    """Unlock; a lock by an admin only an admin may lift (403 otherwise)."""
    context = common.context_of(req)
    instance = controller._get(context, server_id)
    authorize(context, "os_compute_api:os-lock-server:unlock", instance)
    expected = _locker(context, instance)
    locked_by = instance.get("locked_by", None)
    if locked_by and locked_by != expected:
        authorize(context, "os_compute_api:os-lock-server:unlock:unlock_override", instance)
    controller.clients.conductor.instance_update(
        context, instance_uuid=server_id, values={
            "locked": False, "locked_by": None, "system_metadata": {LOCKED_REASON: None}})
    record_action(controller, context, instance, "unlock")
    return common.empty_response(202)


def get_console_output(controller: Any, req: webob.Request, server_id: str,
                       body: dict[str, Any]) -> webob.Response:
    """200 ``{"output": …}``: the guest's console log, from kumo-compute."""
    context = common.context_of(req)
    validation.validate(CONSOLE_OUTPUT_SCHEMA, body)
    length = body["os-getConsoleOutput"].get("length")
    instance = controller._get(context, server_id)
    authorize(context, "os_compute_api:os-console-output", instance)
    host = _host(instance)
    try:
        output = controller.clients.compute.get_console_output(
            context, instance=instance, tail_length=None if length is None else int(length),
            host=host)
    except exception.InstanceNotFound as error:
        raise exception.NotFound(error.message) from None
    return common.json_response({"output": _CONTROL_CHARACTERS.sub("", output or "")})


# Microversion 2.17: the states a crash dump may be asked for in (Nova's).
_CRASH_DUMP_VM_STATES = (vm_states.ACTIVE, vm_states.PAUSED, vm_states.RESCUED,
                         vm_states.RESIZED, vm_states.ERROR)


def trigger_crash_dump(controller: Any, req: webob.Request, server_id: str,
                       body: dict[str, Any]) -> webob.Response:
    """2.17 ``{"trigger_crash_dump": null}``: checked like Nova's, then refused as Nova
    refuses it on a hypervisor that cannot inject an NMI: no kumo virt driver can."""
    context = common.context_of(req)
    validation.validate(CRASH_DUMP_SCHEMA, body)
    instance = controller._get(context, server_id)
    authorize(context, "os_compute_api:servers:trigger_crash_dump", instance)
    check_lock(context, instance)
    if instance.vm_state not in _CRASH_DUMP_VM_STATES:
        raise exception.InstanceInvalidState(
            action="trigger_crash_dump", instance_uuid=server_id, attr="vm_state",
            state=instance.vm_state)
    if instance.task_state is not None:
        raise exception.InstanceInvalidState(
            action="trigger_crash_dump", instance_uuid=server_id, attr="task_state",
            state=instance.task_state)
    raise common.BadRequest(reason="Triggering crash dump is not supported")


ACTIONS: dict[str, Handler] = {
    "reboot": reboot,
    "os-stop": _power_action("stop", "stop", "stop_instance", "os_compute_api:servers:stop"),
    "os-start": _power_action("start", "start", "start_instance",
                              "os_compute_api:servers:start"),
    "pause": _power_action("pause", "pause", "pause_instance",
                           "os_compute_api:os-pause-server:pause"),
    "unpause": _power_action("unpause", "unpause", "unpause_instance",
                             "os_compute_api:os-pause-server:unpause"),
    "suspend": _power_action("suspend", "suspend", "suspend_instance",
                             "os_compute_api:os-suspend-server:suspend"),
    "resume": _power_action("resume", "resume", "resume_instance",
                            "os_compute_api:os-suspend-server:resume"),
    "lock": lock,
    "unlock": unlock,
    "os-getConsoleOutput": get_console_output,
    "trigger_crash_dump": trigger_crash_dump,
}
# Actions added by a microversion: unknown ("There is no such action") before it.
_ACTIONS_SINCE = {"trigger_crash_dump": "2.17"}
