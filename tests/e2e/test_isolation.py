"""Two users of two projects: neither sees nor touches the other's servers."""

from __future__ import annotations

import pytest

from tests.e2e import cloud as e2e
from tests.functional.harness import Cloud


def test_projects_are_isolated_through_every_client(cloud: Cloud) -> None:
    from novaclient import exceptions as nova_exc
    from openstack import exceptions as sdk_exc

    booted = e2e.kumo_cli(cloud, "boot", "--flavor", "1", "--image", e2e.IMAGE, "--poll",
                          "alice-vm", token=e2e.ALICE)
    server_id = e2e.table_value(booted.stdout, "id")
    try:
        bob_nova = e2e.novaclient(cloud, e2e.BOB)
        assert server_id not in [s.id for s in bob_nova.servers.list()]
        with pytest.raises(nova_exc.NotFound):
            bob_nova.servers.get(server_id)
        with pytest.raises(nova_exc.NotFound):
            bob_nova.servers.delete(server_id)

        bob_sdk = e2e.sdk(cloud, e2e.BOB)
        with pytest.raises(sdk_exc.NotFoundException):
            bob_sdk.compute.get_server(server_id)
        assert server_id not in [s.id for s in bob_sdk.compute.servers()]

        shown = e2e.kumo_cli(cloud, "show", server_id, token=e2e.BOB, check=False)
        assert shown.returncode == 1 and "No server" in shown.stderr
        stopped = e2e.kumo_cli(cloud, "stop", server_id, token=e2e.BOB, check=False)
        assert stopped.returncode == 1

        osc = e2e.openstack_cli(cloud, "server", "show", server_id, token=e2e.BOB,
                                check=False)
        assert osc.returncode != 0
        assert e2e.api_status(cloud, server_id, token=e2e.ALICE) == "ACTIVE"

        admin_view = e2e.table_rows(e2e.kumo_cli(cloud, "list", "--all-tenants").stdout)
        assert {"ID": server_id, "Tenant ID": "project-a"}.items() <= next(
            r for r in admin_view if r["ID"] == server_id).items()
    finally:
        e2e.kumo_cli(cloud, "delete", server_id, token=e2e.ALICE)
        e2e.wait_status(lambda: e2e.api_status(cloud, server_id), "DELETED", "alice-vm")
