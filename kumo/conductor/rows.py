"""Database rows (plain dicts from kumo.db) into the versioned objects that travel over RPC."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
