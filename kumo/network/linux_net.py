"""Linux plumbing of kumo-network: bridges, VLAN interfaces, addresses, veths.

Every function takes an optional ``namespace``: the same code configures the
host's own namespace in a service and a throw-away namespace in tests. All
commands run through the privileged helper (:mod:`kumo.privileged`).
Functions named ``ensure_*`` are idempotent.
"""

from __future__ import annotations

import json

from kumo import privileged

IFNAMSIZ = 15


def _ip(*args: object, namespace: str | None = None, check_exit_code: bool = True) -> str:
    stdout, _ = privileged.execute(["ip", *[str(a) for a in args]], namespace=namespace,
                                   check_exit_code=check_exit_code)
    return stdout


def _check_name(name: str) -> str:
    if not name or len(name) > IFNAMSIZ or "/" in name or " " in name:
        raise ValueError(f"invalid interface name {name!r}")
    return name


def device_exists(device: str, namespace: str | None = None) -> bool:
    return get_link(device, namespace) is not None


def get_link(device: str, namespace: str | None = None) -> dict | None:
    """``ip -d -j link show DEV`` as a dict (with ``linkinfo``), None when there
    is no such device."""
    try:
        out = _ip("-d", "-j", "link", "show", "dev", device, namespace=namespace)
    except privileged.ProcessExecutionError:
        return None
    links = json.loads(out or "[]")
    return links[0] if links else None


def get_addresses(device: str, namespace: str | None = None) -> list[str]:
    """The IPv4 addresses of ``device`` as ``a.b.c.d/prefix``."""
    out = _ip("-j", "-4", "addr", "show", "dev", device, namespace=namespace)
    found = []
    for link in json.loads(out or "[]"):
        for info in link.get("addr_info", []):
            found.append(f"{info['local']}/{info['prefixlen']}")
    return found


def set_up(device: str, namespace: str | None = None) -> None:
    _ip("link", "set", "dev", device, "up", namespace=namespace)


def delete_device(device: str, namespace: str | None = None) -> None:
    """Remove ``device`` if it exists."""
    if device_exists(device, namespace):
        _ip("link", "del", "dev", device, namespace=namespace)


def ensure_address(device: str, cidr: str, namespace: str | None = None) -> None:
    """Give ``device`` the address ``cidr`` (``10.0.0.1/24``) if it lacks it."""
    if cidr not in get_addresses(device, namespace):
        _ip("addr", "replace", cidr, "dev", device, namespace=namespace)


def remove_address(device: str, cidr: str, namespace: str | None = None) -> None:
    if cidr in get_addresses(device, namespace):
        _ip("addr", "del", cidr, "dev", device, namespace=namespace)


def ensure_bridge(bridge: str, interface: str | None = None, gateway_cidr: str | None = None,
                  namespace: str | None = None, mtu: int | None = None) -> str:
    """Create ``bridge`` (no STP, no forward delay), set it up, enslave ``interface``
    and put the gateway address on it. Idempotent; returns the bridge's name."""
    _check_name(bridge)
    link = get_link(bridge, namespace)
    if link is None:
        _ip("link", "add", "name", bridge, "type", "bridge", "forward_delay", 0,
            "stp_state", 0, namespace=namespace)
    elif link.get("linkinfo", {}).get("info_kind") != "bridge":
        raise ValueError(f"{bridge} exists and is not a bridge")
    if mtu:
        _ip("link", "set", "dev", bridge, "mtu", mtu, namespace=namespace)
    set_up(bridge, namespace)
    if interface:
        if not device_exists(interface, namespace):
            raise ValueError(f"interface {interface} does not exist")
        link = get_link(interface, namespace) or {}
        if link.get("master") != bridge:
            _ip("link", "set", "dev", interface, "master", bridge, namespace=namespace)
        set_up(interface, namespace)
    if gateway_cidr:
        ensure_address(bridge, gateway_cidr, namespace)
    return bridge


