"""``/servers``: boot, list, show, rename and delete servers.

Each handler reads top to bottom: who asks, validate, the conductor call,
the view. Booting ends with a ``build_instances`` cast; the conductor, the
scheduler and kumo-compute do the rest (docs/compute-flow.md).
"""

from __future__ import annotations

import re
import secrets
import string
import uuid
from typing import Any

import webob
from oslo_utils import strutils, timeutils, uuidutils
from webob.multidict import MultiDict

from kumo import exception, policy, servicegroup
from kumo.api import validation
from kumo.api.openstack import api_version, common
from kumo.api.openstack.compute import (
    addresses,
    availability_zones,
    security_groups,
    server_actions_move,
    server_groups,
    server_rows,
    views,
    zone_pin,
)
from kumo.api.openstack.compute import status as server_status
from kumo.compute import power_state, task_states, vm_states
from kumo.conf import CONF
from kumo.policies import servers as servers_policies

PASSWORD_LENGTH = 12
_PASSWORD_CHARS = string.ascii_letters + string.digits

_HINTS = {"type": "object", "additionalProperties": True,
          "properties": {"group": {"type": "string", "format": "uuid"}}}
# Microversion 2.63's certificate ids to verify the image's signature with.
TRUSTED_CERTIFICATES: dict[str, Any] = {
    "type": ["array", "null"], "minItems": 1, "maxItems": 50, "uniqueItems": True,
    "items": {"type": "string", "minLength": 1}}
# Microversion 2.19's server description: up to 255 printable characters, or null.
HOSTNAME = server_actions_move.HOSTNAME
DESCRIPTION: dict[str, Any] = {"type": ["string", "null"], "maxLength": 255,
                               "pattern": r"^[^\x00-\x1f\x7f]*$"}

CREATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "server": {
            "type": "object",
            "properties": {
                "name": validation.NAME,
                "imageRef": {"type": "string"},
                "flavorRef": {"type": ["string", "integer"], "minLength": 1},
                "adminPass": {"type": "string"},
                "metadata": validation.METADATA,
                # "auto"/"none" are microversion 2.37's; accepted for clients that send them.
                "networks": {"oneOf": [
                    {"type": "string", "enum": ["auto", "none"]},
                    {"type": "array", "items": {
                        "type": "object",
                        "properties": {
                            "fixed_ip": {"type": "string", "format": "ipv4"},
                            "port": {"oneOf": [{"type": "string", "format": "uuid"},
                                               {"type": "null"}]},
                            "uuid": {"type": "string"},
                            "tag": {"type": "string"},
                        },
                        "additionalProperties": False,
                    }},
                ]},
                "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
                "accessIPv4": validation.ACCESS_IPV4,
                "accessIPv6": validation.ACCESS_IPV6,
                "personality": {"type": "array", "items": {
                    "type": "object",
                    "properties": {"path": {"type": "string"},
                                   "contents": {"type": "string", "format": "base64"}},
                    "additionalProperties": False,
                }},
                "availability_zone": validation.NAME,
                "description": DESCRIPTION,
                # 2.74: where to build (admins; see _requested_destination).
                "host": {"type": "string", "minLength": 1, "maxLength": 255},
                "hypervisor_hostname": {"type": "string", "minLength": 1, "maxLength": 255},
                # 2.90 (2.94: an FQDN; see check_hostname).
                "hostname": HOSTNAME,
                # 2.63 (refused when given: see check_trusted_certificates).
                "trusted_image_certificates": TRUSTED_CERTIFICATES,
                # 2.52: tags at boot (server_tags.TAG each).
                "tags": {"type": "array", "maxItems": 50, "items": {
                    "type": "string", "minLength": 1, "maxLength": 60,
                    "pattern": "^[^,/]*$"}},
                "config_drive": validation.BOOLEAN,
                "key_name": validation.NAME,
                "min_count": validation.POSITIVE_INTEGER,
                "max_count": validation.POSITIVE_INTEGER,
                "return_reservation_id": validation.BOOLEAN,
                "security_groups": {"type": "array", "items": {
                    "type": "object",
                    "properties": {"name": validation.NAME},
                    "additionalProperties": False,
                }},
                "user_data": {"type": "string", "format": "base64", "maxLength": 65535},
                # The openstack CLI sends the image as a mapping (image -> local disk).
                "block_device_mapping_v2": {"type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "uuid": {"type": "string"},
                        "boot_index": {"type": ["integer", "string", "null"]},
                        "source_type": {"type": "string",
                                        "enum": ["image", "volume", "snapshot", "blank"]},
                        "destination_type": {"type": "string", "enum": ["local", "volume"]},
                        "delete_on_termination": validation.BOOLEAN,
                        "device_name": {"type": "string"},
                        "volume_size": {"type": ["integer", "string", "null"]},
                        "device_type": {"type": "string"},
                        "disk_bus": {"type": "string"},
                        "guest_format": {"type": "string"},
                        "tag": {"type": "string"},
                    },
                }},
            },
            "required": ["name", "flavorRef"],
            "additionalProperties": False,
        },
        "os:scheduler_hints": _HINTS,
        "OS-SCH-HNT:scheduler_hints": _HINTS,
    },
    "required": ["server"],
    "additionalProperties": False,
}

UPDATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "server": {
            "type": "object",
            "properties": {
                "name": validation.NAME,
                "accessIPv4": validation.ACCESS_IPV4,
                "accessIPv6": validation.ACCESS_IPV6,
                "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
                "description": DESCRIPTION,
                "hostname": HOSTNAME,  # 2.90
                zone_pin.FIELD: zone_pin.SCHEMA,  # 2.104
            },
            "additionalProperties": False,
        },
    },
    "required": ["server"],
    "additionalProperties": False,
}

# The list filters a non-admin may use; others are ignored for them (Nova's rule).
_USER_FILTERS = frozenset(["reservation_id", "name", "status", "image", "flavor", "ip",
                           "changes-since", "all_tenants"])
# Body fields -> (the microversion that added them, the one that removed them).
CREATE_FIELDS: dict[str, tuple[str, str | None]] = {
    "description": ("2.19", None), "tags": ("2.52", None), "personality": ("2.1", "2.57"),
    "trusted_image_certificates": ("2.63", None), "host": ("2.74", None),
    "hypervisor_hostname": ("2.74", None), "hostname": ("2.90", None)}
UPDATE_FIELDS: dict[str, tuple[str, str | None]] = {"description": ("2.19", None),
                                                    "hostname": ("2.90", None),
                                                    zone_pin.FIELD: ("2.104", None)}
# Filters later microversions let non-admins use: 2.5 IPv6 address, 2.26 tags.
_USER_FILTERS_SINCE = {"ip6": "2.5", "tags": "2.26", "tags-any": "2.26",
                       "not-tags": "2.26", "not-tags-any": "2.26", "changes-before": "2.66",
                       "locked": "2.73",
                       # 2.83: more of the server's own fields.
                       "availability_zone": "2.83", "config_drive": "2.83",
                       "key_name": "2.83", "created_at": "2.83", "launched_at": "2.83",
                       "terminated_at": "2.83", "power_state": "2.83", "task_state": "2.83",
                       "vm_state": "2.83", "progress": "2.83", "user_id": "2.83"}
# 2.75: the only query parameters a server list knows (any other is a 400);
# filters kumo ignores (or reserves for admins) are still known names.
_QUERY_PARAMS_2_75 = frozenset([
    "user_id", "project_id", "tenant_id", "launch_index", "image_ref", "image",
    "kernel_id", "ramdisk_id", "hostname", "key_name", "power_state", "vm_state",
    "task_state", "host", "node", "flavor", "reservation_id", "launched_at",
    "terminated_at", "availability_zone", "name", "display_name", "description",
    "display_description", "locked_by", "uuid", "root_device_name", "config_drive",
    "access_ip_v4", "access_ip_v6", "auto_disk_config", "progress", "sort_key", "sort_dir",
    "all_tenants", "soft_deleted", "deleted", "status", "changes-since", "changes-before",
    "ip", "ip6", "created_at", "block_device_mapping", "services", "metadata",
    "system_metadata", "info_cache", "security_groups", "pci_devices", "limit", "marker",
    "tags", "tags-any", "not-tags", "not-tags-any", "locked"])
# The 2.26 tag filters: query parameter -> the conductor's filter.
_TAG_FILTERS = {"tags": "tags", "tags-any": "tags_any", "not-tags": "not_tags",
                "not-tags-any": "not_tags_any"}
_SORT_KEYS = frozenset([
    "access_ip_v4", "access_ip_v6", "availability_zone", "config_drive", "created_at",
    "display_name", "host", "hostname", "image_ref",
    "kernel_id", "key_name", "launch_index", "launched_at", "locked_by", "node",
    "power_state", "progress", "project_id", "ramdisk_id", "task_state",
    "terminated_at", "updated_at", "user_id", "uuid", "vm_state"])
# Every task state a delete may interrupt: all but an earlier delete.
_DELETABLE_TASK_STATES: list[str | None] = [None, *sorted(
    value for name, value in vars(task_states).items()
    if name.isupper() and isinstance(value, str) and value != task_states.DELETING)]


def _image_id(image_ref: str | None) -> str | None:
    """The image uuid an ``imageRef`` (a uuid or a link ending in one) names, or None."""
    if not image_ref:
        return None
    image_id = image_ref.rstrip("/").split("/")[-1]
    if not uuidutils.is_uuid_like(image_id):
        return None
    return str(uuid.UUID(image_id))


def _usable_flavor(flavor: Any, flavor_id: str) -> Any:
    """``flavor``, unless it is disabled (400 as if unknown)."""
    if flavor.get("disabled", False):
        raise common.BadRequest(reason=exception.FlavorNotFound(flavor_id=flavor_id).message)
    return flavor


def _active_image(image: Any) -> Any:
    """``image``, unless it is not active (400)."""
    if image.status != "active":
        raise common.BadRequest(reason=f"Image {image.id} is not active.")
    return image


class InstanceIsLocked(exception.Conflict):
    msg_fmt = "Instance %(instance_uuid)s is locked"


