"""kumo.network.linux_net: the ip commands issued, with a fake privileged helper."""

from __future__ import annotations

import json

import pytest

from kumo import privileged
from kumo.network import linux_net


class FakeIp:
    """Records ``ip`` commands; ``links`` answers ``ip -j link show``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.links: dict[str, dict] = {}
        self.addrs: dict[str, list[str]] = {}
        self.commands: list[tuple[str | None, list[str]]] = []
        monkeypatch.setattr(privileged, "execute", self.execute)

    def execute(self, cmd, namespace=None, **kwargs):
        if cmd[:4] == ["ip", "-d", "-j", "link"]:
            dev = cmd[-1]
            if dev not in self.links:
                raise privileged.ProcessExecutionError(cmd, 1, "", "does not exist")
            return json.dumps([self.links[dev]]), ""
        if cmd[:4] == ["ip", "-j", "-4", "addr"]:
            addrs = [{"local": a.split("/")[0], "prefixlen": int(a.split("/")[1])}
                     for a in self.addrs.get(cmd[-1], [])]
            return json.dumps([{"addr_info": addrs}]), ""
        self.commands.append((namespace, cmd[1:]))
        return "", ""


def test_ensure_bridge_creates_enslaves_and_addresses(monkeypatch) -> None:
    fake = FakeIp(monkeypatch)
    fake.links["eth1"] = {"ifname": "eth1"}
    linux_net.ensure_bridge("br100", "eth1", "10.0.0.1/24", namespace="ns")
    assert fake.commands == [
        ("ns", ["link", "add", "name", "br100", "type", "bridge", "forward_delay", "0",
                "stp_state", "0"]),
        ("ns", ["link", "set", "dev", "br100", "up"]),
        ("ns", ["link", "set", "dev", "eth1", "master", "br100"]),
        ("ns", ["link", "set", "dev", "eth1", "up"]),
        ("ns", ["addr", "replace", "10.0.0.1/24", "dev", "br100"]),
    ]


def test_ensure_bridge_is_idempotent(monkeypatch) -> None:
    fake = FakeIp(monkeypatch)
    fake.links["br100"] = {"ifname": "br100", "linkinfo": {"info_kind": "bridge"}}
    fake.links["eth1"] = {"ifname": "eth1", "master": "br100"}
    fake.addrs["br100"] = ["10.0.0.1/24"]
    linux_net.ensure_bridge("br100", "eth1", "10.0.0.1/24")
    assert fake.commands == [(None, ["link", "set", "dev", "br100", "up"]),
                             (None, ["link", "set", "dev", "eth1", "up"])]


def test_ensure_bridge_refuses_a_non_bridge(monkeypatch) -> None:
    fake = FakeIp(monkeypatch)
    fake.links["br100"] = {"ifname": "br100", "linkinfo": {"info_kind": "veth"}}
    with pytest.raises(ValueError):
        linux_net.ensure_bridge("br100")


def test_ensure_vlan_bridge(monkeypatch) -> None:
    fake = FakeIp(monkeypatch)
    fake.links["eth2"] = {"ifname": "eth2"}
    original = linux_net.ensure_bridge

    def ensure_bridge(bridge, interface, gateway, namespace, mtu):
        fake.links[interface] = {"ifname": interface}  # created by the vlan step
        return original(bridge, interface, gateway, namespace, mtu)

    monkeypatch.setattr(linux_net, "ensure_bridge", ensure_bridge)
    assert linux_net.ensure_vlan_bridge(102, "br102", "eth2") == ("vlan102", "br102")
    assert fake.commands[0] == (None, ["link", "add", "link", "eth2", "name", "vlan102",
                                       "type", "vlan", "id", "102"])
    assert (None, ["link", "set", "dev", "vlan102", "master", "br102"]) in fake.commands


def test_existing_vlan_with_another_id_is_an_error(monkeypatch) -> None:
    fake = FakeIp(monkeypatch)
    fake.links["vlan5"] = {"ifname": "vlan5", "linkinfo": {"info_kind": "vlan",
                                                           "info_data": {"id": 6}}}
    with pytest.raises(ValueError):
        linux_net.ensure_vlan(5, "eth2")
    with pytest.raises(ValueError):
        linux_net.ensure_vlan(4095, "eth2")


def test_interface_names_are_checked() -> None:
    with pytest.raises(ValueError):
        linux_net.ensure_bridge("a-very-long-bridge-name")


def test_floating_ip_is_bound_as_a_host_address(monkeypatch) -> None:
    fake = FakeIp(monkeypatch)
    linux_net.bind_floating_ip("203.0.113.10", "eth0", namespace="ns")
    fake.addrs["eth0"] = ["203.0.113.10/32"]
    linux_net.bind_floating_ip("203.0.113.10", "eth0", namespace="ns")
    linux_net.unbind_floating_ip("203.0.113.10", "eth0", namespace="ns")
    assert fake.commands == [("ns", ["addr", "replace", "203.0.113.10/32", "dev", "eth0"]),
                             ("ns", ["addr", "del", "203.0.113.10/32", "dev", "eth0"])]


def test_privileged_helper_refuses_other_programs() -> None:
    privileged.run_in_process()
    with pytest.raises(ValueError):
        privileged.execute(["rm", "-rf", "/"])
    assert privileged.namespaced(["ip", "link"], "ns1") == [
        "ip", "netns", "exec", "ns1", "ip", "link"]
    assert privileged.namespaced(["ip", "link"], None) == ["ip", "link"]


def test_process_execution_error_survives_privsep_rebuild() -> None:
    error = privileged.ProcessExecutionError(["ip", "x"], 2, "", "boom\n")
    rebuilt = privileged.ProcessExecutionError(*error.args)
    assert str(rebuilt) == "'ip x' exited 2: boom"
    assert rebuilt.exit_code == 2
