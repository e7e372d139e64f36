"""Conductor endpoints that answer a server view in one call (RPC 1.9).

``GET /servers/detail`` and ``GET /servers/{id}`` need the instances and, by
microversion, their tags (2.26), the compute services of their hosts (2.16's
host_status) and their network info caches. These endpoints read all of it in
one RPC call and answer plain JSON rows (:class:`kumo.rpc.Plain`), not
versioned objects: building, serialising and parsing 1,000 ``Instance``
objects cost the listing most of its time (bench/README.md, findings 3-4).
Read-only: nothing here changes a row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kumo import exception, rpc
from kumo.conductor import rows
from kumo.db import api as db
from kumo.db import instance_views
from kumo.db import instances as instance_db
from kumo.db import networks as network_db
from kumo.db import tags as tags_db

# What a caller may ask for besides the instances ("request_spec": keep the recorded
# request spec in the rows' system_metadata, which only 2.96+ views read).
EXTRAS = frozenset({"tags", "services", "network_info", "request_spec"})


def _extras(instances: list[dict[str, Any]], extras: Iterable[str]) -> dict[str, Any]:
    wanted = set(extras or ())
    unknown = wanted - EXTRAS
    if unknown:
        raise exception.Invalid(reason=f"unknown server view extras {sorted(unknown)}")
    uuids = [instance["uuid"] for instance in instances]
    found: dict[str, Any] = {}
    if "tags" in wanted:
        found["tags"] = tags_db.tags_get_by_uuids(uuids) if uuids else {}
    if "network_info" in wanted:
        found["network_info"] = network_db.info_cache_get(uuids) if uuids else {}
    if "services" in wanted:
        hosts = {instance.get("host") for instance in instances} - {None, ""}
        services: list[dict[str, Any]] = []
        if hosts:
            # Only that host's services when they all share one (a show).
            only = next(iter(hosts)) if len(hosts) == 1 else None
            services = [rows.service_view(row) for row in db.service_get_all(
                binary="kumo-compute", host=only) if row["host"] in hosts]
        found["services"] = services
    return found


class ServerViewsMixin:
    """Server views in one call each (1.9)."""

    def instance_get_all_for_view(self, context: Any, filters: dict[str, Any] | None = None,
                                  sort_keys: list[str] | None = None,
                                  sort_dirs: list[str] | None = None,
                                  limit: int | None = None, marker: str | None = None,
                                  extras: list[str] | None = None) -> rpc.Plain:
        spec = "request_spec" in (extras or ())
        # Only the columns a view reads; the rows are ours to change in place; their
        # system_metadata stays JSON text unless a key the views read is in it
        # (kumo.conductor.rows.instance_view).
        instances = [rows.instance_view(row, spec, owned=True)
                     for row in instance_db.instance_get_all(
                         filters=filters, sort_keys=sort_keys, sort_dirs=sort_dirs,
                         limit=limit, marker=marker, shared_flavors=True,
                         system_metadata_text=True, columns=rows.VIEW_COLUMNS)]
        return rpc.Plain({"instances": instances, **_extras(instances, extras or ())})

    def instance_get_for_view(self, context: Any, instance_uuid: str,
                              project_id: str | None = None,
                              extras: list[str] | None = None) -> rpc.Plain:
        # One prepared query for the row, its metadata and its newest fault.
        instance = rows.instance_view(
            instance_views.instance_get(instance_uuid, project_id=project_id),
            "request_spec" in (extras or ()))
        return rpc.Plain({"instance": instance, **_extras([instance], extras or ())})
