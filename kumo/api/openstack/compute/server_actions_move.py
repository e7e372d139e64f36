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
from oslo_log import log as logging
from oslo_utils import timeutils

from kumo import exception, policy
from kumo.api import validation
from kumo.api.openstack import api_version, common
from kumo.api.openstack.compute import views
from kumo.compute import states, vm_states
from kumo.conf import CONF

LOG = logging.getLogger(__name__)

Handler = Callable[[Any, webob.Request, str, dict[str, Any]], webob.Response]

# Nova's names of the actions in os-instance-actions.
_RECORDED = {"soft_delete": "delete", "os-migrateLive": "live-migration"}

# 2.90 / 2.94: letters, digits, '-' (and, from 2.94, '.'), not at either end
# (servers.check_hostname tells the two apart).
HOSTNAME: dict[str, Any] = {"type": "string", "minLength": 2, "maxLength": 255,
                            "pattern": r"^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$"}
# The fields PUT /servers/{id} and rebuild both change, and their instance columns.
_EDITABLE = {"name": "display_name", "accessIPv4": "access_ip_v4",
             "accessIPv6": "access_ip_v6", "description": "display_description"}


def edited_values(spec: dict[str, Any]) -> dict[str, Any]:
    """The instance values of the :data:`_EDITABLE` fields present in ``spec``."""
    return {column: spec[field] for field, column in _EDITABLE.items() if field in spec}


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
                       "preserve_ephemeral": validation.BOOLEAN,
                       # Later microversions' (REBUILD_FIELDS), kept out of earlier ones.
                       "description": {"type": ["string", "null"], "maxLength": 255,
                                       "pattern": r"^[^\x00-\x1f\x7f]*$"},
                       "key_name": {"type": ["string", "null"], "minLength": 1,
                                    "maxLength": 255},
                       "trusted_image_certificates": {
                           "type": ["array", "null"], "minItems": 1, "maxItems": 50,
                           "uniqueItems": True, "items": {"type": "string", "minLength": 1}},
                       "hostname": HOSTNAME,  # 2.90
                       "user_data": {"oneOf": [
                           {"type": "string", "format": "base64", "maxLength": 65535},
                           {"type": "null"}]}},
        "required": ["imageRef"], "additionalProperties": False}},
    "required": ["rebuild"], "additionalProperties": False,
}
MIGRATE_SCHEMA = {
    "type": "object",
    "properties": {"migrate": {"type": "null"}},
    "required": ["migrate"], "additionalProperties": False,
}
MIGRATE_SCHEMA_2_56 = {
    "type": "object",
    "properties": {"migrate": {"oneOf": [
        {"type": "null"},
        {"type": "object",
         "properties": {"host": {"type": ["string", "null"], "minLength": 1,
                                 "maxLength": 255}},
         "additionalProperties": False}]}},
    "required": ["migrate"], "additionalProperties": False,
}
# Rebuild fields -> (the microversion that added them, the one that removed them).
REBUILD_FIELDS: dict[str, tuple[str, str | None]] = {
    "description": ("2.19", None), "key_name": ("2.54", None), "user_data": ("2.57", None),
    "trusted_image_certificates": ("2.63", None), "hostname": ("2.90", None)}
