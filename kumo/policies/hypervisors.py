"""Policy defaults of ``/os-hypervisors``: the compute nodes and their usage."""

from __future__ import annotations

from oslo_policy import policy

from kumo.policies import base

HYPERVISORS = "os_compute_api:os-hypervisors:%s"

_OPERATIONS = {
    "list": ("List hypervisors", "/os-hypervisors"),
    "list-detail": ("List hypervisors with details", "/os-hypervisors/detail"),
    "statistics": ("Show the sum of every hypervisor's resources (before 2.88)",
                   "/os-hypervisors/statistics"),
    "show": ("Show a hypervisor", "/os-hypervisors/{hypervisor_id}"),
    "uptime": ("Show a hypervisor's uptime", "/os-hypervisors/{hypervisor_id}/uptime"),
    "search": ("Search hypervisors by hostname (before 2.53)",
               "/os-hypervisors/{hypervisor_hostname_pattern}/search"),
    "servers": ("List the servers of hypervisors (before 2.53)",
                "/os-hypervisors/{hypervisor_hostname_pattern}/servers"),
}

RULES = [
    policy.DocumentedRuleDefault(
        name=HYPERVISORS % name, check_str=base.ADMIN_API, description=description,
        operations=[{"method": "GET", "path": path}])
    for name, (description, path) in _OPERATIONS.items()
]


def list_rules() -> list[policy.RuleDefault]:
    return RULES
