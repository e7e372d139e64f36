"""``/limits``: the project's absolute limits with what it uses (``rate`` is always empty).

Microversions: 2.36 drops the network limits, 2.39 maxImageMeta, 2.57 the
personality limits. Admins may ask for another project with ``tenant_id``.
"""

from __future__ import annotations

from typing import Any

import webob

from kumo import policy
from kumo.api.openstack import api_version, common
from kumo.api.openstack.compute import quota_sets
from kumo.policies.limits import LIMITS, OTHER_PROJECT

# absolute limit name -> (quota resource, "limit" or "in_use"), in the API's order.
_ABSOLUTE = (
    ("maxImageMeta", "metadata_items", "limit"),
    ("maxPersonality", "injected_files", "limit"),
    ("maxPersonalitySize", "injected_file_content_bytes", "limit"),
    ("maxSecurityGroupRules", "security_group_rules", "limit"),
    ("maxSecurityGroups", "security_groups", "limit"),
    ("maxServerGroupMembers", "server_group_members", "limit"),
    ("maxServerGroups", "server_groups", "limit"),
    ("maxServerMeta", "metadata_items", "limit"),
    ("maxTotalCores", "cores", "limit"),
    ("maxTotalFloatingIps", "floating_ips", "limit"),
    ("maxTotalInstances", "instances", "limit"),
    ("maxTotalKeypairs", "key_pairs", "limit"),
    ("maxTotalRAMSize", "ram", "limit"),
    ("totalCoresUsed", "cores", "in_use"),
    ("totalFloatingIpsUsed", "floating_ips", "in_use"),
    ("totalInstancesUsed", "instances", "in_use"),
    ("totalRAMUsed", "ram", "in_use"),
    ("totalSecurityGroupsUsed", "security_groups", "in_use"),
    ("totalServerGroupsUsed", "server_groups", "in_use"),
)
_NETWORK = frozenset({"maxSecurityGroupRules", "maxSecurityGroups", "maxTotalFloatingIps",
                      "totalFloatingIpsUsed", "totalSecurityGroupsUsed"})
_PERSONALITY = frozenset({"maxPersonality", "maxPersonalitySize"})


def _hidden(req: webob.Request) -> set[str]:
    hidden: set[str] = set()
    if api_version.at_least(req, "2.36"):
        hidden |= _NETWORK
    if api_version.at_least(req, "2.39"):
        hidden.add("maxImageMeta")
    if api_version.at_least(req, "2.57"):
        hidden |= _PERSONALITY
    return hidden


class LimitsController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def index(self, req: webob.Request) -> webob.Response:
        context = common.context_of(req)
        policy.authorize(context, LIMITS)
        project_id = context.project_id
        if req.params.get("tenant_id"):
            project_id = req.params["tenant_id"]
            policy.authorize(context, OTHER_PROJECT, {"project_id": project_id})
        quotas: dict[str, Any] = self.clients.conductor.quota_get(
            context, project_id=project_id, detail=True)
        hidden = _hidden(req)
        if "totalFloatingIpsUsed" not in hidden:
            quota_sets.add_network_usage(self.clients, context, quotas, project_id)
        absolute = {name: quotas[resource][part] for name, resource, part in _ABSOLUTE
                    if name not in hidden}
        return common.json_response({"limits": {"rate": [], "absolute": absolute}})