def vlan_interface_name(vlan: int) -> str:
    return f"vlan{int(vlan)}"


def ensure_vlan(vlan: int, interface: str, namespace: str | None = None,
                mtu: int | None = None) -> str:
    """``ip link add link IFACE name vlanN type vlan id N``, up. Idempotent."""
    vlan = int(vlan)
    if not 1 <= vlan <= 4094:
        raise ValueError(f"VLAN id out of range: {vlan}")
    name = vlan_interface_name(vlan)
    link = get_link(name, namespace)
    if link is None:
        _ip("link", "add", "link", interface, "name", name, "type", "vlan", "id", vlan,
            namespace=namespace)
    else:
        info = link.get("linkinfo", {})
        data = info.get("info_data", {})
        if info.get("info_kind") != "vlan" or data.get("id") != vlan or \
                link.get("link") not in (None, interface):
            raise ValueError(f"{name} exists and is not VLAN {vlan} on {interface}")
    if mtu:
        _ip("link", "set", "dev", name, "mtu", mtu, namespace=namespace)
    set_up(name, namespace)
    return name


def ensure_vlan_bridge(vlan: int, bridge: str, interface: str,
                       gateway_cidr: str | None = None, namespace: str | None = None,
                       mtu: int | None = None) -> tuple[str, str]:
    """A VLAN interface on ``interface`` enslaved to its own ``bridge``."""
    vlan_if = ensure_vlan(vlan, interface, namespace, mtu)
    ensure_bridge(bridge, vlan_if, gateway_cidr, namespace, mtu)
    return vlan_if, bridge


def delete_bridge(bridge: str, namespace: str | None = None) -> None:
    delete_device(bridge, namespace)


def create_veth_pair(dev1: str, dev2: str, namespace: str | None = None,
                     peer_namespace: str | None = None, peer_mac: str | None = None,
                     bridge: str | None = None) -> None:
    """A veth pair: ``dev1`` in ``namespace`` (enslaved to ``bridge`` if given),
    ``dev2`` moved into ``peer_namespace`` with ``peer_mac``. Both up."""
    _check_name(dev1)
    _check_name(dev2)
    delete_device(dev1, namespace)
    _ip("link", "add", "name", dev1, "type", "veth", "peer", "name", dev2,
        namespace=namespace)
    if peer_namespace and peer_namespace != namespace:
        _ip("link", "set", "dev", dev2, "netns", peer_namespace, namespace=namespace)
    if peer_mac:
        _ip("link", "set", "dev", dev2, "address", peer_mac, namespace=peer_namespace)
    if bridge:
        _ip("link", "set", "dev", dev1, "master", bridge, namespace=namespace)
    set_up(dev1, namespace)
    set_up(dev2, peer_namespace)


def enable_ip_forwarding(namespace: str | None = None) -> None:
    privileged.execute(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"], namespace=namespace)


def allow_route_localnet(device: str, namespace: str | None = None) -> None:
    """Let packets that arrive on ``device`` be routed to loopback addresses
    (the metadata redirect to a kumo-api-metadata listening on 127.0.0.1)."""
    _check_name(device)
    privileged.execute(["sysctl", "-q", "-w", f"net.ipv4.conf.{device}.route_localnet=1"],
                       namespace=namespace)


def ensure_route(cidr: str, via: str | None = None, device: str | None = None,
                 namespace: str | None = None) -> None:
    args: list[object] = ["route", "replace", cidr]
    if via:
        args += ["via", via]
    if device:
        args += ["dev", device]
    _ip(*args, namespace=namespace)


def bind_floating_ip(floating_ip: str, interface: str, namespace: str | None = None) -> None:
    """Put a floating IP (as /32) on the public interface so that it answers ARP."""
    ensure_address(interface, f"{floating_ip}/32", namespace)


def unbind_floating_ip(floating_ip: str, interface: str,
                       namespace: str | None = None) -> None:
    remove_address(interface, f"{floating_ip}/32", namespace)
