"""Policy defaults of ``/os-simple-tenant-usage``: what servers cost in hours."""

from __future__ import annotations

from oslo_policy import policy

from kumo.policies import base

USAGE = "os_compute_api:os-simple-tenant-usage:%s"

RULES = [
    policy.DocumentedRuleDefault(
        name=USAGE % "show", check_str=base.PROJECT_READER_OR_ADMIN,
        description="Show one project's usage",
        operations=[{"method": "GET", "path": "/os-simple-tenant-usage/{tenant_id}"}]),
    policy.DocumentedRuleDefault(
        name=USAGE % "list", check_str=base.ADMIN_API,
        description="List every project's usage",
        operations=[{"method": "GET", "path": "/os-simple-tenant-usage"}]),
]


def list_rules() -> list[policy.RuleDefault]:
    return RULES
