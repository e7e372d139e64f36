"""kumo.db's additions for kumo-network's API: quotas on floating IPs, security
groups and rules; boot-time group membership; group renames; and os-networks'
project/host association."""

from __future__ import annotations

import concurrent.futures

import pytest

from kumo import exception
from kumo.db import floating_ips, network_quotas, networks, quotas, security_groups


def test_floating_ips_stop_at_the_quota_even_when_concurrent(db: str) -> None:
    floating_ips.floating_ip_bulk_create("public", "203.0.113.0/28")
    quotas.quota_update("p1", {"floating_ips": 3})

    def allocate(_: int) -> str:
        try:
            return floating_ips.floating_ip_allocate("p1", "public")["address"]
        except exception.OverQuota as error:
            return str(error)

    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        got = list(pool.map(allocate, range(6)))
    assert len([g for g in got if g.startswith("203.")]) == 3
    assert all("floating_ips" in g for g in got if not g.startswith("203."))
    # Another project is not affected, and a released address makes room.
    floating_ips.floating_ip_allocate("p2", "public")
    floating_ips.floating_ip_deallocate(next(g for g in got if g.startswith("203.")), "p1")
    floating_ips.floating_ip_allocate("p1", "public")


def test_security_groups_and_rules_are_counted(db: str) -> None:
    quotas.quota_update("p1", {"security_groups": 1, "security_group_rules": 2})
    security_groups.security_group_ensure_default("p1")  # not counted
    web = security_groups.security_group_create("p1", "web")
    with pytest.raises(exception.OverQuota, match="security_groups"):
        security_groups.security_group_create("p1", "db")
    rule = {"parent_group_id": web["id"], "protocol": "tcp", "cidr": "0.0.0.0/0"}
    for port in (22, 80):
        security_groups.security_group_rule_create({**rule, "from_port": port,
                                                    "to_port": port})
    with pytest.raises(exception.OverQuota, match="security_group_rules"):
        security_groups.security_group_rule_create({**rule, "from_port": 443,
                                                    "to_port": 443})
    # Per group: the default group still has room.
    default = security_groups.security_groups_by_name("p1", ["default"])[0]
    security_groups.security_group_rule_create({**rule, "parent_group_id": default["id"],
                                                "from_port": 22, "to_port": 22})


def test_usage_is_what_the_checks_count(db: str) -> None:
    floating_ips.floating_ip_bulk_create("public", "203.0.113.0/29")
    floating_ips.floating_ip_allocate("p1", "public")
    floating_ips.floating_ip_allocate("p2", "public")
    security_groups.security_group_ensure_default("p1")  # not counted
    web = security_groups.security_group_create("p1", "web", user_id="u1")
    db_group = security_groups.security_group_create("p1", "db", user_id="u2")
    rule = {"protocol": "tcp", "cidr": "0.0.0.0/0"}
    for group, ports in ((web, (22, 80, 443)), (db_group, (5432,))):
        for port in ports:
            security_groups.security_group_rule_create({
                **rule, "parent_group_id": group["id"], "from_port": port, "to_port": port})

    assert network_quotas.usage("p1") == {"floating_ips": 1, "security_groups": 2,
                                          "security_group_rules": 3}
    assert network_quotas.usage("p1", "u2")["security_groups"] == 1
    assert network_quotas.usage("p3") == {"floating_ips": 0, "security_groups": 0,
                                          "security_group_rules": 0}


def test_boot_groups_by_name_and_bulk_membership(db: str) -> None:
    web = security_groups.security_group_create("p1", "web")
    security_groups.security_group_create("p2", "db")
    found = security_groups.security_groups_by_name("p1", ["web", "default", "web"])
    assert [g["name"] for g in found] == ["web", "default"]  # default made on first use
    with pytest.raises(exception.NotFound, match="db"):
        security_groups.security_groups_by_name("p1", ["db"])  # p2's, not p1's

    ids = [g["id"] for g in found]
    security_groups.security_group_add_instance(web["id"], "i1")
    security_groups.security_group_add_instances(ids, ["i1", "i2"])
    security_groups.security_group_add_instances(ids, ["i1", "i2"])  # idempotent
    for uuid in ("i1", "i2"):
        assert sorted(g["name"] for g in security_groups.security_groups_of_instance(
            uuid)) == ["default", "web"]


def test_groups_are_renamed_but_not_default(db: str) -> None:
    web = security_groups.security_group_create("p1", "web")
    security_groups.security_group_create("p1", "db")
    renamed = security_groups.security_group_update(web["id"], {"name": "www",
                                                                "description": "d"}, "p1")
    assert (renamed["name"], renamed["description"]) == ("www", "d")
    with pytest.raises(exception.Conflict):
        security_groups.security_group_update(web["id"], {"name": "db"}, "p1")
    with pytest.raises(exception.NotFound):
        security_groups.security_group_update(web["id"], {"name": "x"}, "p2")
    default = security_groups.security_group_ensure_default("p1")
    with pytest.raises(exception.Conflict, match="default"):
        security_groups.security_group_update(default["id"], {"name": "x"}, "p1")


def test_networks_are_given_to_projects_and_hosts(db: str) -> None:
    first = networks.network_create({"cidr": "10.0.0.0/29", "bridge": "br1"})
    second = networks.network_create({"cidr": "10.0.1.0/29", "bridge": "br2"})
    assert networks.network_add_to_project("p1")["uuid"] == first["uuid"]
    assert networks.network_add_to_project("p2")["uuid"] == second["uuid"]
    with pytest.raises(exception.NetworkNotFound):
        networks.network_add_to_project("p3")
    row = networks.network_associate(first["uuid"], {"host": "h1"})
    assert (row["project_id"], row["host"]) == ("p1", "h1")
    row = networks.network_associate(first["uuid"], {"project_id": None, "host": None})
    assert (row["project_id"], row["host"]) == (None, None)
    assert networks.network_add_to_project("p3", second["uuid"])["project_id"] == "p3"


def test_groups_survive_a_reschedule_but_not_a_delete(db: str) -> None:
    from kumo.db import instances

    network = networks.network_create({"cidr": "10.0.0.0/24", "bridge": "br100"})
    [server] = instances.instance_create([{
        "project_id": "p1", "user_id": "u1", "display_name": "vm", "memory_mb": 512,
        "vcpus": 1, "root_gb": 1}])
    uuid = server["uuid"]
    web = security_groups.security_group_create("p1", "web")
    security_groups.security_group_add_instances([web["id"]], [uuid])

    networks.fixed_ip_allocate(uuid, network["uuid"], host="h1")
    networks.deallocate_for_instance(uuid)  # a failed build, rescheduled
    assert [g["name"] for g in security_groups.security_groups_of_instance(uuid)] == ["web"]

    networks.fixed_ip_allocate(uuid, network["uuid"], host="h2")
    instances.instance_update(uuid, {"task_state": "deleting"})
    networks.deallocate_for_instance(uuid)
    assert security_groups.security_groups_of_instance(uuid) == []
    security_groups.security_group_delete(web["id"], "p1")
