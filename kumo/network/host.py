"""Converge this host's networking on what the database says.

kumo-network keeps no state of its own: the bridges (and VLAN interfaces),
gateway addresses, dnsmasq hosts files and iptables rules of a host are a
function of the networks and fixed IPs rows. :func:`converge` computes that
function and applies it with the idempotent ``ensure_*``/``update_dhcp``/
``firewall.apply`` of the plumbing modules — after every allocation, on start
(so a kill -9 and restart converges) and periodically.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable
from typing import Any

from oslo_log import log as logging

from kumo import privileged
from kumo.conf import CONF
from kumo.network import dhcp, firewall, linux_net

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Layout:
    """What a network manager does on a host: ``dhcp`` runs dnsmasq and puts
    the gateway on the bridge; ``vlan`` puts the bridge on a VLAN interface."""

    dhcp: bool
    vlan: bool


def served_here(network: dict[str, Any], fixed_ips: Iterable[dict[str, Any]],
                host: str) -> bool:
    """A single-host network is served by its ``host`` (os-networks'
    associate_host), or when it has none by every kumo-network that is not in
    multi-host mode; a multi-host one by the hosts that have instances on it."""
    if not (network["multi_host"] or CONF.network.multi_host):
        return network.get("host") in (None, "", host)
    return any(ip["network_uuid"] == network["uuid"] and ip["host"] == host
               for ip in fixed_ips)


def hostname(ip: dict[str, Any]) -> str:
    """The DHCP hostname of an address: the instance's, else one made of the IP."""
    name = ip.get("instance_hostname")
    if name:
        return name
    return "host-" + ip["address"].replace(".", "-")


def dhcp_hosts(network: dict[str, Any], fixed_ips: Iterable[dict[str, Any]],
               host: str) -> list[dhcp.DhcpHost]:
    """The hosts file of a network on this host: its allocated addresses (only
    this host's instances' on a multi-host network)."""
    multi = network["multi_host"] or CONF.network.multi_host
    return [dhcp.DhcpHost(ip["mac"], hostname(ip), ip["address"]) for ip in fixed_ips
            if ip["network_uuid"] == network["uuid"] and ip.get("mac")
            and (not multi or ip["host"] == host)]


def gateway_cidr(network: dict[str, Any]) -> str:
    prefix = ipaddress.IPv4Network(network["cidr"]).prefixlen
    return f"{network['gateway']}/{prefix}"


def plug(network: dict[str, Any], layout: Layout, namespace: str | None) -> None:
    """Ensure the network's bridge (on its VLAN interface for the vlan manager)."""
    gateway = gateway_cidr(network) if layout.dhcp else None
    if layout.vlan and network.get("vlan"):
        interface = network.get("bridge_interface") or CONF.network.vlan_interface
        if not interface:
            raise ValueError(f"network {network['uuid']} has VLAN {network['vlan']} but "
                             "no interface to carry it ([network] vlan_interface)")
        linux_net.ensure_vlan_bridge(network["vlan"], network["bridge"], interface,
                                     gateway, namespace=namespace)
    else:
        interface = network.get("bridge_interface") or CONF.network.flat_interface
        linux_net.ensure_bridge(network["bridge"], interface, gateway, namespace=namespace)


def metadata_address() -> tuple[str, int]:
    """Where guests' 169.254.169.254:80 goes: ``[network] metadata_host``/``_port``,
    else kumo-api-metadata's own ``[api] metadata_listen``/``metadata_port``."""
    host = CONF.network.metadata_host or CONF.api.metadata_listen
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    port = CONF.network.metadata_port or CONF.api.metadata_port
    return host, int(port)


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:  # a host name
        return False


def _mine(row: dict[str, Any], host: str) -> bool:
    """Whether this host serves a floating IP or an instance's firewall: all of
    them unless in multi-host mode, where each host serves its own instances'."""
    return not CONF.network.multi_host or row.get("host") == host


