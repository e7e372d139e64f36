"""AvailabilityZoneFilter: only hosts in the requested availability zone."""

from __future__ import annotations

from kumo.scheduler.filters import BaseHostFilter
from kumo.scheduler.host_manager import HostState
from kumo.scheduler.request import SchedulingRequest


class AvailabilityZoneFilter(BaseHostFilter):
    def applies(self, request: SchedulingRequest) -> bool:
        return request.availability_zone is not None

    def host_passes(self, host: HostState, request: SchedulingRequest) -> bool:
        return host.availability_zone == request.availability_zone

    def explain(self, rejected: list[HostState], request: SchedulingRequest) -> str:
        return f"(not in zone {request.availability_zone!r})"
