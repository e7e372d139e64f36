"""Flavors through each client: the devstack ones listed, an admin's create/delete."""

from __future__ import annotations

from tests.e2e import cloud as e2e
from tests.functional.harness import Cloud

DEVSTACK = {name: (flavor_id, ram, vcpus, disk) for name, flavor_id, ram, vcpus, disk
            in e2e.FLAVORS}


def test_novaclient_lists_and_shows_flavors(cloud: Cloud) -> None:
    nova = e2e.novaclient(cloud)
    listed = {f.name: (f.id, f.ram, f.vcpus, f.disk) for f in nova.flavors.list()}
    assert DEVSTACK.items() <= listed.items()
    assert nova.flavors.get("3").name == "m1.medium"


def test_openstacksdk_lists_and_finds_flavors(cloud: Cloud) -> None:
    conn = e2e.sdk(cloud)
    listed = {f.name: (f.id, f.ram, f.vcpus, f.disk) for f in conn.compute.flavors()}
    assert DEVSTACK.items() <= listed.items()
    assert conn.compute.find_flavor("m1.large").vcpus == 4


def test_openstack_cli_lists_and_shows_flavors(cloud: Cloud) -> None:
    listed = e2e.as_json(e2e.openstack_cli(cloud, "flavor", "list", "-f", "json"))
    assert {f["Name"]: f["ID"] for f in listed}.items() >= {
        name: spec[0] for name, spec in DEVSTACK.items()}.items()
    shown = e2e.as_json(e2e.openstack_cli(cloud, "flavor", "show", "m1.small", "-f", "json"))
    assert (shown["id"], shown["ram"], shown["disk"]) == ("2", 2048, 20)


def test_kumo_cli_flavor_list_create_delete(cloud: Cloud) -> None:
    rows = {r["Name"]: r for r in e2e.table_rows(e2e.kumo_cli(cloud, "flavor-list").stdout)}
    assert rows["m1.xlarge"]["Memory_MiB"] == "16384"
    e2e.kumo_cli(cloud, "flavor-create", "e2e.custom", "77", "256", "1", "1")
    shown = e2e.kumo_cli(cloud, "flavor-show", "e2e.custom").stdout
    assert e2e.table_value(shown, "ram") == "256"
    # Extra specs (checked from 2.86: a bad value is the API's 400) and description.
    e2e.kumo_cli(cloud, "flavor-key", "77", "set", "hw:cpu_policy=shared",
                 "aggregate_instance_extra_specs:ssd=true")
    bad = e2e.kumo_cli(cloud, "flavor-key", "77", "set", "hw:cpu_policy=fast", check=False)
    assert bad.returncode == 1 and "(HTTP 400)" in bad.stderr
    e2e.kumo_cli(cloud, "flavor-update", "77", "e2e flavor")
    shown = e2e.kumo_cli(cloud, "flavor-show", "77").stdout
    assert '"hw:cpu_policy": "shared"' in e2e.table_value(shown, "extra_specs")
    assert e2e.table_value(shown, "description") == "e2e flavor"
    denied = e2e.kumo_cli(cloud, "flavor-delete", "77", token=e2e.ALICE, check=False)
    assert denied.returncode == 1 and "(HTTP 403)" in denied.stderr
    e2e.kumo_cli(cloud, "flavor-delete", "e2e.custom")
    gone = e2e.kumo_cli(cloud, "flavor-show", "77", check=False)
    assert gone.returncode == 1 and "No flavor with a name or ID of '77'" in gone.stderr


def test_novaclient_creates_a_private_flavor_with_access(cloud: Cloud) -> None:
    nova = e2e.novaclient(cloud)
    flavor = nova.flavors.create("e2e.private", 128, 1, 1, flavorid="78", is_public=False)
    try:
        nova.flavor_access.add_tenant_access(flavor, "project-a")
        assert [a.tenant_id for a in nova.flavor_access.list(flavor=flavor)] == ["project-a"]
        alice = e2e.novaclient(cloud, e2e.ALICE)
        assert "e2e.private" in [f.name for f in alice.flavors.list(is_public=None)]
        bob = e2e.novaclient(cloud, e2e.BOB)
        assert "e2e.private" not in [f.name for f in bob.flavors.list(is_public=None)]
        alice_nova = e2e.novaclient(cloud, e2e.ALICE)
        assert alice_nova.flavors.get("78").name == "e2e.private"
        # The kumo CLI sees and edits the same access list.
        listed = e2e.kumo_cli(cloud, "flavor-access-list", "--flavor", "78").stdout
        assert [r["Tenant_ID"] for r in e2e.table_rows(listed)] == ["project-a"]
        e2e.kumo_cli(cloud, "flavor-access-remove", "78", "project-a")
        assert nova.flavor_access.list(flavor=flavor) == []
    finally:
        nova.flavors.delete(flavor)
