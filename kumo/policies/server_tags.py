"""Policy defaults of ``/servers/{id}/tags`` (microversion 2.26)."""

from __future__ import annotations

from oslo_policy import policy

from kumo.policies import base

_ROOT = "os_compute_api:os-server-tags:%s"
_PATH = "/servers/{server_id}/tags"


def _rule(name: str, check_str: str, description: str, method: str,
          path: str) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name=_ROOT % name, check_str=check_str, description=description,
        operations=[{"method": method, "path": path}])


RULES = [
    _rule("index", base.PROJECT_READER_OR_ADMIN, "List the tags of a server", "GET", _PATH),
    _rule("show", base.PROJECT_READER_OR_ADMIN, "Check whether a server has a tag", "GET",
          _PATH + "/{tag}"),
    _rule("update_all", base.PROJECT_MEMBER_OR_ADMIN, "Replace all the tags of a server",
          "PUT", _PATH),
    _rule("delete_all", base.PROJECT_MEMBER_OR_ADMIN, "Delete all the tags of a server",
          "DELETE", _PATH),
    _rule("update", base.PROJECT_MEMBER_OR_ADMIN, "Add one tag to a server", "PUT",
          _PATH + "/{tag}"),
    _rule("delete", base.PROJECT_MEMBER_OR_ADMIN, "Delete one tag of a server", "DELETE",
          _PATH + "/{tag}"),
]


def list_rules() -> list[policy.RuleDefault]:
    return RULES
