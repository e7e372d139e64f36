"""kumo.network.dhcp: dnsmasq's files and command, start/reload decisions."""

from __future__ import annotations

import os
import signal

import pytest

from kumo.conf import CONF
from kumo.network import dhcp

NETWORK = dhcp.DhcpNetwork(bridge="br100", cidr="10.0.0.0/24", gateway="10.0.0.1")
HOSTS = [dhcp.DhcpHost("FA:16:3E:00:00:02", "vm-b", "10.0.0.10"),
         dhcp.DhcpHost("fa:16:3e:00:00:01", "vm-a", "10.0.0.9")]


@pytest.fixture
def networks_path(tmp_path):
    CONF.set_override("networks_path", str(tmp_path), group="network")
    yield tmp_path
    CONF.clear_override("networks_path", group="network")


def test_hosts_file_is_sorted_by_address_with_lower_case_macs() -> None:
    assert dhcp.hosts_file_contents(HOSTS) == (
        "fa:16:3e:00:00:01,vm-a,10.0.0.9\nfa:16:3e:00:00:02,vm-b,10.0.0.10\n")


def test_options_router_and_dns() -> None:
    assert dhcp.opts_file_contents(NETWORK) == (
        "option:router,10.0.0.1\noption:dns-server,10.0.0.1\n")
    with_dns = dhcp.DhcpNetwork("br100", "10.0.0.0/24", "10.0.0.1", ("8.8.8.8", "8.8.4.4"))
    assert dhcp.opts_file_contents(with_dns).endswith("option:dns-server,8.8.8.8,8.8.4.4\n")


def test_dnsmasq_is_bound_to_the_bridge(networks_path) -> None:
    cmd = dhcp.dnsmasq_command(NETWORK)
    for arg in ("--strict-order", "--bind-interfaces", "--interface=br100",
                "--except-interface=lo", "--listen-address=10.0.0.1",
                "--dhcp-range=set:br100,10.0.0.0,static,255.255.255.0,86400s",
                f"--dhcp-hostsfile={networks_path}/kumo-br100.hosts",
                f"--pid-file={networks_path}/kumo-br100.pid"):
        assert arg in cmd


class FakeDnsmasq:
    """Stands in for privileged.execute/kill and /proc."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started: list[list[str]] = []
        self.signals: list[tuple[int, int]] = []
        self.cmdline: dict[int, list[str]] = {}
        monkeypatch.setattr(dhcp.privileged, "execute", self.execute)
        monkeypatch.setattr(dhcp.privileged, "kill", self.kill)
        monkeypatch.setattr(dhcp, "_cmdline", lambda pid: self.cmdline.get(pid))
        monkeypatch.setattr(dhcp, "_alive", lambda pid: pid in self.cmdline)

    def execute(self, cmd, namespace=None, detach=False, **kwargs):
        assert detach and namespace == "ns"
        pid = 1000 + len(self.started)
        self.started.append(cmd)
        self.cmdline[pid] = list(cmd)
        pidfile = next(a for a in cmd if a.startswith("--pid-file=")).split("=", 1)[1]
        with open(pidfile, "w") as handle:
            handle.write(f"{pid}\n")
        return "", ""

    def kill(self, pid, signum):
        self.signals.append((pid, signum))
        if signum != signal.SIGHUP:
            self.cmdline.pop(pid, None)
        return True


def test_update_starts_reloads_and_restarts(networks_path, monkeypatch) -> None:
    fake = FakeDnsmasq(monkeypatch)
    assert dhcp.update_dhcp(NETWORK, HOSTS[:1], namespace="ns") == "started"
    assert dhcp.running_pid("br100") == 1000
    assert (networks_path / "kumo-br100.hosts").read_text() == \
        "fa:16:3e:00:00:02,vm-b,10.0.0.10\n"
    assert oct(os.stat(networks_path / "kumo-br100.hosts").st_mode & 0o777) == "0o644"

    assert dhcp.update_dhcp(NETWORK, HOSTS[:1], namespace="ns") == "unchanged"
    assert dhcp.update_dhcp(NETWORK, HOSTS, namespace="ns") == "reloaded"
    assert fake.signals == [(1000, signal.SIGHUP)]

    CONF.set_override("dhcp_lease_time", 600, group="network")
    try:
        assert dhcp.update_dhcp(NETWORK, HOSTS, namespace="ns") == "restarted"
    finally:
        CONF.clear_override("dhcp_lease_time", group="network")
    assert fake.signals[-1] == (1000, signal.SIGTERM)
    assert dhcp.running_pid("br100") == 1001

    fake.cmdline.clear()  # dnsmasq died
    assert dhcp.running_pid("br100") is None
    assert dhcp.update_dhcp(NETWORK, HOSTS, namespace="ns") == "started"


def test_a_foreign_process_behind_a_stale_pid_file_is_not_ours(networks_path,
                                                               monkeypatch) -> None:
    fake = FakeDnsmasq(monkeypatch)
    (networks_path / "kumo-br100.pid").write_text("4242\n")
    fake.cmdline[4242] = ["/usr/bin/something-else"]
    assert dhcp.running_pid("br100") is None
    dhcp.stop_dhcp("br100")
    assert fake.signals == []
    assert not (networks_path / "kumo-br100.pid").exists()


def test_read_leases(networks_path) -> None:
    (networks_path / "kumo-br100.leases").write_text(
        "1764120000 fa:16:3e:00:00:01 10.0.0.9 vm-a *\n")
    assert dhcp.read_leases("br100") == [
        {"expiry": 1764120000, "mac": "fa:16:3e:00:00:01", "ip": "10.0.0.9",
         "hostname": "vm-a"}]
    assert dhcp.read_leases("br999") == []
