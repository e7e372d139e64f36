"""``/os-floating-ips``, ``/os-floating-ip-pools`` and the server actions
``addFloatingIp``/``removeFloatingIp`` (microversions up to 2.35; the actions
up to 2.43), over kumo-network's floating IPs."""

from __future__ import annotations

from typing import Any

import webob

from kumo import exception, policy
from kumo.api.openstack import api_version, common
from kumo.api.openstack.compute import network_proxy, views
from kumo.conf import CONF
from kumo.policies import networks as network_policies


def _view(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "ip": row["address"], "pool": row["pool"],
            "fixed_ip": row.get("fixed_ip"), "instance_id": row.get("instance_uuid")}


def _authorize(req: webob.Request, action: str) -> Any:
    network_proxy.check_microversion(req)
    context = common.context_of(req)
    policy.authorize(context, network_policies.FLOATING_IPS % action)
    return context


class FloatingIpPoolsController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def index(self, req: webob.Request) -> webob.Response:
        network_proxy.check_microversion(req)
        context = common.context_of(req)
        policy.authorize(context, network_policies.FLOATING_IP_POOLS)
        pools = self.clients.conductor.floating_ip_pools(context)
        return common.json_response({"floating_ip_pools": [{"name": p} for p in pools]})


class FloatingIpsController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def _get(self, context: Any, floating_ip_id: str) -> dict[str, Any]:
        for row in self.clients.conductor.floating_ip_get_all(
                context, project_id=context.project_id):
            if str(row["id"]) == str(floating_ip_id):
                return row
        raise exception.NotFound(f"Floating IP not found for ID {floating_ip_id}")

    def index(self, req: webob.Request) -> webob.Response:
        context = _authorize(req, "list")
        rows = self.clients.conductor.floating_ip_get_all(context,
                                                          project_id=context.project_id)
        return common.json_response({"floating_ips": [_view(r) for r in rows]})

    def show(self, req: webob.Request, floating_ip_id: str) -> webob.Response:
        context = _authorize(req, "show")
        return common.json_response({"floating_ip": _view(self._get(context,
                                                                    floating_ip_id))})

    def create(self, req: webob.Request) -> webob.Response:
        context = _authorize(req, "create")
        body = common.json_body(req) if req.body else None
        pool = ((body or {}).get("pool") if isinstance(body, dict) else None) or \
            CONF.network.default_floating_pool
        row = self.clients.conductor.floating_ip_allocate(
            context, project_id=context.project_id, pool=pool)
        return common.json_response({"floating_ip": _view(row)})

    def delete(self, req: webob.Request, floating_ip_id: str) -> webob.Response:
        context = _authorize(req, "delete")
        row = self._get(context, floating_ip_id)
        self.clients.conductor.floating_ip_deallocate(context, address=row["address"],
                                                      project_id=context.project_id)
        if row.get("fixed_ip"):
            network_proxy.refresh_info_cache(self.clients.conductor, context,
                                             row["instance_uuid"])
            network_proxy.refresh(context)
        return common.empty_response(202)


def _action_address(req: webob.Request, body: dict[str, Any], name: str) -> dict[str, Any]:
    if api_version.at_least(req, "2.44"):
        raise common.BadRequest(reason=f"There is no such action: {name}")
    args = body.get(name)
    if not isinstance(args, dict) or not isinstance(args.get("address"), str):
        raise common.BadRequest(reason="Address not specified")
    return args


def add_floating_ip(servers: Any, req: webob.Request, server_id: str,
                    body: dict[str, Any]) -> webob.Response:
    args = _action_address(req, body, "addFloatingIp")
    context = common.context_of(req)
    instance = common.server_get(servers.clients, context, server_id)
    policy.authorize(context, network_policies.FLOATING_IPS % "add",
                     views.server_target(instance))
    servers.clients.conductor.floating_ip_associate(
        context, address=args["address"], project_id=context.project_id,
        instance_uuid=instance.uuid, fixed_address=args.get("fixed_address"),
        host=instance.host)
    network_proxy.refresh_info_cache(servers.clients.conductor, context, instance.uuid)
    network_proxy.refresh(context)
    return common.empty_response(202)


def remove_floating_ip(servers: Any, req: webob.Request, server_id: str,
                       body: dict[str, Any]) -> webob.Response:
    args = _action_address(req, body, "removeFloatingIp")
    context = common.context_of(req)
    instance = common.server_get(servers.clients, context, server_id)
    policy.authorize(context, network_policies.FLOATING_IPS % "remove",
                     views.server_target(instance))
    row = servers.clients.conductor.floating_ip_get(context, address=args["address"],
                                                    project_id=context.project_id)
    if row.get("instance_uuid") != instance.uuid:
        raise exception.Conflict(f"Floating IP {args['address']} is not associated with "
                                 f"instance {instance.uuid}.")
    servers.clients.conductor.floating_ip_disassociate(context, address=args["address"])
    network_proxy.refresh_info_cache(servers.clients.conductor, context, instance.uuid)
    network_proxy.refresh(context)
    return common.empty_response(202)


ACTIONS = {"addFloatingIp": add_floating_ip, "removeFloatingIp": remove_floating_ip}
