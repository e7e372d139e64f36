"""``/os-fixed-ips/{address}`` (admin; up to 2.35) and
``/servers/{id}/os-virtual-interfaces`` (up to 2.43): nova-network's fixed IPs
and a server's NICs."""

from __future__ import annotations

from typing import Any

import webob

from kumo import exception, policy
from kumo.api.openstack import api_version, common
from kumo.api.openstack.compute import network_proxy, views
from kumo.policies import networks as network_policies


class FixedIpsController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def show(self, req: webob.Request, address: str) -> webob.Response:
        network_proxy.check_microversion(req)
        context = common.context_of(req)
        policy.authorize(context, network_policies.FIXED_IPS % "show")
        row = self.clients.conductor.fixed_ip_get_by_address(context, address=address)
        shown: dict[str, Any] = {"address": row["address"], "cidr": row["cidr"],
                                 "host": row["host"], "hostname": row["instance_hostname"]}
        if api_version.at_least(req, "2.4"):
            shown["reserved"] = bool(row["reserved"])
        return common.json_response({"fixed_ip": shown})

    def action(self, req: webob.Request, address: str) -> webob.Response:
        network_proxy.check_microversion(req)
        context = common.context_of(req)
        body = common.json_body(req)
        if not isinstance(body, dict) or len(body) != 1 or \
                next(iter(body)) not in ("reserve", "unreserve"):
            raise common.BadRequest(reason="Invalid request body: reserve or unreserve")
        [name] = body
        policy.authorize(context, network_policies.FIXED_IPS % name)
        self.clients.conductor.fixed_ip_set_reserved(context, address=address,
                                                     reserved=name == "reserve")
        return common.empty_response(202)


class VirtualInterfacesController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def index(self, req: webob.Request, server_id: str) -> webob.Response:
        if api_version.at_least(req, "2.44"):
            raise exception.NotFound("The resource could not be found.")
        context = common.context_of(req)
        instance = common.server_get(self.clients, context, server_id)
        policy.authorize(context, network_policies.VIRTUAL_INTERFACES,
                         views.server_target(instance))
        vifs = []
        for vif in self.clients.conductor.instance_network_info(
                context, instance_uuid=instance.uuid):
            shown = {"id": vif["id"], "mac_address": vif["address"]}
            if api_version.at_least(req, "2.12"):
                shown["net_id"] = vif["network"]["id"]
            vifs.append(shown)
        return common.json_response({"virtual_interfaces": vifs})
