"""Boot, list, show, act on and delete a server through each real client."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.e2e import cloud as e2e
from tests.functional.harness import Cloud


def test_novaclient_boot_act_delete(cloud: Cloud) -> None:
    nova = e2e.novaclient(cloud)
    flavor = nova.flavors.find(name="m1.tiny")
    server = nova.servers.create("nc-vm", e2e.image_id(cloud), flavor.id, meta={"via": "nova"},
                                 **e2e.nova_nics(nova))
    e2e.wait_status(lambda: nova.servers.get(server.id).status, "ACTIVE", "nc-vm")
    assert server.id in [s.id for s in nova.servers.list()]
    shown = nova.servers.get(server.id)
    assert (shown.name, shown.metadata) == ("nc-vm", {"via": "nova"})
    assert getattr(shown, "OS-EXT-SRV-ATTR:hypervisor_hostname")
    # os-server-password: nothing stored by this guest; clearing is accepted.
    assert nova.servers.get_password(server) == ""
    nova.servers.clear_password(server)

    for act, settled in ((nova.servers.stop, "SHUTOFF"), (nova.servers.start, "ACTIVE"),
                         (nova.servers.pause, "PAUSED"), (nova.servers.unpause, "ACTIVE"),
                         (nova.servers.suspend, "SUSPENDED"), (nova.servers.resume, "ACTIVE")):
        act(server)
        e2e.wait_status(lambda: nova.servers.get(server.id).status, settled, act.__name__)
    nova.servers.reboot(server, reboot_type="HARD")
    e2e.wait_status(lambda: nova.servers.get(server.id).status, "ACTIVE", "hard reboot")
    nova.servers.lock(server)
    assert nova.servers.get(server.id).locked is True or nova.api_version.ver_minor < 9
    nova.servers.unlock(server)

    actions = [a.action for a in nova.instance_action.list(server)]
    assert actions[-1] == "create" and {"stop", "start", "pause", "reboot"} <= set(actions)
    detail = nova.instance_action.get(server, nova.instance_action.list(server)[-1].request_id)
    assert detail.action == "create"

    nova.servers.delete(server)
    e2e.wait_status(lambda: e2e.api_status(cloud, server.id), "DELETED", "nc-vm deleted")


def test_openstacksdk_boot_act_delete(cloud: Cloud) -> None:
    conn = e2e.sdk(cloud)
    flavor = conn.compute.find_flavor("m1.small", ignore_missing=False)
    server = conn.compute.create_server(name="sdk-vm", image_id=e2e.image_id(cloud),
                                        flavor_id=flavor.id, networks="none")
    server = conn.compute.wait_for_server(server, status="ACTIVE", wait=e2e.ACTIVE_BOUND,
                                          interval=0.3)
    assert server.flavor.name in ("m1.small", None) or server.flavor.id == flavor.id
    assert "sdk-vm" in [s.name for s in conn.compute.servers()]
    conn.compute.stop_server(server)
    conn.compute.wait_for_server(server, status="SHUTOFF", wait=e2e.ACTIVE_BOUND,
                                 interval=0.3)
    conn.compute.start_server(server)
    conn.compute.wait_for_server(server, status="ACTIVE", wait=e2e.ACTIVE_BOUND, interval=0.3)
    conn.compute.reboot_server(server, "SOFT")
    conn.compute.wait_for_server(server, status="ACTIVE", wait=e2e.ACTIVE_BOUND, interval=0.3)
    actions = [a.action for a in conn.compute.server_actions(server)]
    assert {"create", "stop", "start", "reboot"} <= set(actions)
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, wait=e2e.ACTIVE_BOUND, interval=0.3)


def test_openstack_cli_show_stop_start_delete(cloud: Cloud) -> None:
    status, body = cloud.api("POST", "/servers", {"server": {
        "name": "osc-vm", "imageRef": e2e.image_id(cloud), "flavorRef": "1"}})
    assert status == 202, body
    server_id = body["server"]["id"]  # type: ignore[index]
    e2e.wait_status(lambda: e2e.api_status(cloud, server_id), "ACTIVE", "osc-vm")

    shown = e2e.as_json(e2e.openstack_cli(cloud, "server", "show", server_id, "-f", "json"))
    assert (shown["id"], shown["name"], shown["status"]) == (server_id, "osc-vm", "ACTIVE")
    e2e.openstack_cli(cloud, "server", "stop", server_id)
    e2e.wait_status(lambda: e2e.api_status(cloud, server_id), "SHUTOFF", "osc stop")
    e2e.openstack_cli(cloud, "server", "start", server_id)
    e2e.wait_status(lambda: e2e.api_status(cloud, server_id), "ACTIVE", "osc start")
    e2e.openstack_cli(cloud, "server", "reboot", "--hard", "--wait", server_id)
    assert e2e.api_status(cloud, server_id) == "ACTIVE"
    e2e.openstack_cli(cloud, "server", "delete", "--wait", server_id)
    assert e2e.api_status(cloud, server_id) == "DELETED"


def test_openstack_cli_names_a_missing_server(cloud: Cloud) -> None:
    result = e2e.openstack_cli(cloud, "server", "show", "no-such-server", check=False)
    assert result.returncode != 0
    assert "No Server found for no-such-server" in result.stderr


def test_kumo_cli_boot_poll_act_delete(cloud: Cloud) -> None:
    booted = e2e.kumo_cli(cloud, "boot", "--flavor", "m1.tiny", "--image", e2e.IMAGE,
                          "--meta", "via=kumo", "--poll", "kumo-vm")
    server_id = e2e.table_value(booted.stdout, "id")
    assert re.search(r"\[#+\] 100% ACTIVE", booted.stderr), booted.stderr

    listed = e2e.table_rows(e2e.kumo_cli(cloud, "list").stdout)
    assert {"ID": server_id, "Name": "kumo-vm", "Status": "ACTIVE"}.items() <= next(
        r for r in listed if r["ID"] == server_id).items()
    shown = e2e.kumo_cli(cloud, "show", "kumo-vm").stdout
    assert e2e.table_value(shown, "metadata") == '{"via": "kumo"}'

    e2e.kumo_cli(cloud, "stop", server_id)
    e2e.wait_status(lambda: e2e.api_status(cloud, server_id), "SHUTOFF", "kumo stop")
    e2e.kumo_cli(cloud, "start", server_id)
    e2e.wait_status(lambda: e2e.api_status(cloud, server_id), "ACTIVE", "kumo start")
    e2e.kumo_cli(cloud, "reboot", "--hard", "--poll", server_id)
    e2e.kumo_cli(cloud, "meta", server_id, "set", "tier=web")
    assert '"tier": "web"' in e2e.table_value(e2e.kumo_cli(cloud, "show", server_id).stdout,
                                              "metadata")
    e2e.kumo_cli(cloud, "console-log", "--length", "5", server_id)

    actions = e2e.table_rows(e2e.kumo_cli(cloud, "instance-action-list", server_id).stdout)
    assert {"create", "stop", "start", "reboot"} <= {a["Action"] for a in actions}
    create = next(a for a in actions if a["Action"] == "create")
    shown = e2e.kumo_cli(cloud, "instance-action", server_id, create["Request_ID"]).stdout
    assert e2e.table_value(shown, "action") == "create"

    e2e.kumo_cli(cloud, "delete", server_id)
    e2e.wait_status(lambda: e2e.api_status(cloud, server_id), "DELETED", "kumo delete")


def test_kumo_cli_reports_the_api_error(cloud: Cloud) -> None:
    result = e2e.kumo_cli(cloud, "reboot", "00000000-0000-4000-8000-000000000000",
                          check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("ERROR: No server with a name or ID")


@pytest.mark.parametrize("count", [3])
def test_novaclient_boots_several_across_the_nodes(cloud: Cloud, count: int) -> None:
    nova = e2e.novaclient(cloud)
    nova.servers.create("multi", e2e.image_id(cloud), "2", min_count=count, max_count=count,
                        **e2e.nova_nics(nova))
    servers = [s for s in nova.servers.list(search_opts={"name": "^multi-"})]
    assert len(servers) == count
    for server in servers:
        e2e.wait_status(lambda s=server: nova.servers.get(s.id).status, "ACTIVE", server.name)
    nodes = {getattr(nova.servers.get(s.id), "OS-EXT-SRV-ATTR:hypervisor_hostname")
             for s in servers}
    # One kumo-compute host, several fake nodes: the scheduler spreads over the nodes.
    assert len(nodes) > 1, nodes
    for server in servers:
        server.delete()
    for server in servers:
        e2e.wait_status(lambda s=server: e2e.api_status(cloud, s.id), "DELETED", server.name)


def test_kumo_cli_resize_rebuild_snapshot_shelve_lock(cloud: Cloud) -> None:
    def kumo(*args: str) -> subprocess.CompletedProcess[str]:
        return e2e.kumo_cli(cloud, *args, token=e2e.ALICE)

    booted = kumo("boot", "--flavor", "m1.tiny", "--image", e2e.IMAGE, "--poll", "mover")
    server_id = e2e.table_value(booted.stdout, "id")

    kumo("resize", "--poll", server_id, "m1.small")
    assert e2e.api_status(cloud, server_id) == "VERIFY_RESIZE"
    kumo("resize-confirm", server_id)
    e2e.wait_status(lambda: e2e.api_status(cloud, server_id), "ACTIVE", "resize confirmed")
    shown = kumo("show", server_id).stdout
    assert e2e.table_value(shown, "flavor") in ("m1.small", "2")

    kumo("rebuild", "--poll", "--name", "rebuilt", server_id, e2e.IMAGE)
    assert e2e.table_value(kumo("show", server_id).stdout, "name") == "rebuilt"

    snapshot_id = kumo("image-create", server_id, "mover-snap").stdout.strip()
    e2e.wait_status(lambda: e2e.table_value(
        kumo("image-show", snapshot_id).stdout, "status"), "ACTIVE",
        "snapshot mover-snap")

    # Locked by an admin: the owner's actions are refused until an admin unlocks.
    e2e.kumo_cli(cloud, "lock", server_id)
    denied = e2e.kumo_cli(cloud, "stop", server_id, token=e2e.ALICE, check=False)
    assert denied.returncode == 1 and "(HTTP 409)" in denied.stderr, denied.stderr
    e2e.kumo_cli(cloud, "unlock", server_id)

    kumo("shelve", server_id)
    e2e.wait_status(lambda: "SHELVED" if e2e.api_status(cloud, server_id).startswith(
        "SHELVED") else e2e.api_status(cloud, server_id), "SHELVED", "shelve")
    kumo("unshelve", server_id)
    e2e.wait_status(lambda: e2e.api_status(cloud, server_id), "ACTIVE", "unshelve")

    actions = {a["Action"] for a in e2e.table_rows(
        kumo("instance-action-list", server_id).stdout)}
    assert {"create", "resize", "confirmResize", "rebuild", "createImage", "shelve",
            "unshelve"} <= actions, actions
    kumo("delete", server_id)
    e2e.wait_status(lambda: e2e.api_status(cloud, server_id), "DELETED", "mover deleted")
