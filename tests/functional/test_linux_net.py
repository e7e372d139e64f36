"""kumo.network's Linux plumbing on real bridges, dnsmasq and iptables, in namespaces.

Every test builds its own network namespaces (unique names, ``ip netns``) and
removes them — and every process left in them — afterwards, even on failure.
Nothing touches the host's own interfaces or iptables: every command names a
test namespace.

Topology (per test, as needed)::

    external ns  pub-e 203.0.113.2/24 ──veth── pub-h 203.0.113.1/24  "host" ns
                                                  (public interface, floating IPs)
                                                br-a 10.1.0.1/24 (+ dnsmasq)
    guest ns  eth0 (instance's MAC) ──veth── tap-* ┘

Needs root, ``ip netns``, iptables, dnsmasq and busybox (udhcpc). Without them
the tests skip, unless ``KUMO_REQUIRE_NETNS=1`` (as in tools/run_tests.sh),
which makes that a failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from kumo import privileged
from kumo.conf import CONF
from kumo.network import dhcp, firewall, linux_net
from kumo.network import host as host_net

PUBLIC_CIDR = "203.0.113.0/24"
HOST_PUBLIC_IP = "203.0.113.1"
EXTERNAL_IP = "203.0.113.2"
FLOATING_IP = "203.0.113.10"
GUEST_MAC = "fa:16:3e:00:00:11"
GUEST_MAC2 = "fa:16:3e:00:00:12"

pytestmark = pytest.mark.timeout(120)


def _unavailable_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, bridges, iptables)"
    for tool in ("ip", "iptables-save", "iptables-restore", "dnsmasq", "busybox"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install iproute2 iptables dnsmasq busybox)"
    probe = f"kumo-probe-{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"ip netns is unavailable: {made.stderr.strip()}"
    try:
        saved = subprocess.run(["ip", "netns", "exec", probe, "iptables-save"],
                               capture_output=True, text=True)
        if saved.returncode != 0:
            return f"iptables does not work in a namespace: {saved.stderr.strip()}"
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


@pytest.fixture(scope="module", autouse=True)
def _netns_required() -> None:
    reason = _unavailable_reason()
    if reason is not None:
        if os.environ.get("KUMO_REQUIRE_NETNS") == "1":
            pytest.fail(f"KUMO_REQUIRE_NETNS=1, but {reason}", pytrace=False)
        pytest.skip(reason)
    privileged.run_in_process()


def run(namespace: str, *cmd: str, check: bool = True, timeout: float = 20,
        ) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", namespace, *cmd], capture_output=True,
                          text=True, check=check, timeout=timeout)


def start_listener(namespace: str, address: str, port: int) -> subprocess.Popen:
    """A TCP server in ``namespace`` answering ``hello <peer address>``, ready."""
    code = textwrap.dedent(f"""
        import socket
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(({address!r}, {port}))
        s.listen(8)
        print("ready", flush=True)
        while True:
            c, peer = s.accept()
            c.sendall(f"hello {{peer[0]}}".encode())
            c.close()
    """)
    proc = subprocess.Popen(["ip", "netns", "exec", namespace, sys.executable, "-c", code],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def pings(namespace: str, address: str) -> bool:
    ping = ["ping"] if shutil.which("ping") else ["busybox", "ping"]
    return run(namespace, *ping, "-c", "1", "-W", "1", address, check=False).returncode == 0


def reachable(namespace: str, address: str) -> bool:
    """Pings get through within a few seconds (neighbour resolution may need
    a retry after an earlier failure)."""
    return wait_for(lambda: pings(namespace, address), timeout=5)


def tcp_peer(namespace: str, address: str, port: int) -> str | None:
    """Connect from ``namespace``; the source address the listener saw, None
    when the connection failed."""
    code = ("import socket,sys\n"
            "try:\n"
            f"    s=socket.create_connection(({address!r},{port}),timeout=1)\n"
            "    print(s.recv(64).decode())\n"
            "except OSError:\n    sys.exit(1)\n")
    result = run(namespace, sys.executable, "-c", code, check=False)
    if result.returncode != 0 or not result.stdout.startswith("hello "):
        return None
    return result.stdout.split()[1]


def tcp_connects(namespace: str, address: str, port: int) -> bool:
    return tcp_peer(namespace, address, port) is not None


class Namespaces:
    """Creates uniquely named namespaces; :meth:`cleanup` kills their processes
    and deletes them."""

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:6]
        self.created: list[str] = []
        self.listeners: list[subprocess.Popen] = []

    def __call__(self, role: str) -> str:
        name = f"kumo-{self.tag}-{role}"
        subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
        self.created.append(name)
        run(name, "ip", "link", "set", "lo", "up")
        return name

    def listen(self, namespace: str, address: str, port: int) -> None:
        """A TCP server in ``namespace`` answering ``hello <peer address>``."""
        self.listeners.append(start_listener(namespace, address, port))

    def cleanup(self) -> None:
        for proc in self.listeners:
            proc.kill()
            proc.wait()
        for name in reversed(self.created):
            pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True,
                                  text=True).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


@pytest.fixture
def netns() -> Iterator[Namespaces]:
    # Not under tmp_path: dnsmasq rereads its files after dropping privileges
    # (to nobody), and pytest's temporary directories are private to root.
    networks = tempfile.mkdtemp(prefix="kumo-networks-")
    os.chmod(networks, 0o755)
    CONF.set_override("networks_path", networks, group="network")
    namespaces = Namespaces()
    try:
        yield namespaces
    finally:
        namespaces.cleanup()
        CONF.clear_override("networks_path", group="network")
        shutil.rmtree(networks, ignore_errors=True)


class Site:
    """A "host" namespace with a public link to an "external" namespace."""

    def __init__(self, netns: Namespaces) -> None:
        self.netns = netns
        self.host = netns("host")
        self.external = netns("ext")
        linux_net.create_veth_pair("pub-h", "pub-e", namespace=self.host,
                                   peer_namespace=self.external)
        linux_net.ensure_address("pub-h", f"{HOST_PUBLIC_IP}/24", self.host)
        linux_net.ensure_address("pub-e", f"{EXTERNAL_IP}/24", self.external)
        linux_net.enable_ip_forwarding(self.host)
        self.guests = 0

    def network(self, bridge: str, gateway_cidr: str, interface: str | None = None) -> None:
        linux_net.ensure_bridge(bridge, interface, gateway_cidr, namespace=self.host)

    def guest(self, bridge: str, mac: str, cidr: str | None = None,
              gateway: str | None = None) -> str:
        """A guest namespace whose eth0 (with ``mac``) is plugged into ``bridge``;
        with ``cidr`` its address is configured statically."""
        self.guests += 1
        guest = self.netns(f"g{self.guests}")
        linux_net.create_veth_pair(f"tap-{self.netns.tag}{self.guests}", "eth0",
                                   namespace=self.host, peer_namespace=guest,
                                   peer_mac=mac, bridge=bridge)
        if cidr:
            linux_net.ensure_address("eth0", cidr, guest)
            linux_net.ensure_route("default", via=gateway, namespace=guest)
        return guest

    def state(self, **kwargs) -> firewall.FirewallState:
        return firewall.FirewallState(public_interface="pub-h", **kwargs)

    def save(self) -> str:
        out = run(self.host, "iptables-save").stdout
        return "\n".join(line for line in out.splitlines() if not line.startswith("#"))


@pytest.fixture
def site(netns: Namespaces) -> Site:
    return Site(netns)


DHCP_SCRIPT = """#!/bin/sh
# udhcpc event script: configure eth0 from the lease, record it.
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route replace default via "$router"
    echo "$ip $router $dns" > "$LEASE_OUT" ;;
