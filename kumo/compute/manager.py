"""kumo-compute's RPC endpoint: dispatches to the virt driver it loaded."""

from __future__ import annotations

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log as logging

from kumo import manager, virt

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


class ComputeManager(manager.Manager):
    target = messaging.Target(version="1.0")

    def __init__(self, host: str | None = None, binary: str | None = None) -> None:
        super().__init__(host=host, binary=binary)
        self.driver = virt.load_driver(CONF.compute.compute_driver)

    def init_host(self) -> None:
        self.driver.init_host(self.host)
        LOG.info("Compute driver %s serves nodes %s", CONF.compute.compute_driver,
                 ", ".join(self.driver.get_available_nodes()))

    def cleanup_host(self) -> None:
        self.driver.cleanup_host(self.host)
