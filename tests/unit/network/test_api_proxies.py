"""The nova-network proxy APIs (os-networks, os-floating-ips, os-floating-ip-pools,
os-security-groups and rules, and their server actions) over the real conductor
manager and a SQLite file."""

from __future__ import annotations

from typing import Any

import pytest

from kumo.db import floating_ips as floating_db
from kumo.db import networks as network_db
from kumo.db import security_groups as secgroup_db
from tests.unit.api import conftest as api_fixtures
from tests.unit.api.conftest import call

# Policy defaults in code, no operator file (the compute API tests' own fixture).
policy_defaults = api_fixtures.policy_defaults
conductor_cloud = api_fixtures.conductor_cloud

USER = "alice:project-a"
ADMIN = "admin:project-a"


@pytest.fixture
def api(conductor_cloud: tuple[Any, Any, str], fake_bus: None) -> tuple[Any, str]:
    """The API, and a server of project-a with a fixed IP on "private"."""
    app, _conductor, image_id = conductor_cloud
    booted = call(app, "POST", "/servers", {"server": {
        "name": "web", "imageRef": image_id, "flavorRef": "2"}}, token=USER)
    server_id = booted.json["server"]["id"]
    network = network_db.network_create({"label": "private", "cidr": "10.0.0.0/24",
                                         "bridge": "br100"})
    network_db.fixed_ip_allocate(server_id, network["uuid"], host="h1")
    floating_db.floating_ip_bulk_create("public", "203.0.113.8/30")
    return app, server_id


def test_floating_ip_allocate_associate_and_release(api: tuple[Any, str]) -> None:
    app, server_id = api
    assert call(app, "GET", "/os-floating-ip-pools").json == {
        "floating_ip_pools": [{"name": "public"}]}

    made = call(app, "POST", "/os-floating-ips", {"pool": "public"})
    assert made.status_int == 200, made.json
    floating = made.json["floating_ip"]
    assert floating["pool"] == "public" and floating["instance_id"] is None
    assert call(app, "POST", f"/servers/{server_id}/action",
                {"addFloatingIp": {"address": floating["ip"]}}).status_int == 202
    shown = call(app, "GET", f"/os-floating-ips/{floating['id']}").json["floating_ip"]
    assert (shown["fixed_ip"], shown["instance_id"]) == ("10.0.0.2", server_id)
    assert call(app, "GET", "/os-floating-ips", token="bob:project-b").json == {
        "floating_ips": []}
    assert call(app, "GET", f"/os-floating-ips/{floating['id']}",
                token="bob:project-b").status_int == 404

    assert call(app, "POST", f"/servers/{server_id}/action",
                {"removeFloatingIp": {"address": floating["ip"]}}).status_int == 202
    assert call(app, "POST", f"/servers/{server_id}/action",
                {"removeFloatingIp": {"address": floating["ip"]}}).status_int == 409
    assert call(app, "DELETE", f"/os-floating-ips/{floating['id']}").status_int == 202
    assert call(app, "GET", "/os-floating-ips").json == {"floating_ips": []}
    # Pool exhausted (two addresses in a /30).
    for _ in range(2):
        assert call(app, "POST", "/os-floating-ips", {"pool": "public"}).status_int == 200
    assert call(app, "POST", "/os-floating-ips", {"pool": "public"}).status_int == 404


def test_security_groups_rules_and_server_membership(api: tuple[Any, str]) -> None:
    app, server_id = api
    listed = call(app, "GET", "/os-security-groups").json["security_groups"]
    assert [g["name"] for g in listed] == ["default"]

    group = call(app, "POST", "/os-security-groups", {"security_group": {
        "name": "web", "description": "web servers"}}).json["security_group"]
    assert call(app, "POST", "/os-security-groups", {"security_group": {
        "name": "web"}}).status_int == 409
    rule = call(app, "POST", "/os-security-group-rules", {"security_group_rule": {
        "parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": 80,
        "to_port": 80, "cidr": "0.0.0.0/0"}})
    assert rule.status_int == 200, rule.json
    assert rule.json["security_group_rule"]["ip_range"] == {"cidr": "0.0.0.0/0"}
    bad = call(app, "POST", "/os-security-group-rules", {"security_group_rule": {
        "parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": 90,
        "to_port": 80}})
    assert bad.status_int == 400

    assert call(app, "POST", f"/servers/{server_id}/action",
                {"addSecurityGroup": {"name": "web"}}).status_int == 202
    [firewall] = secgroup_db.instance_firewalls()
    assert firewall["ip"] == "10.0.0.2" and firewall["rules"][0]["from_port"] == 80
    assert call(app, "DELETE", f"/os-security-groups/{group['id']}").status_int == 409
    assert call(app, "POST", f"/servers/{server_id}/action",
                {"removeSecurityGroup": {"name": "web"}}).status_int == 202
    rule_id = rule.json["security_group_rule"]["id"]
    assert call(app, "DELETE", f"/os-security-group-rules/{rule_id}").status_int == 202
    assert call(app, "DELETE", f"/os-security-groups/{group['id']}").status_int == 202


