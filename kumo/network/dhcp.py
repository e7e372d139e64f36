"""dnsmasq per network: hosts file (MAC → hostname, IP), options, start/reload/stop.

One dnsmasq per bridge, bound to that bridge only. Its files live in
``[network] networks_path`` as ``kumo-<bridge>.{hosts,opts,pid,leases}``.
:func:`update_dhcp` converges: it writes the files, starts dnsmasq when it is
not running (or its command line is out of date), and sends SIGHUP when only
the hosts or options changed — dnsmasq rereads them without dropping leases.

dnsmasq drops its privileges (to ``nobody``) after start-up and rereads the
hosts and options files as that user: ``networks_path`` must be readable by it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import signal
import threading
import time

from kumo import privileged
from kumo.conf import CONF


@dataclasses.dataclass(frozen=True)
class DhcpHost:
    mac: str
    hostname: str
    ip: str


@dataclasses.dataclass(frozen=True)
class DhcpNetwork:
    bridge: str
    cidr: str
    gateway: str
    dns: tuple[str, ...] = ()

    @property
    def net(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.cidr, strict=False)


def network_file(bridge: str, kind: str) -> str:
    return os.path.join(CONF.network.networks_path, f"kumo-{bridge}.{kind}")


def hosts_file_contents(hosts: list[DhcpHost]) -> str:
    lines = []
    for host in sorted(hosts, key=lambda h: ipaddress.IPv4Address(h.ip)):
        lines.append(f"{host.mac.lower()},{host.hostname},{host.ip}\n")
    return "".join(lines)


def opts_file_contents(network: DhcpNetwork) -> str:
    dns = list(network.dns) or list(CONF.network.dns_servers) or [network.gateway]
    return f"option:router,{network.gateway}\noption:dns-server,{','.join(dns)}\n"


def _write_if_changed(path: str, text: str) -> bool:
    try:
        with open(path) as handle:
            if handle.read() == text:
                return False
    except FileNotFoundError:
        pass
    tmp = f"{path}.tmp"
    with open(tmp, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)  # dnsmasq rereads it after dropping privileges
    os.replace(tmp, path)
    return True


def dnsmasq_command(network: DhcpNetwork) -> list[str]:
    net = network.net
    return [
        CONF.network.dnsmasq_binary,
        "--strict-order",
        "--bind-interfaces",
        "--conf-file=",
        "--no-hosts",
        f"--pid-file={network_file(network.bridge, 'pid')}",
        f"--listen-address={network.gateway}",
        "--except-interface=lo",
        f"--interface={network.bridge}",
        f"--dhcp-range=set:{network.bridge},{net.network_address},static,{net.netmask},"
        f"{CONF.network.dhcp_lease_time}s",
        f"--dhcp-lease-max={net.num_addresses}",
        f"--dhcp-hostsfile={network_file(network.bridge, 'hosts')}",
        f"--dhcp-optsfile={network_file(network.bridge, 'opts')}",
        f"--dhcp-leasefile={network_file(network.bridge, 'leases')}",
        f"--domain={CONF.network.dhcp_domain}",
    ]


def _read_pid(bridge: str) -> int | None:
    try:
        with open(network_file(bridge, "pid")) as handle:
            return int(handle.read().strip())
    except (FileNotFoundError, ValueError):
        return None


def _cmdline(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            raw = handle.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return [part.decode() for part in raw.split(b"\0") if part]


def _alive(pid: int) -> bool:
    """The process exists and has not finished exiting (a zombie has closed its
    sockets; a process whose memory is already gone may not have yet)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def running_pid(bridge: str) -> int | None:
    """The pid of this bridge's dnsmasq if it is alive (and really ours)."""
    pid = _read_pid(bridge)
    if pid is None:
        return None
    cmdline = _cmdline(pid)
    hosts = f"--dhcp-hostsfile={network_file(bridge, 'hosts')}"
    if not cmdline or hosts not in cmdline:
        return None
    return pid


def running_bridges() -> set[str]:
    """Bridges with a dnsmasq of ours running (from the pid files)."""
    try:
        names = os.listdir(CONF.network.networks_path)
    except FileNotFoundError:
        return set()
    prefix, suffix = "kumo-", ".pid"
    bridges = {name[len(prefix):-len(suffix)] for name in names
               if name.startswith(prefix) and name.endswith(suffix)}
    return {bridge for bridge in bridges if running_pid(bridge) is not None}


