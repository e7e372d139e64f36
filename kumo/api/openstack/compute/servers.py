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

from kumo import exception
from kumo.api import validation
from kumo.api.openstack import common
from kumo.api.openstack.compute import server_actions_move, views
from kumo.api.openstack.compute import status as server_status
from kumo.compute import power_state, task_states, vm_states

PASSWORD_LENGTH = 12
_PASSWORD_CHARS = string.ascii_letters + string.digits

_HINTS = {"type": "object", "additionalProperties": True}

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


class InstanceIsLocked(exception.Conflict):
    msg_fmt = "Instance %(instance_uuid)s is locked"


def check_lock(context: Any, instance: Any) -> None:
    """409 "Instance … is locked" for a non-admin acting on a locked server."""
    if instance.get("locked", False) and not context.is_admin:
        raise InstanceIsLocked(instance_uuid=instance.uuid)


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
        params = req.params
        if not context.is_admin:
            params = MultiDict(
                (key, value) for key, value in params.items() if key in _USER_FILTERS)
        limit, marker = common.limit_and_marker(req)
        filters = self._filters(context, params, "detail" if detail else "index")
        if filters is None:
            instances: list[Any] = []
        else:
            sort_keys, sort_dirs = self._sort(req)
            instances = self.clients.conductor.instance_get_all(
                context, filters=filters, sort_keys=sort_keys, sort_dirs=sort_dirs,
                limit=limit, marker=marker)
        view = views.server_detail if detail else views.server_basic
        return common.list_response(req, "servers", [view(req, i) for i in instances],
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
            if not context.is_admin:
                raise common.Forbidden(reason=(
                    f"Policy doesn't allow os_compute_api:servers:{action}:get_all_tenants "
                    "to be performed."))
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
                if not context.is_admin:
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
                           ("host", "host"), ("node", "node")):
            if params.get(param):
                filters[key] = params[param]
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

    def show(self, req: webob.Request, server_id: str) -> webob.Response:
        instance = self._get(common.context_of(req), server_id)
        return common.json_response({"server": views.server_detail(req, instance)})

    # --- writes --------------------------------------------------------------------------

    def update(self, req: webob.Request, server_id: str) -> webob.Response:
        context = common.context_of(req)
        body = common.json_body(req)
        validation.validate(UPDATE_SCHEMA, body)
        changes = body["server"]
        instance = self._get(context, server_id)
        values: dict[str, Any] = {}
        if "name" in changes:
            values["display_name"] = changes["name"]
        if "accessIPv4" in changes:
            values["access_ip_v4"] = changes["accessIPv4"]
        if "accessIPv6" in changes:
            values["access_ip_v6"] = changes["accessIPv6"]
        if values:
            # The update answers with the changed server: no second read.
            instance = self.clients.conductor.instance_update(
                context, instance_uuid=server_id, values=values)
        return common.json_response({"server": views.server_detail(req, instance)})

    def delete(self, req: webob.Request, server_id: str) -> webob.Response:
        context = common.context_of(req)
        instance = self._get(context, server_id)
        check_lock(context, instance)
        if server_actions_move.soft_delete_requested(instance):
            return server_actions_move.soft_delete(self, context, instance)
        conductor = self.clients.conductor
        try:
            instance = conductor.instance_update(
                context, instance_uuid=server_id, values={"task_state": task_states.DELETING},
                expected_task_state=_DELETABLE_TASK_STATES)
        except exception.UnexpectedDeletingTaskStateError:
            # Already being deleted: the first request finishes the job.
            return common.empty_response(204)
        host = instance.get("host", None)
        if host:
            self.clients.compute.terminate_instance(context, instance=instance, host=host)
        else:
            # Never scheduled: no guest anywhere, the row is all there is.
            conductor.instance_destroy(context, instance_uuid=server_id)
        return common.empty_response(204)

    def create(self, req: webob.Request) -> webob.Response:
        context = common.context_of(req)
        body = common.json_body(req)
        validation.validate(CREATE_SCHEMA, body)
        server = body["server"]
        hints = body.get("os:scheduler_hints") or body.get("OS-SCH-HNT:scheduler_hints") or {}

        min_count = int(server.get("min_count", 1))
        max_count = int(server.get("max_count", min_count))
        if min_count > max_count:
            raise common.BadRequest(reason="min_count must be <= max_count")
        if server.get("key_name") is not None:
            # No keypairs exist yet, so no name can be valid.
            raise common.BadRequest(reason="Invalid key_name provided.")
        user_data = server.get("user_data")  # base64, checked by the schema

        flavor = self._flavor(context, server["flavorRef"])
        image = self._image(context, server.get("imageRef") or _image_from_mappings(server))
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
                "hostname": _hostname(name, f"server-{instance_uuid}"),
                "reservation_id": reservation_id,
                "launch_index": index,
                "vm_state": vm_states.BUILDING,
                "task_state": task_states.SCHEDULING,
                "power_state": power_state.NOSTATE,
                "availability_zone": server.get("availability_zone"),
                "flavor": flavor_values,
                "flavor_id": flavor_values.get("id"),
                "memory_mb": flavor.memory_mb,
                "vcpus": flavor.vcpus,
                "root_gb": flavor_values.get("root_gb", 0),
                "ephemeral_gb": flavor_values.get("ephemeral_gb", 0),
                "swap": flavor_values.get("swap", 0),
                "image_ref": image.id,
                "key_name": None,
                "user_data": user_data,
                "config_drive": "True" if config_drive else "",
                "access_ip_v4": server.get("accessIPv4"),
                "access_ip_v6": server.get("accessIPv6"),
                "metadata": dict(server.get("metadata") or {}),
                "progress": 0,
            })
        conductor = self.clients.conductor
        instances = conductor.instance_create(context, values_list=values_list)
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
            "availability_zone": server.get("availability_zone"),
            "num_instances": len(instances),
            "scheduler_hints": dict(hints),
            "ignore_hosts": [],
            "instance_group": None,
        }
        conductor.build_instances(context, instance_uuids=[i.uuid for i in instances],
                                  request_spec=request_spec)

        if strutils.bool_from_string(server.get("return_reservation_id", False)):
            return common.json_response({"reservation_id": reservation_id}, status=202)
        first = instances[0]
        groups = server.get("security_groups") or [{"name": "default"}]
        created = {
            "id": first.uuid,
            "links": common.links(req, "servers", first.uuid),
            "adminPass": server.get("adminPass") or _generate_password(),
            "OS-DCF:diskConfig": server.get("OS-DCF:diskConfig", "MANUAL"),
            "security_groups": [{"name": group["name"]} for group in groups],
        }
        response = common.json_response({"server": created}, status=202)
        response.headers["Location"] = common.self_href(req, "servers", first.uuid)
        return response

    def _flavor(self, context: Any, flavor_ref: Any) -> Any:
        flavor_id = common.id_from_href(flavor_ref)
        try:
            flavor = self.clients.conductor.flavor_get_by_flavor_id(
                context, flavor_id=flavor_id, project_id=common.project_scope(context))
        except exception.FlavorNotFound as error:
            raise common.BadRequest(reason=error.message) from None
        if flavor.get("disabled", False):
            raise common.BadRequest(reason=exception.FlavorNotFound(flavor_id=flavor_id).message)
        return flavor

    def _image(self, context: Any, image_ref: str) -> Any:
        if not image_ref:
            # Booting from a volume (block_device_mapping) is not supported yet.
            raise common.BadRequest(reason="Missing imageRef attribute")
        image_id = image_ref.rstrip("/").split("/")[-1]
        if not uuidutils.is_uuid_like(image_id):
            raise common.BadRequest(reason="Invalid imageRef provided.")
        try:
            image = self.clients.conductor.image_get(
                context, image_id=str(uuid.UUID(image_id)),
                project_id=common.project_scope(context))
        except exception.ImageNotFound:
            raise common.BadRequest(reason="Can not find requested image") from None
        if image.status != "active":
            raise common.BadRequest(reason=f"Image {image_id} is not active.")
        return image

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
