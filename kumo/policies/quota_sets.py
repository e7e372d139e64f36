"""Policy defaults of ``/os-quota-sets``: readers see their project's, admins change any."""

from __future__ import annotations

from oslo_policy import policy

from kumo.policies import base

QUOTA_SETS = "os_compute_api:os-quota-sets:%s"
_ITEM = "/os-quota-sets/{tenant_id}"


def _rule(action: str, check_str: str, description: str, method: str, path: str
          ) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name=QUOTA_SETS % action, check_str=check_str, description=description,
        operations=[{"method": method, "path": path}])


RULES = [
    _rule("show", base.PROJECT_READER_OR_ADMIN, "Show a project's quotas", "GET", _ITEM),
    _rule("detail", base.PROJECT_READER_OR_ADMIN, "Show a project's quotas with usage",
          "GET", _ITEM + "/detail"),
    _rule("defaults", "@", "Show the default quotas", "GET", _ITEM + "/defaults"),
    _rule("update", base.ADMIN_API, "Change a project's or a user's quotas", "PUT", _ITEM),
    _rule("delete", base.ADMIN_API, "Reset a project's or a user's quotas to the defaults",
          "DELETE", _ITEM),
]


def list_rules() -> list[policy.DocumentedRuleDefault]:
    return RULES
