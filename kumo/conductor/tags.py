"""Conductor endpoints for server tags (microversion 2.26; RPC 1.8).

Mixed into :class:`kumo.conductor.manager.ConductorManager`; the rows live in
:mod:`kumo.db.tags`.
"""

from __future__ import annotations

from typing import Any

from kumo.db import tags as tags_db


class TagsMixin:
    """Server tags (1.8)."""

    def instance_tags_get(self, context: Any, instance_uuid: str) -> list[str]:
        return tags_db.tags_get(instance_uuid)

    def instance_tags_get_by_uuids(self, context: Any,
                                   instance_uuids: list[str]) -> dict[str, list[str]]:
        return tags_db.tags_get_by_uuids(instance_uuids)

    def instance_tag_add(self, context: Any, instance_uuid: str, tag: str) -> bool:
        return tags_db.tag_add(instance_uuid, tag)

    def instance_tags_set(self, context: Any, instance_uuid: str,
                          tags: list[str]) -> list[str]:
        return tags_db.tags_set(instance_uuid, tags)

    def instance_tag_delete(self, context: Any, instance_uuid: str, tag: str) -> None:
        tags_db.tag_delete(instance_uuid, tag)

    def instance_tags_delete_all(self, context: Any, instance_uuid: str) -> None:
        tags_db.tags_delete_all(instance_uuid)
