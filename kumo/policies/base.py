"""The rules every resource's policies are built from: admin, member and reader,
each within the caller's own project."""

from __future__ import annotations

from oslo_policy import policy

ADMIN = "rule:context_is_admin"
PROJECT_MEMBER = "rule:project_member_api"
PROJECT_READER = "rule:project_reader_api"
PROJECT_MEMBER_OR_ADMIN = "rule:project_member_or_admin"
PROJECT_READER_OR_ADMIN = "rule:project_reader_or_admin"
ADMIN_API = "rule:admin_api"

RULES = [
    policy.RuleDefault("context_is_admin", "role:admin",
                       "Decides what an administrator is."),
    policy.RuleDefault("admin_api", "role:admin", "Default rule for administrator APIs."),
    policy.RuleDefault("project_member_api", "role:member and project_id:%(project_id)s",
                       "Default rule for project-level non-admin APIs."),
    policy.RuleDefault("project_reader_api", "role:reader and project_id:%(project_id)s",
                       "Default rule for project-level read-only APIs."),
    policy.RuleDefault("project_member_or_admin",
                       "rule:project_member_api or rule:context_is_admin",
                       "Default rule for project member and admin APIs."),
    policy.RuleDefault("project_reader_or_admin",
                       "rule:project_reader_api or rule:context_is_admin",
                       "Default rule for project reader and admin APIs."),
]


def rule(name: str, check_str: str, description: str,
         operations: list[tuple[str, str]]) -> policy.DocumentedRuleDefault:
    """A documented default: ``operations`` as (method, path) pairs."""
    return policy.DocumentedRuleDefault(
        name=name, check_str=check_str, description=description,
        operations=[{"method": method, "path": path} for method, path in operations])


def list_rules() -> list[policy.RuleDefault]:
    return RULES
