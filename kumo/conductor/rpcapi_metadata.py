"""Client methods of kumo-conductor for kumo-api-metadata (RPC API 1.9).

Mixed into :class:`kumo.conductor.rpcapi.ConductorAPI`; the endpoint is
:class:`kumo.conductor.metadata.MetadataMixin`.
"""

from __future__ import annotations

from typing import Any

VERSION = "1.9"


class MetadataAPIMixin:
    """What the metadata service tells an instance about itself."""

    call: Any

    def instance_metadata_source(self, ctxt: Any, address: str | None = None,
                                 instance_uuid: str | None = None) -> dict[str, Any]:
        """1.9: the instance holding fixed IP ``address`` (or ``instance_uuid``) with
        its ``network_info``, ``security_groups``, ``key_type`` and ``tags``, as plain
        JSON values; raises InstanceNotFound."""
        return self.call(ctxt, "instance_metadata_source",
                         {"address": address, "instance_uuid": instance_uuid},
                         version=VERSION)

    def instance_password_set(self, ctxt: Any, instance_uuid: str, password: str) -> None:
        """1.9: store the encrypted password a guest posts, once; raises Conflict."""
        return self.call(ctxt, "instance_password_set",
                         {"instance_uuid": instance_uuid, "password": password},
                         version=VERSION)

    def instance_password_clear(self, ctxt: Any, instance_uuid: str) -> None:
        """1.10: forget the stored password; raises InstanceNotFound."""
        return self.call(ctxt, "instance_password_clear", {"instance_uuid": instance_uuid},
                         version="1.10")