def check_lock(context: Any, instance: Any) -> None:
    """409 "Instance … is locked" for a non-admin acting on a locked server."""
    if instance.get("locked", False) and not policy.check_is_admin(context):
        raise InstanceIsLocked(instance_uuid=instance.uuid)


def authorize(context: Any, action: str, instance: Any = None) -> None:
    """403 unless ``context`` may do ``action`` (a full rule name) on ``instance``
    (the caller's own project when None)."""
    target = views.server_target(instance) if instance is not None else None
    policy.authorize(context, action, target)


def check_hostname(req: webob.Request, spec: dict[str, Any], count: int = 1) -> None:
    """2.90: ``hostname`` is one DNS label (at most 63 characters); 2.94: an FQDN of
    up to 255. One hostname cannot name several servers of a multi-create (400)."""
    hostname = spec.get("hostname")
    if hostname is None:
        return
    if not api_version.at_least(req, "2.94") and ("." in hostname or len(hostname) > 63):
        raise common.BadRequest(reason=(
            f"Invalid input for field/attribute hostname. Value: {hostname}. "
            "Before microversion 2.94 the hostname is one label of at most 63 "
            "characters (no '.')."))
    if count > 1:
        raise common.BadRequest(reason=(
            "Unable to allocate the same hostname to multiple servers: leave hostname "
            "out when creating several."))


def versioned_schema(req: webob.Request, schema: dict[str, Any], key: str,
                     fields: dict[str, tuple[str, str | None]]) -> dict[str, Any]:
    """``schema`` as the request's microversion knows it: the ``body[key]`` fields
    of ``fields`` (name -> (added in, removed in)) are unknown (400) outside their
    microversions."""
    newer = [name for name, (since, removed) in fields.items()
             if not api_version.at_least(req, since)
             or (removed is not None and api_version.at_least(req, removed))]
    if not newer:
        return schema
    properties = dict(schema["properties"][key]["properties"])
    for name in newer:
        properties.pop(name, None)
    inner = {**schema["properties"][key], "properties": properties}
    return {**schema, "properties": {**schema["properties"], key: inner}}


def check_trusted_certificates(spec: dict[str, Any]) -> None:
    """2.63: kumo verifies no image signatures, so a request that asks for it is refused
    rather than booted unverified."""
    if spec.get("trusted_image_certificates"):
        raise common.BadRequest(reason=(
            "Image signature certificate validation is not supported: kumo does not "
            "verify image signatures (trusted_image_certificates must be null or absent)."))


def server_groups_of(clients: common.Clients, req: webob.Request,
                     instance: Any) -> list[str] | None:
    """2.71: the uuids of the server groups ``instance`` is in (None before 2.71)."""
    if not api_version.at_least(req, "2.71"):
        return None
    groups = clients.conductor.instance_group_get_all(
        common.context_of(req), project_id=instance.project_id)
    return [group["uuid"] for group in groups if instance.uuid in group["members"]]


def _changes_before(params: Any, filters: dict[str, Any]) -> None:
    """2.66's ``changes-before`` list filter: servers changed at or before a time (deleted
    ones too, as with changes-since), never before ``changes-since``."""
    raw = params.get("changes-before")
    if not raw:
        return
    try:
        before = timeutils.parse_isotime(raw)
    except ValueError:
        raise common.BadRequest(reason=(
            f"Invalid input for field/attribute changes-before. Value: {raw}. "
            f"'{raw}' is not a 'date-time'")) from None
    since = filters.get("changes_since")
    if since is not None and since > before:
        raise common.BadRequest(reason=(
            "The value of changes-since must be less than or equal to changes-before."))
    filters["changes_before"] = before
    if filters.get("deleted") is False:
        del filters["deleted"]  # only the default "live servers only"


def _unexpected_tag(field: str) -> common.BadRequest:
    return common.BadRequest(reason=(
        f"Invalid input for field/attribute {field}. Additional properties are not "
        "allowed ('tag' was unexpected)"))


def _check_networks_and_device_tags(req: webob.Request, server: dict[str, Any]) -> None:
    """The boot fields whose rules moved with microversions: ``networks`` is required
    from 2.37, which also brought "auto"/"none"; device ``tag``s are 2.32's (networks
    until 2.36, block devices 2.32 only) and again everyone's from 2.42."""
    networks = server.get("networks")
    if api_version.at_least(req, "2.37"):
        if networks is None:
            raise common.BadRequest(reason=(
                "Invalid input for field/attribute server. 'networks' is a required "
                "property"))
    elif isinstance(networks, str):
        raise common.BadRequest(reason=(
            f"Invalid input for field/attribute networks. Value: {networks}. "
            f"'{networks}' is not of type 'array'"))
    since_2_42 = api_version.at_least(req, "2.42")
    from_2_32 = api_version.at_least(req, "2.32")
    if isinstance(networks, list) and any("tag" in item for item in networks):
        if not (since_2_42 or (from_2_32 and not api_version.at_least(req, "2.37"))):
            raise _unexpected_tag("networks")
    mappings = server.get("block_device_mapping_v2") or []
    if any("tag" in mapping for mapping in mappings):
        if not (since_2_42 or (from_2_32 and not api_version.at_least(req, "2.33"))):
            raise _unexpected_tag("block_device_mapping_v2")


