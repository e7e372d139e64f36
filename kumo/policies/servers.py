"""Policy defaults of ``/servers``: list, show, boot, update, delete, and the
``os_compute_api:servers:*`` server actions (reboot, resize, rebuild, ...)."""

from __future__ import annotations

from oslo_policy import policy

from kumo.policies import base

SERVERS = "os_compute_api:servers:%s"
EXTENDED_ATTRIBUTES = "os_compute_api:os-extended-server-attributes"

_PATH = "/servers"
_ITEM = "/servers/{server_id}"
_ACTION = "/servers/{server_id}/action"


_rule = base.rule


RULES = [
    _rule(SERVERS % "index", base.PROJECT_READER_OR_ADMIN, "List servers",
          [("GET", _PATH)]),
    _rule(SERVERS % "detail", base.PROJECT_READER_OR_ADMIN, "List servers with details",
          [("GET", _PATH + "/detail")]),
    _rule(SERVERS % "index:get_all_tenants", base.ADMIN,
          "List servers of every project (all_tenants)", [("GET", _PATH)]),
    _rule(SERVERS % "detail:get_all_tenants", base.ADMIN,
          "List servers of every project with details (all_tenants)",
          [("GET", _PATH + "/detail")]),
    _rule(SERVERS % "allow_all_filters", base.ADMIN,
          "Filter server lists by any field, not only the ones every user may use",
          [("GET", _PATH), ("GET", _PATH + "/detail")]),
    _rule(SERVERS % "show", base.PROJECT_READER_OR_ADMIN, "Show a server",
          [("GET", _ITEM)]),
    _rule(SERVERS % "show:host_status", base.ADMIN,
          "Show the host status of a server (microversion 2.16)",
          [("GET", _ITEM), ("GET", _PATH + "/detail"), ("PUT", _ITEM),
           ("POST", _ACTION + " (rebuild)")]),
    _rule(SERVERS % "create", base.PROJECT_MEMBER_OR_ADMIN, "Create a server",
          [("POST", _PATH)]),
    _rule(SERVERS % "create:requested_destination", base.ADMIN,
          "Create a server on a named host or hypervisor (microversion 2.74)",
          [("POST", _PATH)]),
    _rule(SERVERS % "update", base.PROJECT_MEMBER_OR_ADMIN, "Update a server",
          [("PUT", _ITEM)]),
    _rule(SERVERS % "delete", base.PROJECT_MEMBER_OR_ADMIN, "Delete a server",
          [("DELETE", _ITEM)]),
    _rule(SERVERS % "reboot", base.PROJECT_MEMBER_OR_ADMIN, "Reboot a server",
          [("POST", _ACTION + " (reboot)")]),
    _rule(SERVERS % "resize", base.PROJECT_MEMBER_OR_ADMIN, "Resize a server",
          [("POST", _ACTION + " (resize)")]),
    _rule(SERVERS % "confirm_resize", base.PROJECT_MEMBER_OR_ADMIN,
          "Confirm a server resize", [("POST", _ACTION + " (confirmResize)")]),
    _rule(SERVERS % "revert_resize", base.PROJECT_MEMBER_OR_ADMIN,
          "Revert a server resize", [("POST", _ACTION + " (revertResize)")]),
    _rule(SERVERS % "rebuild", base.PROJECT_MEMBER_OR_ADMIN, "Rebuild a server",
          [("POST", _ACTION + " (rebuild)")]),
    _rule(SERVERS % "create_image", base.PROJECT_MEMBER_OR_ADMIN,
          "Create an image from a server", [("POST", _ACTION + " (createImage)")]),
    _rule(SERVERS % "start", base.PROJECT_MEMBER_OR_ADMIN, "Start a server",
          [("POST", _ACTION + " (os-start)")]),
    _rule(SERVERS % "stop", base.PROJECT_MEMBER_OR_ADMIN, "Stop a server",
          [("POST", _ACTION + " (os-stop)")]),
    _rule(SERVERS % "trigger_crash_dump", base.PROJECT_MEMBER_OR_ADMIN,
          "Trigger a crash dump in a server (microversion 2.17)",
          [("POST", _ACTION + " (trigger_crash_dump)")]),
    _rule(EXTENDED_ATTRIBUTES, base.ADMIN,
          "Show the OS-EXT-SRV-ATTR:* attributes (host, instance name, ...) of a server",
          [("GET", _ITEM), ("GET", _PATH + "/detail"), ("PUT", _ITEM),
           ("POST", _ACTION + " (rebuild)")]),
    _rule(SERVERS % "topology:index", base.PROJECT_READER_OR_ADMIN,
          "Show the NUMA topology of a server (microversion 2.78)",
          [("GET", _ITEM + "/topology")]),
    _rule(SERVERS % "topology:host:index", base.ADMIN,
          "Show the host side (host NUMA node, pinned CPUs) of a server's topology",
          [("GET", _ITEM + "/topology")]),
]


def list_rules() -> list[policy.RuleDefault]:
    return RULES
