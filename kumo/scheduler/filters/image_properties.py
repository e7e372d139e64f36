"""ImagePropertiesFilter: the image's hypervisor_type and architecture must match the node.

Lenient: a property the image does not set, or a node that does not report
the value, passes.
"""

from __future__ import annotations

from kumo.scheduler.filters import BaseHostFilter
from kumo.scheduler.host_manager import HostState
from kumo.scheduler.request import SchedulingRequest

# Glance's names first, then the older ones Nova still honours.
_HYPERVISOR_KEYS = ("img_hv_type", "hypervisor_type")
_ARCH_KEYS = ("hw_architecture", "architecture")


def _first(properties: dict, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = properties.get(key)
        if value:
            return str(value).lower()
    return None


class ImagePropertiesFilter(BaseHostFilter):
    def applies(self, request: SchedulingRequest) -> bool:
        props = request.image_properties
        return bool(_first(props, _HYPERVISOR_KEYS) or _first(props, _ARCH_KEYS))

    def host_passes(self, host: HostState, request: SchedulingRequest) -> bool:
        props = request.image_properties
        wanted_hv = _first(props, _HYPERVISOR_KEYS)
        if wanted_hv and host.hypervisor_type and host.hypervisor_type.lower() != wanted_hv:
            return False
        wanted_arch = _first(props, _ARCH_KEYS)
        if wanted_arch and host.cpu_arch and host.cpu_arch.lower() != wanted_arch:
            return False
        return True

    def explain(self, rejected: list[HostState], request: SchedulingRequest) -> str:
        props = request.image_properties
        wanted = [f"{name} {value}" for name, value in (
            ("hypervisor_type", _first(props, _HYPERVISOR_KEYS)),
            ("architecture", _first(props, _ARCH_KEYS))) if value]
        return f"(image requires {', '.join(wanted)})"
