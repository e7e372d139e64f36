"""Client of kumo-compute's RPC API; every call names the host (topic compute, server <host>).

API version history:

* 1.0 - Initial version: the base API (ping) only; server operations arrive
  with the server lifecycle.
* 1.1 - build_and_run_instance, terminate_instance.
"""

from __future__ import annotations

from typing import Any

from kumo import rpc

TOPIC = "compute"


class ComputeAPI(rpc.RPCAPIBase):
    TOPIC = TOPIC
    SERVICE = "compute"
    VERSION = "1.1"

    def build_and_run_instance(self, ctxt: Any, instance: Any, node: str,
                               request_spec: dict[str, Any], host: str) -> None:
        """Have kumo-compute on ``host`` spawn the (already claimed) server on ``node``."""
        self.cast(ctxt, "build_and_run_instance", {
            "instance": instance, "node": node, "request_spec": request_spec},
            server=host, version="1.1")

    def terminate_instance(self, ctxt: Any, instance: Any, host: str) -> None:
        """Have kumo-compute on ``host`` destroy the server's guest and delete its row."""
        self.cast(ctxt, "terminate_instance", {"instance": instance},
                  server=host, version="1.1")
