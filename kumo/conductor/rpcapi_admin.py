"""Conductor client calls of the admin API (1.8): flavor management, services,
hypervisors and usage.

Mixed into :class:`kumo.conductor.rpcapi.ConductorAPI`.
"""

from __future__ import annotations

import datetime
from typing import Any

VERSION = "1.8"


class AdminAPIMixin:
    call: Any

    # --- flavors -----------------------------------------------------------------------

    def flavor_update(self, ctxt: Any, flavor_id: str, values: dict[str, Any]) -> Any:
        """Flavor with ``values`` (``description`` only) set; raises FlavorNotFound."""
        return self.call(ctxt, "flavor_update", {"flavor_id": flavor_id, "values": values},
                         version=VERSION)

    def flavor_destroy(self, ctxt: Any, flavor_id: str) -> None:
        """Delete the flavor (servers keep their copy); raises FlavorNotFound."""
        self.call(ctxt, "flavor_destroy", {"flavor_id": flavor_id}, version=VERSION)

    def flavor_extra_specs_update(self, ctxt: Any, flavor_id: str,
                                  extra_specs: dict[str, str]) -> dict[str, Any]:
        """Set these keys; returns every extra spec of the flavor. Raises FlavorNotFound."""
        return self.call(ctxt, "flavor_extra_specs_update",
                         {"flavor_id": flavor_id, "extra_specs": extra_specs},
                         version=VERSION)

    def flavor_extra_specs_delete(self, ctxt: Any, flavor_id: str, key: str) -> None:
        """Remove one key; raises FlavorNotFound, FlavorExtraSpecsNotFound."""
        self.call(ctxt, "flavor_extra_specs_delete", {"flavor_id": flavor_id, "key": key},
                  version=VERSION)

    def flavor_access_get_all(self, ctxt: Any, flavor_id: str) -> list[str]:
        """The project ids that may use the flavor; raises FlavorNotFound."""
        return self.call(ctxt, "flavor_access_get_all", {"flavor_id": flavor_id},
                         version=VERSION)

    def flavor_access_add(self, ctxt: Any, flavor_id: str, project_id: str) -> list[str]:
        """Grant access; returns the project ids. Raises FlavorAccessExists."""
        return self.call(ctxt, "flavor_access_add",
                         {"flavor_id": flavor_id, "project_id": project_id}, version=VERSION)

    def flavor_access_remove(self, ctxt: Any, flavor_id: str, project_id: str) -> list[str]:
        """Revoke access; returns the project ids. Raises FlavorAccessNotFound."""
        return self.call(ctxt, "flavor_access_remove",
                         {"flavor_id": flavor_id, "project_id": project_id}, version=VERSION)

    # --- services ----------------------------------------------------------------------

    def service_get(self, ctxt: Any, service_id: int | None = None,
                    uuid: str | None = None) -> Any:
        """Service by id or uuid; raises ServiceNotFound."""
        return self.call(ctxt, "service_get", {"service_id": service_id, "uuid": uuid},
                         version=VERSION)

    def service_delete(self, ctxt: Any, service_id: int) -> None:
        """Delete a service (and its compute nodes); raises ServiceHasInstances for a
        compute service whose host still has servers."""
        self.call(ctxt, "service_delete", {"service_id": service_id}, version=VERSION)

    # --- hypervisors and usage ---------------------------------------------------------

    def hypervisor_get_all(self, ctxt: Any, hostname_pattern: str | None = None
                           ) -> list[dict[str, Any]]:
        """Compute nodes (plain dicts, no timestamps), optionally whose hostname
        contains ``hostname_pattern``."""
        return self.call(ctxt, "hypervisor_get_all", {"hostname_pattern": hostname_pattern},
                         version=VERSION)

    def instance_get_active_by_window(self, ctxt: Any, start: datetime.datetime,
                                      end: datetime.datetime, project_id: str | None = None,
                                      limit: int | None = None,
                                      marker: str | None = None) -> list[Any]:
        """[Instance], deleted ones too, that ran some time in [start, end), ordered by
        project and uuid; raises MarkerNotFound."""
        return self.call(ctxt, "instance_get_active_by_window", {
            "start": start, "end": end, "project_id": project_id, "limit": limit,
            "marker": marker}, version=VERSION)
