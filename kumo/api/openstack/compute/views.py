"""The JSON shapes of servers, flavors and images (Compute API v2.1)."""

from __future__ import annotations

import hashlib
from typing import Any

import webob

from kumo.api.openstack import common
from kumo.api.openstack.compute import status as server_status

INSTANCE_NAME_TEMPLATE = "instance-%08x"

# Statuses whose detail shows the fault / the progress (Nova's view builder).
_FAULT_STATUSES = ("ERROR", "DELETED")
_PROGRESS_STATUSES = ("ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING")


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """A field of a versioned object (or dict), ``default`` when unset."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    if hasattr(obj, "obj_attr_is_set") and not obj.obj_attr_is_set(name):
        return default
    return getattr(obj, name, default)


# --- servers ---------------------------------------------------------------------------


def host_id(project_id: str | None, host: str | None) -> str:
    """The opaque per-project host id: servers of a project on one host share it."""
    if not host:
        return ""
    return hashlib.sha224(((project_id or "") + host).encode()).hexdigest()


def server_basic(req: webob.Request, instance: Any) -> dict[str, Any]:
    """``GET /servers``: id, name and links."""
    return {"id": instance.uuid, "name": _get(instance, "display_name"),
            "links": common.links(req, "servers", instance.uuid)}


def _fault(req: webob.Request, instance: Any) -> dict[str, Any] | None:
    fault = _get(instance, "fault")
    if not fault:
        return None
    shown = {"code": _get(fault, "code"), "created": common.isotime(_get(fault, "created_at")),
             "message": _get(fault, "message")}
    details = _get(fault, "details")
    # Details of an internal error (a traceback) are for the operator only.
    if details and (common.context_of(req).is_admin or shown["code"] != 500):
        shown["details"] = details
    return shown


def _flavor_ref(req: webob.Request, instance: Any) -> dict[str, Any]:
    flavor = _get(instance, "flavor")
    flavor_id = _get(flavor, "flavorid") if flavor else None
    if flavor_id is None:
        return {}
    return {"id": flavor_id, "links": common.bookmark_links(req, "flavors", flavor_id)}


def _image_ref(req: webob.Request, instance: Any) -> dict[str, Any] | str:
    image_id = _get(instance, "image_ref")
    if not image_id:
        return ""  # booted from a volume
    return {"id": image_id, "links": common.bookmark_links(req, "images", image_id)}


def server_detail(req: webob.Request, instance: Any) -> dict[str, Any]:
    """``GET /servers/detail`` and ``GET /servers/{id}``: everything 2.1 shows."""
    context = common.context_of(req)
    vm_state = _get(instance, "vm_state")
    task_state = _get(instance, "task_state")
    status = server_status.status_from_state(vm_state, task_state)
    project_id = _get(instance, "project_id")
    server: dict[str, Any] = {
        "id": instance.uuid,
        "name": _get(instance, "display_name"),
        "status": status,
        "tenant_id": project_id or "",
        "user_id": _get(instance, "user_id") or "",
        "metadata": dict(_get(instance, "metadata") or {}),
        "hostId": host_id(project_id, _get(instance, "host")),
        "image": _image_ref(req, instance),
        "flavor": _flavor_ref(req, instance),
        "created": common.isotime(_get(instance, "created_at")),
        # Never updated: Nova shows some time there, never null; the creation is truest.
        "updated": common.isotime(_get(instance, "updated_at") or _get(instance, "created_at")),
        "addresses": {},
        "accessIPv4": _get(instance, "access_ip_v4") or "",
        "accessIPv6": _get(instance, "access_ip_v6") or "",
        "links": common.links(req, "servers", instance.uuid),
        "OS-DCF:diskConfig": "MANUAL",
        "key_name": _get(instance, "key_name"),
        "config_drive": _get(instance, "config_drive") or "",
        "OS-EXT-AZ:availability_zone": _get(instance, "availability_zone") or "",
        "OS-EXT-STS:vm_state": vm_state,
        "OS-EXT-STS:task_state": task_state,
        "OS-EXT-STS:power_state": _get(instance, "power_state", 0),
        "OS-SRV-USG:launched_at": common.usage_time(_get(instance, "launched_at")),
        "OS-SRV-USG:terminated_at": common.usage_time(_get(instance, "terminated_at")),
        "os-extended-volumes:volumes_attached": [],
        "security_groups": [{"name": "default"}],
    }
    if context.is_admin:
        instance_id = _get(instance, "id")
        server["OS-EXT-SRV-ATTR:host"] = _get(instance, "host")
        server["OS-EXT-SRV-ATTR:hypervisor_hostname"] = _get(instance, "node")
        server["OS-EXT-SRV-ATTR:instance_name"] = (
            INSTANCE_NAME_TEMPLATE % instance_id if instance_id is not None else "")
    if status in _FAULT_STATUSES:
        fault = _fault(req, instance)
        if fault:
            server["fault"] = fault
    if status in _PROGRESS_STATUSES:
        server["progress"] = _get(instance, "progress") or 0
    return server


# --- flavors ---------------------------------------------------------------------------


def flavor_basic(req: webob.Request, flavor: Any) -> dict[str, Any]:
    return {"id": flavor.flavorid, "name": flavor.name,
            "links": common.links(req, "flavors", flavor.flavorid)}


def flavor_detail(req: webob.Request, flavor: Any) -> dict[str, Any]:
    return {
        "id": flavor.flavorid,
        "name": flavor.name,
        "ram": flavor.memory_mb,
        "vcpus": flavor.vcpus,
        "disk": _get(flavor, "root_gb", 0),
        "OS-FLV-EXT-DATA:ephemeral": _get(flavor, "ephemeral_gb", 0),
        # Microversion 2.1 shows no swap as an empty string.
        "swap": _get(flavor, "swap", 0) or "",
        "rxtx_factor": _get(flavor, "rxtx_factor", 1.0),
        "os-flavor-access:is_public": _get(flavor, "is_public", True),
        "OS-FLV-DISABLED:disabled": _get(flavor, "disabled", False),
        "links": common.links(req, "flavors", flavor.flavorid),
    }


# --- images ----------------------------------------------------------------------------

_IMAGE_STATUS = {
    "active": "ACTIVE",
    "queued": "SAVING",
    "saving": "SAVING",
    "deleted": "DELETED",
    "pending_delete": "DELETED",
    "killed": "ERROR",
}
_IMAGE_PROGRESS = {"queued": 25, "saving": 50, "active": 100}


def image_status(image: Any) -> str:
    return _IMAGE_STATUS.get(_get(image, "status"), "UNKNOWN")


def updated_at(image: Any) -> Any:
    return _get(image, "updated_at")


def image_basic(req: webob.Request, image: Any) -> dict[str, Any]:
    return {"id": image.id, "name": _get(image, "name"),
            "links": common.links(req, "images", image.id)}


def image_detail(req: webob.Request, image: Any) -> dict[str, Any]:
    properties = dict(_get(image, "properties") or {})
    shown: dict[str, Any] = {
        "id": image.id,
        "name": _get(image, "name"),
        "minRam": int(_get(image, "min_ram") or 0),
        "minDisk": int(_get(image, "min_disk") or 0),
        "metadata": properties,
        "created": common.isotime(_get(image, "created_at")),
        "updated": common.isotime(_get(image, "updated_at") or _get(image, "created_at")),
        "status": image_status(image),
        "progress": _IMAGE_PROGRESS.get(_get(image, "status"), 0),
        "OS-EXT-IMG-SIZE:size": _get(image, "size"),
        "links": common.links(req, "images", image.id),
    }
    server_id = properties.get("instance_uuid")
    if server_id:
        shown["server"] = {"id": server_id, "links": common.links(req, "servers", server_id)}
    auto_disk_config = properties.get("auto_disk_config")
    if auto_disk_config is not None:
        truthy = str(auto_disk_config).lower() in ("true", "1", "yes", "on")
        shown["OS-DCF:diskConfig"] = "AUTO" if truthy else "MANUAL"
    return shown
