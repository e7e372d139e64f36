"""Client of kumo-conductor's RPC API: the database, as other services see it.

API version history:

* 1.0 - Initial version: service_register, service_heartbeat,
  service_get_all, service_get_by_host_and_binary, service_update,
  service_destroy.
"""

from __future__ import annotations

from typing import Any

from kumo import rpc

TOPIC = "conductor"


class ConductorAPI(rpc.RPCAPIBase):
    TOPIC = TOPIC
    SERVICE = "conductor"
    VERSION = "1.0"

    def service_register(self, ctxt: Any, host: str, binary: str, topic: str | None,
                         service_version: int) -> Any:
        """Create the service row of (host, binary), or return the existing one."""
        return self.call(ctxt, "service_register", {
            "host": host, "binary": binary, "topic": topic,
            "service_version": service_version})

    def service_heartbeat(self, ctxt: Any, service_id: int) -> Any:
        """Record that the service is alive now (by the conductor's clock)."""
        return self.call(ctxt, "service_heartbeat", {"service_id": service_id})

    def service_get_all(self, ctxt: Any, binary: str | None = None,
                        host: str | None = None) -> list[Any]:
        return self.call(ctxt, "service_get_all", {"binary": binary, "host": host})

    def service_get_by_host_and_binary(self, ctxt: Any, host: str, binary: str) -> Any:
        return self.call(ctxt, "service_get_by_host_and_binary",
                         {"host": host, "binary": binary})

    def service_update(self, ctxt: Any, service_id: int, values: dict[str, Any]) -> Any:
        return self.call(ctxt, "service_update", {"service_id": service_id, "values": values})

    def service_destroy(self, ctxt: Any, service_id: int) -> None:
        self.call(ctxt, "service_destroy", {"service_id": service_id})
