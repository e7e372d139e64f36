"""kumo-network's VlanManager in a real cloud: a project's first boot creates its
own network (VLAN, bridge, subnet), plumbed inside a "host" namespace, and two
projects' networks are isolated from each other.

The kernel of the development machines has no 802.1Q support (``ip link add
… type vlan`` fails); there the isolation check skips with that reason, and
everything else — the per-project networks, the VLAN/subnet choice, servers
booting ACTIVE with their addresses — is still tested.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from tests.functional import servers
from tests.functional.harness import Cloud, wait_for
from tests.functional.test_linux_net import _unavailable_reason, run

pytestmark = pytest.mark.timeout(300)

TAG = uuid.uuid4().hex[:6]
HOST_NS = f"kumo-{TAG}-vh"
TRUNK = "trunk0"

CLOUD_OPTIONS = {
    "network": {"enabled": True, "network_manager": "vlan", "namespace": HOST_NS,
                "vlan_interface": TRUNK, "vlan_start": 300,
                "fixed_range_v4": "10.30.0.0/16", "network_size": 64,
                "networks_path": f"/tmp/kumo-networks-{TAG}", "public_interface": TRUNK},
}


def CLOUD_SETUP(cloud: Cloud) -> None:  # noqa: N802 (the harness's hook name)
    servers.create_flavors_and_image(cloud, servers.SMALL)


@pytest.fixture(scope="module", autouse=True)
def host_namespace() -> Iterator[str]:
    reason = _unavailable_reason()
    if reason is not None:
        if os.environ.get("KUMO_REQUIRE_NETNS") == "1":
            pytest.fail(f"KUMO_REQUIRE_NETNS=1, but {reason}", pytrace=False)
        pytest.skip(reason)
    subprocess.run(["ip", "netns", "add", HOST_NS], check=True, capture_output=True)
    try:
        run(HOST_NS, "ip", "link", "set", "lo", "up")
        run(HOST_NS, "ip", "link", "add", TRUNK, "type", "veth", "peer", "name", "trunk1")
        yield HOST_NS
    finally:
        for pid in subprocess.run(["ip", "netns", "pids", HOST_NS], capture_output=True,
                                  text=True).stdout.split():
            subprocess.run(["kill", "-9", pid], capture_output=True)
        subprocess.run(["ip", "netns", "del", HOST_NS], capture_output=True)
        subprocess.run(["rm", "-rf", f"/tmp/kumo-networks-{TAG}"], capture_output=True)


def vlan_supported() -> bool:
    probe = run(HOST_NS, "ip", "link", "add", "link", TRUNK, "name", "vprobe", "type",
                "vlan", "id", "4000", check=False)
    run(HOST_NS, "ip", "link", "del", "vprobe", check=False)
    return probe.returncode == 0


def test_each_project_gets_its_own_vlan_network_on_first_boot(cloud: Cloud) -> None:
    booted = {}
    for token in ("alice:proj-a", "bob:proj-b", "alice:proj-a"):
        created = servers.boot(cloud, f"vm-{len(booted)}", token=token)["server"]
        booted[created["id"]] = token
    shown = [servers.wait_status(cloud, server_id, "ACTIVE") for server_id in booted]

    networks = {}
    for server in shown:
        [(label, [address])] = server["addresses"].items()
        networks.setdefault(server["tenant_id"], set()).add(
            (label, str(ipaddress.IPv4Network(f"{address['addr']}/26", strict=False))))
    assert len(networks["proj-a"]) == 1 and len(networks["proj-b"]) == 1
    [(label_a, subnet_a)] = networks["proj-a"]
    [(label_b, subnet_b)] = networks["proj-b"]
    assert {label_a, label_b} == {"vlan300", "vlan301"}
    assert {subnet_a, subnet_b} == {"10.30.0.0/26", "10.30.0.64/26"}
    rows = cloud.query("SELECT project_id, vlan, bridge FROM networks ORDER BY vlan")
    assert [(vlan, bridge) for _, vlan, bridge in rows] == [(300, "br300"), (301, "br301")]
    assert {project for project, _, _ in rows} == {"proj-a", "proj-b"}

    if not vlan_supported():
        pytest.skip("the kernel has no 802.1Q support (ip link add ... type vlan fails): "
                    "the VLAN bridges and the isolation between projects cannot be built")
    # With VLANs: each project's bridge sits on its VLAN interface, and the
    # host drops traffic between the two bridges.
    for vlan in (300, 301):
        wait_for(lambda v=vlan: run(HOST_NS, "ip", "link", "show", f"vlan{v}",
                                    check=False).returncode == 0, 30)
    saved = run(HOST_NS, "iptables-save").stdout
    assert "-A kumo-filter-top -i br300 -o br301 -j DROP" in saved
    assert "-A kumo-filter-top -i br301 -o br300 -j DROP" in saved
