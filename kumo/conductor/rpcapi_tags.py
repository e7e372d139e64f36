"""Conductor client calls for server tags (microversion 2.26), sent as 1.8.

Mixed into :class:`kumo.conductor.rpcapi.ConductorAPI`.
"""

from __future__ import annotations

from typing import Any

VERSION = "1.8"


class TagsAPIMixin:
    call: Any

    def instance_tags_get(self, ctxt: Any, instance_uuid: str) -> list[str]:
        """The server's tags, sorted."""
        return self.call(ctxt, "instance_tags_get", {"instance_uuid": instance_uuid},
                         version=VERSION)

    def instance_tags_get_by_uuids(self, ctxt: Any,
                                   instance_uuids: list[str]) -> dict[str, list[str]]:
        """uuid -> sorted tags for each server of a listing, in one call."""
        return self.call(ctxt, "instance_tags_get_by_uuids",
                         {"instance_uuids": list(instance_uuids)}, version=VERSION)

    def instance_tag_add(self, ctxt: Any, instance_uuid: str, tag: str) -> bool:
        """True when added, False when the server had it; raises TooManyInstanceTags."""
        return self.call(ctxt, "instance_tag_add",
                         {"instance_uuid": instance_uuid, "tag": tag}, version=VERSION)

    def instance_tags_set(self, ctxt: Any, instance_uuid: str, tags: list[str]) -> list[str]:
        """Replace every tag; the tags after. Raises TooManyInstanceTags."""
        return self.call(ctxt, "instance_tags_set",
                         {"instance_uuid": instance_uuid, "tags": list(tags)},
                         version=VERSION)

    def instance_tag_delete(self, ctxt: Any, instance_uuid: str, tag: str) -> None:
        """Raises InstanceTagNotFound when the server lacks ``tag``."""
        self.call(ctxt, "instance_tag_delete", {"instance_uuid": instance_uuid, "tag": tag},
                  version=VERSION)

    def instance_tags_delete_all(self, ctxt: Any, instance_uuid: str) -> None:
        self.call(ctxt, "instance_tags_delete_all", {"instance_uuid": instance_uuid},
                  version=VERSION)
