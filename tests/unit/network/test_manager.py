"""kumo-network's managers over a real conductor endpoint (fake bus, SQLite file).

The host plumbing (:func:`kumo.network.host.converge`) is recorded instead of
run: it needs root and namespaces (see tests/functional/test_network.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import oslo_messaging as messaging
import pytest

from kumo import context, exception
from kumo.conductor import manager as conductor_manager
from kumo.conductor import rpcapi as conductor_rpcapi
from kumo.conf import CONF
from kumo.network import host as host_net
from kumo.network import manager


@pytest.fixture
def conductor(rpc_servers: Callable[[messaging.Target, list[Any]], None],
              conductor_db: None) -> conductor_rpcapi.ConductorAPI:
    rpc_servers(messaging.Target(topic=conductor_rpcapi.TOPIC, server="c1"),
                [conductor_manager.ConductorManager(host="c1")])
    return conductor_rpcapi.ConductorAPI(timeout=10)


@pytest.fixture
def converged(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []

    def record(networks: list, fixed_ips: list, host: str, layout: host_net.Layout,
               namespace: str | None = None, **state: Any) -> list[str]:
        calls.append((networks, fixed_ips, host, layout))
        return []

    monkeypatch.setattr(host_net, "converge", record)
    return calls


@pytest.fixture
def ctxt() -> context.RequestContext:
    return context.get_admin_context()


def _make(cls: type[manager.NetworkManager], conductor: Any) -> manager.NetworkManager:
    return cls(host="compute1", conductor=conductor, start_privsep=False)


def _ips(network_info: list[dict]) -> list[str]:
    return [ip["address"] for vif in network_info for subnet in vif["network"]["subnets"]
            for ip in subnet["ips"]]


def test_flatdhcp_auto_allocates_on_the_shared_network_and_converges(
        conductor: Any, converged: list, ctxt: Any) -> None:
    conductor.network_create(ctxt, {"label": "private", "cidr": "10.0.0.0/24",
                                    "bridge": "br100"})
    net = _make(manager.FlatDHCPManager, conductor)

    info = net.allocate_for_instance(ctxt, "inst-1", "p1", host="compute1")

    assert _ips(info) == ["10.0.0.2"]
    assert info[0]["network"]["bridge"] == "br100"
    networks, fixed_ips, host, layout = converged[-1]
    assert layout.dhcp and not layout.vlan
    assert [(ip["address"], ip["mac"]) for ip in fixed_ips] == [("10.0.0.2",
                                                                 info[0]["address"])]
    assert conductor.instance_info_cache_get(ctxt, ["inst-1"]) == {"inst-1": info}
    # A retry (reschedule, lost answer) gets the same VIF and address.
    assert net.allocate_for_instance(ctxt, "inst-1", "p1", host="compute1") == info


def test_requested_network_and_fixed_ip_are_honoured(conductor: Any, converged: list,
                                                     ctxt: Any) -> None:
    conductor.network_create(ctxt, {"label": "a", "cidr": "10.0.0.0/24", "bridge": "br1"})
    b = conductor.network_create(ctxt, {"label": "b", "cidr": "10.1.0.0/24",
                                        "bridge": "br2"})
    net = _make(manager.FlatDHCPManager, conductor)

    info = net.allocate_for_instance(ctxt, "inst-1", "p1", requested_networks=[
        {"uuid": b["uuid"], "fixed_ip": "10.1.0.77"}], macs=["fa:16:3e:aa:bb:cc"])

    assert _ips(info) == ["10.1.0.77"]
    assert info[0]["address"] == "fa:16:3e:aa:bb:cc"
    assert net.allocate_for_instance(ctxt, "inst-2", "p1", requested_networks="none") == []


def test_another_projects_network_cannot_be_requested(conductor: Any, converged: list,
                                                      ctxt: Any) -> None:
    other = conductor.network_create(ctxt, {"label": "theirs", "cidr": "10.0.0.0/24",
                                            "bridge": "br1", "project_id": "p2"})
    net = _make(manager.FlatDHCPManager, conductor)
    with pytest.raises(exception.NetworkNotFound):
        net.allocate_for_instance(ctxt, "inst-1", "p1",
                                  requested_networks=[{"uuid": other["uuid"]}])


def test_failed_allocation_leaves_nothing_behind(conductor: Any, converged: list,
                                                 ctxt: Any) -> None:
    a = conductor.network_create(ctxt, {"label": "a", "cidr": "10.0.0.0/24", "bridge": "b1"})
    tiny = conductor.network_create(ctxt, {"label": "t", "cidr": "10.9.0.0/30",
                                           "bridge": "b2"})
    net = _make(manager.FlatDHCPManager, conductor)
    net.allocate_for_instance(ctxt, "inst-0", "p1", requested_networks=[
        {"uuid": tiny["uuid"]}])

    with pytest.raises(exception.NoMoreFixedIps):
        net.allocate_for_instance(ctxt, "inst-1", "p1", requested_networks=[
            {"uuid": a["uuid"]}, {"uuid": tiny["uuid"]}])
    assert conductor.instance_network_info(ctxt, "inst-1") == []


def test_deallocate_releases_and_is_idempotent(conductor: Any, converged: list,
                                               ctxt: Any) -> None:
    conductor.network_create(ctxt, {"label": "private", "cidr": "10.0.0.0/24",
                                    "bridge": "br100"})
    net = _make(manager.FlatDHCPManager, conductor)
    net.allocate_for_instance(ctxt, "inst-1", "p1")

    net.deallocate_for_instance(ctxt, "inst-1")
    net.deallocate_for_instance(ctxt, "inst-1")

    assert conductor.fixed_ips_get_all(ctxt) == []
    assert converged[-1][1] == []


def test_no_network_at_all_is_a_clear_error(conductor: Any, converged: list,
                                            ctxt: Any) -> None:
    net = _make(manager.FlatManager, conductor)
    with pytest.raises(exception.Invalid, match="kumo-manage network create"):
        net.allocate_for_instance(ctxt, "inst-1", "p1")
    # Nothing to serve: the host is left alone.
    assert net.sync_host(ctxt) == [] and converged == []


def test_vlan_manager_creates_one_network_per_project(conductor: Any, converged: list,
                                                      ctxt: Any) -> None:
    CONF.set_override("vlan_interface", "eth1", group="network")
    try:
        net = _make(manager.VlanManager, conductor)
        one = net.allocate_for_instance(ctxt, "inst-1", "p1")
        two = net.allocate_for_instance(ctxt, "inst-2", "p1")
        other = net.allocate_for_instance(ctxt, "inst-3", "p2")
    finally:
        CONF.clear_override("vlan_interface", group="network")

    assert one[0]["network"]["id"] == two[0]["network"]["id"]
    assert (one[0]["network"]["vlan"], one[0]["network"]["bridge"]) == (100, "br100")
    assert (other[0]["network"]["vlan"], _ips(other)) == (101, ["10.0.1.2"])
    assert _ips(one) + _ips(two) == ["10.0.0.2", "10.0.0.3"]
    assert converged[-1][3].vlan


def test_load_manager_follows_the_configuration() -> None:
    CONF.set_override("network_manager", "vlan", group="network")
    try:
        assert isinstance(manager.load_manager(start_privsep=False), manager.VlanManager)
    finally:
        CONF.clear_override("network_manager", group="network")


def test_other_serving_hosts_are_told_to_converge(conductor: Any, converged: list,
                                                  ctxt: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A network associated with another host, or a multi-host network whose
    instance runs elsewhere, is served there: a fanout refresh, not a wait for
    the periodic sync. A network served here alone needs none."""
    from kumo.network import rpcapi

    refreshed: list[Any] = []
    monkeypatch.setattr(rpcapi.NetworkAPI, "refresh", lambda self, c: refreshed.append(c))
    here = conductor.network_create(ctxt, {"label": "here", "cidr": "10.0.0.0/24",
                                           "bridge": "br1"})
    multi = conductor.network_create(ctxt, {"label": "multi", "cidr": "10.1.0.0/24",
                                            "bridge": "br2", "multi_host": True})
    net = _make(manager.FlatDHCPManager, conductor)

    net.allocate_for_instance(ctxt, "i1", "p1", host="compute1",
                              requested_networks=[{"uuid": here["uuid"]}])
    assert refreshed == []
    net.allocate_for_instance(ctxt, "i2", "p1", host="compute2",
                              requested_networks=[{"uuid": multi["uuid"]}])
    assert len(refreshed) == 1
    conductor.network_associate(ctxt, network_uuid=here["uuid"], values={"host": "net2"})
    net.allocate_for_instance(ctxt, "i3", "p1", host="compute1",
                              requested_networks=[{"uuid": here["uuid"]}])
    assert len(refreshed) == 2


