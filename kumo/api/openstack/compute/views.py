"""The JSON shapes of servers, flavors and images (Compute API v2.1)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import webob
from oslo_policy import policy as oslo_policy

from kumo import policy
from kumo.api.openstack import api_version, common
from kumo.api.openstack.compute import addresses as server_addresses  # kumo-network
from kumo.api.openstack.compute import status as server_status
from kumo.policies import servers as servers_policies

INSTANCE_NAME_TEMPLATE = "instance-%08x"

# Statuses whose detail shows the fault / the progress (Nova's view builder).
_FAULT_STATUSES = ("ERROR", "DELETED")
_PROGRESS_STATUSES = ("ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING")


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """A field of a versioned object (or dict), ``default`` when unset."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    if hasattr(obj, "obj_attr_is_set") and (
            name not in obj.fields or not obj.obj_attr_is_set(name)):
        return default
    return getattr(obj, name, default)


def _getter(obj: Any) -> Any:
    """:func:`_get` bound to ``obj``: a dict's own ``get`` when it is one (the rows of
    a listing, read some forty times each), else a call of :func:`_get`."""
    if isinstance(obj, dict):
        return obj.get
    return lambda name, default=None: _get(obj, name, default)


# --- servers ---------------------------------------------------------------------------

# Where a request keeps the policy answers its views already asked for.
_POLICY_CACHE_KEY = "kumo.views.policy"
_LINKS_CACHE_KEY = "kumo.views.links"
_HOST_ID_CACHE_KEY = "kumo.views.host_ids"


def _links(req: webob.Request, collection: str, item_id: str) -> list[dict[str, str]]:
    """``common.links``, with the collection's two URL prefixes built once a request."""
    cache = req.environ.setdefault(_LINKS_CACHE_KEY, {})
    if collection not in cache:
        cache[collection] = (common.self_href(req, collection, ""),
                             common.bookmark_href(req, collection, ""))
    self_base, bookmark_base = cache[collection]
    return [{"rel": "self", "href": self_base + item_id},
            {"rel": "bookmark", "href": bookmark_base + item_id}]


def _bookmark_links(req: webob.Request, collection: str,
                    item_id: str) -> list[dict[str, str]]:
    """``common.bookmark_links`` (prefix built once a request, see :func:`_links`)."""
    cache = req.environ.get(_LINKS_CACHE_KEY)
    if cache is None or collection not in cache:
        return [_links(req, collection, item_id)[1]]
    return [{"rel": "bookmark", "href": cache[collection][1] + item_id}]


def _is_admin(req: webob.Request) -> bool:
    """``policy.check_is_admin`` of the request's caller, asked once a request."""
    cache = req.environ.setdefault(_POLICY_CACHE_KEY, {})
    if "context_is_admin" not in cache:
        cache["context_is_admin"] = policy.check_is_admin(common.context_of(req))
    return cache["context_is_admin"]


# The microversions the server views tell apart.
_VIEW_VERSIONS = ("2.3", "2.9", "2.16", "2.19", "2.26", "2.47", "2.63", "2.71", "2.73",
                  "2.90", "2.96", "2.98", "2.100")
_PLAN_CACHE_KEY = "kumo.views.plan"
# Negotiated microversion -> its plan (read-only, shared by the requests at that
# version; at most one per microversion kumo serves).
_PLANS: dict[Any, dict[str, bool]] = {}


def _plan(req: webob.Request) -> dict[str, bool]:
    """{version: the request is at least it} for :data:`_VIEW_VERSIONS`, found once a
    request (a listing asks a few times per server) and worked out once per
    negotiated microversion (even once a request, a twentieth of a show's calls)."""
    plan = req.environ.get(_PLAN_CACHE_KEY)
    if plan is None:
        version = api_version.of(req)
        plan = _PLANS.get(version)
        if plan is None:
            plan = _PLANS[version] = {gate: version >= gate for gate in _VIEW_VERSIONS}
        req.environ[_PLAN_CACHE_KEY] = plan
    return plan


