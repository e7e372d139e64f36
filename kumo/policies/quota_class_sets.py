"""Policy defaults of ``/os-quota-class-sets``: the default limits, admins only."""

from __future__ import annotations

from oslo_policy import policy

from kumo.policies import base

QUOTA_CLASS_SETS = "os_compute_api:os-quota-class-sets:%s"
_ITEM = "/os-quota-class-sets/{quota_class}"

RULES = [
    policy.DocumentedRuleDefault(
        name=QUOTA_CLASS_SETS % "show", check_str=base.ADMIN_API,
        description="Show a quota class", operations=[{"method": "GET", "path": _ITEM}]),
    policy.DocumentedRuleDefault(
        name=QUOTA_CLASS_SETS % "update", check_str=base.ADMIN_API,
        description="Change a quota class", operations=[{"method": "PUT", "path": _ITEM}]),
]


def list_rules() -> list[policy.DocumentedRuleDefault]:
    return RULES
