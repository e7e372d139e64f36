"""Policy defaults of ``/limits``: anyone their own project's, admins any project's."""

from __future__ import annotations

from oslo_policy import policy

from kumo.policies import base

LIMITS = "os_compute_api:limits"
OTHER_PROJECT = "os_compute_api:limits:other_project"

RULES = [
    policy.DocumentedRuleDefault(
        name=LIMITS, check_str="@", description="Show the caller's project's limits",
        operations=[{"method": "GET", "path": "/limits"}]),
    policy.DocumentedRuleDefault(
        name=OTHER_PROJECT, check_str=base.ADMIN_API,
        description="Show another project's limits (tenant_id)",
        operations=[{"method": "GET", "path": "/limits"}]),
]


def list_rules() -> list[policy.DocumentedRuleDefault]:
    return RULES