def _generate_password() -> str:
    return "".join(secrets.choice(_PASSWORD_CHARS) for _ in range(PASSWORD_LENGTH))


def _reservation_id() -> str:
    alphabet = string.digits + string.ascii_lowercase
    return "r-" + "".join(secrets.choice(alphabet) for _ in range(8))


def _hostname(display_name: str, default: str) -> str:
    """Nova's sanitize_hostname: lower case, only [a-z0-9.-], at most 63 characters."""
    name = display_name.lower()
    name = re.sub(r"[ _]", "-", name)
    name = re.sub(r"[^\w.-]+", "", name, flags=re.ASCII)
    name = name[:63].strip(".-")
    return name or default


def _image_from_mappings(server: dict[str, Any]) -> str:
    """The image of a boot-from-image block device mapping ("" when there is none).

    kumo has local disks only: a mapping onto a volume is refused.
    """
    image_ref = ""
    for mapping in server.get("block_device_mapping_v2") or []:
        if mapping.get("destination_type") == "volume" or mapping.get(
                "source_type", "image") != "image":
            raise common.BadRequest(
                reason="Block device mappings onto volumes are not supported: kumo has no "
                       "volume service; boot from an image (imageRef) instead.")
        if str(mapping.get("boot_index")) == "0":
            image_ref = mapping.get("uuid") or ""
    return image_ref


def _flavor_values(flavor: Any) -> dict[str, Any]:
    """The flavor as a plain dict (its fields and extra specs), for the instance and the spec."""
    return {name: getattr(flavor, name) for name in flavor.fields
            if name not in ("created_at", "updated_at") and flavor.obj_attr_is_set(name)}


