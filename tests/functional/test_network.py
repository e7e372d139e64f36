"""kumo-network end to end with FlatDHCPManager: a cloud of real daemons whose
kumo-network builds its bridge, dnsmasq and iptables rules inside a "host"
network namespace (``[network] namespace``), and guest namespaces that lease
the address the API shows.

Every namespace is created and removed by this module (with every process
left in it); nothing touches the host's own interfaces or iptables. Needs
root, ``ip netns``, iptables, dnsmasq, busybox and RabbitMQ; without them it
skips (or fails under ``KUMO_REQUIRE_NETNS=1``, see test_linux_net.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional import servers
from tests.functional.harness import Cloud, wait_for
from tests.functional.test_linux_net import (
    _unavailable_reason,
    dhcp_lease,
    reachable,
    run,
    start_listener,
    tcp_peer,
)

pytestmark = pytest.mark.timeout(300)

TAG = uuid.uuid4().hex[:6]
HOST_NS = f"kumo-{TAG}-nh"
EXT_NS = f"kumo-{TAG}-ne"
HOST_PUBLIC_IP = "203.0.113.1"
EXTERNAL_IP = "203.0.113.2"
BRIDGE = f"brk{TAG[:4]}"
CIDR = "10.20.0.0/24"
GATEWAY = "10.20.0.1"
# dnsmasq rereads its files as nobody: not under pytest's private tmp dirs.
NETWORKS_PATH = os.path.join(tempfile.gettempdir(), f"kumo-networks-{TAG}")

CLOUD_OPTIONS = {
    "network": {"enabled": True, "network_manager": "flatdhcp", "namespace": HOST_NS,
                "networks_path": NETWORKS_PATH, "public_interface": "pub-h"},
}


def CLOUD_SETUP(cloud: Cloud) -> None:  # noqa: N802 (the harness's hook name)
    servers.create_flavors_and_image(cloud, servers.SMALL)
    cloud.manage("network", "create", "--label", "private", "--fixed-range-v4", CIDR,
                 "--bridge", BRIDGE, "--dns1", "192.0.2.53")
    cloud.manage("floating", "create", "--ip-range", "203.0.113.8/29", "--pool", "public")


@pytest.fixture(scope="module", autouse=True)
def host_namespace() -> Iterator[str]:
    """The "host" namespace kumo-network plumbs (made before the cloud starts)."""
    reason = _unavailable_reason()
    if reason is not None:
        if os.environ.get("KUMO_REQUIRE_NETNS") == "1":
            pytest.fail(f"KUMO_REQUIRE_NETNS=1, but {reason}", pytrace=False)
        pytest.skip(reason)
    os.makedirs(NETWORKS_PATH, mode=0o755, exist_ok=True)
    os.chmod(NETWORKS_PATH, 0o755)
    try:
        for name in (HOST_NS, EXT_NS):
            subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
            run(name, "ip", "link", "set", "lo", "up")
        # The host's public interface, linked to an "external" namespace.
        run(HOST_NS, "ip", "link", "add", "pub-h", "type", "veth", "peer", "name", "pub-e")
        run(HOST_NS, "ip", "link", "set", "pub-e", "netns", EXT_NS)
        run(HOST_NS, "ip", "addr", "add", f"{HOST_PUBLIC_IP}/24", "dev", "pub-h")
        run(EXT_NS, "ip", "addr", "add", f"{EXTERNAL_IP}/24", "dev", "pub-e")
        run(HOST_NS, "ip", "link", "set", "pub-h", "up")
        run(EXT_NS, "ip", "link", "set", "pub-e", "up")
        yield HOST_NS
    finally:
        _remove_namespace(EXT_NS)
        _remove_namespace(HOST_NS)
        shutil.rmtree(NETWORKS_PATH, ignore_errors=True)


def _remove_namespace(name: str) -> None:
    pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True,
                          text=True).stdout.split()
    for pid in pids:
        subprocess.run(["kill", "-9", pid], capture_output=True)
    subprocess.run(["ip", "netns", "del", name], capture_output=True)


@pytest.fixture
def guests(host_namespace: str) -> Iterator[list[str]]:
    """Guest namespaces made by :func:`plug_guest`, removed after the test."""
    made: list[str] = []
    yield made
    for name in made:
        _remove_namespace(name)
    for index in range(len(made)):
        run(host_namespace, "ip", "link", "del", f"tap{TAG[:4]}{index}", check=False)


def plug_guest(guests: list[str], mac: str) -> str:
    """A guest namespace whose eth0 has ``mac``, plugged into the network's bridge
    (what a hypervisor's VIF plugging does)."""
    name = f"kumo-{TAG}-g{len(guests)}"
    tap = f"tap{TAG[:4]}{len(guests)}"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
    guests.append(name)
    run(name, "ip", "link", "set", "lo", "up")
    run(HOST_NS, "ip", "link", "add", tap, "type", "veth", "peer", "name", "eth0")
    run(HOST_NS, "ip", "link", "set", "eth0", "netns", name)
    run(name, "ip", "link", "set", "eth0", "address", mac)
    run(HOST_NS, "ip", "link", "set", tap, "master", BRIDGE)
    run(HOST_NS, "ip", "link", "set", tap, "up")
    run(name, "ip", "link", "set", "eth0", "up")
    return name


def hosts_file() -> str:
    path = Path(NETWORKS_PATH) / f"kumo-{BRIDGE}.hosts"
    return path.read_text() if path.exists() else ""


def dnsmasq_pid() -> int | None:
    path = Path(NETWORKS_PATH) / f"kumo-{BRIDGE}.pid"
    try:
        pid = int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


def kumo_rules() -> str:
    saved = run(HOST_NS, "iptables-save").stdout
    return "\n".join(line for line in saved.splitlines() if "kumo" in line)


def boot_active(cloud: Cloud, name: str) -> dict:
    created = servers.boot(cloud, name)["server"]
    return servers.wait_status(cloud, created["id"], "ACTIVE")


def test_booted_server_leases_its_address_by_dhcp_and_pings_the_gateway(
        cloud: Cloud, guests: list[str], tmp_path: Path) -> None:
    server = boot_active(cloud, "web")
    [address] = server["addresses"]["private"]
    mac = address["OS-EXT-IPS-MAC:mac_addr"]
    assert address["OS-EXT-IPS:type"] == "fixed" and address["version"] == 4
    assert address["addr"].startswith("10.20.0.") and address["addr"] != GATEWAY
    status, ips = cloud.api("GET", f"/servers/{server['id']}/ips/private")
    assert status == 200 and ips == {"private": [{"version": 4, "addr": address["addr"]}]}

    assert wait_for(lambda: mac in hosts_file(), 30, message=lambda: hosts_file())
    guest = plug_guest(guests, mac)
    assert dhcp_lease(guest, tmp_path) == (address["addr"], GATEWAY)
    assert reachable(guest, GATEWAY)

    cloud.api("DELETE", f"/servers/{server['id']}")
    servers.wait_gone(cloud, server["id"])
    assert wait_for(lambda: mac not in hosts_file(), 30, message=lambda: hosts_file())


def test_kill_9_and_restart_of_kumo_network_keeps_rules_and_leases(
        cloud: Cloud, guests: list[str], tmp_path: Path) -> None:
    server = boot_active(cloud, "db")
    [address] = server["addresses"]["private"]
    mac = address["OS-EXT-IPS-MAC:mac_addr"]
    assert wait_for(lambda: mac in hosts_file(), 30)
    guest = plug_guest(guests, mac)
    assert dhcp_lease(guest, tmp_path)[0] == address["addr"]
    rules = kumo_rules()
    assert f"-i {BRIDGE}" not in rules  # one network: nothing to isolate
    assert f"-s {CIDR} -o pub-h -j MASQUERADE" in rules

    cloud.daemons["kumo-network"].kill()
    # What a crashed host loses too: dnsmasq, and kumo's iptables chains.
    old_pid = dnsmasq_pid()
    assert old_pid is not None
    subprocess.run(["kill", "-9", str(old_pid)], check=True)
    run(HOST_NS, "iptables", "-t", "nat", "-F", "kumo-snat")
    assert f"-s {CIDR} -o pub-h -j MASQUERADE" not in kumo_rules()

    cloud.ensure_running()
    assert wait_for(lambda: dnsmasq_pid() not in (None, old_pid), 60,
                    message=lambda: cloud.log_tails(["kumo-network"]))
    assert wait_for(lambda: kumo_rules() == rules, 30,
                    message=lambda: f"{kumo_rules()}\n!=\n{rules}")
    assert mac in hosts_file()
    # The lease survived, and the guest renews the same address from the new dnsmasq.
    leases = (Path(NETWORKS_PATH) / f"kumo-{BRIDGE}.leases").read_text()
    assert address["addr"] in leases
    assert dhcp_lease(guest, tmp_path) == (address["addr"], GATEWAY)
    assert reachable(guest, GATEWAY)

    cloud.api("DELETE", f"/servers/{server['id']}")
    servers.wait_gone(cloud, server["id"])


def test_floating_ip_and_security_group_guard_a_server_from_outside(
        cloud: Cloud, guests: list[str], tmp_path: Path) -> None:
    # The server joins its group at boot: inbound is denied from the start.
    status, body = cloud.api("POST", "/os-security-groups", {"security_group": {
        "name": "web", "description": "web servers"}})
    assert status == 200, body
    group_id = body["security_group"]["id"]
    status, body = cloud.api("POST", "/servers", {"server": {
        "name": "app", "imageRef": servers.image_id(cloud), "flavorRef": "2",
        "security_groups": [{"name": "web"}]}})
    assert status == 202, body
    assert body["server"]["security_groups"] == [{"name": "web"}]
    server = servers.wait_status(cloud, body["server"]["id"], "ACTIVE")
    status, body = cloud.api("GET", f"/servers/{server['id']}/os-security-groups")
    assert status == 200 and [g["name"] for g in body["security_groups"]] == ["web"]
    [address] = server["addresses"]["private"]
    mac = address["OS-EXT-IPS-MAC:mac_addr"]
    assert wait_for(lambda: mac in hosts_file(), 30)
    guest = plug_guest(guests, mac)
    assert dhcp_lease(guest, tmp_path) == (address["addr"], GATEWAY)
    listener = start_listener(guest, "0.0.0.0", 8080)
    try:
        status, body = cloud.api("POST", "/os-floating-ips", {"pool": "public"})
        assert status == 200, body
        floating, floating_id = body["floating_ip"]["ip"], body["floating_ip"]["id"]
        assert floating.startswith("203.0.113.") and body["floating_ip"]["pool"] == "public"
        assert tcp_peer(EXT_NS, floating, 8080) is None

        status, body = cloud.api("POST", f"/servers/{server['id']}/action",
                                 {"addFloatingIp": {"address": floating}})
        assert status == 202, body
        assert wait_for(lambda: f"-d {floating}/32 -j DNAT" in kumo_rules(), 30,
                        message=lambda: kumo_rules())
        status, body = cloud.api("GET", f"/servers/{server['id']}")
        assert {"version": 4, "addr": floating, "OS-EXT-IPS:type": "floating",
                "OS-EXT-IPS-MAC:mac_addr": mac} in body["server"]["addresses"]["private"]

        # The group denies inbound by default, until a rule opens the port.
        assert tcp_peer(EXT_NS, floating, 8080) is None
        status, body = cloud.api("POST", "/os-security-group-rules", {"security_group_rule": {
            "parent_group_id": group_id, "ip_protocol": "tcp", "from_port": 8080,
            "to_port": 8080, "cidr": "203.0.113.0/24"}})
        assert status == 200, body
        assert body["security_group_rule"]["ip_range"] == {"cidr": "203.0.113.0/24"}
        # Reachable from outside, the client's own address preserved (DNAT only).
        assert wait_for(lambda: tcp_peer(EXT_NS, floating, 8080), 30,
                        message=lambda: kumo_rules()) == EXTERNAL_IP
        # Out of the group (in none left): open again; back in: closed.
        status, _ = cloud.api("POST", f"/servers/{server['id']}/action",
                              {"removeSecurityGroup": {"name": "web"}})
        assert status == 202
        status, _ = cloud.api("POST", f"/servers/{server['id']}/action",
                              {"addSecurityGroup": {"name": "default"}})
        assert status == 202
        assert wait_for(lambda: tcp_peer(EXT_NS, floating, 8080) is None, 30,
                        message=lambda: kumo_rules())

        status, _ = cloud.api("POST", f"/servers/{server['id']}/action",
                              {"removeFloatingIp": {"address": floating}})
        assert status == 202
        assert wait_for(lambda: tcp_peer(EXT_NS, floating, 8080) is None, 30,
                        message=lambda: kumo_rules())
        status, _ = cloud.api("DELETE", f"/os-floating-ips/{floating_id}")
        assert status == 202
        assert cloud.api("GET", f"/os-floating-ips/{floating_id}")[0] == 404
    finally:
        listener.kill()
        listener.wait()
    cloud.api("DELETE", f"/servers/{server['id']}")
    servers.wait_gone(cloud, server["id"])


def test_boot_groups_quotas_and_network_association(cloud: Cloud) -> None:
    """What the API adds around kumo-network: boot-time groups (400 for an
    unknown one), overLimit on floating IPs, groups and rules, renaming a
    group, and os-networks' add/associate/disassociate (admin)."""
    status, body = cloud.api("POST", "/servers", {"server": {
        "name": "nope", "imageRef": servers.image_id(cloud), "flavorRef": "2",
        "security_groups": [{"name": "no-such-group"}]}})
    assert status == 400 and "no-such-group" in body["badRequest"]["message"]

    project = f"q{TAG}"
    token = f"user:{project}"
    status, _ = cloud.api("PUT", f"/os-quota-sets/{project}", {"quota_set": {
        "floating_ips": 1, "security_groups": 1, "security_group_rules": 1}})
    assert status == 200
    public = {"pool": "public"}
    assert cloud.api("POST", "/os-floating-ips", public, token=token)[0] == 200
    status, body = cloud.api("POST", "/os-floating-ips", public, token=token)
    assert status == 403 and "floating_ips" in body["overLimit"]["message"], body
    status, body = cloud.api("POST", "/os-security-groups", {"security_group": {
        "name": "one", "description": "first"}}, token=token)
    assert status == 200, body
    group_id = body["security_group"]["id"]
    status, body = cloud.api("POST", "/os-security-groups", {"security_group": {
        "name": "two", "description": "second"}}, token=token)
    assert status == 403 and "security_groups" in body["overLimit"]["message"], body
    rule = {"parent_group_id": group_id, "ip_protocol": "tcp", "from_port": 22,
            "to_port": 22, "cidr": "0.0.0.0/0"}
    assert cloud.api("POST", "/os-security-group-rules", {"security_group_rule": rule},
                     token=token)[0] == 200
    status, body = cloud.api("POST", "/os-security-group-rules", {"security_group_rule": {
        **rule, "from_port": 80, "to_port": 80}}, token=token)
    assert status == 403 and "security_group_rules" in body["overLimit"]["message"], body
    status, body = cloud.api("PUT", f"/os-security-groups/{group_id}", {"security_group": {
        "name": "renamed", "description": "new"}}, token=token)
    assert status == 200 and body["security_group"]["name"] == "renamed", body
    # The proxies end at 2.35.
    status, _ = cloud.api("GET", "/os-security-groups", token=token, version="2.36")
    assert status == 404

    [network] = cloud.api("GET", "/os-networks")[1]["networks"]
    path = f"/os-networks/{network['id']}"
    assert cloud.api("POST", f"{path}/action", {"associate_host": "elsewhere"},
                     token=token)[0] == 403
    assert cloud.api("POST", f"{path}/action", {"associate_host": "elsewhere"})[0] == 202
    assert cloud.api("POST", "/os-networks/add", {"id": network["id"]})[0] == 202
    shown = cloud.api("GET", path)[1]["network"]
    assert (shown["host"], shown["project_id"]) == ("elsewhere", "admin")
    assert cloud.api("POST", f"{path}/action", {"disassociate": None})[0] == 202
    shown = cloud.api("GET", path)[1]["network"]
    assert (shown["host"], shown["project_id"]) == (None, None)
    cloud.api("DELETE", f"/os-quota-sets/{project}")
