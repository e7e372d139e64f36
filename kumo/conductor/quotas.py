"""kumo-conductor's endpoint methods for key pairs and quotas (RPC API 1.5).

Mixed into :class:`kumo.conductor.manager.ConductorManager`; the queries and
the quota engine live in :mod:`kumo.db.keypairs` and :mod:`kumo.db.quotas`.
Every answer is JSON-able (timestamps as ISO 8601 text).
"""

from __future__ import annotations

from typing import Any

from kumo.conductor import rows
from kumo.db import instances as instance_db
from kumo.db import keypairs as keypair_db
from kumo.db import quotas as quota_db
from kumo.objects import instance as instance_obj


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if hasattr(value, "isoformat") else value
            for key, value in row.items()}


class QuotasMixin:
    """Key pairs, quotas, and the quota-checked instance create (1.5)."""

    # --- key pairs -----------------------------------------------------------------------

    def key_pair_create(self, context: Any, values: dict[str, Any],
                        project_id: str) -> dict[str, Any]:
        return _plain(keypair_db.key_pair_create(values, project_id))

    def key_pair_get(self, context: Any, user_id: str, name: str) -> dict[str, Any]:
        return _plain(keypair_db.key_pair_get(user_id, name))

    def key_pair_get_all(self, context: Any, user_id: str, limit: int | None = None,
                         marker: str | None = None) -> list[dict[str, Any]]:
        return [_plain(row) for row in keypair_db.key_pair_get_all(user_id, limit, marker)]

    def key_pair_destroy(self, context: Any, user_id: str, name: str) -> None:
        keypair_db.key_pair_destroy(user_id, name)

    # --- instances within the quota ------------------------------------------------------

    def instance_create_within_quota(self, context: Any, values_list: list[dict[str, Any]],
                                     min_count: int) -> list[instance_obj.Instance]:
        return [rows.instance(row) for row in instance_db.instance_create(
            [rows.plain(v) for v in values_list], min_count=min_count)]

    def quota_check_resize(self, context: Any, instance_uuid: str, vcpus: int,
                           memory_mb: int) -> None:
        quota_db.resize_check(instance_uuid, vcpus, memory_mb)

    def quota_check_metadata(self, context: Any, project_id: str, count: int) -> None:
        quota_db.metadata_check(project_id, count)

    # --- quota sets and classes ----------------------------------------------------------

    def quota_get(self, context: Any, project_id: str, user_id: str | None = None,
                  detail: bool = False) -> dict[str, Any]:
        return quota_db.quota_get(project_id, user_id=user_id, detail=detail)

    def quota_update(self, context: Any, project_id: str, values: dict[str, int],
                     user_id: str | None = None, force: bool = False) -> dict[str, int]:
        return quota_db.quota_update(project_id, values, user_id=user_id, force=force)

    def quota_delete(self, context: Any, project_id: str, user_id: str | None = None) -> None:
        quota_db.quota_delete(project_id, user_id=user_id)

    def quota_class_get(self, context: Any, class_name: str) -> dict[str, int]:
        return quota_db.quota_class_get(class_name)

    def quota_class_update(self, context: Any, class_name: str,
                           values: dict[str, int]) -> dict[str, int]:
        return quota_db.quota_class_update(class_name, values)
