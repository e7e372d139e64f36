"""kumo.db.floating_ips and kumo.db.security_groups: pools, guarded allocation,
association, and the per-instance firewall view."""

from __future__ import annotations

import concurrent.futures

import pytest

from kumo import exception
from kumo.db import floating_ips, networks, security_groups


def test_floating_ips_are_allocated_once_each_under_concurrency(db: str) -> None:
    floating_ips.floating_ip_bulk_create("public", "203.0.113.0/27")  # 30 addresses

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda i: floating_ips.floating_ip_allocate(f"p{i}", "public"),
                            range(30)))

    assert len({ip["address"] for ip in got}) == 30
    with pytest.raises(exception.NotFound, match="No more floating IPs"):
        floating_ips.floating_ip_allocate("p1", "public")


def test_floating_ip_follows_its_fixed_ip_and_is_freed_with_the_server(db: str) -> None:
    network = networks.network_create({"cidr": "10.0.0.0/24", "bridge": "br100",
                                       "label": "private"})
    networks.fixed_ip_allocate("inst-1", network["uuid"], host="h1")
    floating_ips.floating_ip_bulk_create("public", "203.0.113.8/30")
    address = floating_ips.floating_ip_allocate("p1", "public")["address"]

    with pytest.raises(exception.NotFound):
        floating_ips.floating_ip_associate(address, "p2", "inst-1")
    row = floating_ips.floating_ip_associate(address, "p1", "inst-1", host="h1")
    assert (row["fixed_ip"], row["instance_uuid"]) == ("10.0.0.2", "inst-1")
    [vif] = networks.instance_network_info("inst-1")
    assert vif["network"]["subnets"][0]["ips"][0]["floating_ips"][0]["address"] == address

    networks.deallocate_for_instance("inst-1")
    row = floating_ips.floating_ip_get(address)
    assert (row["fixed_ip"], row["project_id"]) == (None, "p1")
    floating_ips.floating_ip_deallocate(address, "p1")
    assert floating_ips.floating_ip_get(address)["project_id"] is None


def test_instance_firewalls_resolve_rules_and_source_groups(db: str) -> None:
    network = networks.network_create({"cidr": "10.0.0.0/24", "bridge": "br100"})
    for uuid in ("web-1", "db-1"):
        networks.fixed_ip_allocate(uuid, network["uuid"], host="h1")
    web = security_groups.security_group_create("p1", "web")
    dbs = security_groups.security_group_create("p1", "db")
    security_groups.security_group_rule_create({
        "parent_group_id": web["id"], "protocol": "tcp", "from_port": 80, "to_port": 80,
        "cidr": "0.0.0.0/0"})
    security_groups.security_group_rule_create({
        "parent_group_id": dbs["id"], "protocol": "tcp", "from_port": 5432,
        "to_port": 5432, "group_id": web["id"]})
    security_groups.security_group_add_instance(web["id"], "web-1")
    security_groups.security_group_add_instance(web["id"], "web-1")  # idempotent
    security_groups.security_group_add_instance(dbs["id"], "db-1")

    firewalls = {f["instance_uuid"]: f for f in security_groups.instance_firewalls()}

    assert firewalls["web-1"]["rules"] == [{"protocol": "tcp", "from_port": 80,
                                            "to_port": 80, "cidr": "0.0.0.0/0",
                                            "source_ips": []}]
    assert firewalls["db-1"]["rules"][0]["source_ips"] == ["10.0.0.2"]
    assert firewalls["db-1"]["gateway"] == "10.0.0.1"
    with pytest.raises(exception.Conflict):
        security_groups.security_group_delete(web["id"])
    networks.deallocate_for_instance("web-1")
    security_groups.security_group_delete(web["id"])
    assert [g["name"] for g in security_groups.security_group_get_all("p1")] == ["db"]
    assert security_groups.security_group_ensure_default("p1")["name"] == "default"
