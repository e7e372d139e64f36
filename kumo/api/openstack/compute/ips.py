"""``GET /servers/{id}/ips`` and ``/servers/{id}/ips/{network_label}``: a server's
addresses by network, as in the Compute API (version and address only)."""

from __future__ import annotations

import webob

from kumo import exception, policy
from kumo.api.openstack import common
from kumo.api.openstack.compute import addresses, views

_RULE = "os_compute_api:ips:%s"


class IpsController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def _addresses(self, req: webob.Request, server_id: str,
                   action: str) -> dict[str, list[dict]]:
        context = common.context_of(req)
        instance = common.server_get(self.clients, context, server_id)
        policy.authorize(context, _RULE % action, views.server_target(instance))
        addresses.prefetch(req, self.clients.conductor, context, [instance.uuid])
        return addresses.addresses(addresses.network_info(req, instance.uuid),
                                   extended=False)

    def index(self, req: webob.Request, server_id: str) -> webob.Response:
        return common.json_response({"addresses": self._addresses(req, server_id, "index")})

    def show(self, req: webob.Request, server_id: str, network_label: str) -> webob.Response:
        shown = self._addresses(req, server_id, "show")
        if network_label not in shown:
            raise exception.NotFound("Instance is not a member of specified network")
        return common.json_response({network_label: shown[network_label]})
