"""kumo-conductor's endpoint methods for server actions (RPC API 1.2): the
instance-action records (``os-instance-actions``) and user metadata changes.

Mixed into :class:`kumo.conductor.manager.ConductorManager`; the queries live
in :mod:`kumo.db.action_events` and :mod:`kumo.db.instance_metadata`.
"""

from __future__ import annotations

from typing import Any

from kumo.conductor import rows
from kumo.db import action_events
from kumo.db import instance_metadata as metadata_db


def _plain_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row as JSON-able values (datetimes as ISO 8601 text, naive UTC)."""
    plain: dict[str, Any] = {}
    for key, value in row.items():
        if key == "events":
            plain[key] = [_plain_row(event) for event in value]
        elif hasattr(value, "isoformat"):
            plain[key] = value.isoformat()
        else:
            plain[key] = value
    return plain


class ServerActionsMixin:
    """Instance actions and metadata (1.2)."""

    def instance_action_start(self, context: Any, instance_uuid: str, action: str,
                              request_id: str, user_id: str | None,
                              project_id: str | None) -> dict[str, Any]:
        return _plain_row(action_events.action_start(
            instance_uuid, action, request_id, user_id, project_id))

    def instance_action_event_start(self, context: Any, instance_uuid: str,
                                    request_id: str, event: str,
                                    host: str | None = None) -> dict[str, Any]:
        return _plain_row(action_events.event_start(instance_uuid, request_id, event,
                                                    host=host))

    def instance_action_event_finish(self, context: Any, instance_uuid: str,
                                     request_id: str, event: str, host: str | None = None,
                                     result: str | None = None,
                                     traceback: str | None = None) -> dict[str, Any]:
        return _plain_row(action_events.event_finish(
            instance_uuid, request_id, event, host=host, result=result, traceback=traceback))

    def instance_action_get_all(self, context: Any,
                                instance_uuid: str) -> list[dict[str, Any]]:
        return [_plain_row(action) for action in action_events.action_get_all(instance_uuid)]

    def instance_action_get_by_request_id(self, context: Any, instance_uuid: str,
                                          request_id: str) -> dict[str, Any] | None:
        action = action_events.action_get_by_request_id(instance_uuid, request_id)
        return None if action is None else _plain_row(action)

    def instance_metadata_update(self, context: Any, instance_uuid: str,
                                 metadata: dict[str, Any],
                                 delete: bool = False) -> dict[str, Any]:
        return metadata_db.instance_metadata_update(instance_uuid, rows.plain(metadata),
                                                    delete=delete)

    def instance_metadata_delete(self, context: Any, instance_uuid: str,
                                 key: str) -> dict[str, Any]:
        return metadata_db.instance_metadata_delete(instance_uuid, key)
