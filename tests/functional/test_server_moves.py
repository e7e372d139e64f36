"""Moving servers end to end through plain HTTP to real daemons over a real RabbitMQ:
resize, confirm, revert, migrate, rebuild, createImage, shelve/unshelve, live
migration and soft delete.

One kumo-compute serves three fake nodes; the nodes' usage shows the two
claims of a server being resized and that every claim is given back.
Deleted servers are kept for ``reclaim_instance_interval`` (SOFT_DELETED).
"""

from __future__ import annotations

from typing import Any

from tests.functional.harness import SERVER_BINARIES, Cloud, wait_for
from tests.functional.servers import (
    ACTIVE_BOUND,
    SMALL,
    action,
    boot,
    create_flavors_and_image,
    delete_server,
    image_id,
    list_servers,
    node_usage,
    wait_gone,
    wait_nodes,
    wait_status,
)

NODES = 3
RECLAIM_SECONDS = 3

CLOUD_BINARIES = SERVER_BINARIES
CLOUD_OPTIONS = {
    "DEFAULT": {"reclaim_instance_interval": RECLAIM_SECONDS},
    "fake": {"node_count": NODES, "vcpus": 8, "memory_mb": 16384, "local_gb": 400},
    "compute": {"resource_report_interval": 2},
    "scheduler": {"ram_allocation_ratio": 1.0, "host_state_refresh_interval": 1},
}


def CLOUD_SETUP(cloud: Cloud) -> None:  # noqa: N802  (a hook the conftest looks up)
    create_flavors_and_image(cloud, SMALL, ("m1.medium", "3", 4096, 2, 40))


def _active_server(cloud: Cloud, name: str) -> dict[str, Any]:
    wait_nodes(cloud, NODES)
    server_id = boot(cloud, name)["server"]["id"]
    return wait_status(cloud, server_id, "ACTIVE")


def _usage(cloud: Cloud) -> dict[str, int]:
    """vCPUs used per node."""
    return {name: used[0] for name, used in node_usage(cloud).items()}


def test_resize_holds_both_nodes_until_confirmed_then_only_the_new_one(cloud: Cloud) -> None:
    server = _active_server(cloud, "grow")
    source = server["OS-EXT-SRV-ATTR:hypervisor_hostname"]

    status, body = action(cloud, server["id"], {"resize": {"flavorRef": "3"}})
    assert status == 202, body
    resized = wait_status(cloud, server["id"], "VERIFY_RESIZE")
    target = resized["OS-EXT-SRV-ATTR:hypervisor_hostname"]

    assert target != source
    assert resized["flavor"]["id"] == "3"
    assert _usage(cloud)[source] >= 1 and _usage(cloud)[target] >= 2

    status, body = action(cloud, server["id"], {"confirmResize": None})
    assert status == 204, body
    wait_status(cloud, server["id"], "ACTIVE")
    wait_for(lambda: _usage(cloud)[source] == 0, 15, message="source claim given back")
    assert _usage(cloud)[target] == 2
    assert list_servers(cloud, name="grow")[0]["flavor"]["id"] == "3"
    # Same flavor again is refused.
    assert action(cloud, server["id"], {"resize": {"flavorRef": "3"}})[0] == 400


def test_revert_resize_brings_the_server_back_with_its_old_flavor(cloud: Cloud) -> None:
    server = _active_server(cloud, "undo")
    source = server["OS-EXT-SRV-ATTR:hypervisor_hostname"]
    assert action(cloud, server["id"], {"resize": {"flavorRef": "3"}})[0] == 202
    wait_status(cloud, server["id"], "VERIFY_RESIZE")

    status, body = action(cloud, server["id"], {"revertResize": None})
    assert status == 202, body
    back = wait_status(cloud, server["id"], "ACTIVE")

    assert back["OS-EXT-SRV-ATTR:hypervisor_hostname"] == source
    assert back["flavor"]["id"] == "2"
    # Confirming what is no longer resized is a conflict.
    status, body = action(cloud, server["id"], {"confirmResize": None})
    assert status == 409 and "vm_state active" in body["conflictingRequest"]["message"]


def test_migrate_is_for_admins_and_moves_the_server_to_another_node(cloud: Cloud) -> None:
    server = _active_server(cloud, "travel")
    source = server["OS-EXT-SRV-ATTR:hypervisor_hostname"]

    assert action(cloud, server["id"], {"migrate": None}, token="bob:admin")[0] == 403
    status, body = action(cloud, server["id"], {"migrate": None})
    assert status == 202, body
    moved = wait_status(cloud, server["id"], "VERIFY_RESIZE")
    assert moved["OS-EXT-SRV-ATTR:hypervisor_hostname"] != source
    assert action(cloud, server["id"], {"confirmResize": None})[0] == 204
    wait_status(cloud, server["id"], "ACTIVE")