def _host_id(req: webob.Request, project_id: str | None, host: str | None) -> str:
    """:func:`host_id`, hashed once per (project, host) a request: a listing's
    servers share a few hosts."""
    if not host:
        return ""
    cache = req.environ.setdefault(_HOST_ID_CACHE_KEY, {})
    key = (project_id, host)
    found = cache.get(key)
    if found is None:
        found = cache[key] = host_id(project_id, host)
    return found


def _owner_can(req: webob.Request, rule: str, project_id: Any, user_id: Any) -> bool:
    """``policy.can`` for the request's caller with the server's owner as the target,
    asked once per (rule, owner) a request: a 1,000-server listing of one project
    would otherwise check each rule 1,000 times (oslo.policy looks for its policy
    file on every check). The target is built only on the first ask."""
    cache = req.environ.setdefault(_POLICY_CACHE_KEY, {})
    key = (rule, (project_id, user_id))
    found = cache.get(key)
    if found is None:
        found = cache[key] = policy.can(common.context_of(req), rule,
                                        {"project_id": project_id, "user_id": user_id})
    return found


def host_id(project_id: str | None, host: str | None) -> str:
    """The opaque per-project host id: servers of a project on one host share it."""
    if not host:
        return ""
    return hashlib.sha224(((project_id or "") + host).encode()).hexdigest()


def server_basic(req: webob.Request, instance: Any) -> dict[str, Any]:
    """``GET /servers``: id, name and links."""
    return {"id": instance.uuid, "name": _get(instance, "display_name"),
            "links": _links(req, "servers", instance.uuid)}


def _fault(req: webob.Request, instance: Any) -> dict[str, Any] | None:
    fault = _get(instance, "fault")
    if not fault:
        return None
    shown = {"code": _get(fault, "code"), "created": common.isotime(_get(fault, "created_at")),
             "message": _get(fault, "message")}
    details = _get(fault, "details")
    # Details of an internal error (a traceback) are for the operator only.
    if details and (_is_admin(req) or shown["code"] != 500):
        shown["details"] = details
    return shown


def _embedded_flavor(req: webob.Request, flavor: Any) -> dict[str, Any]:
    """2.47: the flavor the server was built with, copied in (it may be gone since)."""
    shown: dict[str, Any] = {
        "vcpus": _get(flavor, "vcpus"),
        "ram": _get(flavor, "memory_mb"),
        "disk": _get(flavor, "root_gb", 0),
        "ephemeral": _get(flavor, "ephemeral_gb", 0),
        "swap": _get(flavor, "swap", 0) or 0,
        "original_name": _get(flavor, "name"),
    }
    cache = req.environ.setdefault(_POLICY_CACHE_KEY, {})
    if "extra_specs" not in cache:
        cache["extra_specs"] = _may_see_extra_specs(common.context_of(req))
    if cache["extra_specs"]:
        shown["extra_specs"] = dict(_get(flavor, "extra_specs") or {})
    return shown


def _may_see_extra_specs(context: Any) -> bool:
    try:
        return policy.can(context, "os_compute_api:os-flavor-extra-specs:index")
    except oslo_policy.PolicyNotRegistered:
        # No flavor extra-specs API registers the rule: show them to admins only.
        return policy.check_is_admin(context)


def _flavor_ref(req: webob.Request, instance: Any,
                at: dict[str, bool] | None = None) -> dict[str, Any]:
    flavor = _get(instance, "flavor")
    if flavor and (at or _plan(req))["2.47"]:
        return _embedded_flavor(req, flavor)
    flavor_id = _get(flavor, "flavorid") if flavor else None
    if flavor_id is None:
        return {}
    return {"id": flavor_id, "links": _bookmark_links(req, "flavors", flavor_id)}


def recorded_request_spec(instance: Any) -> dict[str, Any]:
    """The request spec the conductor recorded when it last placed the server (the
    boot's hints, image and the zone asked for; {} before it was scheduled)."""
    recorded = (_get(instance, "system_metadata") or {}).get("request_spec")
    if not recorded:
        return {}
    try:
        spec = json.loads(recorded)
    except ValueError:
        return {}
    return spec if isinstance(spec, dict) else {}