def test_a_network_with_a_host_is_served_by_that_host_only() -> None:
    network = {"uuid": "n", "multi_host": False, "host": None}
    assert host_net.served_here(network, [], "h1")
    assert host_net.served_here({**network, "host": "h1"}, [], "h1")
    assert not host_net.served_here({**network, "host": "h2"}, [], "h1")


def test_a_just_released_address_is_not_handed_to_the_next_server(
        conductor: Any, converged: list, ctxt: Any) -> None:
    conductor.network_create(ctxt, {"label": "private", "cidr": "10.0.0.0/24",
                                    "bridge": "br100"})
    net = _make(manager.FlatDHCPManager, conductor)
    assert _ips(net.allocate_for_instance(ctxt, "old", "p1")) == ["10.0.0.2"]
    net.deallocate_for_instance(ctxt, "old")

    assert _ips(net.allocate_for_instance(ctxt, "new", "p1")) == ["10.0.0.3"]
    # The periodic task ends holds older than the timeout (none are, at 600 s).
    net._disassociate_stale_fixed_ips(ctxt)
    assert not any(r["address"] == "10.0.0.2" and r["instance_uuid"] is None
                   for r in conductor.fixed_ips_get_all(ctxt, allocated_only=False))
    CONF.set_override("fixed_ip_disassociate_timeout", 0)
    try:
        net._disassociate_stale_fixed_ips(ctxt)
    finally:
        CONF.clear_override("fixed_ip_disassociate_timeout")
    assert [r["instance_uuid"] for r in conductor.fixed_ips_get_all(
        ctxt, allocated_only=False) if r["address"] == "10.0.0.2"] == [None]
