"""kumo-conductor's endpoint for kumo-api-metadata (RPC API 1.9): everything the
metadata service tells an instance about itself, in one call.

Mixed into :class:`kumo.conductor.manager.ConductorManager`; the queries live
in :mod:`kumo.db.metadata` and the modules of the rows it gathers.
"""

from __future__ import annotations

from typing import Any

from kumo.db import instances as instance_db
from kumo.db import metadata as metadata_db
from kumo.db import networks as network_db
from kumo.db import security_groups as secgroup_db
from kumo.db import tags as tag_db


def _jsonable(value: Any) -> Any:
    """Rows as JSON-able values (datetimes as ISO 8601 text, naive UTC)."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


class MetadataMixin:
    """The metadata service's source (1.9)."""

    def instance_metadata_source(self, context: Any, address: str | None = None,
                                 instance_uuid: str | None = None) -> dict[str, Any]:
        """The instance holding fixed IP ``address`` (or the one of ``instance_uuid``)
        with what its metadata documents are built from: ``instance`` (its columns,
        ``metadata`` and decoded ``flavor``), ``network_info``, ``security_groups``
        (names), ``key_type`` and ``tags``.

        :raises InstanceNotFound: no live instance has the address or uuid.
        """
        if instance_uuid is None:
            if not address:
                raise TypeError("instance_metadata_source needs address or instance_uuid")
            instance_uuid = metadata_db.instance_uuid_by_fixed_address(address)
        instance = instance_db.instance_get(instance_uuid)
        key_type = None
        if instance.get("key_name"):
            key_type = metadata_db.key_pair_type(instance["user_id"], instance["key_name"])
        return _jsonable({
            "instance": instance,
            "network_info": network_db.instance_network_info(instance_uuid),
            "security_groups": [group["name"] for group in
                                secgroup_db.security_groups_of_instance(instance_uuid)],
            "key_type": key_type,
            "tags": tag_db.tags_get(instance_uuid),
        })

    def instance_password_set(self, context: Any, instance_uuid: str, password: str) -> None:
        """Store the encrypted password the guest posts; raises Conflict when one
        is stored already, InstanceNotFound."""
        metadata_db.instance_password_set(instance_uuid, password)

    def instance_password_clear(self, context: Any, instance_uuid: str) -> None:
        """Forget the stored password (DELETE /servers/{id}/os-server-password), so
        the guest may post a new one; raises InstanceNotFound."""
        metadata_db.instance_password_clear(instance_uuid)
