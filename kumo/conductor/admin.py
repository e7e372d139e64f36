"""The conductor's endpoints for the admin API (1.8): flavor management, services,
hypervisors and usage.

Flavors and instances travel as versioned objects, services as Service objects,
hypervisors and access lists as plain data.
"""

from __future__ import annotations

import datetime
from typing import Any

from kumo.conductor import rows
from kumo.db import api as db
from kumo.db import flavors as flavor_db
from kumo.db import hypervisors as hypervisor_db
from kumo.db import usage as usage_db
from kumo.objects import flavor as flavor_obj
from kumo.objects import instance as instance_obj
from kumo.objects import service as service_obj


class AdminMixin:
    """Flavor management, services, hypervisors and usage (1.8)."""

    # --- flavors -----------------------------------------------------------------------

    def flavor_update(self, context: Any, flavor_id: str,
                      values: dict[str, Any]) -> flavor_obj.Flavor:
        return rows.flavor(flavor_db.flavor_update(flavor_id, values))

    def flavor_destroy(self, context: Any, flavor_id: str) -> None:
        flavor_db.flavor_destroy(flavor_id)

    def flavor_extra_specs_update(self, context: Any, flavor_id: str,
                                  extra_specs: dict[str, str]) -> dict[str, Any]:
        return flavor_db.flavor_extra_specs_update(flavor_id, extra_specs)

    def flavor_extra_specs_delete(self, context: Any, flavor_id: str, key: str) -> None:
        flavor_db.flavor_extra_specs_delete(flavor_id, key)

    def flavor_access_get_all(self, context: Any, flavor_id: str) -> list[str]:
        return flavor_db.flavor_access_get_all(flavor_id)

    def flavor_access_add(self, context: Any, flavor_id: str, project_id: str) -> list[str]:
        return flavor_db.flavor_access_grant(flavor_id, project_id)

    def flavor_access_remove(self, context: Any, flavor_id: str,
                             project_id: str) -> list[str]:
        return flavor_db.flavor_access_revoke(flavor_id, project_id)

    # --- services ----------------------------------------------------------------------

    def service_get(self, context: Any, service_id: int | None = None,
                    uuid: str | None = None) -> service_obj.Service:
        row = db.service_get_by_uuid(uuid) if uuid is not None else db.service_get(service_id)
        return service_obj.Service.from_row(row)

    def service_delete(self, context: Any, service_id: int) -> None:
        db.service_delete(service_id)

    # --- hypervisors and usage ---------------------------------------------------------

    def hypervisor_get_all(self, context: Any, hostname_pattern: str | None = None
                           ) -> list[dict[str, Any]]:
        return hypervisor_db.hypervisor_get_all(hostname_pattern=hostname_pattern)

    def instance_get_active_by_window(self, context: Any, start: datetime.datetime | str,
                                      end: datetime.datetime | str,
                                      project_id: str | None = None,
                                      limit: int | None = None, marker: str | None = None
                                      ) -> list[instance_obj.Instance]:
        return [rows.instance(row) for row in usage_db.instance_get_active_by_window(
            start, end, project_id=project_id, limit=limit, marker=marker)]
