"""The conductor's endpoints for server groups, host aggregates and availability zones (1.4).

Rows travel as plain dicts with ISO 8601 timestamps (naive UTC). The zones a
user sees are computed here from the aggregates and the service rows, so the
API never needs both lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oslo_config import cfg

from kumo import servicegroup
from kumo.db import aggregates as aggregate_db
from kumo.db import api as db
from kumo.db import instance_groups as group_db

CONF = cfg.CONF

# The zone non-compute services are listed in (os-availability-zone/detail).
INTERNAL_ZONE = "internal"


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as JSON-able values (datetimes as ISO 8601 text, naive UTC)."""
    return {key: value.isoformat() if hasattr(value, "isoformat") else value
            for key, value in row.items()}


def host_zones(aggregates: list[Mapping[str, Any]]) -> dict[str, str]:
    """``{host: zone}`` for every host some zoned aggregate holds."""
    zones: dict[str, str] = {}
    for aggregate in aggregates:
        zone = aggregate.get("availability_zone")
        if zone:
            for host in aggregate["hosts"]:
                zones.setdefault(host, zone)
    return zones


def availability_zones(services: list[Mapping[str, Any]],
                       aggregates: list[Mapping[str, Any]],
                       with_internal: bool) -> list[dict[str, Any]]:
    """The zones, sorted by name: ``{"zone", "available", "hosts": {host: {binary:
    {"available", "active", "updated_at"}}}}``.

    A compute host is in its aggregate's zone or the default zone; a zone is
    available when one of its compute services is enabled (Nova lists a zone
    whose services are all disabled as not available). Non-compute services
    are in the internal zone, listed only ``with_internal``.
    """
    zoned = host_zones(aggregates)
    zones: dict[str, dict[str, Any]] = {}
    for service in services:
        if service["binary"] == aggregate_db.COMPUTE_BINARY:
            name = zoned.get(service["host"], CONF.scheduler.default_availability_zone)
        elif with_internal:
            name = INTERNAL_ZONE
        else:
            continue
        zone = zones.setdefault(name, {"zone": name, "available": False, "hosts": {}})
        enabled = not service.get("disabled")
        if service["binary"] == aggregate_db.COMPUTE_BINARY and enabled:
            zone["available"] = True
        if name == INTERNAL_ZONE:
            zone["available"] = True
        updated = service.get("updated_at") or service.get("last_seen_up")
        zone["hosts"].setdefault(service["host"], {})[service["binary"]] = {
            "available": servicegroup.is_up(service), "active": enabled,
            "updated_at": updated.isoformat() if hasattr(updated, "isoformat") else updated}
    return [zones[name] for name in sorted(zones)]


class GroupsMixin:
    """Server groups, aggregates and zones (1.4)."""

    # --- server groups -----------------------------------------------------------------

    def instance_group_create(self, context: Any, values: dict[str, Any]) -> dict[str, Any]:
        return _plain(group_db.group_create(values))

    def instance_group_get(self, context: Any, group_uuid: str) -> dict[str, Any]:
        return _plain(group_db.group_get(group_uuid))

    def instance_group_get_all(self, context: Any, project_id: str | None = None,
                               limit: int | None = None, offset: int | None = None
                               ) -> list[dict[str, Any]]:
        return [_plain(row) for row in group_db.group_get_all(
            project_id=project_id, limit=limit, offset=offset)]

    def instance_group_delete(self, context: Any, group_uuid: str) -> None:
        group_db.group_delete(group_uuid)

    def instance_group_members_add(self, context: Any, group_uuid: str,
                                   instance_uuids: list[str],
                                   limit: int | None = None) -> dict[str, Any]:
        return _plain(group_db.members_add(group_uuid, instance_uuids, limit=limit))

    # --- aggregates --------------------------------------------------------------------

    def aggregate_create(self, context: Any, name: str, availability_zone: str | None = None,
                         metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        return _plain(aggregate_db.aggregate_create(name, availability_zone, metadata))

    def aggregate_get(self, context: Any, aggregate_id: int) -> dict[str, Any]:
        return _plain(aggregate_db.aggregate_get(aggregate_id))

    def aggregate_get_all(self, context: Any) -> list[dict[str, Any]]:
        return [_plain(row) for row in aggregate_db.aggregate_get_all()]

    def aggregate_update(self, context: Any, aggregate_id: int,
                         values: dict[str, Any]) -> dict[str, Any]:
        return _plain(aggregate_db.aggregate_update(aggregate_id, values))

    def aggregate_delete(self, context: Any, aggregate_id: int) -> None:
        aggregate_db.aggregate_delete(aggregate_id)

    def aggregate_host_add(self, context: Any, aggregate_id: int, host: str
                           ) -> dict[str, Any]:
        return _plain(aggregate_db.aggregate_host_add(aggregate_id, host))

    def aggregate_host_delete(self, context: Any, aggregate_id: int, host: str
                              ) -> dict[str, Any]:
        return _plain(aggregate_db.aggregate_host_delete(aggregate_id, host))

    def aggregate_metadata_set(self, context: Any, aggregate_id: int,
                               metadata: dict[str, Any]) -> dict[str, Any]:
        return _plain(aggregate_db.aggregate_metadata_set(aggregate_id, metadata))

    # --- availability zones ------------------------------------------------------------

    def availability_zone_get_all(self, context: Any, with_internal: bool = False
                                  ) -> list[dict[str, Any]]:
        return availability_zones(db.service_get_all(), aggregate_db.aggregate_get_all(),
                                  with_internal)
