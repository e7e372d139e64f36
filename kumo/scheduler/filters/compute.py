"""ComputeFilter: only hosts whose kumo-compute service is up and enabled."""

from __future__ import annotations

from kumo.scheduler.filters import BaseHostFilter
from kumo.scheduler.host_manager import HostState
from kumo.scheduler.request import SchedulingRequest


class ComputeFilter(BaseHostFilter):
    def host_passes(self, host: HostState, request: SchedulingRequest) -> bool:
        return host.service_up and not host.service_disabled

    def explain(self, rejected: list[HostState], request: SchedulingRequest) -> str:
        down = sum(1 for host in rejected if not host.service_up)
        disabled = len(rejected) - down
        parts = []
        if down:
            parts.append(f"{down} compute service down")
        if disabled:
            parts.append(f"{disabled} disabled")
        return f"({', '.join(parts)})"