def test_os_networks_shows_plumbing_to_admins_only(api: tuple[Any, str]) -> None:
    app, _ = api
    [user_view] = call(app, "GET", "/os-networks").json["networks"]
    [admin_view] = call(app, "GET", "/os-networks", token=ADMIN).json["networks"]
    assert user_view["label"] == "private" and "bridge" not in user_view
    assert admin_view["bridge"] == "br100"
    assert call(app, "POST", "/os-networks", {"network": {
        "label": "x", "cidr": "10.1.0.0/24"}}).status_int == 403
    made = call(app, "POST", "/os-networks", {"network": {"label": "x", "cidr": "10.1.0.0/24"}},
                token=ADMIN)
    assert made.status_int == 200, made.json
    overlapping = call(app, "POST", "/os-networks", {"network": {
        "label": "y", "cidr": "10.1.0.128/25"}}, token=ADMIN)
    assert overlapping.status_int == 409
    assert overlapping.json["conflictingRequest"]["message"] == (
        "Requested cidr (10.1.0.128/25) conflicts with existing cidr (10.1.0.0/24)")
    assert call(app, "DELETE", f"/os-networks/{made.json['network']['id']}",
                token=ADMIN).status_int == 202


def test_proxy_apis_are_gone_after_microversion_2_35(api: tuple[Any, str]) -> None:
    app, _ = api
    for path in ("/os-networks", "/os-floating-ips", "/os-floating-ip-pools",
                 "/os-security-groups"):
        old = call(app, "GET", path, **{"OpenStack-API-Version": "compute 2.35"})
        gone = call(app, "GET", path, **{"OpenStack-API-Version": "compute 2.36"})
        assert (old.status_int, gone.status_int) == (200, 404), path


def test_fixed_ips_and_virtual_interfaces(api: tuple[Any, str]) -> None:
    app, server_id = api
    v24 = {"OpenStack-API-Version": "compute 2.4"}
    assert call(app, "GET", "/os-fixed-ips/10.0.0.2").status_int == 403
    shown = call(app, "GET", "/os-fixed-ips/10.0.0.2", token=ADMIN, **v24).json["fixed_ip"]
    assert (shown["address"], shown["cidr"], shown["reserved"]) == ("10.0.0.2",
                                                                    "10.0.0.0/24", False)
    assert call(app, "POST", "/os-fixed-ips/10.0.0.2/action", {"reserve": None},
                token=ADMIN).status_int == 409
    assert call(app, "POST", "/os-fixed-ips/10.0.0.9/action", {"reserve": None},
                token=ADMIN).status_int == 202
    assert call(app, "GET", "/os-fixed-ips/10.0.0.9", token=ADMIN,
                **v24).json["fixed_ip"]["reserved"] is True
    assert call(app, "GET", "/os-fixed-ips/10.9.9.9", token=ADMIN).status_int == 404

    [vif] = call(app, "GET", f"/servers/{server_id}/os-virtual-interfaces"
                 ).json["virtual_interfaces"]
    assert vif["mac_address"].startswith("fa:16:3e:") and "net_id" not in vif
    [vif] = call(app, "GET", f"/servers/{server_id}/os-virtual-interfaces",
                 **{"OpenStack-API-Version": "compute 2.12"}).json["virtual_interfaces"]
    assert vif["net_id"]
    assert call(app, "GET", f"/servers/{server_id}/os-virtual-interfaces",
                **{"OpenStack-API-Version": "compute 2.44"}).status_int == 404


def test_boot_joins_security_groups_when_networking_is_on(api: tuple[Any, str]) -> None:
    from kumo.conf import CONF

    app, server_id = api
    image_id = call(app, "GET", "/images").json["images"][0]["id"]
    boot = {"name": "db", "imageRef": image_id, "flavorRef": "2"}
    # Off (the fixture's server): no group is joined, names are only echoed.
    assert call(app, "GET", f"/servers/{server_id}/os-security-groups",
                token=USER).json == {"security_groups": []}

    CONF.set_override("enabled", True, group="network")
    try:
        unknown = call(app, "POST", "/servers", {"server": {
            **boot, "security_groups": [{"name": "nope"}]}}, token=USER)
        assert unknown.status_int == 400 and "nope" in unknown.json["badRequest"]["message"]
        call(app, "POST", "/os-security-groups", {"security_group": {
            "name": "db", "description": "databases"}}, token=USER)
        made = call(app, "POST", "/servers", {"server": {
            **boot, "security_groups": [{"name": "db"}, {"name": "default"}]}}, token=USER)
        assert made.status_int == 202, made.json
        plain = call(app, "POST", "/servers", {"server": boot}, token=USER)
    finally:
        CONF.clear_override("enabled", group="network")
    listed = call(app, "GET", f"/servers/{made.json['server']['id']}/os-security-groups",
                  token=USER).json["security_groups"]
    assert sorted(g["name"] for g in listed) == ["db", "default"]
    listed = call(app, "GET", f"/servers/{plain.json['server']['id']}/os-security-groups",
                  token=USER).json["security_groups"]
    assert [g["name"] for g in listed] == ["default"]
    # Another project's server is not found.
    assert call(app, "GET", f"/servers/{server_id}/os-security-groups",
                token="bob:project-b").status_int == 404

    db = next(g for g in call(app, "GET", "/os-security-groups", token=USER).json[
        "security_groups"] if g["name"] == "db")
    renamed = call(app, "PUT", f"/os-security-groups/{db['id']}", {"security_group": {
        "name": "data", "description": "renamed"}}, token=USER)
    assert renamed.status_int == 200 and renamed.json["security_group"]["name"] == "data"
    assert call(app, "PUT", f"/os-security-groups/{db['id']}", {"security_group": {
        "name": "data"}}, token=USER).status_int == 400
