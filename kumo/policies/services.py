"""Policy defaults of ``/os-services``: the daemons of the cloud, for operators."""

from __future__ import annotations

from oslo_policy import policy

from kumo.policies import base

SERVICES = "os_compute_api:os-services:%s"

RULES = [
    policy.DocumentedRuleDefault(
        name=SERVICES % "list", check_str=base.ADMIN_API, description="List services",
        operations=[{"method": "GET", "path": "/os-services"}]),
    policy.DocumentedRuleDefault(
        name=SERVICES % "update", check_str=base.ADMIN_API,
        description="Enable, disable or force down a service",
        operations=[{"method": "PUT", "path": "/os-services/{action}"},
                    {"method": "PUT", "path": "/os-services/{service_id}"}]),
    policy.DocumentedRuleDefault(
        name=SERVICES % "delete", check_str=base.ADMIN_API, description="Delete a service",
        operations=[{"method": "DELETE", "path": "/os-services/{service_id}"}]),
]


def list_rules() -> list[policy.RuleDefault]:
    return RULES
