"""The record of a snapshot image (createImage, shelve), made queued before its bytes exist.

The Compute API creates the image before it casts to kumo-compute, so the
caller learns its id at once; the host then uploads the flattened disk and
the image goes active (or is deleted when the snapshot fails). What the
record says follows Nova's snapshots:

* properties ``instance_uuid``, ``image_type`` (``snapshot``), ``base_image_ref``
  (the image the server was booted from), ``user_id`` of the caller, and the
  createImage request's ``metadata``;
* from the base image: its disk and container formats (the host sets the
  real ones when it uploads), ``min_ram``, ``kernel_id`` / ``ramdisk_id``;
  ``min_disk`` is the larger of the base's and the server's root disk;
* private to its owner. With Glance the owner is the caller's project (as
  when Nova creates the image with the caller's token); an admin's snapshot
  of another project's server is shared with that project (``instance_owner``
  names it), so its owner can still use it. The local store keeps the
  server's project as the owner: it has no image members.
"""

from __future__ import annotations

from typing import Any, NamedTuple

# Properties of the base image a snapshot keeps: a guest booted from a kernel
# needs them to boot from its snapshot.
INHERITED_PROPERTIES = ("kernel_id", "ramdisk_id")
INHERITED_FIELDS = ("disk_format", "container_format", "min_ram")


class SnapshotRecord(NamedTuple):
    """The image values to create, and the project to share the image with (or None)."""

    values: dict[str, Any]
    member: str | None


def _field(image: Any, name: str) -> Any:
    """A field of an image dict (Glance) or Image object (local store); None if unset."""
    if image is None:
        return None
    if isinstance(image, dict):
        return image.get(name)
    if hasattr(image, "obj_attr_is_set") and not image.obj_attr_is_set(name):
        return None
    return getattr(image, name, None)


def _instance_field(instance: Any, name: str) -> Any:
    if hasattr(instance, "obj_attr_is_set"):
        if name not in instance.fields or not instance.obj_attr_is_set(name):
            return None
    return getattr(instance, name, None)


def snapshot_record(context: Any, instance: Any, name: str, base: Any,
                    metadata: dict[str, Any] | None = None,
                    shared_by_members: bool = False) -> SnapshotRecord:
    """The queued snapshot image of ``instance`` called ``name``.

    ``base`` is the image the server was booted from (None when it is gone);
    ``shared_by_members``: the backend can share an image with another
    project (Glance), so the caller's project owns it.
    """
    base_properties = dict(_field(base, "properties") or {})
    properties = {key: str(base_properties[key]) for key in INHERITED_PROPERTIES
                  if base_properties.get(key)}
    for key in INHERITED_PROPERTIES:
        own = _instance_field(instance, key)
        if own and key not in properties:
            properties[key] = str(own)
    properties.update({str(k): str(v) for k, v in (metadata or {}).items()})
    properties.update({"instance_uuid": instance.uuid, "image_type": "snapshot",
                       "base_image_ref": _instance_field(instance, "image_ref") or "",
                       "user_id": context.user_id or ""})
    values: dict[str, Any] = {
        "name": name, "status": "queued", "visibility": "private",
        "owner": instance.project_id,
        "min_disk": max(int(_instance_field(instance, "root_gb") or 0),
                        int(_field(base, "min_disk") or 0)),
    }
    for key in INHERITED_FIELDS:
        value = _field(base, key)
        if value:
            values[key] = value
    member = None
    caller = getattr(context, "project_id", None)
    if shared_by_members and caller:
        values["owner"] = caller
        if caller != instance.project_id:
            values["visibility"] = "shared"
            properties["instance_owner"] = instance.project_id
            member = instance.project_id
    values["properties"] = properties
    return SnapshotRecord(values, member)