_lock = threading.Lock()


def update_dhcp(network: DhcpNetwork, hosts: list[DhcpHost],
                namespace: str | None = None) -> str:
    """Converge the dnsmasq of ``network``; returns what was done:
    ``"started"``, ``"restarted"``, ``"reloaded"`` or ``"unchanged"``."""
    with _lock:
        return _update_dhcp(network, hosts, namespace)


def _update_dhcp(network: DhcpNetwork, hosts: list[DhcpHost], namespace: str | None) -> str:
    os.makedirs(CONF.network.networks_path, exist_ok=True)
    changed = _write_if_changed(network_file(network.bridge, "hosts"),
                                hosts_file_contents(hosts))
    changed |= _write_if_changed(network_file(network.bridge, "opts"),
                                 opts_file_contents(network))
    command = dnsmasq_command(network)
    pid = running_pid(network.bridge)
    stale = stale_leases(network.bridge, hosts)
    if stale:
        # dnsmasq keeps its leases in memory and would refuse a released
        # address to its next owner until the old lease expires: stop it,
        # drop the leases of addresses that changed hands, start it again.
        if pid is not None:
            _stop(pid)
        _drop_leases(network.bridge, stale)
        action = "restarted" if pid is not None else "started"
        privileged.execute(command, namespace=namespace, detach=True)
        return action
    if pid is not None:
        if _cmdline(pid) == command:
            if not changed:
                return "unchanged"
            privileged.kill(pid, int(signal.SIGHUP))
            return "reloaded"
        _stop(pid)
        action = "restarted"
    else:
        action = "started"
        old = _read_pid(network.bridge)
        if old is not None and not _cmdline(old):
            # A dnsmasq that died may still be closing its sockets.
            _wait_gone(old, 2.0)
    privileged.execute(command, namespace=namespace, detach=True)
    return action


def _stop(pid: int, timeout: float = 5.0) -> None:
    privileged.kill(pid, int(signal.SIGTERM))
    if not _wait_gone(pid, timeout):
        privileged.kill(pid, int(signal.SIGKILL))
        _wait_gone(pid, 2.0)


def stop_dhcp(bridge: str, remove_files: bool = True) -> None:
    """Stop this bridge's dnsmasq (if running) and remove its files."""
    with _lock:
        _stop_dhcp(bridge, remove_files)


def _stop_dhcp(bridge: str, remove_files: bool) -> None:
    pid = running_pid(bridge)
    if pid is not None:
        _stop(pid)
    if remove_files:
        for kind in ("hosts", "opts", "pid", "leases"):
            try:
                os.unlink(network_file(bridge, kind))
            except FileNotFoundError:
                pass


def stale_leases(bridge: str, hosts: list[DhcpHost]) -> list[dict]:
    """Leases whose (MAC, IP) pair is no longer in the hosts file."""
    wanted = {(host.mac.lower(), host.ip) for host in hosts}
    return [lease for lease in read_leases(bridge)
            if (lease["mac"].lower(), lease["ip"]) not in wanted]


def _drop_leases(bridge: str, leases: list[dict]) -> None:
    drop = {(lease["mac"].lower(), lease["ip"]) for lease in leases}
    path = network_file(bridge, "leases")
    kept = []
    with open(path) as handle:
        for line in handle:
            parts = line.split()
            if len(parts) >= 3 and (parts[1].lower(), parts[2]) in drop:
                continue
            kept.append(line)
    tmp = f"{path}.tmp"
    with open(tmp, "w") as handle:
        handle.writelines(kept)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def read_leases(bridge: str) -> list[dict]:
    """dnsmasq's current leases: ``expiry``, ``mac``, ``ip``, ``hostname``."""
    leases = []
    try:
        with open(network_file(bridge, "leases")) as handle:
            for line in handle:
                parts = line.split()
                if len(parts) >= 4:
                    leases.append({"expiry": int(parts[0]), "mac": parts[1],
                                   "ip": parts[2], "hostname": parts[3]})
    except FileNotFoundError:
        pass
    return leases
