"""Base class and serializer of kumo's versioned objects."""

from __future__ import annotations

from typing import Any

from oslo_versionedobjects import base as ovo_base


class KumoObjectRegistry(ovo_base.VersionedObjectRegistry):
    pass


class KumoObject(ovo_base.VersionedObject, ovo_base.VersionedObjectDictCompat):
    """A versioned object in the ``kumo`` namespace.

    Objects carry data; they never open the database. The conductor builds
    them from rows (:meth:`from_row`) and other services send changes back
    through the conductor's RPC API.
    """

    OBJ_PROJECT_NAMESPACE = "kumo"
    OBJ_SERIAL_NAMESPACE = "kumo_object"

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> KumoObject:
        """Build an object from a database row dict, ignoring unknown columns."""
        obj = cls()
        for name in cls.fields:
            if name in row:
                setattr(obj, name, row[name])
        obj.obj_reset_changes()
        return obj


class KumoObjectSerializer(ovo_base.VersionedObjectSerializer):
    OBJ_BASE_CLASS = KumoObject