esac
exit 0
"""


def dhcp_lease(guest: str, script_dir) -> tuple[str, str]:
    """Run busybox udhcpc in ``guest``; the (ip, router) it was given."""
    script = script_dir / "udhcpc.script"
    script.write_text(DHCP_SCRIPT)
    script.chmod(0o755)
    out = script_dir / f"lease-{guest}"
    env = {**os.environ, "LEASE_OUT": str(out)}
    subprocess.run(["ip", "netns", "exec", guest, "busybox", "udhcpc", "-i", "eth0",
                    "-n", "-q", "-f", "-t", "8", "-T", "1", "-s", str(script)],
                   check=True, capture_output=True, env=env, timeout=30)
    ip, router = out.read_text().split()[:2]
    return ip, router


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


# ---------------------------------------------------------------- tests --


def test_guest_leases_its_fixed_ip_and_pings_the_gateway(site: Site, tmp_path) -> None:
    site.network("br-a", "10.1.0.1/24")
    network = dhcp.DhcpNetwork(bridge="br-a", cidr="10.1.0.0/24", gateway="10.1.0.1")
    hosts = [dhcp.DhcpHost(GUEST_MAC, "vm-one", "10.1.0.23")]
    assert dhcp.update_dhcp(network, hosts, namespace=site.host) == "started"
    assert wait_for(lambda: dhcp.running_pid("br-a") is not None)
    assert dhcp.update_dhcp(network, hosts, namespace=site.host) == "unchanged"

    guest = site.guest("br-a", GUEST_MAC)
    assert dhcp_lease(guest, tmp_path) == ("10.1.0.23", "10.1.0.1")
    assert reachable(guest, "10.1.0.1")
    assert [lease["ip"] for lease in dhcp.read_leases("br-a")] == ["10.1.0.23"]

    # A new host: the hosts file changes, dnsmasq is reloaded (same pid).
    pid = dhcp.running_pid("br-a")
    hosts.append(dhcp.DhcpHost(GUEST_MAC2, "vm-two", "10.1.0.42"))
    assert dhcp.update_dhcp(network, hosts, namespace=site.host) == "reloaded"
    assert dhcp.running_pid("br-a") == pid
    second = site.guest("br-a", GUEST_MAC2)
    assert dhcp_lease(second, tmp_path)[0] == "10.1.0.42"

    # dnsmasq killed: the next update starts it again, the leases are kept.
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: dhcp.running_pid("br-a") is None)
    assert dhcp.update_dhcp(network, hosts, namespace=site.host) == "started"
    assert wait_for(lambda: dhcp.running_pid("br-a") not in (None, pid))
    assert {lease["ip"] for lease in dhcp.read_leases("br-a")} == {"10.1.0.23", "10.1.0.42"}

    dhcp.stop_dhcp("br-a")
    assert dhcp.running_pid("br-a") is None
    assert not os.path.exists(dhcp.network_file("br-a", "hosts"))


def test_bridge_plumbing_is_idempotent(site: Site) -> None:
    for _ in range(2):
        site.network("br-a", "10.1.0.1/24")
    assert linux_net.get_addresses("br-a", site.host) == ["10.1.0.1/24"]
    assert (linux_net.get_link("br-a", site.host) or {}).get("operstate") in (
        "UP", "UNKNOWN", "DOWN")  # DOWN until a port has carrier
    linux_net.delete_bridge("br-a", site.host)
    linux_net.delete_bridge("br-a", site.host)
    assert not linux_net.device_exists("br-a", site.host)


def test_two_networks_cannot_reach_each_other(site: Site) -> None:
    site.network("br-a", "10.1.0.1/24")
    site.network("br-b", "10.2.0.1/24")
    guest_a = site.guest("br-a", GUEST_MAC, "10.1.0.5/24", "10.1.0.1")
    guest_b = site.guest("br-b", GUEST_MAC2, "10.2.0.5/24", "10.2.0.1")
    assert reachable(guest_a, "10.1.0.1")
    assert reachable(guest_b, "10.2.0.1")
    # Without kumo's rules the host routes between the two networks...
    assert reachable(guest_a, "10.2.0.5")
    networks = (firewall.FixedNetwork("br-a", "10.1.0.0/24"),
                firewall.FixedNetwork("br-b", "10.2.0.0/24"))
    firewall.apply(site.state(networks=networks), namespace=site.host)
    # ...with them it does not, either way.
    assert not pings(guest_a, "10.2.0.5")
    assert not pings(guest_b, "10.1.0.5")
    assert reachable(guest_a, "10.1.0.1")


def _vlan_supported(namespace: str) -> bool:
    try:
        linux_net.create_veth_pair("vprobe0", "vprobe1", namespace=namespace)
        linux_net.ensure_vlan(4000, "vprobe0", namespace=namespace)
    except privileged.ProcessExecutionError:
        return False
    finally:
        linux_net.delete_device("vlan4000", namespace)
        linux_net.delete_device("vprobe0", namespace)
    return True


def test_vlan_networks_on_one_trunk_are_isolated(site: Site, tmp_path) -> None:
    if not _vlan_supported(site.host):
        pytest.skip("the kernel has no 802.1Q support (ip link add ... type vlan fails)")
    # The host's trunk goes to a "switch" namespace that untags each VLAN onto
    # its own bridge, where one guest per VLAN is plugged in.
    switch = site.netns("sw")
    linux_net.create_veth_pair("trunk-h", "trunk-s", namespace=site.host,
                               peer_namespace=switch)
    guests = []
    for vlan, mac in ((101, GUEST_MAC), (102, GUEST_MAC2)):
        subnet = f"10.{vlan}.0"
        linux_net.ensure_vlan_bridge(vlan, f"br{vlan}", "trunk-h", f"{subnet}.1/24",
                                     namespace=site.host)
        linux_net.ensure_vlan_bridge(vlan, f"sw{vlan}", "trunk-s", namespace=switch)
        guest = site.netns(f"v{vlan}")
        linux_net.create_veth_pair(f"port{vlan}", "eth0", namespace=switch,
                                   peer_namespace=guest, peer_mac=mac, bridge=f"sw{vlan}")
        network = dhcp.DhcpNetwork(bridge=f"br{vlan}", cidr=f"{subnet}.0/24",
                                   gateway=f"{subnet}.1")
        dhcp.update_dhcp(network, [dhcp.DhcpHost(mac, f"vm{vlan}", f"{subnet}.5")],
                         namespace=site.host)
        guests.append(guest)
    # Idempotent on an existing VLAN interface.
    linux_net.ensure_vlan_bridge(101, "br101", "trunk-h", "10.101.0.1/24",
                                 namespace=site.host)
    assert dhcp_lease(guests[0], tmp_path) == ("10.101.0.5", "10.101.0.1")
    assert dhcp_lease(guests[1], tmp_path) == ("10.102.0.5", "10.102.0.1")
    firewall.apply(site.state(networks=(firewall.FixedNetwork("br101", "10.101.0.0/24"),
                                        firewall.FixedNetwork("br102", "10.102.0.0/24"))),
                   namespace=site.host)
    assert reachable(guests[0], "10.101.0.1")
    assert not pings(guests[0], "10.102.0.5")
    # Not even on layer 2: an address in the other VLAN's subnet gets nowhere.
    linux_net.ensure_address("eth0", "10.102.0.77/24", guests[0])
    assert not pings(guests[0], "10.102.0.5")
    for vlan in (101, 102):
        dhcp.stop_dhcp(f"br{vlan}")


def test_floating_ip_reachable_from_outside_until_removed(site: Site) -> None:
    site.network("br-a", "10.1.0.1/24")
    guest = site.guest("br-a", GUEST_MAC, "10.1.0.5/24", "10.1.0.1")
    network = firewall.FixedNetwork("br-a", "10.1.0.0/24")
    everything = firewall.SecurityGroupRule(cidr="0.0.0.0/0")
    instance = firewall.InstanceFirewall("inst1", "10.1.0.5", "10.1.0.1", (everything,))
    assert not pings(site.external, FLOATING_IP)

    linux_net.bind_floating_ip(FLOATING_IP, "pub-h", site.host)
    firewall.apply(site.state(networks=(network,), instances=(instance,),
                              floating_ips=(firewall.FloatingIP(FLOATING_IP, "10.1.0.5"),)),
                   namespace=site.host)
    assert reachable(site.external, FLOATING_IP)
    site.netns.listen(guest, "0.0.0.0", 8080)
    assert tcp_connects(site.external, FLOATING_IP, 8080)
    # The guest's outbound traffic leaves with the floating IP as its source.
    site.netns.listen(site.external, EXTERNAL_IP, 9090)
    assert tcp_peer(guest, EXTERNAL_IP, 9090) == FLOATING_IP

    linux_net.unbind_floating_ip(FLOATING_IP, "pub-h", site.host)
    firewall.apply(site.state(networks=(network,), instances=(instance,)),
                   namespace=site.host)
    assert not pings(site.external, FLOATING_IP)
    assert not tcp_connects(site.external, FLOATING_IP, 8080)
    # Other outbound traffic of the fixed range is SNATed out of the public interface.
    assert tcp_peer(guest, EXTERNAL_IP, 9090) == HOST_PUBLIC_IP


def test_security_group_blocks_tcp_until_a_rule_opens_it(site: Site) -> None:
    site.network("br-a", "10.1.0.1/24")
    guest = site.guest("br-a", GUEST_MAC, "10.1.0.5/24", "10.1.0.1")
    run(site.external, "ip", "route", "replace", "10.1.0.0/24", "via", HOST_PUBLIC_IP)
    site.netns.listen(guest, "0.0.0.0", 8080)
    network = firewall.FixedNetwork("br-a", "10.1.0.0/24")
    assert tcp_connects(site.external, "10.1.0.5", 8080)  # no rules: open

    icmp = firewall.SecurityGroupRule(protocol="icmp", from_port=-1, to_port=-1,
                                      cidr="0.0.0.0/0")

    def apply(*rules: firewall.SecurityGroupRule) -> None:
        instance = firewall.InstanceFirewall("inst1", "10.1.0.5", "10.1.0.1", rules)
        firewall.apply(site.state(networks=(network,), instances=(instance,)),
                       namespace=site.host)

    apply(icmp)
    assert reachable(site.external, "10.1.0.5")
    assert not tcp_connects(site.external, "10.1.0.5", 8080)
    # A source-group rule lets only the group's members in.
    apply(icmp, firewall.SecurityGroupRule("tcp", 8080, 8080, source_ips=("10.1.0.9",)))
    assert not tcp_connects(site.external, "10.1.0.5", 8080)
    # Another port range, another CIDR: still closed.
    apply(icmp, firewall.SecurityGroupRule("tcp", 22, 80, cidr=PUBLIC_CIDR),
          firewall.SecurityGroupRule("tcp", 8080, 8080, cidr="198.51.100.0/24"))
    assert not tcp_connects(site.external, "10.1.0.5", 8080)
    apply(icmp, firewall.SecurityGroupRule("tcp", 8000, 8100, cidr=PUBLIC_CIDR))
    assert tcp_connects(site.external, "10.1.0.5", 8080)
    apply()
    assert not tcp_connects(site.external, "10.1.0.5", 8080)
    assert not pings(site.external, "10.1.0.5")


def test_metadata_requests_are_redirected(site: Site) -> None:
    site.network("br-a", "10.1.0.1/24")
    guest = site.guest("br-a", GUEST_MAC, "10.1.0.5/24", "10.1.0.1")
    site.netns.listen(site.host, "10.1.0.1", 8775)
    assert not tcp_connects(guest, firewall.METADATA_IP, 80)
    firewall.apply(site.state(networks=(firewall.FixedNetwork("br-a", "10.1.0.0/24"),),
                              metadata_host="10.1.0.1", metadata_port=8775),
                   namespace=site.host)
    assert tcp_connects(guest, firewall.METADATA_IP, 80)


def test_metadata_redirect_to_a_loopback_listener(site: Site) -> None:
    """kumo-api-metadata on 127.0.0.1 (devstack's metadata_listen): the DNAT
    needs route_localnet on the bridge, and the service sees the guest's own
    address (how it finds the asking instance)."""
    site.network("br-a", "10.1.0.1/24")
    guest = site.guest("br-a", GUEST_MAC, "10.1.0.5/24", "10.1.0.1")
    site.netns.listen(site.host, "127.0.0.1", 8775)
    firewall.apply(site.state(networks=(firewall.FixedNetwork("br-a", "10.1.0.0/24"),),
                              metadata_host="127.0.0.1", metadata_port=8775),
                   namespace=site.host)
    assert not tcp_connects(guest, firewall.METADATA_IP, 80)  # dropped as martian
    linux_net.allow_route_localnet("br-a", site.host)
    assert tcp_peer(guest, firewall.METADATA_IP, 80) == "10.1.0.5"


def test_rebuilding_the_rules_converges(site: Site) -> None:
    rule = firewall.SecurityGroupRule("tcp", 22, 22, cidr="0.0.0.0/0")
    full = site.state(
        networks=(firewall.FixedNetwork("br-a", "10.1.0.0/24"),
                  firewall.FixedNetwork("br-b", "10.2.0.0/24")),
        floating_ips=(firewall.FloatingIP(FLOATING_IP, "10.1.0.5"),),
        instances=(firewall.InstanceFirewall("inst1", "10.1.0.5", "10.1.0.1", (rule,)),
                   firewall.InstanceFirewall("inst2", "10.2.0.5", "10.2.0.1")),
        metadata_host="10.0.0.1")
    # Someone else's rules are left alone.
    run(site.host, "iptables", "-A", "FORWARD", "-s", "192.0.2.0/24", "-j", "ACCEPT")
    firewall.apply(full, namespace=site.host)
    first = site.save()
    firewall.apply(full, namespace=site.host)
    assert site.save() == first
    assert first.count("-j kumo-filter-top") == 1
    assert "-A FORWARD -s 192.0.2.0/24 -j ACCEPT" in first
    assert ":kumo-inst-inst2" in first

    # A smaller state removes what is gone (instance chains included)...
    firewall.apply(site.state(), namespace=site.host)
    smaller = site.save()
    assert "kumo-inst-" not in smaller
    assert FLOATING_IP not in smaller
    # ...and the full state again gives exactly the first rules.
    firewall.apply(full, namespace=site.host)
    assert site.save() == first

    firewall.remove_all(namespace=site.host)
    assert "kumo" not in site.save()
    assert "-A FORWARD -s 192.0.2.0/24 -j ACCEPT" in site.save()


def test_multi_host_each_host_serves_its_own_instances(netns: Namespaces, tmp_path) -> None:
    """Multi-host mode: two hosts (namespaces, each with its own bridge and
    dnsmasq files) converge on the same rows; each serves the gateway and DHCP of
    its own instance only."""
    network = {"uuid": "net-m", "label": "shared", "bridge": "br-m", "cidr": "10.5.0.0/24",
               "gateway": "10.5.0.1", "dns1": None, "dns2": None, "multi_host": True,
               "bridge_interface": None, "vlan": None, "host": None}
    rows = [{"network_uuid": "net-m", "host": host, "mac": mac, "address": ip,
             "instance_hostname": f"vm-{host}"}
            for host, mac, ip in (("a", GUEST_MAC, "10.5.0.10"),
                                  ("b", GUEST_MAC2, "10.5.0.11"))]
    layout = host_net.Layout(dhcp=True, vlan=False)
    served = {}
    CONF.set_override("multi_host", True, group="network")
    try:
        for name in ("a", "b"):
            namespace = netns(f"m{name}")
            path = tempfile.mkdtemp(prefix=f"kumo-networks-{name}-")
            os.chmod(path, 0o755)
            CONF.set_override("networks_path", path, group="network")
            assert host_net.converge([network], rows, name, layout, namespace=namespace) == []
            hosts = open(dhcp.network_file("br-m", "hosts")).read()
            served[name] = (namespace, path, hosts)
    finally:
        CONF.clear_override("multi_host", group="network")
    try:
        assert served["a"][2] == f"{GUEST_MAC},vm-a,10.5.0.10\n"
        assert served["b"][2] == f"{GUEST_MAC2},vm-b,10.5.0.11\n"
        for name, mac, ip in (("a", GUEST_MAC, "10.5.0.10"), ("b", GUEST_MAC2, "10.5.0.11")):
            namespace = served[name][0]
            guest = netns(f"mg{name}")
            linux_net.create_veth_pair(f"tap-m{name}", "eth0", namespace=namespace,
                                       peer_namespace=guest, peer_mac=mac, bridge="br-m")
            assert dhcp_lease(guest, tmp_path) == (ip, "10.5.0.1")
            assert reachable(guest, "10.5.0.1")
    finally:
        for _namespace, path, _ in served.values():
            CONF.set_override("networks_path", path, group="network")
            dhcp.stop_dhcp("br-m")
            shutil.rmtree(path, ignore_errors=True)


def test_privsep_daemon_runs_the_plumbing(netns: Namespaces) -> None:
    """Through a real privsep daemon (forked, keeping only the context's
    capabilities) rather than in-process: results and errors come back."""
    namespace = netns("privsep")
    context = privileged.net_admin
    try:
        privileged.start_daemon()
        assert context.channel is not None
        linux_net.ensure_bridge("br-p", None, "10.9.0.1/24", namespace=namespace)
        assert linux_net.get_addresses("br-p", namespace) == ["10.9.0.1/24"]
        with pytest.raises(privileged.ProcessExecutionError) as failed:
            privileged.execute(["ip", "link", "show", "dev", "nope0"], namespace=namespace)
        assert failed.value.exit_code != 0
        assert "nope0" in str(failed.value)
        with pytest.raises(ValueError):
            privileged.execute(["rm", "-rf", "/nonexistent"])
        firewall.apply(firewall.FirewallState(public_interface="lo"), namespace=namespace)
        assert "kumo-filter-top" in run(namespace, "iptables-save").stdout
    finally:
        context.stop()
        privileged.run_in_process()
