"""Policy defaults of the remote consoles (the legacy ``os-get*Console`` actions and
``/servers/{id}/remote-consoles``) and of ``/os-console-auth-tokens`` (admins: it
shows where a guest's display is on the hypervisor)."""

from __future__ import annotations

from oslo_policy import policy

from kumo.policies import base

REMOTE_CONSOLES = "os_compute_api:os-remote-consoles"
CONSOLE_AUTH_TOKENS = "os_compute_api:os-console-auth-tokens"

RULES = [
    base.rule(REMOTE_CONSOLES, base.PROJECT_MEMBER_OR_ADMIN,
              "Generate a URL to a server's remote console",
              [("POST", "/servers/{server_id}/action (os-getVNCConsole)"),
               ("POST", "/servers/{server_id}/action (os-getSPICEConsole)"),
               ("POST", "/servers/{server_id}/action (os-getSerialConsole)"),
               ("POST", "/servers/{server_id}/action (os-getRDPConsole)"),
               ("POST", "/servers/{server_id}/remote-consoles")]),
    base.rule(CONSOLE_AUTH_TOKENS, base.ADMIN_API,
              "Show the connection information behind a console token",
              [("GET", "/os-console-auth-tokens/{console_token}")]),
]


def list_rules() -> list[policy.DocumentedRuleDefault]:
    return RULES
