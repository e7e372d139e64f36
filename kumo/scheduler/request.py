"""What one select_destinations request asks for, read once from its request_spec."""

from __future__ import annotations

from collections import Counter
from typing import Any

# Extra specs the AggregateInstanceExtraSpecsFilter checks: "<scope>:<metadata key>".
AGGREGATE_SPEC_SCOPE = "aggregate_instance_extra_specs"
# Image properties naming the hypervisor and architecture: Glance's names first,
# then the older ones Nova still honours.
_HYPERVISOR_KEYS = ("img_hv_type", "hypervisor_type")
_ARCH_KEYS = ("hw_architecture", "architecture")


def _get(container: Any, key: str, default: Any = None) -> Any:
    if container is None:
        return default
    value = container.get(key, default)
    return default if value is None else value


class SchedulingRequest:
    """The request_spec of the contract, flattened for the filters' inner loops.

    ``chosen_hosts`` grows as the members of a multi-create are placed, so the
    server-group filters see the hosts picked earlier in the same decision.
    """

    __slots__ = ("vcpus", "memory_mb", "disk_gb", "aggregate_specs",
                 "image_hypervisor_type", "image_architecture",
                 "availability_zone", "group_policy", "group_hosts", "group_host_counts",
                 "group_max_per_host", "ignore_hosts",
                 "ignore_nodes", "move", "chosen_hosts")

    def __init__(self, request_spec: dict[str, Any]) -> None:
        flavor = _get(request_spec, "flavor", {})
        self.vcpus = int(_get(flavor, "vcpus", 0))
        self.memory_mb = int(_get(flavor, "memory_mb", 0))
        self.disk_gb = disk_gb(flavor)
        extra_specs = _get(flavor, "extra_specs", {})
        prefix = AGGREGATE_SPEC_SCOPE + ":"
        # Scoped extra specs by metadata key, their values as strings.
        self.aggregate_specs: dict[str, str] = {
            key[len(prefix):]: str(value) for key, value in extra_specs.items()
            if key.startswith(prefix) and value is not None}
        image = _get(request_spec, "image", {})
        image_properties = _get(image, "properties", {})
        # Lower-cased; None when the image does not ask for one.
        self.image_hypervisor_type = _first(image_properties, _HYPERVISOR_KEYS)
        self.image_architecture = _first(image_properties, _ARCH_KEYS)
        self.availability_zone: str | None = request_spec.get("availability_zone") or None
        group = request_spec.get("instance_group") or {}
        self.group_policy: str | None = group.get("policy") or None
        self.group_hosts: set[str] = set(group.get("hosts") or ())
        # "hosts" names a host once per member on it: anti-affinity's
        # max_server_per_host rule (2.64) counts them.
        self.group_host_counts: Counter[str] = Counter(group.get("hosts") or ())
        self.group_max_per_host: int = _max_per_host(group.get("rules"))
        self.ignore_hosts: set[str] = set(request_spec.get("ignore_hosts") or ())
        # A resize or migration: nodes it must leave (names), and its claim is a
        # migration claim beside the server's own (kumo.db.migration_claims).
        self.ignore_nodes: set[str] = set(request_spec.get("ignore_nodes") or ())
        self.move = bool(request_spec.get("move"))
        self.chosen_hosts: list[str] = []

    @property
    def resources(self) -> dict[str, int]:
        """What one server claims on its node (the ``resources`` of compute_node_claim)."""
        return {"vcpus": self.vcpus, "memory_mb": self.memory_mb, "disk_gb": self.disk_gb}


def _max_per_host(rules: Any) -> int:
    try:
        return max(1, int((rules or {}).get("max_server_per_host", 1)))
    except (AttributeError, TypeError, ValueError):
        return 1


def _first(properties: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = properties.get(key)
        if value:
            return str(value).lower()
    return None


def disk_gb(flavor: Any) -> int:
    """Local disk one server of ``flavor`` takes: root + ephemeral + swap (MiB, rounded up)."""
    swap_mb = int(_get(flavor, "swap", 0))
    return (int(_get(flavor, "root_gb", 0)) + int(_get(flavor, "ephemeral_gb", 0))
            + (swap_mb + 1023) // 1024)
