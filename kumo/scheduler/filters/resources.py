"""RamFilter, DiskFilter, CoreFilter: the flavor must fit under total * allocation ratio.

The ratio is the node's own when it reports one, else the ``[scheduler]``
default; the same limits are what the conductor's guarded claim enforces.
"""

from __future__ import annotations

from kumo.scheduler.filters import BaseHostFilter
from kumo.scheduler.host_manager import HostState
from kumo.scheduler.request import SchedulingRequest


class _ResourceFilter(BaseHostFilter):
    unit = ""

    def need(self, request: SchedulingRequest) -> int:
        raise NotImplementedError

    def free(self, host: HostState) -> int:
        raise NotImplementedError

    def applies(self, request: SchedulingRequest) -> bool:
        return self.need(request) > 0

    def explain(self, rejected: list[HostState], request: SchedulingRequest) -> str:
        best = max(self.free(host) for host in rejected)
        return f"(need {self.need(request)} {self.unit}, best has {max(best, 0)} {self.unit})"


class RamFilter(_ResourceFilter):
    unit = "MB"

    def host_passes(self, host: HostState, request: SchedulingRequest) -> bool:
        return host.free_memory_mb >= request.memory_mb

    def need(self, request: SchedulingRequest) -> int:
        return request.memory_mb

    def free(self, host: HostState) -> int:
        return host.free_memory_mb


class DiskFilter(_ResourceFilter):
    unit = "GB"

    def host_passes(self, host: HostState, request: SchedulingRequest) -> bool:
        return host.free_disk_gb >= request.disk_gb

    def need(self, request: SchedulingRequest) -> int:
        return request.disk_gb

    def free(self, host: HostState) -> int:
        return host.free_disk_gb


class CoreFilter(_ResourceFilter):
    unit = "vCPUs"

    def host_passes(self, host: HostState, request: SchedulingRequest) -> bool:
        return host.free_vcpus >= request.vcpus

    def need(self, request: SchedulingRequest) -> int:
        return request.vcpus

    def free(self, host: HostState) -> int:
        return host.free_vcpus