def test_rebuild_and_create_image(cloud: Cloud) -> None:
    server = _active_server(cloud, "snap")

    status, body = action(cloud, server["id"], {"createImage": {
        "name": "snap-image", "metadata": {"purpose": "test"}}})
    assert status == 202, body

    def snapshot() -> dict[str, Any] | None:
        images = cloud.api("GET", "/images/detail")[1]["images"]
        found = [image for image in images if image["name"] == "snap-image"]
        return found[0] if found and found[0]["status"] == "ACTIVE" else None

    image = wait_for(snapshot, ACTIVE_BOUND, interval=0.3, message="snapshot ACTIVE")
    assert image["metadata"]["instance_uuid"] == server["id"]
    assert image["metadata"]["image_type"] == "snapshot"
    wait_status(cloud, server["id"], "ACTIVE")

    status, body = action(cloud, server["id"], {"rebuild": {"imageRef": image["id"],
                                                             "name": "rebuilt"}})
    assert status == 202, body
    assert body["server"]["status"] == "REBUILD"
    rebuilt = wait_status(cloud, server["id"], "ACTIVE")
    assert rebuilt["image"]["id"] == image["id"] and rebuilt["name"] == "rebuilt"
    assert image["id"] != image_id(cloud)


def test_soft_delete_restore_and_force_delete(cloud: Cloud) -> None:
    server = _active_server(cloud, "keep")

    delete_server(cloud, server["id"])
    wait_status(cloud, server["id"], "SOFT_DELETED")
    assert action(cloud, server["id"], {"restore": None})[0] == 202
    wait_status(cloud, server["id"], "ACTIVE")

    delete_server(cloud, server["id"])
    wait_status(cloud, server["id"], "SOFT_DELETED")
    assert action(cloud, server["id"], {"forceDelete": None})[0] == 202
    wait_gone(cloud, server["id"])


def test_shelve_offloads_the_server_and_unshelve_places_it_again(cloud: Cloud) -> None:
    server = _active_server(cloud, "nap")
    before = sum(_usage(cloud).values())

    status, body = action(cloud, server["id"], {"shelve": None})
    assert status == 202, body
    shelved = wait_status(cloud, server["id"], "SHELVED_OFFLOADED")
    assert shelved["OS-EXT-SRV-ATTR:hypervisor_hostname"] is None
    wait_for(lambda: sum(_usage(cloud).values()) == before - 1, 15,
             message="the offloaded server's claim given back")
    images = cloud.api("GET", "/images/detail")[1]["images"]
    assert any(image["name"] == "nap-shelved" and image["status"] == "ACTIVE"
               for image in images)

    status, body = action(cloud, server["id"], {"unshelve": None})
    assert status == 202, body
    back = wait_status(cloud, server["id"], "ACTIVE")
    assert back["OS-EXT-SRV-ATTR:hypervisor_hostname"]
    assert sum(_usage(cloud).values()) == before
    # The shelved snapshot is gone once the server runs again.
    images = cloud.api("GET", "/images/detail")[1]["images"]
    assert not any(image["name"] == "nap-shelved" for image in images)


def test_live_migration_moves_a_running_server_to_the_named_host(cloud: Cloud) -> None:
    server = _active_server(cloud, "fly")
    source = server["OS-EXT-SRV-ATTR:hypervisor_hostname"]
    host = server["OS-EXT-SRV-ATTR:host"]
    # Microversion 2.1 (no header): a boolean; "auto" is 2.25's.
    body = {"os-migrateLive": {"host": host, "block_migration": True}}

    assert action(cloud, server["id"], body, token="bob:admin")[0] == 403
    status, reply = action(cloud, server["id"], body)
    assert status == 202, reply
    moved = wait_status(cloud, server["id"], "ACTIVE")
    wait_for(lambda: cloud.api("GET", f"/servers/{server['id']}")[1]["server"][
        "OS-EXT-SRV-ATTR:hypervisor_hostname"] != source, 30, message="moved")
    assert moved["OS-EXT-SRV-ATTR:host"] == host

    status, reply = action(cloud, server["id"], {"os-migrateLive": {
        "host": "no-such-host", "block_migration": False}})
    assert status == 202, reply
    # An ACTIVE server shows no fault in the API (Nova's rule); the row has it.
    wait_for(lambda: cloud.query("SELECT message FROM instance_faults WHERE instance_uuid = ?"
                                 " AND message LIKE 'Live migration failed%'", server["id"]),
             30, message="a fault for the impossible migration")
    stayed = wait_status(cloud, server["id"], "ACTIVE")
    assert stayed["OS-EXT-SRV-ATTR:hypervisor_hostname"] == moved[
        "OS-EXT-SRV-ATTR:hypervisor_hostname"]


def test_deleting_everything_gives_every_claim_back(cloud: Cloud) -> None:
    for server in list_servers(cloud):
        if server["status"] != "SOFT_DELETED":
            delete_server(cloud, server["id"])
    # Soft-deleted servers are reclaimed by kumo-compute's periodic task.
    for server in list_servers(cloud):
        wait_gone(cloud, server["id"], timeout=RECLAIM_SECONDS + 30)
    wait_for(lambda: set(node_usage(cloud).values()) == {(0, 0, 0)}, 15,
             message=lambda: f"every node unused: {node_usage(cloud)}")
