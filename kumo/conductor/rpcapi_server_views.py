"""Conductor client calls that read a server view in one call, sent as 1.9.

Mixed into :class:`kumo.conductor.rpcapi.ConductorAPI`; the endpoints are
:mod:`kumo.conductor.server_views`. The answers are plain JSON rows (datetimes
as ISO 8601 strings), not versioned objects; kumo-api reads them with
:mod:`kumo.api.openstack.compute.server_rows`.
"""

from __future__ import annotations

from typing import Any

VERSION = "1.9"


class ServerViewsAPIMixin:
    call: Any

    def instance_get_all_for_view(self, ctxt: Any, filters: dict[str, Any] | None = None,
                                  sort_keys: list[str] | None = None,
                                  sort_dirs: list[str] | None = None,
                                  limit: int | None = None, marker: str | None = None,
                                  extras: list[str] | None = None) -> dict[str, Any]:
        """``{"instances": [row], <extra>: ...}``: the listing of ``instance_get_all``
        with, per name in ``extras``, ``tags`` ({uuid: [tag]}), ``network_info``
        ({uuid: network_info}) and ``services`` (the compute services of the listed
        servers' hosts); ``request_spec`` keeps the recorded request spec in the rows'
        system_metadata. Raises MarkerNotFound."""
        return self.call(ctxt, "instance_get_all_for_view", {
            "filters": filters, "sort_keys": sort_keys, "sort_dirs": sort_dirs,
            "limit": limit, "marker": marker, "extras": extras or []}, version=VERSION)

    def instance_get_for_view(self, ctxt: Any, instance_uuid: str,
                              project_id: str | None = None,
                              extras: list[str] | None = None) -> dict[str, Any]:
        """``{"instance": row, <extra>: ...}`` (extras as for the listing); raises
        InstanceNotFound."""
        return self.call(ctxt, "instance_get_for_view", {
            "instance_uuid": instance_uuid, "project_id": project_id,
            "extras": extras or []}, version=VERSION)
