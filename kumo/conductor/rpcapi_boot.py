"""Conductor client calls of the boot and delete hot paths, sent as 1.9.

Mixed into :class:`kumo.conductor.rpcapi.ConductorAPI`; see
:mod:`kumo.conductor.boot`.
"""

from __future__ import annotations

from typing import Any

VERSION = "1.9"
#: instance_build_take, instance_create_and_build.
VERSION_1_10 = "1.10"


class BootAPIMixin:
    call: Any
    can_send_version: Any

    def boot_sources(self, ctxt: Any, flavor_id: str, image_id: str,
                     project_id: str | None = None) -> dict[str, Any]:
        """``{"flavor": Flavor, "image": Image}`` in one call; raises FlavorNotFound
        (checked first) or ImageNotFound."""
        return self.call(ctxt, "boot_sources", {
            "flavor_id": flavor_id, "image_id": image_id, "project_id": project_id},
            version=VERSION)

    def instance_update_starting_action(self, ctxt: Any, instance_uuid: str,
                                        values: dict[str, Any], action: str, *,
                                        expected_task_state: Any, **guard: Any) -> Any:
        """``instance_update`` guarded by ``expected_task_state`` (and an optional
        ``expected_vm_state``) that also starts the request's instance action
        ``action``; the updated Instance. Raises as instance_update does."""
        args: dict[str, Any] = {"instance_uuid": instance_uuid, "values": values,
                                "action": action, "expected_task_state": expected_task_state,
                                **guard}
        return self.call(ctxt, "instance_update_starting_action", args, version=VERSION)

    def instance_update_finishing_event(self, ctxt: Any, instance_uuid: str,
                                        values: dict[str, Any], event: dict[str, Any], *,
                                        expected_task_state: Any, **guard: Any) -> None:
        """``instance_update`` guarded by ``expected_task_state`` that also finishes
        the request's action event ``event`` (``request_id``, ``event``, ``host``,
        ``result``); answers nothing. Raises as instance_update does."""
        self.call(ctxt, "instance_update_finishing_event", {
            "instance_uuid": instance_uuid, "values": values, "event": event,
            "expected_task_state": expected_task_state, **guard}, version=VERSION)

    def instance_destroy_finishing_event(self, ctxt: Any, instance_uuid: str,
                                         event: dict[str, Any]) -> None:
        """``instance_destroy`` that also finishes the request's action event ``event``
        (``request_id``, ``event``, ``host``, ``result``); answers nothing. Raises
        InstanceNotFound as instance_destroy does."""
        self.call(ctxt, "instance_destroy_finishing_event",
                  {"instance_uuid": instance_uuid, "event": event}, version=VERSION)

    def instance_build_take(self, ctxt: Any, instance_uuid: str, host: str, node: str,
                            token: str, event: dict[str, Any] | None = None) -> str | None:
        """Check and take build attempt ``token`` of the server on ``host``/``node``,
        starting the request's step ``event``; None when taken, else why not (see
        :func:`kumo.compute.build_guard.take`). Not re-sent: a second take of the
        same attempt would find it taken."""
        return self.call(ctxt, "instance_build_take", {
            "instance_uuid": instance_uuid, "host": host, "node": node, "token": token,
            "event": event}, version=VERSION_1_10)

    def instance_create_and_build(self, ctxt: Any, values_list: list[dict[str, Any]],
                                  min_count: int, request_spec: dict[str, Any]
                                  ) -> list[str]:
        """Create the servers within the quota and start their build; the new
        servers' uuids. A conductor older than 1.10 gets the create and the
        ``build_instances`` cast it stands for."""
        if self.can_send_version(VERSION_1_10):
            return self.call(ctxt, "instance_create_and_build", {
                "values_list": values_list, "min_count": min_count,
                "request_spec": request_spec}, version=VERSION_1_10)
        from kumo.conductor.boot import create_then_build

        return create_then_build(self, ctxt, values_list, min_count, request_spec)
