"""``GET /servers/{id}/topology`` (microversion 2.78): a server's NUMA topology.

kumo's virt drivers (fake, libvirt as kumo drives it) give no guest a NUMA
topology: no flavor or image asks for ``hw:numa_*`` / CPU pinning / huge pages
that kumo would honour. A server without one answers as Nova's does for it:
``{"nodes": [], "pagesize_kb": null}``. The rule for the host side of a node
(``host_node``, ``cpu_pinning``), ``os_compute_api:servers:topology:host:index``
(admins), is registered for operators' policy files; nothing shows it yet.
"""

from __future__ import annotations

import webob

from kumo import exception, policy
from kumo.api.openstack import api_version, common
from kumo.api.openstack.compute import views
from kumo.policies import servers as servers_policies

SINCE = "2.78"


class ServerTopologyController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def index(self, req: webob.Request, server_id: str) -> webob.Response:
        """The guest's NUMA nodes; 404 before 2.78 or for a server the caller cannot see."""
        if not api_version.at_least(req, SINCE):
            raise exception.NotFound("The resource could not be found.")
        context = common.context_of(req)
        instance = common.server_get(self.clients, context, server_id)
        target = views.server_target(instance)
        policy.authorize(context, servers_policies.SERVERS % "topology:index", target)
        # No kumo guest has a NUMA topology (see the module's docstring).
        return common.json_response({"nodes": [], "pagesize_kb": None})