LIVE_MIGRATE_SCHEMA = {
    "type": "object",
    "properties": {"os-migrateLive": {
        "type": "object",
        "properties": {"host": {"type": ["string", "null"]},
                       "block_migration": {"oneOf": [validation.BOOLEAN,
                                                     {"type": "string", "enum": ["auto"]}]},
                       "disk_over_commit": validation.BOOLEAN,
                       # 2.30 (checked in _check_live_migrate_version).
                       "force": validation.BOOLEAN},
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


def _authorize(context: Any, rule: str, instance: Any) -> None:
    """403 unless ``context`` may do ``rule`` on ``instance`` (its owner the target)."""
    policy.authorize(context, rule, views.server_target(instance))


def _check_live_migrate_version(req: webob.Request, spec: dict[str, Any]) -> None:
    """2.25: ``block_migration`` may be "auto" and ``disk_over_commit`` is gone;
    2.30–2.67: ``force`` (kumo's scheduler checks a named host either way)."""
    if "force" in spec and (not api_version.at_least(req, "2.30")
                            or api_version.at_least(req, "2.68")):
        raise common.BadRequest(reason=(
            "Invalid input for field/attribute os-migrateLive. Additional properties "
            "are not allowed ('force' was unexpected)"))
    if api_version.at_least(req, "2.25"):
        if "disk_over_commit" in spec:
            raise common.BadRequest(reason=(
                "Invalid input for field/attribute os-migrateLive. Additional properties "
                "are not allowed ('disk_over_commit' was unexpected)"))
    elif spec.get("block_migration") == "auto":
        raise common.BadRequest(reason=(
            "Invalid input for field/attribute block_migration. Value: auto. 'auto' is "
            "not of type 'boolean' before microversion 2.25"))


def _locked(context: Any, instance: Any) -> None:
    from kumo.api.openstack.compute.servers import check_lock

    check_lock(context, instance)


# --- resize, migrate, confirm, revert -----------------------------------------------------


def resize(controller: Any, req: webob.Request, server_id: str,
           body: dict[str, Any]) -> webob.Response:
    context = common.context_of(req)
    validation.validate(RESIZE_SCHEMA, body)
    instance = controller._get(context, server_id)
    _authorize(context, "os_compute_api:servers:resize", instance)
    _locked(context, instance)
    states.check("resize", instance)
    flavor = controller._flavor(context, body["resize"]["flavorRef"])
    current = instance.get("flavor", None)
    if current is not None and current.flavorid == flavor.flavorid:
        raise common.BadRequest(reason="When resizing, instances must change flavor!")
    from kumo.api.openstack.compute.servers import _flavor_values

    # Quota (kumo.db.quotas): 403 overLimit when the bigger flavor does not fit.
    controller.clients.conductor.quota_check_resize(
        context, instance_uuid=server_id, vcpus=flavor.vcpus, memory_mb=flavor.memory_mb)
    _start_task(controller, context, instance, "resize")
    controller.clients.conductor.resize_instance(
        context, instance_uuid=server_id, flavor=_flavor_values(flavor))
    return common.empty_response(202)


def migrate(controller: Any, req: webob.Request, server_id: str,
            body: dict[str, Any]) -> webob.Response:
    """Cold migration; 2.56: ``{"migrate": {"host": …}}`` names the destination."""
    context = common.context_of(req)
    at_2_56 = api_version.at_least(req, "2.56")
    validation.validate(MIGRATE_SCHEMA_2_56 if at_2_56 else MIGRATE_SCHEMA, body)
    host = (body["migrate"] or {}).get("host") if at_2_56 else None
    instance = controller._get(context, server_id)
    _authorize(context, "os_compute_api:os-migrate-server:migrate", instance)
    states.check("migrate", instance)
    if host is not None:
        _check_destination(controller, context, instance, host)
    _start_task(controller, context, instance, "migrate")
    # A cold migration is a resize to the same flavor (flavor=None), to ``host`` if named.
    destination = {} if host is None else {"host": host}
    controller.clients.conductor.resize_instance(context, instance_uuid=server_id,
                                                 flavor=None, **destination)
    return common.empty_response(202)


def _check_destination(controller: Any, context: Any, instance: Any, host: str) -> None:
    """400 unless ``host`` runs a compute service and is not the server's own host."""
    try:
        controller.clients.conductor.service_get_by_host_and_binary(
            context, host=host, binary="kumo-compute")
    except exception.HostBinaryNotFound:
        raise common.BadRequest(
            reason=exception.ComputeHostNotFound(host=host).message) from None
    if host == instance.host:
        raise common.BadRequest(reason="Cannot migrate to the host where the server exists.")


def _finish_resize(action: str, cast: str, status: int) -> Handler:
    """The handler of confirmResize / revertResize: the guarded task update, then the
    conductor's ``cast`` (``os_compute_api:servers:<cast>``), answering ``status``."""

    def handler(controller: Any, req: webob.Request, server_id: str,
                body: dict[str, Any]) -> webob.Response:
        context = common.context_of(req)
        instance = controller._get(context, server_id)
        _authorize(context, f"os_compute_api:servers:{cast}", instance)
        _locked(context, instance)
        states.check(action, instance)
        _start_task(controller, context, instance, action)
        getattr(controller.clients.conductor, cast)(context, instance_uuid=server_id)
        return common.empty_response(status)

    handler.__name__ = cast
    return handler


confirm_resize = _finish_resize("confirmResize", "confirm_resize", 204)
revert_resize = _finish_resize("revertResize", "revert_resize", 202)


# --- rebuild ---------------------------------------------------------------------------------


def rebuild(controller: Any, req: webob.Request, server_id: str,
            body: dict[str, Any]) -> webob.Response:
    context = common.context_of(req)
    from kumo.api.openstack.compute.servers import (
        check_hostname,
        check_trusted_certificates,
        versioned_schema,
    )

    validation.validate(versioned_schema(req, REBUILD_SCHEMA, "rebuild", REBUILD_FIELDS), body)
    spec = body["rebuild"]
    check_hostname(req, spec)
    check_trusted_certificates(spec)
    instance = controller._get(context, server_id)
    _authorize(context, "os_compute_api:servers:rebuild", instance)
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
    values: dict[str, Any] = {"image_ref": image.id, **edited_values(spec)}
    if "metadata" in spec:
        values["metadata"] = dict(spec["metadata"])
    if "key_name" in spec:
        # 2.54: another of the caller's key pairs, or none (null).
        key_pair = controller._key_pair(context, spec["key_name"])
        values["key_name"] = key_pair["name"] if key_pair else None
        values["key_data"] = key_pair["public_key"] if key_pair else None
    if "user_data" in spec:
        # 2.57: new user data for the rebuilt guest, or none (null).
        values["user_data"] = spec["user_data"]
    if "hostname" in spec:
        values["hostname"] = spec["hostname"]  # 2.90
    instance = _start_task(controller, context, instance, "rebuild", values)
    controller.clients.compute.rebuild_instance(
        context, instance=instance,
        image={"id": image.id,
               "properties": dict(image.get("properties", None) or {})},
        host=instance.host)
    from kumo.api.openstack.compute.servers import _generate_password

    server = controller.write_view(req, context, instance)
    server["adminPass"] = spec.get("adminPass") or _generate_password()
    return common.json_response({"server": server}, status=202)


# --- createImage -----------------------------------------------------------------------------


def create_image(controller: Any, req: webob.Request, server_id: str,
                 body: dict[str, Any]) -> webob.Response:
    """Snapshot the server into a new image of the configured image service (the
    local store or Glance), queued now and filled by the server's host."""
    context = common.context_of(req)
    validation.validate(CREATE_IMAGE_SCHEMA, body)
    spec = body["createImage"]
    instance = controller._get(context, server_id)
    _authorize(context, "os_compute_api:servers:create_image", instance)
    states.check("createImage", instance)
    if not instance.host:
        raise exception.InstanceInvalidState(action="createImage", instance_uuid=server_id,
                                             attr="host", state="None")
    metadata = spec.get("metadata") or {}
    if not api_version.at_least(req, "2.39"):
        # Up to 2.38 the image metadata counts against the metadata_items quota.
        _check_image_metadata_quota(controller, context, metadata)
    images = _image_api(controller)
    image = images.create_snapshot(context, instance, spec["name"], metadata)
    try:
        instance = _start_task(controller, context, instance, "createImage")
    except Exception:
        _delete_image_quietly(images, context, image.id)
        raise
    controller.clients.compute.snapshot_instance(context, instance=instance,
                                                 image_id=image.id, host=instance.host)
    if api_version.at_least(req, "2.45"):
        # 2.45: the new image's id in the body, no Location header.
        return common.json_response({"image_id": image.id}, status=202)
    response = common.empty_response(202)
    response.headers["Location"] = common.self_href(req, "images", image.id)
    return response


def _image_api(controller: Any) -> Any:
    """The configured image service, through :class:`kumo.image.api.ImageAPI`."""
    from kumo.api.openstack.compute import images as images_api

    return images_api.image_api_of(controller.clients)


def _check_image_metadata_quota(controller: Any, context: Any,
                                metadata: dict[str, Any]) -> None:
    """403 "Image metadata limit exceeded" beyond the project's metadata_items."""
    from kumo.api.openstack.compute.image_metadata import ImageMetadataLimitExceeded

    try:
        controller.clients.conductor.quota_check_metadata(
            context, project_id=context.project_id, count=len(metadata))
    except exception.MetadataLimitExceeded:
        raise ImageMetadataLimitExceeded() from None


def _delete_image_quietly(images: Any, context: Any, image_id: str) -> None:
    """Remove the queued image of an action that did not start (logged if it fails:
    the action's own error is the one the caller gets)."""
    try:
        images.delete(context, image_id)
    except Exception:
        LOG.exception("Could not delete the queued image %s", image_id)


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
    _authorize(context, "os_compute_api:os-deferred-delete:restore", instance)
    states.check("restore", instance)
    instance = _start_task(controller, context, instance, "restore")
    controller.clients.compute.restore_instance(context, instance=instance,
                                                host=instance.host)
    return common.empty_response(202)


def force_delete(controller: Any, req: webob.Request, server_id: str,
                 body: dict[str, Any]) -> webob.Response:
    context = common.context_of(req)
    instance = controller._get(context, server_id)
    _authorize(context, "os_compute_api:os-deferred-delete:force", instance)
    states.check("forceDelete", instance)
    # A SOFT_DELETED server is never soft-deleted again: this is the real delete.
    controller.delete(req, server_id)
    return common.empty_response(202)


# --- shelve, unshelve ------------------------------------------------------------------------


def shelve(controller: Any, req: webob.Request, server_id: str,
           body: dict[str, Any]) -> webob.Response:
    context = common.context_of(req)
    instance = controller._get(context, server_id)
    _authorize(context, "os_compute_api:os-shelve:shelve", instance)
    _locked(context, instance)
    states.check("shelve", instance)
    if not instance.host:
        raise exception.InstanceInvalidState(action="shelve", instance_uuid=server_id,
                                             attr="host", state="None")
    images = _image_api(controller)
    image = images.create_snapshot(context, instance, f"{instance.display_name}-shelved")
    try:
        instance = _start_task(controller, context, instance, "shelve")
    except Exception:
        _delete_image_quietly(images, context, image.id)
        raise
    controller.clients.compute.shelve_instance(context, instance=instance,
                                               image_id=image.id, host=instance.host)
    return common.empty_response(202)


def _unshelve_schema(req: webob.Request) -> dict[str, Any] | None:
    """The unshelve body of the request's microversion (None: anything, as 2.1)."""
    if not api_version.at_least(req, "2.77"):
        return None
    if api_version.at_least(req, "2.91"):
        spec: dict[str, Any] = {
            "type": "object",
            "properties": {"availability_zone": {"type": ["string", "null"]},
                           "host": {"type": "string", "minLength": 1, "maxLength": 255}},
            "additionalProperties": False}
    else:
        spec = {"type": "object",
                "properties": {"availability_zone": validation.NAME},
                "required": ["availability_zone"], "additionalProperties": False}
    return {"type": "object",
            "properties": {"unshelve": {"oneOf": [{"type": "null"}, spec]}},
            "required": ["unshelve"], "additionalProperties": False}


def _unshelve_destination(controller: Any, req: webob.Request, context: Any, instance: Any,
                          spec: dict[str, Any]) -> dict[str, Any]:
    """2.77 / 2.91: the checked ``availability_zone`` / ``host`` of an unshelve (only
    the keys the body gave; ``availability_zone`` None unpins the server's zone)."""
    if not spec:
        return {}
    if instance.vm_state != vm_states.SHELVED_OFFLOADED:
        raise exception.Conflict(reason=(
            f"The server {instance.uuid} is {instance.vm_state}: an availability zone or a "
            "host may be given only when the server is SHELVED_OFFLOADED."))
    host = spec.get("host")
    if host is not None:
        _authorize(context, "os_compute_api:os-shelve:unshelve_to_host", instance)
    zones = controller.clients.conductor.availability_zone_get_all(context)
    zone = spec.get("availability_zone")
    if zone is not None and zone not in {z["zone"] for z in zones if z["available"]}:
        raise common.BadRequest(reason="The requested availability zone is not available")
    if host is not None:
        host_zone = next((z["zone"] for z in zones if host in z.get("hosts", {})), None)
        if host_zone is None:
            raise common.BadRequest(reason=exception.ComputeHostNotFound(host=host).message)
        # Without a new zone, the zone the server is pinned to (unless unpinned: null).
        pinned = zone if "availability_zone" in spec else views.pinned_zone(instance)
        if pinned is not None and pinned != host_zone:
            raise common.BadRequest(
                reason=f"Host {host} is not in the availability zone {pinned}.")
    return dict(spec)


def unshelve(controller: Any, req: webob.Request, server_id: str,
             body: dict[str, Any]) -> webob.Response:
    """Bring a shelved server back; 2.77: into ``availability_zone``, 2.91: onto
    ``host`` (admins) or unpinned from its zone (``availability_zone`` null) — both
    only for a SHELVED_OFFLOADED server (409 otherwise)."""
    context = common.context_of(req)
    schema = _unshelve_schema(req)
    if schema is not None:
        validation.validate(schema, body)
    instance = controller._get(context, server_id)
    _authorize(context, "os_compute_api:os-shelve:unshelve", instance)
    _locked(context, instance)
    states.check("unshelve", instance)
    spec = body.get("unshelve") if schema is not None else None
    destination = _unshelve_destination(controller, req, context, instance, spec or {})
    instance = _start_task(controller, context, instance, "unshelve")
    if instance.vm_state == vm_states.SHELVED and instance.host:
        # Still on its host: only its guest needs starting.
        controller.clients.compute.unshelve_instance(context, instance=instance, node=None,
                                                     host=instance.host)
    else:
        controller.clients.conductor.unshelve_instance(context, instance_uuid=server_id,
                                                       **destination)
    return common.empty_response(202)


def shelve_offload(controller: Any, req: webob.Request, server_id: str,
                   body: dict[str, Any]) -> webob.Response:
    """Destroy a SHELVED server's guest and free its host: SHELVED_OFFLOADED (admin by
    default; with [DEFAULT] shelved_offload_time -1 the only way to offload)."""
    context = common.context_of(req)
    instance = controller._get(context, server_id)
    _authorize(context, "os_compute_api:os-shelve:shelve_offload", instance)
    states.check("shelveOffload", instance)
    if not instance.host:
        raise exception.InstanceInvalidState(action="shelve_offload",
                                             instance_uuid=server_id, attr="host",
                                             state="None")
    instance = _start_task(controller, context, instance, "shelveOffload")
    controller.clients.compute.shelve_offload_instance(context, instance=instance,
                                                       host=instance.host)
    return common.empty_response(202)


# --- os-migrateLive --------------------------------------------------------------------------


def live_migrate(controller: Any, req: webob.Request, server_id: str,
                 body: dict[str, Any]) -> webob.Response:
    context = common.context_of(req)
    validation.validate(LIVE_MIGRATE_SCHEMA, body)
    spec = body["os-migrateLive"]
    _check_live_migrate_version(req, spec)
    instance = controller._get(context, server_id)
    _authorize(context, "os_compute_api:os-migrate-server:migrate_live", instance)
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
    "shelveOffload": shelve_offload,
    "os-migrateLive": live_migrate,
}


def register(dispatcher: MutableMapping[str, Any]) -> None:
    """Add the move actions to the ``POST /servers/{id}/action`` dispatcher (a dict
    from action name to handler)."""
    dispatcher.update(ACTIONS)
