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
* ``instance_destroy_finishing_event``: ``instance_destroy`` (with the server's
  leaving of its server groups) and the finish of kumo-compute's
  ``compute_terminate_instance`` event in one transaction, answering nothing.

RPC 1.10:

* ``instance_build_take``: kumo-compute's check-and-take of a build attempt
  (:mod:`kumo.compute.build_guard`) and the start of its build event, one
  call and one transaction instead of three calls;
* ``instance_create_and_build``: the API's create within the quota and the
  build cast in one call, answering the new servers' uuids only.
"""

from __future__ import annotations

from typing import Any

from oslo_log import log as logging

from kumo import exception
from kumo.compute import build_guard
from kumo.compute.system_metadata import SHELVED_IMAGE_ID
from kumo.conductor import rows
from kumo.conductor.rpcapi import UNSET
from kumo.db import instance_writes
from kumo.db import instances as instance_db
from kumo.objects import instance as instance_obj

LOG = logging.getLogger(__name__)


def create_then_build(conductor: Any, context: Any, values_list: list[dict[str, Any]],
                      min_count: int, request_spec: dict[str, Any]) -> list[str]:
    """What ``instance_create_and_build`` stands for, as two calls of ``conductor``
    (a client or a manager): the create within the quota, then ``build_instances``.
    For conductors older than 1.10, and for test doubles that replace the build."""
    created = conductor.instance_create_within_quota(context, values_list=values_list,
                                                     min_count=min_count)
    uuids = [instance.uuid for instance in created]
    conductor.build_instances(context, instance_uuids=uuids,
                              request_spec={**request_spec, "num_instances": len(uuids)})
    return uuids


def drop_shelve_snapshot(conductor: Any, context: Any, instance_uuid: str,
                         system_metadata: dict[str, Any]) -> None:
    """A destroyed server's shelve snapshot goes with it; one already gone is fine."""
    image_id = (system_metadata or {}).get(SHELVED_IMAGE_ID)
    if not image_id:
        return
    try:
        conductor.image_delete(context, image_id)
    except exception.ImageNotFound:
        pass
    except exception.KumoException as exc:
        LOG.warning("Could not delete the shelve snapshot %s of deleted server %s: %s",
                    image_id, instance_uuid, exc)


def update_guard(expected_task_state: Any, expected_vm_state: Any) -> dict[str, Any]:
    """The ``expected_*`` keywords of :func:`kumo.db.instances.instance_update` that
    the caller gave (UNSET: not given)."""
    guard = {}
    if expected_task_state is not UNSET:
        guard["expected_task_state"] = expected_task_state
    if expected_vm_state is not UNSET:
        guard["expected_vm_state"] = expected_vm_state
    return guard


def action_record(context: Any, action: str) -> dict[str, Any]:
    """The instance action ``action`` of the caller's request, as
    :mod:`kumo.db.instance_writes` starts it."""
    return {"action": action, "request_id": getattr(context, "request_id", None),
            "user_id": getattr(context, "user_id", None),
            "project_id": getattr(context, "project_id", None)}


class BootMixin:
    """Boot and delete in fewer round trips (1.9)."""

    flavor_get_by_flavor_id: Any  # of ConductorManager
    image_get: Any
    build_instances: Any
    image_delete: Any

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
        return rows.instance(instance_writes.update_starting_action(
            instance_uuid, rows.plain(values), action_record(context, action), **guard))

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
        ``result``; nothing when the request started no action); answers nothing.
        Since 1.10 ``event`` may carry ``start_time`` (ISO 8601): the event is then
        recorded here if its start was not (kumo-compute no longer sends the start).

        What ``ConductorManager.instance_destroy`` does, with the event in the same
        transaction and no instance read back."""
        # The server's group memberships go in the same transaction.
        system_metadata = instance_writes.destroy_finishing_event(instance_uuid, event)
        drop_shelve_snapshot(self, context, instance_uuid, system_metadata)

    def instance_build_take(self, context: Any, instance_uuid: str, host: str, node: str,
                            token: str, event: dict[str, Any] | None = None) -> str | None:
        """Take build attempt ``token`` of the server on ``host``/``node`` for the
        calling request (see :func:`kumo.compute.build_guard.take`): None when taken,
        else why it must not spawn. Starts the request's step ``event`` (``request_id``,
        ``event``, ``host``) in the same transaction, taken or not."""
        return instance_writes.take_build(
            instance_uuid, {"system_metadata": {build_guard.BUILD_TAKEN: token}},
            lambda row: build_guard.stale_reason_of_row(row, host, node, token),
            event=event)

    def instance_create_and_build(self, context: Any, values_list: list[dict[str, Any]],
                                  min_count: int, request_spec: dict[str, Any]
                                  ) -> list[str]:
        """``instance_create_within_quota`` then ``build_instances`` (the request's
        ``num_instances`` set to the number created); answers the new servers' uuids,
        not the servers (nothing read back). Raises as the create does."""
        uuids = instance_db.instance_create_uuids(
            [rows.plain(values) for values in values_list], min_count=min_count)
        self.build_instances(context, uuids, {**request_spec, "num_instances": len(uuids)})
        return uuids