def pinned_zone(instance: Any) -> str | None:
    """2.96: the zone the server was asked to be in (at boot or unshelve), else None."""
    return recorded_request_spec(instance).get("availability_zone") or None


def _image_ref(req: webob.Request, instance: Any,
               at: dict[str, bool] | None = None) -> dict[str, Any] | str:
    image_id = _get(instance, "image_ref")
    if not image_id:
        return ""  # booted from a volume
    shown: dict[str, Any] = {"id": image_id,
                             "links": _bookmark_links(req, "images", image_id)}
    if (at or _plan(req))["2.98"]:
        # The properties of the image as the server was placed with it.
        image = recorded_request_spec(instance).get("image") or {}
        properties = image.get("properties") if image.get("id") == image_id else None
        shown["properties"] = {key: str(value) if not isinstance(value, str) else value
                               for key, value in (properties or {}).items()}
    return shown


def server_target(instance: Any) -> dict[str, Any]:
    """The policy target of a server: its owner."""
    return {"project_id": _get(instance, "project_id"), "user_id": _get(instance, "user_id")}


def _extended_attributes(req: webob.Request, instance: Any,
                         at: dict[str, bool] | None = None, get: Any = None) -> dict[str, Any]:
    """OS-EXT-SRV-ATTR:* (for who passes os-extended-server-attributes: admins).
    ``at`` and ``get``: the request's :func:`_plan` and the :func:`_getter` of
    ``instance``, when the caller has them."""
    if get is None:
        get = _getter(instance)
    instance_id = get("id")
    shown: dict[str, Any] = {
        "OS-EXT-SRV-ATTR:host": get("host"),
        "OS-EXT-SRV-ATTR:hypervisor_hostname": get("node"),
        "OS-EXT-SRV-ATTR:instance_name": (
            INSTANCE_NAME_TEMPLATE % instance_id if instance_id is not None else ""),
    }
    if (at or _plan(req))["2.3"]:
        shown.update({
            "OS-EXT-SRV-ATTR:reservation_id": get("reservation_id"),
            "OS-EXT-SRV-ATTR:launch_index": get("launch_index"),
            "OS-EXT-SRV-ATTR:hostname": get("hostname"),
            "OS-EXT-SRV-ATTR:kernel_id": get("kernel_id") or "",
            "OS-EXT-SRV-ATTR:ramdisk_id": get("ramdisk_id") or "",
            # kumo boots from local disks only; the guest names its root disk.
            "OS-EXT-SRV-ATTR:root_device_name": get("root_device_name"),
            "OS-EXT-SRV-ATTR:user_data": get("user_data"),
        })
    return shown


