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
        count = CONF.compute.fake_nodes
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
            "vcpus": CONF.compute.fake_node_vcpus,
            "memory_mb": CONF.compute.fake_node_memory_mb,
            "local_gb": CONF.compute.fake_node_disk_gb,
        }
