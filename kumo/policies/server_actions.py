"""Policy defaults of the server actions outside ``os_compute_api:servers:*``
(lock, pause, suspend, shelve, migrate, deferred delete, console output) and of
``/servers/{id}/metadata``."""

from __future__ import annotations

from oslo_policy import policy

from kumo.policies import base

_ACTION = "/servers/{server_id}/action"
_METADATA = "/servers/{server_id}/metadata"


def _action(name: str, check_str: str, description: str,
            action: str) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name=name, check_str=check_str, description=description,
        operations=[{"method": "POST", "path": f"{_ACTION} ({action})"}])


def _metadata(name: str, check_str: str, description: str, method: str,
              path: str) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name=f"os_compute_api:server-metadata:{name}", check_str=check_str,
        description=description, operations=[{"method": method, "path": path}])


RULES = [
    _action("os_compute_api:os-lock-server:lock", base.PROJECT_MEMBER_OR_ADMIN,
            "Lock a server", "lock"),
    _action("os_compute_api:os-lock-server:unlock", base.PROJECT_MEMBER_OR_ADMIN,
            "Unlock a server", "unlock"),
    _action("os_compute_api:os-lock-server:unlock:unlock_override", base.ADMIN,
            "Unlock a server locked by an administrator", "unlock"),
    _action("os_compute_api:os-pause-server:pause", base.PROJECT_MEMBER_OR_ADMIN,
            "Pause a server", "pause"),
    _action("os_compute_api:os-pause-server:unpause", base.PROJECT_MEMBER_OR_ADMIN,
            "Unpause a paused server", "unpause"),
    _action("os_compute_api:os-suspend-server:suspend", base.PROJECT_MEMBER_OR_ADMIN,
            "Suspend a server", "suspend"),
    _action("os_compute_api:os-suspend-server:resume", base.PROJECT_MEMBER_OR_ADMIN,
            "Resume a suspended server", "resume"),
    _action("os_compute_api:os-shelve:shelve", base.PROJECT_MEMBER_OR_ADMIN,
            "Shelve a server", "shelve"),
    _action("os_compute_api:os-shelve:unshelve", base.PROJECT_MEMBER_OR_ADMIN,
            "Unshelve a shelved server", "unshelve"),
    _action("os_compute_api:os-shelve:unshelve_to_host", base.ADMIN_API,
            "Unshelve a shelved-offloaded server onto a named host (2.91)", "unshelve"),
    _action("os_compute_api:os-shelve:shelve_offload", base.ADMIN_API,
            "Shelf-offload (remove) a shelved server from its host", "shelveOffload"),
    _action("os_compute_api:os-migrate-server:migrate", base.ADMIN_API,
            "Cold migrate a server to another host", "migrate"),
    _action("os_compute_api:os-migrate-server:migrate_live", base.ADMIN_API,
            "Live migrate a server to another host", "os-migrateLive"),
    _action("os_compute_api:os-deferred-delete:restore", base.PROJECT_MEMBER_OR_ADMIN,
            "Restore a soft deleted server", "restore"),
    _action("os_compute_api:os-deferred-delete:force", base.PROJECT_MEMBER_OR_ADMIN,
            "Force delete a soft deleted server", "forceDelete"),
    _action("os_compute_api:os-console-output", base.PROJECT_MEMBER_OR_ADMIN,
            "Show the console output of a server", "os-getConsoleOutput"),
    _metadata("index", base.PROJECT_READER_OR_ADMIN, "List the metadata of a server",
              "GET", _METADATA),
    _metadata("show", base.PROJECT_READER_OR_ADMIN, "Show one metadata item of a server",
              "GET", _METADATA + "/{key}"),
    _metadata("create", base.PROJECT_MEMBER_OR_ADMIN, "Add metadata items to a server",
              "POST", _METADATA),
    _metadata("update_all", base.PROJECT_MEMBER_OR_ADMIN,
              "Replace all the metadata of a server", "PUT", _METADATA),
    _metadata("update", base.PROJECT_MEMBER_OR_ADMIN, "Set one metadata item of a server",
              "PUT", _METADATA + "/{key}"),
    _metadata("delete", base.PROJECT_MEMBER_OR_ADMIN,
              "Delete one metadata item of a server", "DELETE", _METADATA + "/{key}"),
]


def list_rules() -> list[policy.RuleDefault]:
    return RULES
