"""Database rows (plain dicts from kumo.db) into the versioned objects that travel over RPC."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any

from kumo.db import models
from kumo.objects import compute_node as compute_node_obj
from kumo.objects import flavor as flavor_obj
from kumo.objects import image as image_obj
from kumo.objects import instance as instance_obj


def flavor(row: Mapping[str, Any]) -> flavor_obj.Flavor:
    return flavor_obj.Flavor.from_row(dict(row))


def image(row: Mapping[str, Any]) -> image_obj.Image:
    return image_obj.Image.from_row(dict(row))


def compute_node(row: Mapping[str, Any]) -> compute_node_obj.ComputeNode:
    values = dict(row)
    values["stats"] = {key: None if value is None else str(value)
                       for key, value in (values.get("stats") or {}).items()}
    return compute_node_obj.ComputeNode.from_row(values)


def fault(row: Mapping[str, Any]) -> instance_obj.InstanceFault:
    return instance_obj.InstanceFault.from_row(dict(row))


def instance(row: Mapping[str, Any]) -> instance_obj.Instance:
    values = dict(row)
    if values.get("flavor"):
        values["flavor"] = flavor(values["flavor"])
    if values.get("fault"):
        values["fault"] = fault(values["fault"])
    values["system_metadata"] = {
        key: None if value is None else str(value)
        for key, value in (values.get("system_metadata") or {}).items()}
    values["deleted"] = bool(values.get("deleted"))
    return instance_obj.Instance.from_row(values)


def plain(value: Any) -> Any:
    """A value received over RPC with any versioned object turned into a dict of its set fields."""
    if hasattr(value, "obj_fields") and hasattr(value, "obj_attr_is_set"):
        return {name: plain(getattr(value, name)) for name in value.obj_fields
                if value.obj_attr_is_set(name)}
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


# --- plain rows for the API's views (RPC 1.9, see kumo.conductor.server_views) ---------


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime.datetime) else value


# The system_metadata keys a server view reads (kumo.api.openstack.compute.views:
# 2.73's locked_reason; the recorded request spec of 2.96/2.98/2.100, when asked for);
# the rest (claims, alternates, ...) is the services' bookkeeping.
VIEW_SYSTEM_METADATA = ("request_spec", "locked_reason")
# Columns no server view reads: the key pair's public key, the copies of the flavor's
# sizes (the view reads the embedded flavor), the services' bookkeeping.
_VIEW_UNREAD = ("key_data", "flavor_id", "memory_mb", "vcpus", "root_gb", "ephemeral_gb",
                "swap", "scheduled_at", "locked_by", "deleted_at", "cleaned",
                "shutdown_terminate", "ephemeral_key_uuid", "auto_disk_config")
# The instance columns a server view reads (all but _VIEW_UNREAD), the listing's SELECT.
VIEW_COLUMNS = tuple(column.name for column in models.Instance.__table__.columns
                     if column.name not in _VIEW_UNREAD)
# The datetime columns of an instance row (kumo.db.instances).
_INSTANCE_DATETIMES = ("created_at", "updated_at", "launched_at", "terminated_at",
                       "deleted_at", "scheduled_at")


def _view_system_metadata(stored: Any, request_spec: bool) -> dict[str, Any]:
    """The :data:`VIEW_SYSTEM_METADATA` items of a system_metadata, given decoded or as
    the stored JSON text. Text is decoded only when a key wanted appears in it: kumo
    writes it with json.dumps (kumo.db.instances.encode_json), where a top-level key
    is its name in quotes, and most servers have no locked_reason (a 1,000-server
    listing decoded 1,000 texts to find none)."""
    wanted = VIEW_SYSTEM_METADATA if request_spec else _VIEW_SYSTEM_METADATA_BRIEF
    if not stored:
        return {}
    if isinstance(stored, str):
        if not any(f'"{key}"' in stored for key in wanted):
            return {}
        stored = json.loads(stored)
    return {key: None if stored[key] is None else str(stored[key])
            for key in wanted if key in stored}


_VIEW_SYSTEM_METADATA_BRIEF = tuple(key for key in VIEW_SYSTEM_METADATA
                                    if key != "request_spec")


def instance_view(row: Mapping[str, Any], request_spec: bool = True,
                  owned: bool = False) -> dict[str, Any]:
    """An instance row as JSON types, for the API's server views: what :func:`instance`
    would carry, without the versioned object (datetimes as ISO 8601 strings), less
    what no view reads (key_data; system_metadata but :data:`VIEW_SYSTEM_METADATA`;
    the recorded request spec, often the biggest part, only with ``request_spec``).
    The row's system_metadata may be decoded or its stored JSON text; with ``owned``
    the row (a dict of the caller's) is changed in place rather than copied.

    kumo-api prints the date texts as they come, and parses only a form it does not
    expect (:mod:`kumo.api.openstack.compute.server_rows`).
    """
    values = row if owned and type(row) is dict else dict(row)
    pop = values.pop
    for name in _VIEW_UNREAD:
        pop(name, None)
    for name in _INSTANCE_DATETIMES:
        value = values.get(name)
        if isinstance(value, datetime.datetime):
            values[name] = value.isoformat()
    values["system_metadata"] = _view_system_metadata(values.get("system_metadata"),
                                                      request_spec)
    fault_row = values.get("fault")
    if fault_row:
        values["fault"] = {key: _iso(value) for key, value in fault_row.items()}
    values["deleted"] = bool(values.get("deleted"))
    return values


# The service fields 2.16's host_status is judged from (kumo.servicegroup).
_SERVICE_VIEW_FIELDS = ("host", "disabled", "forced_down", "last_seen_up", "created_at")


def service_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """A service row reduced to what a server view's host_status needs, as JSON types."""
    return {name: _iso(row.get(name)) for name in _SERVICE_VIEW_FIELDS}
