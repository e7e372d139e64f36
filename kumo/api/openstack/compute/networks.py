"""``/os-networks`` (microversions up to 2.35): kumo-network's fixed networks.

Everyone sees the networks they may boot on (their project's and shared
ones) with the addressing fields; admins see every network with its
plumbing (bridge, VLAN, project, host). Admins create and delete networks,
give one to a project (``POST /os-networks/add``) and associate or
disassociate its host and project (``POST /os-networks/{id}/action``:
``associate_host``, ``disassociate_host``, ``disassociate_project``,
``disassociate``). A network with a host is served by that host's
kumo-network only.
"""

from __future__ import annotations

from typing import Any

import webob

from kumo import exception, policy
from kumo.api.openstack import common
from kumo.api.openstack.compute import network_proxy
from kumo.conf import CONF
from kumo.policies import networks as network_policies

_USER_FIELDS = ("cidr", "netmask", "gateway", "broadcast", "dns1", "dns2", "label")
_ADMIN_FIELDS = ("bridge", "bridge_interface", "vlan", "project_id", "multi_host", "host",
                 "created_at", "updated_at")


# Disassociating actions and the columns each clears.
_DISASSOCIATE = {"disassociate_host": ("host",), "disassociate_project": ("project_id",),
                 "disassociate": ("host", "project_id")}


def _view(row: dict[str, Any], admin: bool) -> dict[str, Any]:
    shown = {"id": row["uuid"], **{key: row.get(key) for key in _USER_FIELDS},
             "cidr_v6": None, "gateway_v6": None, "netmask_v6": None}
    if admin:
        shown.update({key: row.get(key) for key in _ADMIN_FIELDS})
        shown["multi_host"] = bool(row.get("multi_host"))
    return shown


class NetworksController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def _context(self, req: webob.Request, action: str) -> Any:
        network_proxy.check_microversion(req)
        context = common.context_of(req)
        policy.authorize(context, network_policies.NETWORKS % action)
        return context

    def index(self, req: webob.Request) -> webob.Response:
        context = self._context(req, "list")
        rows = self.clients.conductor.network_get_all(context,
                                                      project_id=common.project_scope(context))
        return common.json_response({"networks": [_view(r, context.is_admin) for r in rows]})

    def show(self, req: webob.Request, network_id: str) -> webob.Response:
        context = self._context(req, "show")
        row = self.clients.conductor.network_get(context, network_uuid=network_id)
        scope = common.project_scope(context)
        if scope is not None and row["project_id"] not in (None, scope):
            raise exception.NetworkNotFound(network_id=network_id)
        return common.json_response({"network": _view(row, context.is_admin)})

    def create(self, req: webob.Request) -> webob.Response:
        context = self._context(req, "create")
        body = common.json_body(req)
        network = body.get("network") if isinstance(body, dict) else None
        if not isinstance(network, dict) or not network.get("cidr") \
                or not network.get("label"):
            raise common.BadRequest(reason="Network label and cidr are required")
        values = {key: network.get(key) for key in (
            "label", "cidr", "gateway", "dns1", "dns2", "bridge", "bridge_interface",
            "vlan", "project_id", "multi_host") if network.get(key) is not None}
        values.setdefault("bridge", CONF.network.flat_network_bridge)
        row = self.clients.conductor.network_create(context, values=values)
        return common.json_response({"network": _view(row, True)})

    def add(self, req: webob.Request) -> webob.Response:
        """``{"id": <uuid>}`` gives the caller's project that network; ``{"id": null}``
        the first network without a project."""
        context = self._context(req, "add")
        body = common.json_body(req)
        if not isinstance(body, dict) or "id" not in body or \
                not (body["id"] is None or isinstance(body["id"], str)):
            raise common.BadRequest(reason="Network id (or null) is required")
        try:
            self.clients.conductor.network_add_to_project(
                context, project_id=context.project_id, network_uuid=body["id"])
        except exception.NetworkNotFound as error:
            # Nova answers 400 both for an unknown id and when none is left.
            raise common.BadRequest(reason=error.message) from None
        return common.empty_response(202)

    def action(self, req: webob.Request, network_id: str) -> webob.Response:
        network_proxy.check_microversion(req)
        context = common.context_of(req)
        policy.authorize(context, network_policies.NETWORKS_ASSOCIATE)
        body = common.json_body(req)
        if not isinstance(body, dict) or len(body) != 1:
            raise common.BadRequest(reason="One action is required")
        [(name, value)] = body.items()
        if name == "associate_host":
            if not isinstance(value, str) or not value:
                raise common.BadRequest(reason="associate_host needs a host name")
            values: dict[str, Any] = {"host": value}
        elif name in _DISASSOCIATE:
            values = dict.fromkeys(_DISASSOCIATE[name])
        else:
            raise common.BadRequest(reason=f"Unknown action {name}")
        self.clients.conductor.network_associate(context, network_uuid=network_id,
                                                 values=values)
        network_proxy.refresh(context)
        return common.empty_response(202)

    def delete(self, req: webob.Request, network_id: str) -> webob.Response:
        context = self._context(req, "delete")
        self.clients.conductor.network_delete(context, network_uuid=network_id)
        return common.empty_response(202)
