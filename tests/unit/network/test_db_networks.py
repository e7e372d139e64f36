"""kumo.db.networks: network rows, guarded fixed-IP allocation, VIFs, release."""

from __future__ import annotations

import concurrent.futures
import uuid

import pytest

from kumo import exception
from kumo.db import networks


def _network(cidr: str = "10.0.0.0/24", **values: object) -> dict:
    return networks.network_create({"label": "private", "cidr": cidr, "bridge": "br100",
                                    **values})


def test_network_create_reserves_network_gateway_and_broadcast(db: str) -> None:
    network = _network("10.0.0.0/29")

    assert network["gateway"] == "10.0.0.1"
    assert network["netmask"] == "255.255.255.248"
    rows = networks.fixed_ips_get_all(network["uuid"], allocated_only=False)
    assert [r["address"] for r in rows if r["reserved"]] == ["10.0.0.0", "10.0.0.1",
                                                            "10.0.0.7"]
    assert len(rows) == 8


def test_network_with_a_taken_range_is_refused(db: str) -> None:
    _network()
    with pytest.raises(exception.NetworkExists):
        _network()


def test_allocation_gives_a_mac_and_the_first_free_address(db: str) -> None:
    network = _network()
    vif = networks.fixed_ip_allocate("inst-1", network["uuid"], host="h1")

    assert vif["address"].startswith("fa:16:3e:")
    [info] = networks.instance_network_info("inst-1")
    assert info["address"] == vif["address"]
    assert info["network"]["bridge"] == "br100"
    assert info["network"]["subnets"][0]["ips"][0]["address"] == "10.0.0.2"
    assert info["network"]["subnets"][0]["gateway"] == "10.0.0.1"


def test_allocation_is_idempotent_per_instance_and_network(db: str) -> None:
    network = _network()
    first = networks.fixed_ip_allocate("inst-1", network["uuid"])
    again = networks.fixed_ip_allocate("inst-1", network["uuid"])

    assert again["id"] == first["id"]
    assert len(networks.fixed_ips_get_all(network["uuid"])) == 1


def test_requested_address_is_honoured_and_not_given_twice(db: str) -> None:
    network = _network()
    networks.fixed_ip_allocate("inst-1", network["uuid"], address="10.0.0.50")

    with pytest.raises(exception.FixedIpAlreadyInUse):
        networks.fixed_ip_allocate("inst-2", network["uuid"], address="10.0.0.50")
    with pytest.raises(exception.FixedIpNotFoundForNetwork):
        networks.fixed_ip_allocate("inst-2", network["uuid"], address="10.9.0.5")
    # The failed attempts left no VIF behind.
    assert networks.instance_network_info("inst-2") == []


def test_exhausted_network_raises_no_more_fixed_ips(db: str) -> None:
    network = _network("10.0.0.0/30")  # one usable address
    networks.fixed_ip_allocate("inst-1", network["uuid"])
    with pytest.raises(exception.NoMoreFixedIps):
        networks.fixed_ip_allocate("inst-2", network["uuid"])


def test_deallocate_releases_addresses_and_vifs_idempotently(db: str) -> None:
    network = _network()
    networks.fixed_ip_allocate("inst-1", network["uuid"])
    networks.info_cache_update("inst-1", networks.instance_network_info("inst-1"))

    assert networks.deallocate_for_instance("inst-1") == [network["uuid"]]
    assert networks.deallocate_for_instance("inst-1") == []
    assert networks.instance_network_info("inst-1") == []
    assert networks.fixed_ips_get_all(network["uuid"]) == []
    assert networks.info_cache_get(["inst-1"]) == {"inst-1": []}
    # The next boot gets an address nobody used yet, not the one just released.
    networks.fixed_ip_allocate("inst-2", network["uuid"])
    assert networks.fixed_ips_get_all(network["uuid"])[0]["address"] == "10.0.0.3"


def test_network_in_use_cannot_be_deleted(db: str) -> None:
    network = _network()
    networks.fixed_ip_allocate("inst-1", network["uuid"])
    with pytest.raises(exception.NetworkInUse):
        networks.network_delete(network["uuid"])
    networks.deallocate_for_instance("inst-1")
    networks.network_delete(network["uuid"])
    with pytest.raises(exception.NetworkNotFound):
        networks.network_get(network["uuid"])


def test_fifty_concurrent_allocations_never_share_an_address(db: str) -> None:
    network = _network("10.0.0.0/24")
    instances = [str(uuid.uuid4()) for _ in range(50)]

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        vifs = list(pool.map(lambda u: networks.fixed_ip_allocate(u, network["uuid"]),
                             instances))

    rows = networks.fixed_ips_get_all(network["uuid"])
    addresses = [row["address"] for row in rows]
    assert len(addresses) == 50 and len(set(addresses)) == 50
    assert {row["instance_uuid"] for row in rows} == set(instances)
    assert len({vif["address"] for vif in vifs}) == 50


