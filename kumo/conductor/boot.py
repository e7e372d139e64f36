"""kumo-conductor's endpoint methods for the hot paths of booting and deleting
servers (RPC API 1.9): each does in one round trip what took two.

Mixed into :class:`kumo.conductor.manager.ConductorManager`:

* ``boot_sources``: the flavor and the image a boot names, read together
  (the API needs both before it creates anything);
* ``instance_update_starting_action``: a guarded update that also records
  the request's instance action (``delete`` sets ``deleting`` and starts the
  action kumo-compute's ``compute_terminate_instance`` event belongs to);
* ``instance_update_finishing_event``: a guarded update that also finishes the
  request's action event (kumo-compute reports a built server ACTIVE and ends
  its ``compute_build_and_run_instance`` event at once), answering nothing;
* ``instance_destroy_finishing_event``: ``instance_destroy`` and the finish of
  kumo-compute's ``compute_terminate_instance`` event, answering nothing.
"""

from __future__ import annotations

from typing import Any

from kumo import exception
from kumo.conductor import rows
from kumo.conductor.rpcapi import UNSET
from kumo.db import action_events, instance_writes
from kumo.objects import instance as instance_obj


def update_guard(expected_task_state: Any, expected_vm_state: Any) -> dict[str, Any]:
    """The ``expected_*`` keywords of :func:`kumo.db.instances.instance_update` that
    the caller gave (UNSET: not given)."""
    guard = {}
    if expected_task_state is not UNSET:
        guard["expected_task_state"] = expected_task_state
    if expected_vm_state is not UNSET:
        guard["expected_vm_state"] = expected_vm_state
    return guard


class BootMixin:
    """Boot and delete in fewer round trips (1.9)."""

    flavor_get_by_flavor_id: Any  # of ConductorManager
    image_get: Any
    instance_destroy: Any

    def boot_sources(self, context: Any, flavor_id: str, image_id: str,
                     project_id: str | None = None) -> dict[str, Any]:
        """``{"flavor": Flavor, "image": Image}`` as project ``project_id`` sees them
        (None: any). Raises FlavorNotFound first, then ImageNotFound."""
        flavor = self.flavor_get_by_flavor_id(context, flavor_id, project_id=project_id)
        image = self.image_get(context, image_id, project_id=project_id)
        return {"flavor": flavor, "image": image}

    def instance_update_starting_action(self, context: Any, instance_uuid: str,
                                        values: dict[str, Any], action: str,
                                        expected_task_state: Any = UNSET,
                                        expected_vm_state: Any = UNSET
                                        ) -> instance_obj.Instance:
        """``instance_update`` (same guard, same errors) that records the caller's
        request as the instance action ``action`` in the same transaction."""
        guard = update_guard(expected_task_state, expected_vm_state)
        record = {"action": action, "request_id": getattr(context, "request_id", None),
                  "user_id": getattr(context, "user_id", None),
                  "project_id": getattr(context, "project_id", None)}
        return rows.instance(instance_writes.update_starting_action(
            instance_uuid, rows.plain(values), record, **guard))

    def instance_update_finishing_event(self, context: Any, instance_uuid: str,
                                        values: dict[str, Any], event: dict[str, Any],
                                        expected_task_state: Any = UNSET,
                                        expected_vm_state: Any = UNSET) -> None:
        """``instance_update`` (same guard, same errors) that finishes the request's
        action event ``event`` (``request_id``, ``event``, ``host``, ``result``) in
        the same transaction; returns nothing (the caller has the server)."""
        guard = update_guard(expected_task_state, expected_vm_state)
        instance_writes.update_finishing_event(instance_uuid, rows.plain(values), event,
                                               **guard)

    def instance_destroy_finishing_event(self, context: Any, instance_uuid: str,
                                         event: dict[str, Any]) -> None:
        """``instance_destroy`` (raises InstanceNotFound as it does), then the finish of
        the request's action event ``event`` (``request_id``, ``event``, ``host``,
        ``result``; nothing when the request started no action); answers nothing."""
        self.instance_destroy(context, instance_uuid)
        try:
            action_events.event_finish(instance_uuid, event["request_id"], event["event"],
                                       host=event.get("host"), result=event.get("result"))
        except exception.InstanceActionNotFound:
            pass
