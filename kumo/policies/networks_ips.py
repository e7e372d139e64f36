"""Policy defaults of a server's addresses (``/servers/{id}/ips``)."""

from __future__ import annotations

from oslo_policy import policy

from kumo.policies import base

IPS = "os_compute_api:ips:%s"


def list_rules() -> list[policy.DocumentedRuleDefault]:
    return [
        policy.DocumentedRuleDefault(
            name=IPS % "index", check_str=base.PROJECT_READER_OR_ADMIN,
            description="List a server's addresses",
            operations=[{"method": "GET", "path": "/servers/{server_id}/ips"}]),
        policy.DocumentedRuleDefault(
            name=IPS % "show", check_str=base.PROJECT_READER_OR_ADMIN,
            description="Show a server's addresses on one network",
            operations=[{"method": "GET",
                         "path": "/servers/{server_id}/ips/{network_label}"}]),
    ]
