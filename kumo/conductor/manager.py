"""kumo-conductor's RPC endpoint: database access on behalf of other services."""

from __future__ import annotations

from typing import Any

import oslo_messaging as messaging
from oslo_log import log as logging

from kumo import exception, manager
from kumo.db import api as db
from kumo.objects import service as service_obj

LOG = logging.getLogger(__name__)

# Values a service may change on its own row through service_update.
_UPDATABLE_SERVICE_FIELDS = frozenset(
    {"disabled", "disabled_reason", "forced_down", "topic", "version"}
)


class ConductorManager(manager.Manager):
    target = messaging.Target(version="1.0")

    def service_register(self, context: Any, host: str, binary: str, topic: str | None,
                         service_version: int) -> service_obj.Service:
        try:
            row = db.service_get_by_host_and_binary(host, binary)
        except exception.HostBinaryNotFound:
            try:
                row = db.service_create(
                    {"host": host, "binary": binary, "topic": topic,
                     "version": service_version}
                )
                LOG.info("Registered service %s on %s", binary, host)
                return service_obj.Service.from_row(row)
            except exception.ServiceExists:
                # Another process of the same host and binary won the race.
                row = db.service_get_by_host_and_binary(host, binary)
        if row["topic"] != topic or row["version"] != service_version:
            row = db.service_update(row["id"], {"topic": topic, "version": service_version})
        return service_obj.Service.from_row(row)

    def service_heartbeat(self, context: Any, service_id: int) -> service_obj.Service:
        return service_obj.Service.from_row(db.service_heartbeat(service_id))

    def service_get_all(self, context: Any, binary: str | None = None,
                        host: str | None = None) -> list[service_obj.Service]:
        rows = db.service_get_all(binary=binary, host=host)
        return [service_obj.Service.from_row(row) for row in rows]

    def service_get_by_host_and_binary(self, context: Any, host: str,
                                       binary: str) -> service_obj.Service:
        return service_obj.Service.from_row(db.service_get_by_host_and_binary(host, binary))

    def service_update(self, context: Any, service_id: int,
                       values: dict[str, Any]) -> service_obj.Service:
        unknown = set(values) - _UPDATABLE_SERVICE_FIELDS
        if unknown:
            raise exception.Invalid(reason=f"cannot update service fields {sorted(unknown)}")
        return service_obj.Service.from_row(db.service_update(service_id, values))

    def service_destroy(self, context: Any, service_id: int) -> None:
        db.service_destroy(service_id)
