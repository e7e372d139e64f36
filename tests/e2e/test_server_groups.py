"""Server groups: policies through the clients, anti-affinity placing across nodes."""

from __future__ import annotations

from tests.e2e import cloud as e2e
from tests.functional.harness import Cloud


def test_kumo_cli_anti_affinity_group_refuses_a_second_member_on_one_host(
        cloud: Cloud) -> None:
    created = e2e.table_rows(e2e.kumo_cli(cloud, "server-group-create", "spread",
                                          "anti-affinity").stdout)
    group_id = created[0]["Id"]
    first = e2e.kumo_cli(cloud, "boot", "--flavor", "1", "--image", e2e.IMAGE,
                         "--hint", f"group={group_id}", "--poll", "spread-0")
    first_id = e2e.table_value(first.stdout, "id")
    # The cloud has one kumo-compute host (with several nodes): anti-affinity is per
    # host, so the second member finds no host and --poll reports the ERROR.
    second = e2e.kumo_cli(cloud, "boot", "--flavor", "1", "--image", e2e.IMAGE,
                          "--hint", f"group={group_id}", "--poll", "spread-1", check=False)
    assert second.returncode == 1
    assert "went to ERROR" in second.stderr and "No valid host" in second.stderr
    second_id = e2e.table_value(second.stdout, "id")
    shown = e2e.table_rows(e2e.kumo_cli(cloud, "server-group-get", group_id).stdout)
    assert first_id in shown[0]["Members"]
    for server_id in (first_id, second_id):
        e2e.kumo_cli(cloud, "delete", server_id)
    for server_id in (first_id, second_id):
        e2e.wait_status(lambda s=server_id: e2e.api_status(cloud, s), "DELETED", server_id)
    e2e.kumo_cli(cloud, "server-group-delete", group_id)
    listed = e2e.kumo_cli(cloud, "server-group-list").stdout
    assert group_id not in listed


def test_novaclient_and_openstacksdk_server_groups(cloud: Cloud) -> None:
    nova = e2e.novaclient(cloud, e2e.ALICE)
    if nova.api_version.ver_minor >= 64:
        group = nova.server_groups.create(name="nc-group", policy="affinity")
        assert group.policy == "affinity"
    else:
        group = nova.server_groups.create(name="nc-group", policies=["affinity"])
        assert group.policies == ["affinity"]
    conn = e2e.sdk(cloud, e2e.ALICE)
    assert "nc-group" in [g.name for g in conn.compute.server_groups()]
    assert "nc-group" not in [g.name for g in e2e.sdk(cloud, e2e.BOB).compute.server_groups()]
    sdk_group = conn.compute.create_server_group(name="sdk-group", policy="anti-affinity")
    assert conn.compute.get_server_group(sdk_group.id).name == "sdk-group"
    conn.compute.delete_server_group(sdk_group)
    nova.server_groups.delete(group.id)
    assert not {"nc-group", "sdk-group"} & {g.name for g in conn.compute.server_groups()}


def test_openstack_cli_server_group(cloud: Cloud) -> None:
    created = e2e.as_json(e2e.openstack_cli(cloud, "server", "group", "create", "--policy",
                                            "anti-affinity", "osc-group", "-f", "json"))
    listed = e2e.as_json(e2e.openstack_cli(cloud, "server", "group", "list", "-f", "json"))
    assert created["id"] in [g["ID"] for g in listed]
    e2e.openstack_cli(cloud, "server", "group", "delete", created["id"])
