"""``POST /servers/{id}/action``: the move actions (resize, confirmResize, revertResize,
migrate, os-migrateLive, rebuild, createImage, shelve, unshelve) and the soft
delete's restore and forceDelete.

Each handler is ``handler(controller, req, server_id, body)`` with the
:class:`~kumo.api.openstack.compute.servers.ServersController` (for its
clients and lookups) and the decoded body; :data:`ACTIONS` maps the body's
key to it and :func:`register` adds them to the action dispatcher.

A handler reads top to bottom: who asks, validate, the server's state
(:mod:`kumo.compute.states`: 409 otherwise, with Nova's message), the guarded task
update (a lost race is a 409 too), the cast, the response.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

import webob
from oslo_utils import timeutils

from kumo import exception
from kumo.api import validation
from kumo.api.openstack import common
from kumo.api.openstack.compute import views
from kumo.compute import states, vm_states
from kumo.conf import CONF

Handler = Callable[[Any, webob.Request, str, dict[str, Any]], webob.Response]

# Nova's names of the actions in os-instance-actions.
_RECORDED = {"soft_delete": "delete", "os-migrateLive": "live-migration"}

RESIZE_SCHEMA = {
    "type": "object",
    "properties": {"resize": {
        "type": "object",
        "properties": {"flavorRef": {"type": ["string", "integer"], "minLength": 1},
                       "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]}},
        "required": ["flavorRef"], "additionalProperties": False}},
    "required": ["resize"], "additionalProperties": False,
}
REBUILD_SCHEMA = {
    "type": "object",
    "properties": {"rebuild": {
        "type": "object",
        "properties": {"imageRef": {"type": "string"}, "name": validation.NAME,
                       "metadata": validation.METADATA, "adminPass": {"type": "string"},
                       "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
                       "accessIPv4": validation.ACCESS_IPV4,
                       "accessIPv6": validation.ACCESS_IPV6,
                       "preserve_ephemeral": validation.BOOLEAN},
        "required": ["imageRef"], "additionalProperties": False}},
    "required": ["rebuild"], "additionalProperties": False,
}
LIVE_MIGRATE_SCHEMA = {
    "type": "object",
    "properties": {"os-migrateLive": {
        "type": "object",
        "properties": {"host": {"type": ["string", "null"]},
                       "block_migration": {"oneOf": [validation.BOOLEAN,
                                                     {"type": "string", "enum": ["auto"]}]},
                       "disk_over_commit": validation.BOOLEAN},
        "required": ["host", "block_migration"], "additionalProperties": False}},
    "required": ["os-migrateLive"], "additionalProperties": False,
}
CREATE_IMAGE_SCHEMA = {
    "type": "object",
    "properties": {"createImage": {
        "type": "object",
        "properties": {"name": validation.NAME, "metadata": validation.METADATA},
        "required": ["name"], "additionalProperties": False}},
    "required": ["createImage"], "additionalProperties": False,
}


def _start_task(controller: Any, context: Any, instance: Any, action: str,
                values: dict[str, Any] | None = None) -> Any:
    """The guarded update that gives the idle server ``action``'s task (a lost race is
    a 409), recorded as the request's instance action under Nova's name."""
    from kumo.api.openstack.compute import server_actions

    updated = server_actions.start_task(controller, context, instance, action, values)
    server_actions.record_action(controller, context, updated,
                                 _RECORDED.get(action, action))
    return updated


def _check_admin(context: Any, policy: str) -> None:
    if not context.is_admin:
        raise common.Forbidden(reason=f"Policy doesn't allow {policy} to be performed.")


def _locked(context: Any, instance: Any) -> None:
    from kumo.api.openstack.compute.servers import check_lock

    check_lock(context, instance)


# --- resize, migrate, confirm, revert -----------------------------------------------------


def resize(controller: Any, req: webob.Request, server_id: str,
           body: dict[str, Any]) -> webob.Response:
    context = common.context_of(req)
    validation.validate(RESIZE_SCHEMA, body)
    instance = controller._get(context, server_id)
    _locked(context, instance)
    states.check("resize", instance)
    flavor = controller._flavor(context, body["resize"]["flavorRef"])
    current = instance.get("flavor", None)
    if current is not None and current.flavorid == flavor.flavorid:
        raise common.BadRequest(reason="When resizing, instances must change flavor!")
    from kumo.api.openstack.compute.servers import _flavor_values

    _start_task(controller, context, instance, "resize")
    controller.clients.conductor.resize_instance(
        context, instance_uuid=server_id, flavor=_flavor_values(flavor))
    return common.empty_response(202)


def migrate(controller: Any, req: webob.Request, server_id: str,
            body: dict[str, Any]) -> webob.Response:
    context = common.context_of(req)
    _check_admin(context, "os_compute_api:os-migrate-server:migrate")
    instance = controller._get(context, server_id)
    states.check("migrate", instance)
    _start_task(controller, context, instance, "migrate")
    controller.clients.conductor.resize_instance(context, instance_uuid=server_id,
                                                 flavor=None)
    return common.empty_response(202)


def confirm_resize(controller: Any, req: webob.Request, server_id: str,
                   body: dict[str, Any]) -> webob.Response:
    context = common.context_of(req)
    instance = controller._get(context, server_id)
    _locked(context, instance)
    states.check("confirmResize", instance)
    _start_task(controller, context, instance, "confirmResize")
    controller.clients.conductor.confirm_resize(context, instance_uuid=server_id)
    return common.empty_response(204)


def revert_resize(controller: Any, req: webob.Request, server_id: str,
                  body: dict[str, Any]) -> webob.Response:
    context = common.context_of(req)
    instance = controller._get(context, server_id)
    _locked(context, instance)
    states.check("revertResize", instance)
    _start_task(controller, context, instance, "revertResize")
    controller.clients.conductor.revert_resize(context, instance_uuid=server_id)
    return common.empty_response(202)


# --- rebuild ---------------------------------------------------------------------------------


def rebuild(controller: Any, req: webob.Request, server_id: str,
            body: dict[str, Any]) -> webob.Response:
    context = common.context_of(req)
    validation.validate(REBUILD_SCHEMA, body)
    spec = body["rebuild"]
    instance = controller._get(context, server_id)
    _locked(context, instance)
    states.check("rebuild", instance)
    image = controller._image(context, spec["imageRef"])
    flavor = instance.get("flavor", None)
    if flavor is not None:
        controller._check_image_fits(flavor, image)
    if not instance.host:
        # Never placed (a build that found no host): there is no guest to rebuild.
        raise exception.InstanceInvalidState(action="rebuild", instance_uuid=server_id,
                                             attr="host", state="None")
    values: dict[str, Any] = {"image_ref": image.id}
    if "name" in spec:
        values["display_name"] = spec["name"]
    if "metadata" in spec:
        values["metadata"] = dict(spec["metadata"])
    if "accessIPv4" in spec:
        values["access_ip_v4"] = spec["accessIPv4"]
    if "accessIPv6" in spec:
        values["access_ip_v6"] = spec["accessIPv6"]
    instance = _start_task(controller, context, instance, "rebuild", values)
    controller.clients.compute.rebuild_instance(
        context, instance=instance,
        image={"id": image.id,
               "properties": dict(image.get("properties", None) or {})},
        host=instance.host)
    from kumo.api.openstack.compute.servers import _generate_password

    server = views.server_detail(req, instance)
    server["adminPass"] = spec.get("adminPass") or _generate_password()
    return common.json_response({"server": server}, status=202)


# --- createImage -----------------------------------------------------------------------------


def create_image(controller: Any, req: webob.Request, server_id: str,
                 body: dict[str, Any]) -> webob.Response:
    context = common.context_of(req)
    validation.validate(CREATE_IMAGE_SCHEMA, body)
    spec = body["createImage"]
    instance = controller._get(context, server_id)
    states.check("createImage", instance)
    if not instance.host:
        raise exception.InstanceInvalidState(action="createImage", instance_uuid=server_id,
                                             attr="host", state="None")
    conductor = controller.clients.conductor
    properties = {str(k): str(v) for k, v in (spec.get("metadata") or {}).items()}
    properties.update({"instance_uuid": server_id, "image_type": "snapshot",
                       "base_image_ref": instance.image_ref or "",
                       "user_id": context.user_id or ""})
    image = conductor.image_create(context, values={
        "name": spec["name"], "status": "queued", "visibility": "private",
        "owner": instance.project_id, "min_disk": instance.root_gb or 0,
        "properties": properties})
    try:
        instance = _start_task(controller, context, instance, "createImage")
    except Exception:
        conductor.image_delete(context, image_id=image.id)
        raise
    controller.clients.compute.snapshot_instance(context, instance=instance,
                                                 image_id=image.id, host=instance.host)
    response = common.empty_response(202)
    response.headers["Location"] = common.self_href(req, "images", image.id)
    return response


# --- soft delete, restore, forceDelete -------------------------------------------------------


def soft_delete_requested(instance: Any) -> bool:
    """Whether ``DELETE /servers/{id}`` keeps this server for a while (SOFT_DELETED)
    rather than deleting it: [DEFAULT] reclaim_instance_interval > 0, and an idle
    server with a guest."""
    return (CONF.reclaim_instance_interval > 0 and bool(instance.host)
            and instance.task_state is None
            and instance.vm_state in states.TRANSITIONS["soft_delete"].vm_states)


def soft_delete(controller: Any, context: Any, instance: Any) -> webob.Response:
    """Soft-delete the server: its host powers the guest off; claims are kept."""
    instance = _start_task(controller, context, instance, "soft_delete",
                           {"deleted_at": timeutils.utcnow().isoformat()})
    controller.clients.compute.soft_delete_instance(context, instance=instance,
                                                    host=instance.host)
    return common.empty_response(204)


def restore(controller: Any, req: webob.Request, server_id: str,
            body: dict[str, Any]) -> webob.Response:
    context = common.context_of(req)
    instance = controller._get(context, server_id)
    states.check("restore", instance)
    instance = _start_task(controller, context, instance, "restore")
    controller.clients.compute.restore_instance(context, instance=instance,
                                                host=instance.host)
    return common.empty_response(202)


def force_delete(controller: Any, req: webob.Request, server_id: str,
                 body: dict[str, Any]) -> webob.Response:
    context = common.context_of(req)
    instance = controller._get(context, server_id)
    states.check("forceDelete", instance)
    # A SOFT_DELETED server is never soft-deleted again: this is the real delete.
    controller.delete(req, server_id)
    return common.empty_response(202)


# --- shelve, unshelve ------------------------------------------------------------------------


def shelve(controller: Any, req: webob.Request, server_id: str,
           body: dict[str, Any]) -> webob.Response:
    context = common.context_of(req)
    instance = controller._get(context, server_id)
    _locked(context, instance)
    states.check("shelve", instance)
    if not instance.host:
        raise exception.InstanceInvalidState(action="shelve", instance_uuid=server_id,
                                             attr="host", state="None")
    conductor = controller.clients.conductor
    image = conductor.image_create(context, values={
        "name": f"{instance.display_name}-shelved", "status": "queued",
        "visibility": "private", "owner": instance.project_id,
        "min_disk": instance.root_gb or 0,
        "properties": {"instance_uuid": server_id, "image_type": "snapshot",
                       "base_image_ref": instance.image_ref or ""}})
    try:
        instance = _start_task(controller, context, instance, "shelve")
    except Exception:
        conductor.image_delete(context, image_id=image.id)
        raise
    controller.clients.compute.shelve_instance(context, instance=instance,
                                               image_id=image.id, host=instance.host)
    return common.empty_response(202)


def unshelve(controller: Any, req: webob.Request, server_id: str,
             body: dict[str, Any]) -> webob.Response:
    context = common.context_of(req)
    instance = controller._get(context, server_id)
    _locked(context, instance)
    states.check("unshelve", instance)
    instance = _start_task(controller, context, instance, "unshelve")
    if instance.vm_state == vm_states.SHELVED and instance.host:
        # Still on its host: only its guest needs starting.
        controller.clients.compute.unshelve_instance(context, instance=instance, node=None,
                                                     host=instance.host)
    else:
        controller.clients.conductor.unshelve_instance(context, instance_uuid=server_id)
    return common.empty_response(202)


# --- os-migrateLive --------------------------------------------------------------------------


def live_migrate(controller: Any, req: webob.Request, server_id: str,
                 body: dict[str, Any]) -> webob.Response:
    context = common.context_of(req)
    _check_admin(context, "os_compute_api:os-migrate-server:migrate_live")
    validation.validate(LIVE_MIGRATE_SCHEMA, body)
    spec = body["os-migrateLive"]
    instance = controller._get(context, server_id)
    states.check("os-migrateLive", instance)
    _start_task(controller, context, instance, "os-migrateLive")
    controller.clients.conductor.live_migrate_instance(
        context, instance_uuid=server_id, host=spec.get("host"),
        block_migration=spec.get("block_migration"))
    return common.empty_response(202)


#: The body's key -> its handler.
ACTIONS: dict[str, Handler] = {
    "resize": resize,
    "confirmResize": confirm_resize,
    "revertResize": revert_resize,
    "migrate": migrate,
    "rebuild": rebuild,
    "createImage": create_image,
    "restore": restore,
    "forceDelete": force_delete,
    "shelve": shelve,
    "unshelve": unshelve,
    "os-migrateLive": live_migrate,
}


def register(dispatcher: MutableMapping[str, Any]) -> None:
    """Add the move actions to the ``POST /servers/{id}/action`` dispatcher (a dict
    from action name to handler)."""
    dispatcher.update(ACTIONS)
