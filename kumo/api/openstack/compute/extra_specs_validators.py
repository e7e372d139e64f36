"""Microversion 2.86: flavor extra specs checked against the namespaces kumo knows.

A key in a known namespace (``hw:``, ``hw_rng:``, ``hw_video:``, ``os:``,
``quota:``, ``resources*:``, ``trait*:``, ``aggregate_instance_extra_specs:``,
``pci_passthrough:``, ``accel:``) must be one this module describes, with a
value of its type; a key in any other namespace, or in none, is an operator's
own and passes untouched (as Nova lets third-party filters have theirs).

Each rule is a key pattern plus a value check that raises ``ValueError`` with a
reason; :func:`validate` turns the first failure into the message of a 400.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from oslo_utils import strutils

Check = Callable[[str], None]

# The namespaces a key is checked in; ``resources`` and ``trait`` carry an
# optional request-group suffix (``resources1:VCPU``, ``trait_gpu:HW_...``).
_GROUPED = re.compile(r"^(resources|trait)([a-zA-Z0-9_-]{0,64})$")
NAMESPACES = frozenset({"hw", "hw_rng", "hw_video", "os", "quota", "resources", "trait",
                        "aggregate_instance_extra_specs", "pci_passthrough", "accel"})


# --- value checks ------------------------------------------------------------------------


def any_value(value: str) -> None:
    """Free text (at most 255 characters, as the schema already says)."""


def boolean(value: str) -> None:
    try:
        strutils.bool_from_string(value, strict=True)
    except ValueError:
        raise ValueError("must be a boolean (true/false, yes/no, 1/0)") from None


def integer(minimum: int | None = None) -> Check:
    def check(value: str) -> None:
        try:
            number = int(value)
        except ValueError:
            raise ValueError("must be an integer") from None
        if minimum is not None and number < minimum:
            raise ValueError(f"must be greater than or equal to {minimum}")
    return check


def one_of(*choices: str) -> Check:
    def check(value: str) -> None:
        if value not in choices:
            raise ValueError(f"must be one of {list(choices)}")
    return check


def matching(pattern: str, what: str) -> Check:
    compiled = re.compile(pattern)

    def check(value: str) -> None:
        if not compiled.fullmatch(value):
            raise ValueError(f"must be {what}")
    return check


def page_size(value: str) -> None:
    """``small``, ``large``, ``any``, or a size in KiB or with a unit (``2MB``)."""
    if value in ("small", "large", "any"):
        return
    if not re.fullmatch(r"[0-9]+\s*([KMGT]i?)?(B|bit)?", value, re.IGNORECASE):
        raise ValueError("must be small, large, any, or a page size such as 2048 or 2MB")


_CPU_SET = matching(r"\^?[0-9]+(-[0-9]+)?(,\^?[0-9]+(-[0-9]+)?)*",
                    "a CPU set such as 0-3,^2,6")


# --- the rules -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """Keys matching ``key`` (a full regular expression) take values passing ``check``."""

    key: str
    check: Check

    def matches(self, name: str) -> bool:
        return re.fullmatch(self.key, name) is not None


def _exact(pairs: Iterable[tuple[str, Check]]) -> list[Rule]:
    return [Rule(re.escape(name), check) for name, check in pairs]


_POSITIVE = integer(1)
_NON_NEGATIVE = integer(0)
_RESOURCE_CLASS = r"(?:[A-Z][A-Z0-9_]*|CUSTOM_[A-Z0-9_]+)"

RULES: list[Rule] = [
    # Which aggregates a flavor may land in: any key, any value (the scheduler's
    # AggregateInstanceExtraSpecsFilter compares them with aggregate metadata).
    Rule(r"aggregate_instance_extra_specs:[^:]+", any_value),
    # Guest CPU, memory and device shape (the libvirt driver's).
    *_exact([
        ("hw:cpu_policy", one_of("dedicated", "shared", "mixed")),
        ("hw:cpu_thread_policy", one_of("prefer", "isolate", "require")),
        ("hw:emulator_threads_policy", one_of("share", "isolate")),
        ("hw:cpu_sockets", _POSITIVE), ("hw:cpu_cores", _POSITIVE),
        ("hw:cpu_threads", _POSITIVE), ("hw:cpu_max_sockets", _POSITIVE),
        ("hw:cpu_max_cores", _POSITIVE), ("hw:cpu_max_threads", _POSITIVE),
        # The spelling Nova's own validators have long accepted for the same limits.
        ("hw:max_cpu_sockets", _POSITIVE), ("hw:max_cpu_cores", _POSITIVE),
        ("hw:max_cpu_threads", _POSITIVE),
        ("hw:cpu_realtime", boolean), ("hw:cpu_realtime_mask", _CPU_SET),
        ("hw:cpu_dedicated_mask", _CPU_SET),
        ("hw:numa_nodes", _POSITIVE), ("hw:mem_page_size", page_size),
        ("hw:locked_memory", boolean), ("hw:mem_encryption", boolean),
        ("hw:mem_encryption_model", one_of("amd-sev", "amd-sev-es")),
        ("hw:watchdog_action", one_of("none", "disabled", "pause", "poweroff", "reset")),
        ("hw:boot_menu", boolean), ("hw:pmu", boolean), ("hw:hide_hypervisor_id", boolean),
        ("hw:serial_port_count", _NON_NEGATIVE), ("hw:vif_multiqueue_enabled", boolean),
        ("hw:virtio_packed_ring", boolean), ("hw:machine_type", any_value),
        ("hw:tpm_version", one_of("1.2", "2.0")), ("hw:tpm_model", one_of("tpm-tis", "tpm-crb")),
        ("hw:pci_numa_affinity_policy",
         one_of("required", "legacy", "preferred", "socket")),
        ("hw:viommu_model", one_of("intel", "smmuv3", "virtio", "auto")),
        ("hw:maxphysaddr_mode", one_of("passthrough", "emulate")),
        ("hw:maxphysaddr_bits", _POSITIVE),
        ("hw:ephemeral_encryption", boolean),
        ("hw:ephemeral_encryption_format", one_of("luks", "plain")),
        ("hw:pmem", matching(r"[a-zA-Z0-9_]+(,[a-zA-Z0-9_]+)*,?", "labels such as "
                             "SMALL,LARGE")),
        ("hw:sound_model", any_value), ("hw:usb_model", any_value),
        ("hw:redirected_usb_ports", _NON_NEGATIVE),
    ]),
    Rule(r"hw:numa_cpus\.[0-9]+", _CPU_SET),
    Rule(r"hw:numa_mem\.[0-9]+", _NON_NEGATIVE),
    # Random number generator and video devices.
    *_exact([("hw_rng:allowed", boolean), ("hw_rng:rate_bytes", _NON_NEGATIVE),
             ("hw_rng:rate_period", _NON_NEGATIVE), ("hw_video:ram_max_mb", _NON_NEGATIVE)]),
    # Firmware.
    *_exact([("os:secure_boot", one_of("required", "disabled", "optional"))]),
    # Resource limits the libvirt driver applies to the guest.
    *_exact((f"quota:{name}", _NON_NEGATIVE) for name in (
        "cpu_shares", "cpu_period", "cpu_quota",
        "disk_read_bytes_sec", "disk_read_iops_sec", "disk_write_bytes_sec",
        "disk_write_iops_sec", "disk_total_bytes_sec", "disk_total_iops_sec",
        "vif_inbound_average", "vif_inbound_peak", "vif_inbound_burst",
        "vif_outbound_average", "vif_outbound_peak", "vif_outbound_burst")),
    # VMware's, as Nova takes them: any integer (-1 is "unlimited") and a
    # shares level name (low, normal, high, custom).
    *_exact((f"quota:{resource}_{key}", check)
            for resource in ("cpu", "memory", "disk_io", "vif")
            for key, check in (("limit", integer()), ("reservation", integer()),
                               ("shares_level", any_value), ("shares_share", integer()))),
    # Placement: amounts of resource classes and required/forbidden traits.
    Rule(rf"resources[a-zA-Z0-9_-]{{0,64}}:{_RESOURCE_CLASS}", _NON_NEGATIVE),
    Rule(r"trait[a-zA-Z0-9_-]{0,64}:[A-Z][A-Z0-9_]*", one_of("required", "forbidden")),
    # Devices asked for by alias and accelerators by Cyborg device profile.
    Rule(r"pci_passthrough:alias",
         matching(r"[^:,]+:[0-9]+(,[^:,]+:[0-9]+)*", "alias:count[,alias:count]")),
    Rule(r"accel:device_profile", any_value),
    # Keys outside any namespace that kumo knows.
    Rule(r"group_policy", one_of("none", "isolate")),
]


def namespace(name: str) -> str | None:
    """The namespace of ``name`` (``resources1:VCPU`` -> ``resources``), None without one."""
    if ":" not in name:
        return None
    prefix = name.split(":", 1)[0]
    grouped = _GROUPED.match(prefix)
    return grouped.group(1) if grouped else prefix


def rule_for(name: str) -> Rule | None:
    return next((rule for rule in RULES if rule.matches(name)), None)


def validate(name: str, value: str) -> None:
    """Raise ``ValueError`` (the 400's message) when ``name: value`` is not acceptable."""
    rule = rule_for(name)
    if rule is None:
        if namespace(name) in NAMESPACES:
            raise ValueError(f"Validation failed; extra spec '{name}' does not appear to "
                             "be a valid extra spec.")
        return  # another namespace, or none: the operator's own key
    try:
        rule.check(value)
    except ValueError as exc:
        raise ValueError(f"Validation failed; extra spec '{name}' with value "
                         f"'{value}' {exc}.") from None


def validate_all(specs: dict[str, str]) -> None:
    """Check every key of ``specs`` (sorted, so the message names the same one each time)."""
    for name in sorted(specs):
        validate(name, specs[name])
