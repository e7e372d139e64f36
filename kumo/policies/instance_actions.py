"""Policy defaults of ``/servers/{id}/os-instance-actions``: who sees a server's
action log, and who sees the events (per-host steps) of one action."""

from __future__ import annotations

from oslo_policy import policy

from kumo.policies import base

ROOT = "os_compute_api:os-instance-actions:%s"
_PATH = "/servers/{server_id}/os-instance-actions"

RULES = [
    policy.DocumentedRuleDefault(
        name=ROOT % "list", check_str=base.PROJECT_READER_OR_ADMIN,
        description="List the actions performed on a server",
        operations=[{"method": "GET", "path": _PATH}]),
    policy.DocumentedRuleDefault(
        name=ROOT % "show", check_str=base.PROJECT_READER_OR_ADMIN,
        description="Show one action performed on a server",
        operations=[{"method": "GET", "path": _PATH + "/{request_id}"}]),
    policy.DocumentedRuleDefault(
        name=ROOT % "events", check_str=base.ADMIN,
        description="Show the events of a server action",
        operations=[{"method": "GET", "path": _PATH + "/{request_id}"}]),
]


def list_rules() -> list[policy.RuleDefault]:
    return RULES
