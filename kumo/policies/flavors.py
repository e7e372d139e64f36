"""Policy defaults of flavor management: create/update/delete flavors
(``os-flavor-manage``), their extra specs and who may use a private one."""

from __future__ import annotations

from oslo_policy import policy

from kumo.policies import base

MANAGE = "os_compute_api:os-flavor-manage:%s"
EXTRA_SPECS = "os_compute_api:os-flavor-extra-specs:%s"
ACCESS = "os_compute_api:os-flavor-access"

_ITEM = "/flavors/{flavor_id}"
_SPECS = _ITEM + "/os-extra_specs"
_SPEC = _SPECS + "/{flavor_extra_spec_key}"


_rule = base.rule


RULES = [
    _rule(MANAGE % "create", base.ADMIN_API, "Create a flavor", [("POST", "/flavors")]),
    _rule(MANAGE % "update", base.ADMIN_API, "Update a flavor's description",
          [("PUT", _ITEM)]),
    _rule(MANAGE % "delete", base.ADMIN_API, "Delete a flavor", [("DELETE", _ITEM)]),
    _rule(EXTRA_SPECS % "index", base.PROJECT_READER_OR_ADMIN,
          "List a flavor's extra specs (and show them in flavor bodies from 2.61)",
          [("GET", _SPECS), ("GET", "/flavors/detail"), ("GET", _ITEM)]),
    _rule(EXTRA_SPECS % "show", base.PROJECT_READER_OR_ADMIN, "Show one extra spec",
          [("GET", _SPEC)]),
    _rule(EXTRA_SPECS % "create", base.ADMIN_API, "Create or update extra specs",
          [("POST", _SPECS)]),
    _rule(EXTRA_SPECS % "update", base.ADMIN_API, "Update one extra spec",
          [("PUT", _SPEC)]),
    _rule(EXTRA_SPECS % "delete", base.ADMIN_API, "Delete one extra spec",
          [("DELETE", _SPEC)]),
    _rule(ACCESS + ":add_tenant_access", base.ADMIN_API,
          "Let a project use a private flavor", [("POST", _ITEM + "/action")]),
    _rule(ACCESS + ":remove_tenant_access", base.ADMIN_API,
          "Take a project's access to a private flavor away",
          [("POST", _ITEM + "/action")]),
    _rule(ACCESS, base.ADMIN_API, "List the projects that may use a private flavor",
          [("GET", _ITEM + "/os-flavor-access")]),
]


def list_rules() -> list[policy.RuleDefault]:
    return RULES
