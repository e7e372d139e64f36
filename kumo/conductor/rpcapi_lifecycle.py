"""Conductor client calls of the server lifecycle's loose ends (1.7): reconciliation;
(1.11) the start of a delete in one call.

Mixed into :class:`kumo.conductor.rpcapi.ConductorAPI`.
"""

from __future__ import annotations

from typing import Any

VERSION = "1.7"
#: instance_start_delete.
VERSION_1_11 = "1.11"


class LifecycleAPIMixin:
    call: Any
    can_send_version: Any
    instance_get: Any

    def reconcile_instances(self, ctxt: Any, timeout: float | None = None) -> dict[str, int]:
        """Run one reconciliation pass of servers whose task nobody runs any more
        (docs/compute-flow.md "Reconciliation"); returns how many were re-driven,
        failed, aborted, deleted or skipped."""
        return self.call(ctxt, "reconcile_instances", {}, version=VERSION, timeout=timeout)

    def instance_start_delete(self, ctxt: Any, instance_uuid: str, project_id: str | None,
                              owner: dict[str, Any], allow_locked: bool, action: str,
                              expected_task_state: Any) -> dict[str, Any]:
        """Read the server (InstanceNotFound) and, when it is ``owner``'s and not locked
        (or ``allow_locked``), move it to ``deleting`` guarded by
        ``expected_task_state`` (UnexpectedDeletingTaskStateError for a delete under
        way) starting the request's instance action ``action``; one call.
        ``{"instance": Instance, "started": bool}``: not started, nothing was
        written. A conductor older than 1.11 is only asked for the server
        (``started`` False): the caller then goes the two-call way."""
        if self.can_send_version(VERSION_1_11):
            return self.call(ctxt, "instance_start_delete", {
                "instance_uuid": instance_uuid, "project_id": project_id, "owner": owner,
                "allow_locked": allow_locked, "action": action,
                "expected_task_state": expected_task_state}, version=VERSION_1_11)
        instance = self.instance_get(ctxt, instance_uuid=instance_uuid,
                                     project_id=project_id)
        return {"instance": instance, "started": False}
