"""Client of kumo-network's RPC API.

Calls go to topic ``network`` (any kumo-network) or, in multi-host mode
(``[network] multi_host``), to the kumo-network of the instance's own compute
host (``network.<host>``), which serves that instance's gateway and DHCP.

API version history:

* 1.0 - Initial version: the base API (ping) only.
* 1.1 - allocate_for_instance, deallocate_for_instance, get_instance_nw_info,
  sync_host.
"""

from __future__ import annotations

from typing import Any

from kumo import rpc
from kumo.conf import CONF

TOPIC = "network"


class NetworkAPI(rpc.RPCAPIBase):
    TOPIC = TOPIC
    SERVICE = "network"
    VERSION = "1.1"

    def _server(self, host: str | None) -> str | None:
        return host if CONF.network.multi_host else None

    def allocate_for_instance(self, ctxt: Any, instance_uuid: str, project_id: str,
                              host: str | None, requested_networks: Any = "auto",
                              macs: list[str] | None = None) -> list[dict[str, Any]]:
        """The instance's network_info after giving it a VIF and fixed IP on each
        network (idempotent). ``requested_networks``: "auto", "none" or
        ``[{"uuid": ..., "fixed_ip": ...}]``."""
        return self.call(ctxt, "allocate_for_instance", {
            "instance_uuid": instance_uuid, "project_id": project_id, "host": host,
            "requested_networks": requested_networks, "macs": macs},
            server=self._server(host), version="1.1",
            timeout=CONF.network.rpc_timeout)

    def deallocate_for_instance(self, ctxt: Any, instance_uuid: str,
                                host: str | None = None) -> None:
        """Release everything the instance holds (idempotent)."""
        self.call(ctxt, "deallocate_for_instance", {
            "instance_uuid": instance_uuid, "host": host},
            server=self._server(host), version="1.1", timeout=CONF.network.rpc_timeout)

    def get_instance_nw_info(self, ctxt: Any, instance_uuid: str,
                             host: str | None = None) -> list[dict[str, Any]]:
        return self.call(ctxt, "get_instance_nw_info", {"instance_uuid": instance_uuid},
                         server=self._server(host), version="1.1")

    def sync_host(self, ctxt: Any, host: str | None = None) -> list[str]:
        """Make a kumo-network rebuild its plumbing from the database now."""
        return self.call(ctxt, "sync_host", {}, server=host, version="1.1")

    def refresh(self, ctxt: Any) -> None:
        """Every kumo-network rebuilds its plumbing from the database (a fanout
        cast): after a floating IP or security group change."""
        self.cast(ctxt, "sync_host", {}, version="1.1", fanout=True)
