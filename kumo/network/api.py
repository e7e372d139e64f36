"""What kumo-compute asks of kumo-network while it builds and deletes servers.

Opt-in with ``[network] enabled`` (docs/decisions.md): without it a server
gets no addresses and nothing calls kumo-network, so a cloud of fake
hypervisors runs without it.
"""

from __future__ import annotations

from typing import Any

from kumo.conf import CONF


def _client() -> Any:
    # Made per call: tests re-initialise the transport between cases.
    from kumo.network import rpcapi

    return rpcapi.NetworkAPI()


def allocate_for_instance(context: Any, instance: Any, host: str,
                          request_spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The server's network_info for the driver to plug ([] when disabled or
    when the request said ``networks: "none"``). Idempotent, so a retried
    build gets the same addresses."""
    requested = request_spec.get("networks") or "auto"
    if not CONF.network.enabled or requested == "none":
        return []
    requested = [{"uuid": r.get("uuid"), "fixed_ip": r.get("fixed_ip")}
                 for r in requested] if isinstance(requested, list) else requested
    return _client().allocate_for_instance(
        context, instance_uuid=instance.uuid, project_id=instance.project_id, host=host,
        requested_networks=requested)


def deallocate_for_instance(context: Any, instance: Any, host: str | None) -> None:
    """Release everything the server holds (idempotent; a no-op when disabled)."""
    if CONF.network.enabled:
        _client().deallocate_for_instance(context, instance_uuid=instance.uuid, host=host)