def floating_ips(rows: Iterable[dict[str, Any]], host: str) -> list[firewall.FloatingIP]:
    return [firewall.FloatingIP(row["address"], row["fixed_ip"]) for row in rows
            if row.get("fixed_ip") and _mine(row, host)]


def instance_firewalls(rows: Iterable[dict[str, Any]],
                       host: str) -> list[firewall.InstanceFirewall]:
    """The iptables view of kumo.db.security_groups.instance_firewalls: one chain
    per fixed IP of an instance in a security group."""
    return [firewall.InstanceFirewall(
        # Named per address: an instance on two networks has two chains.
        instance_id=f"{row['instance_uuid']}/{row['ip']}", ip=row["ip"],
        dhcp_server=row.get("gateway"),
        rules=tuple(firewall.SecurityGroupRule(
            protocol=rule["protocol"], from_port=rule["from_port"],
            to_port=rule["to_port"], cidr=rule["cidr"],
            source_ips=tuple(rule["source_ips"])) for rule in row["rules"]))
        for row in rows if _mine(row, host)]


def bind_floating_ips(all_rows: Iterable[dict[str, Any]], served: list[firewall.FloatingIP],
                      namespace: str | None) -> None:
    """Floating IPs served here answer ARP on the public interface; the others not."""
    interface = CONF.network.public_interface
    wanted = {f.address for f in served}
    for row in all_rows:
        if row["address"] in wanted:
            linux_net.bind_floating_ip(row["address"], interface, namespace)
        else:
            linux_net.unbind_floating_ip(row["address"], interface, namespace)


def converge(networks: list[dict[str, Any]], fixed_ips: list[dict[str, Any]], host: str,
             layout: Layout, namespace: str | None = None,
             floating: list[dict[str, Any]] | None = None,
             firewalls: list[dict[str, Any]] | None = None) -> list[str]:
    """Make this host serve ``networks`` with ``fixed_ips``, the ``floating`` IPs
    (rows of kumo.db.floating_ips) and the instances' security groups
    (``firewalls``); returns the uuids of the networks that could not be set up
    (each logged; the others still are)."""
    failed = []
    served = [n for n in networks if n.get("bridge") and served_here(n, fixed_ips, host)]
    if served:
        # This host routes its guests' traffic (gateway, SNAT, floating IPs).
        linux_net.enable_ip_forwarding(namespace)
    for network in served:
        try:
            plug(network, layout, namespace)
            if layout.dhcp:
                dhcp.update_dhcp(
                    dhcp.DhcpNetwork(bridge=network["bridge"], cidr=network["cidr"],
                                     gateway=network["gateway"],
                                     dns=tuple(d for d in (network["dns1"], network["dns2"])
                                               if d)),
                    dhcp_hosts(network, fixed_ips, host), namespace=namespace)
        except (ValueError, privileged.ProcessExecutionError) as error:
            LOG.error("Could not set up network %s (%s) on this host: %s",
                      network["uuid"], network["label"], error)
            failed.append(network["uuid"])
    metadata_host, metadata_port = metadata_address()
    if _is_loopback(metadata_host):
        # DNAT to a loopback address of packets that came in on a bridge is
        # dropped as martian unless the bridge allows it.
        for network in served:
            if network["uuid"] not in failed:
                linux_net.allow_route_localnet(network["bridge"], namespace)
    served_floating = floating_ips(floating or [], host)
    if floating:
        bind_floating_ips(floating, served_floating, namespace)
    state = firewall.FirewallState(
        public_interface=CONF.network.public_interface,
        networks=tuple(firewall.FixedNetwork(n["bridge"], n["cidr"]) for n in served
                       if n["uuid"] not in failed),
        floating_ips=tuple(served_floating),
        instances=tuple(instance_firewalls(firewalls or [], host)),
        routing_source_ip=CONF.network.routing_source_ip,
        metadata_host=metadata_host,
        metadata_port=metadata_port)
    firewall.apply(state, namespace=namespace)
    if layout.dhcp:
        wanted = {n["bridge"] for n in served}
        for bridge in dhcp.running_bridges() - wanted:
            dhcp.stop_dhcp(bridge)
    return failed

