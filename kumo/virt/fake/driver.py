"""FakeDriver: nodes that exist only in memory, sized by the [compute] fake_* options."""

from __future__ import annotations

from typing import Any

from oslo_config import cfg

from kumo.virt import driver

CONF = cfg.CONF


class FakeDriver(driver.ComputeDriver):
    def __init__(self) -> None:
        self.host = CONF.host

    def init_host(self, host: str) -> None:
        self.host = host

    def get_available_nodes(self) -> list[str]:
        count = CONF.fake.node_count
        if count == 1:
            return [self.host]
        return [f"{self.host}-fake{index}" for index in range(count)]

    def get_available_resource(self, nodename: str) -> dict[str, Any]:
        if nodename not in self.get_available_nodes():
            raise KeyError(nodename)
        return {
            "hypervisor_hostname": nodename,
            "hypervisor_type": "fake",
            "hypervisor_version": 1000,
            "vcpus": CONF.fake.vcpus,
            "memory_mb": CONF.fake.memory_mb,
            "local_gb": CONF.fake.local_gb,
        }
