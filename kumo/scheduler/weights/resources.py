"""RAMWeigher, CPUWeigher, DiskWeigher: weigh hosts by what is still free on them."""

from __future__ import annotations

from oslo_config import cfg

from kumo.scheduler.host_manager import HostState
from kumo.scheduler.weights import BaseWeigher

CONF = cfg.CONF


class RAMWeigher(BaseWeigher):
    def multiplier(self) -> float:
        return CONF.scheduler.ram_weight_multiplier

    def raw(self, host: HostState) -> float:
        return host.free_memory_mb


class CPUWeigher(BaseWeigher):
    def multiplier(self) -> float:
        return CONF.scheduler.cpu_weight_multiplier

    def raw(self, host: HostState) -> float:
        return host.free_vcpus


class DiskWeigher(BaseWeigher):
    def multiplier(self) -> float:
        return CONF.scheduler.disk_weight_multiplier

    def raw(self, host: HostState) -> float:
        return host.free_disk_gb
