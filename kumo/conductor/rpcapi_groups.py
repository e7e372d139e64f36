"""Conductor client calls for server groups, host aggregates and availability zones (1.4).

Mixed into :class:`kumo.conductor.rpcapi.ConductorAPI`; every answer is a
plain dict (timestamps as ISO 8601 text).
"""

from __future__ import annotations

from typing import Any

VERSION = "1.4"
VERSION_1_11 = "1.11"


class GroupsAPIMixin:
    call: Any
    can_send_version: Any

    # --- server groups -----------------------------------------------------------------

    def instance_group_create(self, ctxt: Any, values: dict[str, Any]) -> dict[str, Any]:
        """``values``: name, project_id, user_id, policy, rules (dict)."""
        return self.call(ctxt, "instance_group_create", {"values": values}, version=VERSION)

    def instance_group_get(self, ctxt: Any, group_uuid: str) -> dict[str, Any]:
        """The group with its ``members``; raises InstanceGroupNotFound."""
        return self.call(ctxt, "instance_group_get", {"group_uuid": group_uuid},
                         version=VERSION)

    def instance_group_get_all(self, ctxt: Any, project_id: str | None = None,
                               limit: int | None = None, offset: int | None = None
                               ) -> list[dict[str, Any]]:
        """Groups oldest first; ``project_id`` None: every project's."""
        return self.call(ctxt, "instance_group_get_all", {
            "project_id": project_id, "limit": limit, "offset": offset}, version=VERSION)

    def instance_group_delete(self, ctxt: Any, group_uuid: str) -> None:
        self.call(ctxt, "instance_group_delete", {"group_uuid": group_uuid}, version=VERSION)

    def instance_group_members_add(self, ctxt: Any, group_uuid: str,
                                   instance_uuids: list[str],
                                   limit: int | None = None) -> dict[str, Any]:
        """With ``limit`` (1.11) the server_group_members quota is checked in the
        same transaction (OverQuota, nothing added); an older conductor adds
        without it (the API's earlier check stands alone)."""
        args: dict[str, Any] = {"group_uuid": group_uuid, "instance_uuids": instance_uuids}
        version = VERSION
        if limit is not None and self.can_send_version(VERSION_1_11):
            args["limit"] = limit
            version = VERSION_1_11
        return self.call(ctxt, "instance_group_members_add", args, version=version)

    # --- aggregates --------------------------------------------------------------------

    def aggregate_create(self, ctxt: Any, name: str, availability_zone: str | None = None,
                         metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        """Raises AggregateNameExists."""
        return self.call(ctxt, "aggregate_create", {
            "name": name, "availability_zone": availability_zone, "metadata": metadata},
            version=VERSION)

    def aggregate_get(self, ctxt: Any, aggregate_id: int) -> dict[str, Any]:
        return self.call(ctxt, "aggregate_get", {"aggregate_id": aggregate_id},
                         version=VERSION)

    def aggregate_get_all(self, ctxt: Any) -> list[dict[str, Any]]:
        """Every aggregate with its hosts and metadata (the scheduler caches these)."""
        return self.call(ctxt, "aggregate_get_all", {}, version=VERSION)

    def aggregate_update(self, ctxt: Any, aggregate_id: int,
                         values: dict[str, Any]) -> dict[str, Any]:
        """``values``: name and/or availability_zone (None: no zone)."""
        return self.call(ctxt, "aggregate_update", {
            "aggregate_id": aggregate_id, "values": values}, version=VERSION)

    def aggregate_delete(self, ctxt: Any, aggregate_id: int) -> None:
        self.call(ctxt, "aggregate_delete", {"aggregate_id": aggregate_id}, version=VERSION)

    def aggregate_host_add(self, ctxt: Any, aggregate_id: int, host: str) -> dict[str, Any]:
        return self.call(ctxt, "aggregate_host_add", {
            "aggregate_id": aggregate_id, "host": host}, version=VERSION)

    def aggregate_host_delete(self, ctxt: Any, aggregate_id: int, host: str
                              ) -> dict[str, Any]:
        return self.call(ctxt, "aggregate_host_delete", {
            "aggregate_id": aggregate_id, "host": host}, version=VERSION)

    def aggregate_metadata_set(self, ctxt: Any, aggregate_id: int,
                               metadata: dict[str, Any]) -> dict[str, Any]:
        """Set keys; a None value deletes its key."""
        return self.call(ctxt, "aggregate_metadata_set", {
            "aggregate_id": aggregate_id, "metadata": metadata}, version=VERSION)

    # --- availability zones ------------------------------------------------------------

    def availability_zone_get_all(self, ctxt: Any, with_internal: bool = False
                                  ) -> list[dict[str, Any]]:
        """Zones with their hosts' services (see kumo.conductor.groups.availability_zones)."""
        return self.call(ctxt, "availability_zone_get_all", {"with_internal": with_internal},
                         version=VERSION)
