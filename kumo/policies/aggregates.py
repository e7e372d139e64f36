"""Default policies of os-aggregates: administrators only (Nova's rule names)."""

from __future__ import annotations

from oslo_policy import policy

from kumo.policies import base

ROOT = "os_compute_api:os-aggregates:%s"
_AGGREGATE = "/os-aggregates/{aggregate_id}"

RULES = [
    policy.DocumentedRuleDefault(ROOT % name, base.ADMIN_API, description, operations)
    for name, description, operations in [
        ("index", "List host aggregates", [{"method": "GET", "path": "/os-aggregates"}]),
        ("create", "Create a host aggregate", [{"method": "POST", "path": "/os-aggregates"}]),
        ("show", "Show a host aggregate", [{"method": "GET", "path": _AGGREGATE}]),
        ("update", "Rename a host aggregate or change its zone",
         [{"method": "PUT", "path": _AGGREGATE}]),
        ("delete", "Delete a host aggregate", [{"method": "DELETE", "path": _AGGREGATE}]),
        ("add_host", "Add a host to an aggregate",
         [{"method": "POST", "path": _AGGREGATE + "/action (add_host)"}]),
        ("remove_host", "Remove a host from an aggregate",
         [{"method": "POST", "path": _AGGREGATE + "/action (remove_host)"}]),
        ("set_metadata", "Set an aggregate's metadata",
         [{"method": "POST", "path": _AGGREGATE + "/action (set_metadata)"}]),
        ("images", "Request image caching for an aggregate (2.81)",
         [{"method": "POST", "path": _AGGREGATE + "/images"}]),
    ]
]


def list_rules() -> list[policy.RuleDefault]:
    return RULES
