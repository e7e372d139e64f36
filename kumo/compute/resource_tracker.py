"""Reports the inventory of this host's hypervisor nodes to the conductor.

kumo-compute reports at start and every ``[compute] resource_report_interval``
seconds. Only the inventory travels: the conductor recomputes what is used of
each node from the live instances on it, so usage never drifts from a claim a
crashed build left behind.
"""

from __future__ import annotations

from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from kumo import exception
from kumo.virt import driver as virt_driver

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

ALLOCATION_RATIOS = ("cpu_allocation_ratio", "ram_allocation_ratio", "disk_allocation_ratio")


class ResourceTracker:
    """Builds the node inventories of one host and sends them to the conductor."""

    def __init__(self, host: str, driver: virt_driver.ComputeDriver, conductor: Any,
                 binary: str | None = "kumo-compute") -> None:
        self.host = host
        self.driver = driver
        self.conductor = conductor
        self.binary = binary
        self.service_id: int | None = None

    def node_inventories(self) -> list[dict[str, Any]]:
        """One dict per node the driver serves, as ``compute_nodes_report`` takes them.

        A node the driver cannot describe right now is left out (and logged);
        the next report tries it again.
        """
        nodes = []
        for nodename in self.driver.get_available_nodes():
            try:
                resources = self.driver.get_node_resources(nodename)
            except Exception as exc:
                LOG.warning("Node %s of %s left out of the report: %s",
                            nodename, self.host, exc)
                continue
            node = {key: resources.get(key) for key in virt_driver.NODE_RESOURCE_KEYS}
            for ratio in ALLOCATION_RATIOS:
                node[ratio] = getattr(CONF.compute, ratio)
            nodes.append(node)
        return nodes

    def report(self, ctxt: Any) -> list[Any]:
        """Send this host's node inventories; returns the conductor's ComputeNodes."""
        nodes = self.node_inventories()
        compute_nodes = self.conductor.compute_nodes_report(
            ctxt, host=self.host, service_id=self._service_id(ctxt), nodes=nodes)
        LOG.debug("Reported nodes %s of %s",
                  ", ".join(node["hypervisor_hostname"] for node in nodes), self.host)
        return compute_nodes

    def _service_id(self, ctxt: Any) -> int | None:
        # The service row is registered by the Service's first heartbeat,
        # which comes after init_host's first report: until it exists the
        # report carries None and the conductor looks the service up itself.
        if self.service_id is None and self.binary:
            try:
                service = self.conductor.service_get_by_host_and_binary(
                    ctxt, self.host, self.binary)
            except exception.NotFound:
                return None
            self.service_id = service.id
        return self.service_id
