"""The one interface every hypervisor driver implements.

Each method is documented here once; drivers implement, never extend it.
Server operations (spawn, destroy, reboot, …) join the interface with the
server lifecycle.
"""

from __future__ import annotations

import abc
from typing import Any


class ComputeDriver(abc.ABC):
    """A hypervisor as kumo-compute sees it: one or more nodes on one host."""

    def init_host(self, host: str) -> None:  # noqa: B027  (optional hook)
        """Connect to the hypervisor; called once before the service takes work."""

    def cleanup_host(self, host: str) -> None:  # noqa: B027  (optional hook)
        """Release what init_host took; called once when the service stops."""

    @abc.abstractmethod
    def get_available_nodes(self) -> list[str]:
        """Names of the hypervisor nodes this driver manages (hypervisor_hostname)."""

    @abc.abstractmethod
    def get_available_resource(self, nodename: str) -> dict[str, Any]:
        """Inventory of one node: vcpus, memory_mb, local_gb, hypervisor_type, …"""