def test_project_vlan_network_is_created_once_per_project(db: str) -> None:
    values = {"fixed_range": "10.10.0.0/16", "network_size": 256, "vlan_start": 100}

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        made = list(pool.map(lambda _: networks.project_vlan_network("p1", values),
                             range(4)))
    other = networks.project_vlan_network("p2", values)

    assert len({n["uuid"] for n in made}) == 1
    assert (made[0]["vlan"], made[0]["cidr"], made[0]["bridge"]) == (100, "10.10.0.0/24",
                                                                     "br100")
    assert (other["vlan"], other["cidr"]) == (101, "10.10.1.0/24")


def _held(network_uuid: str) -> dict[str, str]:
    """address -> server of the released addresses still associated with one."""
    return {r["address"]: r["instance_uuid"] for r in networks.fixed_ips_get_all(
        network_uuid, allocated_only=False) if r["instance_uuid"] and not r["allocated"]}


def test_a_released_address_stays_associated_and_goes_out_last(db: str) -> None:
    network = _network("10.0.0.0/29")  # .2 to .6 usable
    networks.fixed_ip_allocate("old", network["uuid"])
    networks.deallocate_for_instance("old")
    assert _held(network["uuid"]) == {"10.0.0.2": "old"}

    taken = [networks.fixed_ip_allocate(f"new-{i}", network["uuid"]) and
             networks.instance_network_info(f"new-{i}")[0]["network"]["subnets"][0]
             ["ips"][0]["address"] for i in range(5)]
    # The held address is handed out only once every other one is gone.
    assert taken == ["10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.2"]
    with pytest.raises(exception.NoMoreFixedIps):
        networks.fixed_ip_allocate("one-more", network["uuid"])


def test_a_held_address_goes_back_to_its_server_and_not_to_a_request(db: str) -> None:
    network = _network()
    networks.fixed_ip_allocate("old", network["uuid"], address="10.0.0.50")
    networks.deallocate_for_instance("old")

    with pytest.raises(exception.FixedIpAlreadyInUse):
        networks.fixed_ip_allocate("other", network["uuid"], address="10.0.0.50")
    # A rescheduled build gets its own address back, asked for or not.
    networks.fixed_ip_allocate("old", network["uuid"])
    assert [r["address"] for r in networks.fixed_ips_get_all(network["uuid"])] == [
        "10.0.0.50"]


def test_holds_end_after_the_timeout(db: str) -> None:
    network = _network()
    for name in ("a", "b"):
        networks.fixed_ip_allocate(name, network["uuid"])
        networks.deallocate_for_instance(name)
    assert networks.fixed_ip_disassociate_all_by_timeout(600) == 0
    assert networks.fixed_ip_disassociate_all_by_timeout(0) == 2
    assert _held(network["uuid"]) == {}
    networks.fixed_ip_allocate("c", network["uuid"], address="10.0.0.2")


def test_zero_timeout_disassociates_at_release(db: str) -> None:
    from kumo.conf import CONF

    network = _network()
    networks.fixed_ip_allocate("old", network["uuid"])
    CONF.set_override("fixed_ip_disassociate_timeout", 0)
    try:
        networks.deallocate_for_instance("old")
    finally:
        CONF.clear_override("fixed_ip_disassociate_timeout")
    assert _held(network["uuid"]) == {}


def test_overlapping_ranges_are_refused(db: str) -> None:
    from kumo.db import floating_ips

    _network("10.0.0.0/24")
    floating_ips.floating_ip_bulk_create("nova", "203.0.113.0/29")

    with pytest.raises(exception.CidrConflict) as error:
        _network("10.0.0.128/25")
    assert error.value.code == 409
    assert str(error.value.message) == ("Requested cidr (10.0.0.128/25) conflicts with "
                                        "existing cidr (10.0.0.0/24)")
    with pytest.raises(exception.FloatingRangeConflict):
        _network("203.0.113.0/24")
    with pytest.raises(exception.CidrConflict):  # and a floating range over a network
        floating_ips.floating_ip_bulk_create("nova", "10.0.0.200/29")
    assert _network("10.0.1.0/24")["cidr"] == "10.0.1.0/24"


def test_concurrent_overlapping_creates_make_one_network(db: str) -> None:
    def create(cidr: str) -> str:
        try:
            return _network(cidr)["cidr"]
        except exception.CidrConflict:
            return "refused"

    cidrs = ["10.5.0.0/25", "10.5.0.0/24", "10.5.0.0/23", "10.5.0.0/22"]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(create, cidrs))
    assert got.count("refused") == 3
    assert len(networks.network_get_all()) == 1