class ServersController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    # --- reads ---------------------------------------------------------------------------

    def index(self, req: webob.Request) -> webob.Response:
        return self._list(req, detail=False)

    def detail(self, req: webob.Request) -> webob.Response:
        return self._list(req, detail=True)

    def _list(self, req: webob.Request, detail: bool) -> webob.Response:
        context = common.context_of(req)
        action = "detail" if detail else "index"
        authorize(context, servers_policies.SERVERS % action)
        params = req.params
        if api_version.at_least(req, "2.75"):
            for name, value in params.items():
                if name not in _QUERY_PARAMS_2_75:
                    raise common.BadRequest(reason=(
                        f"Invalid input for query parameters {name}. Value: {value}. "
                        f"Additional properties are not allowed ('{name}' was unexpected)"))
        if not policy.can(context, servers_policies.SERVERS % "allow_all_filters"):
            allowed = _USER_FILTERS | {name for name, since in _USER_FILTERS_SINCE.items()
                                       if api_version.at_least(req, since)}
            params = MultiDict(
                (key, value) for key, value in params.items() if key in allowed)
        limit, marker = common.limit_and_marker(req)
        statuses = params.getall("status")
        if (statuses and api_version.at_least(req, "2.38")
                and not server_status.states_from_status(statuses)[0]):
            raise common.BadRequest(reason="Invalid status value")
        filters = self._filters(context, params, action)
        if filters is not None and api_version.at_least(req, "2.26"):
            for param, name in _TAG_FILTERS.items():
                if params.get(param):
                    filters[name] = params[param].split(",")
        if filters is not None and api_version.at_least(req, "2.66"):
            _changes_before(params, filters)
        if filters is not None and api_version.at_least(req, "2.73") and "locked" in params:
            try:
                filters["locked"] = strutils.bool_from_string(params["locked"], strict=True)
            except ValueError as error:
                raise common.BadRequest(reason=str(error)) from None
        found: dict[str, Any] = {"instances": []}
        extras = self._view_extras(req, context) if detail else []
        if filters is not None:
            sort_keys, sort_dirs = self._sort(req)
            # One call: the rows and what the detail view needs besides (plain rows).
            found = server_rows.found(self.clients.conductor.instance_get_all_for_view(
                context, filters=filters, sort_keys=sort_keys, sort_dirs=sort_dirs,
                limit=limit, marker=marker, extras=extras))
        instances = [server_rows.instance(row) for row in found["instances"]]
        if detail:
            statuses = self._found_extras(req, found, instances)
            tags = found.get("tags") or {}
            shown = [views.server_detail(req, i, statuses, tags.get(i["uuid"]) if isinstance(
                i, dict) else tags.get(i.uuid)) for i in instances]
        else:
            shown = [views.server_basic(req, i) for i in instances]
        return common.list_response(req, "servers", shown,
                                    "servers/detail" if detail else "servers", limit)

    @staticmethod
    def _filters(context: Any, params: Any, action: str) -> dict[str, Any] | None:
        """The conductor's ``instance_get_all`` filters; None when nothing can match."""
        filters: dict[str, Any] = {}
        if "all_tenants" in params:
            value = params["all_tenants"]
            try:
                all_tenants = strutils.bool_from_string(value, strict=True) if value else True
            except ValueError as error:
                raise common.BadRequest(reason=str(error)) from None
        else:
            all_tenants = False
        if all_tenants:
            authorize(context, servers_policies.SERVERS % f"{action}:get_all_tenants")
            project = params.get("project_id") or params.get("tenant_id")
            if project:
                filters["project_id"] = project
        else:
            filters["project_id"] = context.project_id

        statuses = params.getall("status")
        if statuses:
            vm_state_list, task_state_list = server_status.states_from_status(statuses)
            if not vm_state_list:
                return None  # microversion 2.1 answers an unknown status with no servers
            if vm_state_list == [vm_states.DELETED]:
                if not policy.check_is_admin(context):
                    raise common.Forbidden(reason="Only administrators may list deleted "
                                                  "instances")
                filters["deleted"] = True
            filters["vm_state"] = vm_state_list
            if task_state_list is not None:
                filters["task_state"] = task_state_list

        if "changes-since" in params:
            raw = params["changes-since"]
            try:
                filters["changes_since"] = timeutils.parse_isotime(raw)
            except ValueError:
                raise common.BadRequest(reason=(
                    f"Invalid input for field/attribute changes-since. Value: {raw}. "
                    f"'{raw}' is not a 'date-time'")) from None
        else:
            # Deleted servers show only to who asks for changes (or, admins, for them).
            filters.setdefault("deleted", False)

        for param, key in (("name", "name"), ("reservation_id", "reservation_id"),
                           ("host", "host"), ("node", "node"),
                           # Also non-admins' from 2.83 (the others 2.83 opens are
                           # accepted and ignored: see docs/api.md).
                           ("user_id", "user_id"), ("availability_zone", "availability_zone")):
            if params.get(param):
                filters[key] = params[param]
        for param in ("vm_state", "task_state"):
            # Exact states (status= already chose them when given).
            if params.getall(param) and param not in filters:
                filters[param] = params.getall(param)
        if params.get("image"):
            filters["image_ref"] = common.id_from_href(params["image"])
        if params.get("flavor"):
            filters["flavor_id"] = common.id_from_href(params["flavor"])
        return filters

    @staticmethod
    def _sort(req: webob.Request) -> tuple[list[str], list[str]]:
        keys = [key for key in req.params.getall("sort_key") if key in _SORT_KEYS]
        dirs = req.params.getall("sort_dir")
        for direction in dirs:
            if direction not in ("asc", "desc"):
                raise common.BadRequest(reason=(
                    "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'"))
        if not keys:
            return ["created_at"], [dirs[0] if dirs else "desc"]
        default_dir = dirs[0] if dirs else "desc"
        dirs = (dirs + [default_dir] * len(keys))[:len(keys)]
        return keys, dirs

    def _get(self, context: Any, server_id: str) -> Any:
        """The server the caller may see, or InstanceNotFound (404)."""
        return common.server_get(self.clients, context, server_id)

    def _host_statuses(self, req: webob.Request, context: Any,
                       instances: list[Any]) -> dict[str, str] | None:
        """host -> 2.16's host_status (UP, DOWN, MAINTENANCE; UNKNOWN for a host with
        no compute service) of the hosts of ``instances``, or None when the request does
        not show it. No service read when none has a host (the view shows "" for those),
        and only that host's services when they all share one (a show)."""
        if not (api_version.at_least(req, "2.16") and policy.can(
                context, servers_policies.SERVERS % "show:host_status")):
            return None
        statuses: dict[str, str] = {}
        hosts = {i.get("host", None) for i in instances} - {None, ""}
        if not hosts:
            return statuses
        only = next(iter(hosts)) if len(hosts) == 1 else None
        for service in self.clients.conductor.service_get_all(
                context, binary="kumo-compute", host=only):
            if service.get("disabled"):
                statuses[service["host"]] = "MAINTENANCE"
            else:
                statuses[service["host"]] = "UP" if servicegroup.is_up(service) else "DOWN"
        return statuses

    def _tags(self, req: webob.Request, context: Any,
              instances: list[Any]) -> dict[str, list[str]]:
        """uuid -> tags of the listed servers (2.26; one call), empty before."""
        if not instances or not api_version.at_least(req, "2.26"):
            return {}
        return self.clients.conductor.instance_tags_get_by_uuids(
            context, instance_uuids=[i.uuid for i in instances])

    def _view_extras(self, req: webob.Request, context: Any) -> list[str]:
        """What a server view needs besides the rows (the ``extras`` of the conductor's
        view calls): 2.16's host statuses (for who may see them), 2.26's tags, the
        recorded request spec (2.96+), the network info caches when kumo-network is on."""
        extras = []
        if api_version.at_least(req, "2.16") and policy.can(
                context, servers_policies.SERVERS % "show:host_status"):
            extras.append("services")
        if api_version.at_least(req, "2.26"):
            extras.append("tags")
        if api_version.at_least(req, "2.96"):
            extras.append("request_spec")  # 2.96's pinned zone, 2.98, 2.100
        if CONF.network.enabled:
            extras.append("network_info")
        return extras

    @staticmethod
    def _found_extras(req: webob.Request, found: dict[str, Any],
                      instances: list[Any]) -> dict[str, str] | None:
        """Keep the network info caches a view call found for the views (as
        addresses.prefetch does); the host statuses (None when not asked for)."""
        if instances and "network_info" in found:
            req.environ.setdefault(addresses.ENVIRON_KEY, {}).update(found["network_info"])
        return server_rows.host_statuses(found)

    def show(self, req: webob.Request, server_id: str) -> webob.Response:
        context = common.context_of(req)
        # One call for the server and what its view needs (404 as _get).
        found = server_rows.found(self.clients.conductor.instance_get_for_view(
            context, instance_uuid=server_id, project_id=common.project_scope(context),
            extras=self._view_extras(req, context)))
        instance = server_rows.instance(found["instance"])
        authorize(context, servers_policies.SERVERS % "show", instance)
        statuses = self._found_extras(req, found, [instance])
        tags = (found.get("tags") or {}).get(instance.uuid) if "tags" in found else None
        view = views.server_detail(req, instance, statuses, tags,
                                   server_groups_of(self.clients, req, instance))
        return common.json_response({"server": view})

    def full_view(self, req: webob.Request, context: Any, instance: Any) -> dict[str, Any]:
        """Everything ``GET /servers/{id}`` shows (also PUT's and rebuild's from 2.75)."""
        statuses = self._host_statuses(req, context, [instance])
        tags = self._tags(req, context, [instance]).get(instance.uuid)
        addresses.prefetch(req, self.clients.conductor, context, [instance.uuid])  # network
        return views.server_detail(req, instance, statuses, tags,
                                   server_groups_of(self.clients, req, instance))

    def write_view(self, req: webob.Request, context: Any, instance: Any) -> dict[str, Any]:
        """The server as PUT and rebuild answer: all of GET's from 2.75, less before."""
        if api_version.at_least(req, "2.75"):
            return self.full_view(req, context, instance)
        return views.server_detail(
            req, instance, server_groups=server_groups_of(self.clients, req, instance))

    # --- writes --------------------------------------------------------------------------

    def update(self, req: webob.Request, server_id: str) -> webob.Response:
        context = common.context_of(req)
        body = common.json_body(req)
        validation.validate(versioned_schema(req, UPDATE_SCHEMA, "server", UPDATE_FIELDS),
                            body)
        changes = body["server"]
        instance = self._get(context, server_id)
        authorize(context, servers_policies.SERVERS % "update", instance)
        values = server_actions_move.edited_values(changes)
        if "hostname" in changes:
            check_hostname(req, changes)
            values["hostname"] = changes["hostname"]  # 2.90
        if zone_pin.FIELD in changes:  # 2.104
            values["system_metadata"] = {"request_spec": zone_pin.request_spec_with_pin(
                instance, changes[zone_pin.FIELD])}
        if values:
            # The update answers with the changed server: no second read.
            instance = self.clients.conductor.instance_update(
                context, instance_uuid=server_id, values=values)
        return common.json_response({"server": self.write_view(req, context, instance)})

    def delete(self, req: webob.Request, server_id: str) -> webob.Response:
        context = common.context_of(req)
        conductor = self.clients.conductor
        try:
            instance = self._start_delete(context, server_id)
        except exception.UnexpectedDeletingTaskStateError:
            # Already being deleted: the first request finishes the job.
            return common.empty_response(204)
        if instance is None:  # soft-deleted
            return common.empty_response(204)
        host = instance.get("host", None)
        if host:
            self.clients.compute.terminate_instance(context, instance=instance, host=host)
        else:
            # Never scheduled: no guest anywhere, the row is all there is.
            conductor.instance_destroy(context, instance_uuid=server_id)
        return common.empty_response(204)

    def _start_delete(self, context: Any, server_id: str) -> Any:
        """Move the server to ``deleting`` (starting the request's ``delete`` instance
        action, which kumo-compute's compute_terminate_instance event belongs to) and
        return it; None when it was soft-deleted instead.

        The common case is one conductor call (1.11 ``instance_start_delete``): the
        caller authorized on its own servers (the policy's default target) deletes
        one of them that is not locked. Anything else (another owner, a locked
        server, an older conductor; soft delete configured or the policy refusing
        the caller's own target, where that call is not made) is decided here as
        before, on the server that call read (or one read here), then moved with a
        second call."""
        conductor = self.clients.conductor
        action = servers_policies.SERVERS % "delete"
        found: dict[str, Any] | None = None
        if CONF.reclaim_instance_interval <= 0 and policy.can(context, action):
            found = conductor.instance_start_delete(
                context, instance_uuid=server_id, project_id=common.project_scope(context),
                owner=policy.default_target(context),  # what policy.can decided on
                allow_locked=policy.check_is_admin(context), action="delete",
                expected_task_state=_DELETABLE_TASK_STATES)
            if found["started"]:
                return found["instance"]
        instance = found["instance"] if found else self._get(context, server_id)
        authorize(context, action, instance)
        check_lock(context, instance)
        if server_actions_move.soft_delete_requested(instance):
            server_actions_move.soft_delete(self, context, instance)
            return None
        return conductor.instance_update_starting_action(
            context, instance_uuid=server_id, values={"task_state": task_states.DELETING},
            action="delete", expected_task_state=_DELETABLE_TASK_STATES)

    def create(self, req: webob.Request) -> webob.Response:
        context = common.context_of(req)
        body = common.json_body(req)
        authorize(context, servers_policies.SERVERS % "create")
        validation.validate(versioned_schema(req, CREATE_SCHEMA, "server", CREATE_FIELDS),
                            body)
        server = body["server"]
        _check_networks_and_device_tags(req, server)
        check_trusted_certificates(server)
        ignore_nodes = self._requested_destination(context, server)
        hints = body.get("os:scheduler_hints") or body.get("OS-SCH-HNT:scheduler_hints") or {}
        group = server_groups.boot_group(self.clients, context, hints)
        zone = availability_zones.boot_zone(self.clients, context,
                                            server.get("availability_zone"))

        min_count = int(server.get("min_count", 1))
        max_count = int(server.get("max_count", min_count))
        members_limit = server_groups.check_members_quota(self.clients, context, group,
                                                          min_count)
        if min_count > max_count:
            raise common.BadRequest(reason="min_count must be <= max_count")
        check_hostname(req, server, max_count)
        key_pair = self._key_pair(context, server.get("key_name"))  # keypairs (H4)
        user_data = server.get("user_data")  # base64, checked by the schema

        flavor, image = self._boot_sources(
            context, server["flavorRef"], server.get("imageRef") or _image_from_mappings(server))
        self._check_image_fits(flavor, image)

        flavor_values = _flavor_values(flavor)
        reservation_id = _reservation_id()
        config_drive = strutils.bool_from_string(server.get("config_drive", False))
        values_list = []
        for index in range(max_count):
            instance_uuid = uuidutils.generate_uuid()
            name = server["name"] if max_count == 1 else f"{server['name']}-{index + 1}"
            values_list.append({
                "uuid": instance_uuid,
                "project_id": context.project_id,
                "user_id": context.user_id,
                "display_name": name,
                # 2.19: without a description Nova stores none (null), not the name.
                "display_description": server.get("description"),
                "hostname": server.get("hostname") or _hostname(name,
                                                                f"server-{instance_uuid}"),
                "reservation_id": reservation_id,
                "launch_index": index,
                "vm_state": vm_states.BUILDING,
                "task_state": task_states.SCHEDULING,
                "power_state": power_state.NOSTATE,
                "availability_zone": zone,
                "flavor": flavor_values,
                "flavor_id": flavor_values.get("id"),
                "memory_mb": flavor.memory_mb,
                "vcpus": flavor.vcpus,
                "root_gb": flavor_values.get("root_gb", 0),
                "ephemeral_gb": flavor_values.get("ephemeral_gb", 0),
                "swap": flavor_values.get("swap", 0),
                "image_ref": image.id,
                "key_name": key_pair["name"] if key_pair else None,
                "key_data": key_pair["public_key"] if key_pair else None,
                "user_data": user_data,
                "config_drive": "True" if config_drive else "",
                "access_ip_v4": server.get("accessIPv4"),
                "access_ip_v6": server.get("accessIPv6"),
                "metadata": dict(server.get("metadata") or {}),
                "progress": 0,
            })
        conductor = self.clients.conductor
        if server.get("metadata"):
            conductor.quota_check_metadata(context, project_id=context.project_id,
                                           count=len(server["metadata"]))
        boot_groups = security_groups.boot_groups(self.clients, context, server)  # 400s
        request_spec = {
            "project_id": context.project_id,
            "user_id": context.user_id,
            "flavor": flavor_values,
            "image": {
                "id": image.id,
                "properties": dict(image.get("properties", None) or {}),
                "min_ram": image.get("min_ram", 0),
                "min_disk": image.get("min_disk", 0),
                "size": image.get("size", None),
            },
            "availability_zone": zone,
            "num_instances": len(values_list),  # the number created, once known
            "scheduler_hints": dict(hints),
            "ignore_hosts": [],
            "instance_group": server_groups.boot_spec(group),
            # kumo-network: "auto", "none" or [{"uuid", "fixed_ip"}] (kumo/network/api.py).
            "networks": server.get("networks") or "auto",
        }
        if ignore_nodes:
            request_spec["ignore_nodes"] = ignore_nodes  # 2.74's requested destination
        # Quota: as many as fit (at least min_count, else 403), counted and inserted at once.
        if group is None and not boot_groups and not server.get("tags"):
            # Nothing to attach before the build starts: create and build in one call.
            uuids = conductor.instance_create_and_build(
                context, values_list=values_list, min_count=min_count,
                request_spec=request_spec)
        else:
            instances = conductor.instance_create_within_quota(
                context, values_list=values_list, min_count=min_count)
            server_groups.add_members(self.clients, context, group, instances,
                                      limit=members_limit)
            security_groups.join(self.clients, context, boot_groups, instances)
            if server.get("tags"):
                # 2.52: before the build starts, so the guest's metadata can carry them.
                for instance in instances:
                    conductor.instance_tags_set(context, instance_uuid=instance.uuid,
                                                tags=server["tags"])
            uuids = [instance.uuid for instance in instances]
            request_spec["num_instances"] = len(uuids)
            conductor.build_instances(context, instance_uuids=uuids,
                                      request_spec=request_spec)

        if strutils.bool_from_string(server.get("return_reservation_id", False)):
            return common.json_response({"reservation_id": reservation_id}, status=202)
        first_uuid = uuids[0]
        groups = server.get("security_groups") or [{"name": "default"}]
        created = {
            "id": first_uuid,
            "links": common.links(req, "servers", first_uuid),
            "adminPass": server.get("adminPass") or _generate_password(),
            "OS-DCF:diskConfig": server.get("OS-DCF:diskConfig", "MANUAL"),
            "security_groups": [{"name": group["name"]} for group in groups],
        }
        response = common.json_response({"server": created}, status=202)
        response.headers["Location"] = common.self_href(req, "servers", first_uuid)
        return response

    def _requested_destination(self, context: Any, server: dict[str, Any]) -> list[str]:
        """2.74: the nodes the scheduler must not pick so that the server lands on the
        named ``host`` and/or ``hypervisor_hostname`` (empty when none is named).

        400 "Compute host … could not be found." for a name no compute node has.
        """
        host, node = server.get("host"), server.get("hypervisor_hostname")
        if host is None and node is None:
            return []
        authorize(context, servers_policies.SERVERS % "create:requested_destination")
        nodes = self.clients.conductor.compute_node_get_all(context)
        wanted = [n for n in nodes if (host is None or n["host"] == host)
                  and (node is None or n["hypervisor_hostname"] == node)]
        if not wanted:
            missing = host if host is not None and not any(
                n["host"] == host for n in nodes) else node
            raise common.BadRequest(
                reason=exception.ComputeHostNotFound(host=missing).message)
        keep = {n["hypervisor_hostname"] for n in wanted}
        return sorted(n["hypervisor_hostname"] for n in nodes
                      if n["hypervisor_hostname"] not in keep)

    def _key_pair(self, context: Any, key_name: str | None) -> dict[str, Any] | None:
        """The caller's key pair ``key_name`` (None without one); 400 when unknown."""
        if key_name is None:
            return None
        try:
            return self.clients.conductor.key_pair_get(context, user_id=context.user_id,
                                                       name=key_name)
        except exception.KeypairNotFound:
            raise common.BadRequest(reason="Invalid key_name provided.") from None

    def _boot_sources(self, context: Any, flavor_ref: Any, image_ref: str) -> tuple[Any, Any]:
        """The flavor and the image of a boot, read in one conductor call; the same
        400s as :meth:`_flavor` and :meth:`_image`, the flavor's first."""
        image_id = _image_id(image_ref)
        if image_id is None:
            return self._flavor(context, flavor_ref), self._image(context, image_ref)
        flavor_id = common.id_from_href(flavor_ref)
        try:
            found = self.clients.conductor.boot_sources(
                context, flavor_id=flavor_id, image_id=image_id,
                project_id=common.project_scope(context))
        except exception.FlavorNotFound as error:
            raise common.BadRequest(reason=error.message) from None
        except exception.ImageNotFound:
            self._flavor(context, flavor_ref)  # a disabled flavor is the first error
            raise common.BadRequest(reason="Can not find requested image") from None
        return _usable_flavor(found["flavor"], flavor_id), _active_image(found["image"])

    def _flavor(self, context: Any, flavor_ref: Any) -> Any:
        flavor_id = common.id_from_href(flavor_ref)
        try:
            flavor = self.clients.conductor.flavor_get_by_flavor_id(
                context, flavor_id=flavor_id, project_id=common.project_scope(context))
        except exception.FlavorNotFound as error:
            raise common.BadRequest(reason=error.message) from None
        return _usable_flavor(flavor, flavor_id)

    def _image(self, context: Any, image_ref: str) -> Any:
        image_id = _image_id(image_ref)
        if image_id is None:
            if not image_ref:
                # Booting from a volume (block_device_mapping) is not supported yet.
                raise common.BadRequest(reason="Missing imageRef attribute")
            raise common.BadRequest(reason="Invalid imageRef provided.")
        try:
            image = self.clients.conductor.image_get(
                context, image_id=image_id, project_id=common.project_scope(context))
        except exception.ImageNotFound:
            raise common.BadRequest(reason="Can not find requested image") from None
        return _active_image(image)

    @staticmethod
    def _check_image_fits(flavor: Any, image: Any) -> None:
        """Nova's checks that the image's requirements fit the flavor (400 otherwise)."""
        min_ram = image.get("min_ram", 0)
        if min_ram and min_ram > flavor.memory_mb:
            raise common.BadRequest(reason="Flavor's memory is too small for requested image.")
        root_gb = flavor.get("root_gb", 0)
        if not root_gb:
            return  # a root disk of 0 takes the image's size
        min_disk = image.get("min_disk", 0)
        if min_disk and min_disk > root_gb:
            raise common.BadRequest(reason="Flavor's disk is too small for requested image.")
        size = image.get("size", None)
        if size and size > root_gb * 1024 ** 3:
            raise common.BadRequest(reason=(
                "Flavor's disk is too small for requested image. Flavor disk is "
                f"{root_gb * 1024 ** 3} bytes, image is {size} bytes."))