def server_detail(req: webob.Request, instance: Any,
                  host_statuses: dict[str, str] | None = None,
                  tags: list[str] | None = None,
                  server_groups: list[str] | None = None) -> dict[str, Any]:
    """``GET /servers/detail`` and ``GET /servers/{id}``: what the request's
    microversion shows. ``host_statuses`` (host -> UP/DOWN/MAINTENANCE/UNKNOWN) adds
    2.16's ``host_status`` for who may see it; ``tags`` 2.26's ``tags``;
    ``server_groups`` 2.71's (the uuids of the groups the server is in).

    A 1,000-server listing calls this 1,000 times: what depends only on the
    request (the microversion gates, the policy answers per owner, the link
    prefixes, the host ids) is worked out once a request."""
    get = _getter(instance)
    at = _plan(req)
    vm_state = get("vm_state")
    task_state = get("task_state")
    status = server_status.status_from_state(vm_state, task_state)
    project_id = get("project_id")
    user_id = get("user_id")
    # (A row's own item: its attribute is one more Python call, three a server.)
    uuid = instance["uuid"] if isinstance(instance, dict) else instance.uuid
    created_at = get("created_at")
    server: dict[str, Any] = {
        "id": uuid,
        "name": get("display_name"),
        "status": status,
        "tenant_id": project_id or "",
        "user_id": user_id or "",
        "metadata": dict(get("metadata") or {}),
        "hostId": _host_id(req, project_id, get("host")),
        "image": _image_ref(req, instance, at),
        "flavor": _flavor_ref(req, instance, at),
        "created": common.isotime(created_at),
        # Never updated: Nova shows some time there, never null; the creation is truest.
        "updated": common.isotime(get("updated_at") or created_at),
        "addresses": server_addresses.addresses(server_addresses.network_info(req, uuid)),
        "accessIPv4": get("access_ip_v4") or "",
        "accessIPv6": get("access_ip_v6") or "",
        "links": _links(req, "servers", uuid),
        "OS-DCF:diskConfig": "MANUAL",
        "key_name": get("key_name"),
        "config_drive": get("config_drive") or "",
        "OS-EXT-AZ:availability_zone": get("availability_zone") or "",
        "OS-EXT-STS:vm_state": vm_state,
        "OS-EXT-STS:task_state": task_state,
        "OS-EXT-STS:power_state": get("power_state", 0),
        "OS-SRV-USG:launched_at": common.usage_time(get("launched_at")),
        "OS-SRV-USG:terminated_at": common.usage_time(get("terminated_at")),
        "os-extended-volumes:volumes_attached": [],
        "security_groups": [{"name": "default"}],
    }
    if _owner_can(req, servers_policies.EXTENDED_ATTRIBUTES, project_id, user_id):
        server.update(_extended_attributes(req, instance, at, get))
    elif at["2.90"]:
        # 2.90: the hostname is the owner's to see (and set) as well.
        server["OS-EXT-SRV-ATTR:hostname"] = get("hostname")
    if at["2.9"]:
        server["locked"] = bool(get("locked", False))
    if at["2.16"] and host_statuses is not None:
        if _owner_can(req, servers_policies.SERVERS % "show:host_status", project_id,
                      user_id):
            host = get("host")
            # A host without a compute service record: Nova's UNKNOWN.
            server["host_status"] = host_statuses.get(host, "UNKNOWN") if host else ""
    if at["2.19"]:
        server["description"] = get("display_description")
    if at["2.26"] and tags is not None:
        server["tags"] = list(tags)
    if at["2.73"]:
        system_metadata = get("system_metadata") or {}
        server["locked_reason"] = system_metadata.get("locked_reason")
    if at["2.71"] and server_groups is not None:
        server["server_groups"] = list(server_groups)
    if at["2.63"]:
        # Never any: kumo refuses requests for image signature verification.
        server["trusted_image_certificates"] = None
    if at["2.96"]:
        server["pinned_availability_zone"] = pinned_zone(instance)
    if at["2.100"]:
        server["scheduler_hints"] = dict(
            recorded_request_spec(instance).get("scheduler_hints") or {})
    if status in _FAULT_STATUSES:
        fault = _fault(req, instance)
        if fault:
            server["fault"] = fault
    if status in _PROGRESS_STATUSES:
        server["progress"] = get("progress") or 0
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
    image_id = _get(image, "id")  # an Image object, or a Glance image's dict
    return {"id": image_id, "name": _get(image, "name"),
            "links": common.links(req, "images", image_id)}


def image_detail(req: webob.Request, image: Any) -> dict[str, Any]:
    properties = dict(_get(image, "properties") or {})
    image_id = _get(image, "id")
    shown: dict[str, Any] = {
        "id": image_id,
        "name": _get(image, "name"),
        "minRam": int(_get(image, "min_ram") or 0),
        "minDisk": int(_get(image, "min_disk") or 0),
        "metadata": properties,
        "created": common.isotime(_get(image, "created_at")),
        "updated": common.isotime(_get(image, "updated_at") or _get(image, "created_at")),
        "status": image_status(image),
        "progress": _IMAGE_PROGRESS.get(_get(image, "status"), 0),
        "OS-EXT-IMG-SIZE:size": _get(image, "size"),
        "links": common.links(req, "images", image_id),
    }
    server_id = properties.get("instance_uuid")
    if server_id:
        shown["server"] = {"id": server_id, "links": common.links(req, "servers", server_id)}
    auto_disk_config = properties.get("auto_disk_config")
    if auto_disk_config is not None:
        truthy = str(auto_disk_config).lower() in ("true", "1", "yes", "on")
        shown["OS-DCF:diskConfig"] = "AUTO" if truthy else "MANUAL"
    return shown
