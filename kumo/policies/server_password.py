"""Policy defaults of ``/servers/{id}/os-server-password``."""

from __future__ import annotations

from oslo_policy import policy

from kumo.policies import base

SERVER_PASSWORD = "os_compute_api:os-server-password:%s"
_PATH = "/servers/{server_id}/os-server-password"

RULES = [
    policy.DocumentedRuleDefault(
        name=SERVER_PASSWORD % "show", check_str=base.PROJECT_READER_OR_ADMIN,
        description="Show the encrypted administrative password of a server",
        operations=[{"method": "GET", "path": _PATH}]),
    policy.DocumentedRuleDefault(
        name=SERVER_PASSWORD % "clear", check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Clear the encrypted administrative password of a server",
        operations=[{"method": "DELETE", "path": _PATH}]),
]


def list_rules() -> list[policy.RuleDefault]:
    return RULES
