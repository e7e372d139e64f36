"""Default policies of os-server-groups (Nova's rule names)."""

from __future__ import annotations

from oslo_policy import policy

from kumo.policies import base

ROOT = "os_compute_api:os-server-groups:%s"

RULES = [
    policy.DocumentedRuleDefault(
        ROOT % "create", base.PROJECT_MEMBER_OR_ADMIN, "Create a server group",
        [{"method": "POST", "path": "/os-server-groups"}]),
    policy.DocumentedRuleDefault(
        ROOT % "delete", base.PROJECT_MEMBER_OR_ADMIN, "Delete a server group",
        [{"method": "DELETE", "path": "/os-server-groups/{server_group_id}"}]),
    policy.DocumentedRuleDefault(
        ROOT % "index", base.PROJECT_READER_OR_ADMIN, "List the project's server groups",
        [{"method": "GET", "path": "/os-server-groups"}]),
    policy.DocumentedRuleDefault(
        ROOT % "index:all_projects", base.ADMIN_API,
        "List the server groups of every project",
        [{"method": "GET", "path": "/os-server-groups?all_projects=True"}]),
    policy.DocumentedRuleDefault(
        ROOT % "show", base.PROJECT_READER_OR_ADMIN, "Show a server group",
        [{"method": "GET", "path": "/os-server-groups/{server_group_id}"}]),
]


def list_rules() -> list[policy.RuleDefault]:
    return RULES
