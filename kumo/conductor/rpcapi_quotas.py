"""Conductor client calls for key pairs and quotas (1.5).

Mixed into :class:`kumo.conductor.rpcapi.ConductorAPI`. Quota checks happen in
the conductor, in the same transaction as the rows they allow (kumo.db.quotas).
"""

from __future__ import annotations

from typing import Any

VERSION = "1.5"


class QuotasAPIMixin:
    call: Any

    # --- key pairs -----------------------------------------------------------------------

    def key_pair_create(self, ctxt: Any, values: dict[str, Any],
                        project_id: str) -> dict[str, Any]:
        """``values``: name, user_id, fingerprint, public_key, type. Raises KeyPairExists,
        KeypairLimitExceeded (the user's key_pairs quota in ``project_id``)."""
        return self.call(ctxt, "key_pair_create", {"values": values, "project_id": project_id},
                         version=VERSION)

    def key_pair_get(self, ctxt: Any, user_id: str, name: str) -> dict[str, Any]:
        """Raises KeypairNotFound."""
        return self.call(ctxt, "key_pair_get", {"user_id": user_id, "name": name},
                         version=VERSION)

    def key_pair_get_all(self, ctxt: Any, user_id: str, limit: int | None = None,
                         marker: str | None = None) -> list[dict[str, Any]]:
        """The user's key pairs by name; raises MarkerNotFound."""
        return self.call(ctxt, "key_pair_get_all",
                         {"user_id": user_id, "limit": limit, "marker": marker},
                         version=VERSION)

    def key_pair_destroy(self, ctxt: Any, user_id: str, name: str) -> None:
        """Raises KeypairNotFound."""
        self.call(ctxt, "key_pair_destroy", {"user_id": user_id, "name": name},
                  version=VERSION)

    # --- instances within the quota ------------------------------------------------------

    def instance_create_within_quota(self, ctxt: Any, values_list: list[dict[str, Any]],
                                     min_count: int) -> list[Any]:
        """Like instance_create, but only as many as the quota allows (at least
        ``min_count``, else TooManyInstances), counted and inserted atomically."""
        return self.call(ctxt, "instance_create_within_quota",
                         {"values_list": values_list, "min_count": min_count},
                         version=VERSION)

    def quota_check_resize(self, ctxt: Any, instance_uuid: str, vcpus: int,
                           memory_mb: int) -> None:
        """Raises OverQuota unless the server may grow to vcpus/memory_mb."""
        self.call(ctxt, "quota_check_resize", {"instance_uuid": instance_uuid,
                                               "vcpus": vcpus, "memory_mb": memory_mb},
                  version=VERSION)

    def quota_check_metadata(self, ctxt: Any, project_id: str, count: int) -> None:
        """Raises MetadataLimitExceeded when ``count`` items exceed metadata_items."""
        self.call(ctxt, "quota_check_metadata", {"project_id": project_id, "count": count},
                  version=VERSION)

    # --- quota sets and classes ----------------------------------------------------------

    def quota_get(self, ctxt: Any, project_id: str, user_id: str | None = None,
                  detail: bool = False) -> dict[str, Any]:
        """``{resource: limit}``, or with detail ``{resource: {limit, in_use, reserved}}``."""
        return self.call(ctxt, "quota_get", {"project_id": project_id, "user_id": user_id,
                                             "detail": detail}, version=VERSION)

    def quota_update(self, ctxt: Any, project_id: str, values: dict[str, int],
                     user_id: str | None = None, force: bool = False) -> dict[str, int]:
        """Raises Invalid for a limit below usage (unless force) or above the project's."""
        return self.call(ctxt, "quota_update", {
            "project_id": project_id, "values": values, "user_id": user_id, "force": force},
            version=VERSION)

    def quota_delete(self, ctxt: Any, project_id: str, user_id: str | None = None) -> None:
        self.call(ctxt, "quota_delete", {"project_id": project_id, "user_id": user_id},
                  version=VERSION)

    def quota_class_get(self, ctxt: Any, class_name: str) -> dict[str, int]:
        return self.call(ctxt, "quota_class_get", {"class_name": class_name},
                         version=VERSION)

    def quota_class_update(self, ctxt: Any, class_name: str,
                           values: dict[str, int]) -> dict[str, int]:
        return self.call(ctxt, "quota_class_update",
                         {"class_name": class_name, "values": values}, version=VERSION)
