"""Default policies of os-availability-zone (Nova's rule names)."""

from __future__ import annotations

from oslo_policy import policy

from kumo.policies import base

ROOT = "os_compute_api:os-availability-zone:%s"

RULES = [
    policy.DocumentedRuleDefault(
        ROOT % "list", base.PROJECT_READER_OR_ADMIN, "List availability zones",
        [{"method": "GET", "path": "/os-availability-zone"}]),
    policy.DocumentedRuleDefault(
        ROOT % "detail", base.ADMIN_API,
        "List availability zones with their hosts and services",
        [{"method": "GET", "path": "/os-availability-zone/detail"}]),
]


def list_rules() -> list[policy.RuleDefault]:
    return RULES
