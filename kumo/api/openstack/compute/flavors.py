"""``/flavors``: the server sizes a project may boot."""

from __future__ import annotations

from typing import Any

import webob
from oslo_utils import strutils

from kumo.api.openstack import common
from kumo.api.openstack.compute import views


def _is_public_filter(raw: str | None) -> bool | None:
    """Nova's ``is_public`` rule: admins choose (default public only, ``none`` for all)."""
    if raw is None:
        return True
    if raw.lower() == "none":
        return None
    try:
        return strutils.bool_from_string(raw, strict=True)
    except ValueError:
        raise common.BadRequest(reason=f"Invalid is_public filter [{raw}]") from None


def _int_filter(req: webob.Request, name: str) -> int | None:
    raw = req.params.get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise common.BadRequest(reason=f"Invalid {name} filter [{raw}]") from None


class FlavorsController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def index(self, req: webob.Request) -> webob.Response:
        return self._list(req, views.flavor_basic)

    def detail(self, req: webob.Request) -> webob.Response:
        return self._list(req, views.flavor_detail)

    def _list(self, req: webob.Request, view: Any) -> webob.Response:
        context = common.context_of(req)
        limit, marker = common.limit_and_marker(req)
        min_memory_mb = _int_filter(req, "minRam")
        min_disk = _int_filter(req, "minDisk")
        if context.is_admin:
            is_public = _is_public_filter(req.params.get("is_public"))
            project_id = None
        else:
            # Public flavors and the private ones shared with the caller's project.
            is_public = None
            project_id = context.project_id
        flavors = self.clients.conductor.flavor_get_all(
            context, is_public=is_public, min_memory_mb=min_memory_mb, min_disk=min_disk,
            project_id=project_id)
        if not context.is_admin:
            flavors = [f for f in flavors if not (f.get("disabled", False))]
        flavors = common.page(flavors, limit, marker, "flavorid")
        collection = "flavors/detail" if view is views.flavor_detail else "flavors"
        return common.list_response(req, "flavors", [view(req, f) for f in flavors],
                                    collection, limit)

    def show(self, req: webob.Request, flavor_id: str) -> webob.Response:
        context = common.context_of(req)
        flavor = self.clients.conductor.flavor_get_by_flavor_id(
            context, flavor_id=flavor_id, project_id=common.project_scope(context))
        return common.json_response({"flavor": views.flavor_detail(req, flavor)})
