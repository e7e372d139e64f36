"""A server's ``addresses`` (network label → IPs) from its network info cache.

kumo-network stores each server's network_info in the conductor's info cache
when it allocates; the API reads those caches once per request
(:func:`prefetch`, one conductor call for a whole list) and the views format
them (:func:`of_instance`). With ``[network] enabled`` off nothing is read and
servers show ``{}``, as before kumo-network.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import webob

from kumo.conf import CONF

ENVIRON_KEY = "kumo.network_info"


def prefetch(req: webob.Request, conductor: Any, context: Any,
             instance_uuids: Iterable[str]) -> None:
    """Load the info caches of these servers into the request."""
    uuids = list(instance_uuids)
    if not CONF.network.enabled or not uuids:
        return
    cached = req.environ.setdefault(ENVIRON_KEY, {})
    cached.update(conductor.instance_info_cache_get(context, instance_uuids=uuids))


def network_info(req: webob.Request, instance_uuid: str) -> list[dict[str, Any]]:
    return req.environ.get(ENVIRON_KEY, {}).get(instance_uuid, [])


def addresses(info: list[dict[str, Any]], extended: bool = True) -> dict[str, list[dict]]:
    """``{label: [{"version", "addr"[, "OS-EXT-IPS:type", "OS-EXT-IPS-MAC:mac_addr"]}]}``:
    fixed IPs, each followed by its floating IPs, per network label."""
    shown: dict[str, list[dict[str, Any]]] = {}
    for vif in info:
        network = vif.get("network") or {}
        entries = shown.setdefault(network.get("label") or network.get("id") or "", [])
        for subnet in network.get("subnets") or []:
            for ip in subnet.get("ips") or []:
                for address in [ip, *(ip.get("floating_ips") or [])]:
                    entry: dict[str, Any] = {"version": address.get("version", 4),
                                             "addr": address["address"]}
                    if extended:
                        entry["OS-EXT-IPS:type"] = address.get("type", "fixed")
                        entry["OS-EXT-IPS-MAC:mac_addr"] = vif.get("address")
                    entries.append(entry)
    return shown


def of_instance(req: webob.Request, instance: Any) -> dict[str, list[dict]]:
    """The ``addresses`` of a server view (from the prefetched cache)."""
    return addresses(network_info(req, instance.uuid))
