"""Client of kumo-consoleauth's RPC API (topic consoleauth, any server).

API version history:

* 1.0 - Initial version: the base API (ping) only.
* 1.1 - authorize_console, check_token (calls), delete_tokens_for_instance (cast).
"""

from __future__ import annotations

from typing import Any

from kumo import rpc

TOPIC = "consoleauth"


class ConsoleAuthAPI(rpc.RPCAPIBase):
    TOPIC = TOPIC
    SERVICE = "consoleauth"
    VERSION = "1.1"

    def authorize_console(self, ctxt: Any, token: str, console_type: str, host: str,
                          port: int, internal_access_path: str | None,
                          instance_uuid: str, access_url: str | None = None,
                          tls_port: int | None = None) -> None:
        """Register a token kumo-compute made; it is honoured for ``[consoleauth]
        token_ttl`` seconds. A call, so the URL is handed out only once it works."""
        self.call(ctxt, "authorize_console", {
            "token": token, "console_type": console_type, "host": host, "port": port,
            "internal_access_path": internal_access_path, "instance_uuid": instance_uuid,
            "access_url": access_url, "tls_port": tls_port}, version="1.1")

    def check_token(self, ctxt: Any, token: str) -> dict[str, Any] | None:
        """The connection info of a live token whose server still has that display
        on the same compute host (``token``, ``console_type``, ``host``, ``port``,
        ``tls_port``, ``internal_access_path``, ``instance_uuid``, ``access_url``,
        ``compute_host``), else None."""
        return self.call(ctxt, "check_token", {"token": token}, version="1.1")

    def delete_tokens_for_instance(self, ctxt: Any, instance_uuid: str) -> None:
        """Forget every token of the server (it was deleted)."""
        self.cast(ctxt, "delete_tokens_for_instance", {"instance_uuid": instance_uuid},
                  version="1.1")
