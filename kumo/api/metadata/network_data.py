"""``network_data.json``: the instance's links, networks and DNS services, from its VIFs.

The format is the OpenStack one cloud-init reads: one link per VIF (its MAC),
one network per IPv4 subnet on it (address, netmask, default route), and the
DNS servers both per network and, de-duplicated, at the top level.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from oslo_config import cfg

CONF = cfg.CONF


def _dns_services(subnet: dict[str, Any]) -> list[dict[str, str]]:
    return [{"type": "dns", "address": address} for address in subnet.get("dns") or []]


def _network(vif: dict[str, Any], subnet: dict[str, Any], number: int,
             link_id: str) -> dict[str, Any]:
    # kumo's DHCP managers serve every fixed IP by DHCP; the static details stay
    # in the entry for guests that configure themselves from it.
    kind = "ipv4" if CONF.network.network_manager == "flat" else "ipv4_dhcp"
    entry: dict[str, Any] = {"id": f"network{number}", "type": kind, "link": link_id,
                             "network_id": vif["network"]["id"]}
    ips = subnet.get("ips") or []
    if ips:
        cidr = ipaddress.IPv4Network(subnet["cidr"], strict=False)
        entry["ip_address"] = ips[0]["address"]
        entry["netmask"] = str(cidr.netmask)
        entry["routes"] = ([{"network": "0.0.0.0", "netmask": "0.0.0.0",
                             "gateway": subnet["gateway"]}] if subnet.get("gateway") else [])
        entry["services"] = _dns_services(subnet)
    return entry


def network_data(network_info: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"links": […], "networks": […], "services": […]}`` for the instance's VIFs."""
    links: list[dict[str, Any]] = []
    networks: list[dict[str, Any]] = []
    services: list[dict[str, str]] = []
    for vif in network_info:
        link_id = vif.get("devname") or f"tap{vif['id'][:11]}"
        links.append({"id": link_id, "vif_id": vif["id"], "type": "bridge",
                      "mtu": (vif["network"].get("meta") or {}).get("mtu"),
                      "ethernet_mac_address": vif["address"]})
        for subnet in vif["network"].get("subnets") or []:
            if ipaddress.ip_network(subnet["cidr"], strict=False).version != 4:
                continue
            networks.append(_network(vif, subnet, len(networks), link_id))
            services.extend(s for s in _dns_services(subnet) if s not in services)
    return {"links": links, "networks": networks, "services": services}
