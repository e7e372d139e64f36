"""Policy defaults of ``/os-keypairs``: a user's own key pairs, or any user's for admins."""

from __future__ import annotations

from oslo_policy import policy

from kumo.policies import base

KEYPAIRS = "os_compute_api:os-keypairs:%s"
# Key pairs belong to a user: the target is {"user_id": <the owner>}.
OWNER_OR_ADMIN = f"({base.ADMIN_API}) or user_id:%(user_id)s"


def _rule(action: str, description: str, method: str, path: str
          ) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name=KEYPAIRS % action, check_str=OWNER_OR_ADMIN, description=description,
        operations=[{"method": method, "path": path}])


RULES = [
    _rule("index", "List a user's key pairs", "GET", "/os-keypairs"),
    _rule("create", "Create or import a key pair", "POST", "/os-keypairs"),
    _rule("show", "Show a key pair", "GET", "/os-keypairs/{keypair_name}"),
    _rule("delete", "Delete a key pair", "DELETE", "/os-keypairs/{keypair_name}"),
]


def list_rules() -> list[policy.DocumentedRuleDefault]:
    return RULES
