"""ImagePropertiesFilter: the image's hypervisor_type and architecture must match the node.

Lenient: a property the image does not set, or a node that does not report
the value, passes.
"""

from __future__ import annotations

from kumo.scheduler.filters import BaseHostFilter
from kumo.scheduler.host_manager import HostState
from kumo.scheduler.request import SchedulingRequest


class ImagePropertiesFilter(BaseHostFilter):
    def applies(self, request: SchedulingRequest) -> bool:
        return bool(request.image_hypervisor_type or request.image_architecture)

    def host_passes(self, host: HostState, request: SchedulingRequest) -> bool:
        wanted_hv = request.image_hypervisor_type
        if wanted_hv and host.hypervisor_type and host.hypervisor_type.lower() != wanted_hv:
            return False
        wanted_arch = request.image_architecture
        if wanted_arch and host.cpu_arch and host.cpu_arch.lower() != wanted_arch:
            return False
        return True

    def explain(self, rejected: list[HostState], request: SchedulingRequest) -> str:
        wanted = [f"{name} {value}" for name, value in (
            ("hypervisor_type", request.image_hypervisor_type),
            ("architecture", request.image_architecture)) if value]
        return f"(image requires {', '.join(wanted)})"
