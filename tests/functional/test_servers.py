"""Servers end to end: plain HTTP to kumo-api, real daemons, a real RabbitMQ.

One kumo-compute serves four fake nodes; the tests boot through the REST API
and watch the statuses, the scheduler's placement and the nodes' usage.
"""

from __future__ import annotations

import time
from typing import Any

from kumo import rpc_direct
from tests.functional.harness import SERVER_BINARIES, Cloud, RabbitMQ, wait_for
from tests.functional.servers import (
    ACTIVE_BOUND,
    SMALL,
    boot,
    create_flavors_and_image,
    delete_all_and_wait,
    delete_server,
    image_id,
    list_servers,
    node_usage,
    wait_gone,
    wait_nodes,
    wait_status,
)

NODES = 4
# Each node fits 8 servers of m1.small (2048 MB, ram ratio 1.0 below).
NODE_MEMORY_MB = 16384

CLOUD_BINARIES = SERVER_BINARIES
CLOUD_OPTIONS = {
    "fake": {"node_count": NODES, "vcpus": 8, "memory_mb": NODE_MEMORY_MB, "local_gb": 400},
    "compute": {"resource_report_interval": 2},
    "scheduler": {"ram_allocation_ratio": 1.0, "host_state_refresh_interval": 1},
}


def CLOUD_SETUP(cloud: Cloud) -> None:  # noqa: N802  (a hook the conftest looks up)
    create_flavors_and_image(cloud, SMALL, ("huge", "99", NODE_MEMORY_MB * 4, 1, 1))


def test_boot_twenty_servers_across_four_nodes_then_delete_them(cloud: Cloud) -> None:
    wait_nodes(cloud, NODES)
    started = time.monotonic()
    reply = boot(cloud, "many", count=20)
    reservation = reply["reservation_id"]

    def all_active() -> list[dict[str, Any]] | None:
        servers = list_servers(cloud, reservation_id=reservation)
        assert not [s for s in servers if s["status"] == "ERROR"], servers
        return servers if len(servers) == 20 and all(
            s["status"] == "ACTIVE" for s in servers) else None

    servers = wait_for(all_active, ACTIVE_BOUND, interval=0.5,
                       message=lambda: cloud.log_tails(["kumo-conductor", "kumo-scheduler"]))
    took = time.monotonic() - started
    placement: dict[str, int] = {}
    for server in servers:
        node = server["OS-EXT-SRV-ATTR:hypervisor_hostname"]
        placement[node] = placement.get(node, 0) + 1
        assert server["OS-EXT-STS:vm_state"] == "active"
        assert server["OS-EXT-STS:power_state"] == 1
        assert server["OS-EXT-STS:task_state"] is None
    # Spreading by free RAM puts five on each of the four equal nodes.
    assert sorted(placement.values()) == [5, 5, 5, 5], placement
    assert all(used[1] == 5 * 2048 for used in node_usage(cloud).values()), node_usage(cloud)
    print(f"20 servers ACTIVE {took:.1f}s after POST /servers")

    delete_all_and_wait(cloud, servers)
    assert set(node_usage(cloud).values()) == {(0, 0, 0)}, node_usage(cloud)


def test_a_flavor_no_node_fits_ends_in_error_with_an_explaining_fault(cloud: Cloud) -> None:
    server_id = boot(cloud, "too-big", flavor="99")["server"]["id"]

    server = wait_status(cloud, server_id, "ERROR")

    fault = server["fault"]
    assert fault["code"] == 500
    assert fault["message"].startswith("No valid host was found."), fault
    assert "RamFilter rejected 4" in fault["message"], fault
    delete_server(cloud, server_id)
    wait_gone(cloud, server_id)


def test_another_project_cannot_see_or_delete_a_server(cloud: Cloud) -> None:
    server_id = boot(cloud, "mine", token="alice:project-a")["server"]["id"]
    wait_status(cloud, server_id, "ACTIVE")

    status, body = cloud.api("GET", f"/servers/{server_id}", token="bob:project-b")
    assert status == 404, body
    assert "itemNotFound" in body
    status, body = cloud.api("DELETE", f"/servers/{server_id}", token="bob:project-b")
    assert status == 404, body
    listed = cloud.api("GET", "/servers", token="bob:project-b")[1]["servers"]
    assert server_id not in [s["id"] for s in listed]

    delete_server(cloud, server_id, token="alice:project-a")
    wait_gone(cloud, server_id)


def test_bad_boot_requests_answer_400_with_the_reason(cloud: Cloud) -> None:
    image = image_id(cloud)
    cases = [
        ({"name": "x", "imageRef": image}, "flavorRef"),
        ({"name": "x", "imageRef": image, "flavorRef": "nope"}, "Flavor nope could not be found"),
        ({"name": "x", "imageRef": "6b8c7f5e-0000-4000-8000-000000000000", "flavorRef": "2"},
         "Can not find requested image"),
    ]
    for server, reason in cases:
        status, body = cloud.api("POST", "/servers", {"server": server})
        assert status == 400, (server, body)
        assert reason in body["badRequest"]["message"], (server, body)


def test_the_conductor_serves_the_api_reads_over_direct_reply_to(
        cloud: Cloud, rabbitmq: RabbitMQ) -> None:
    vhost = cloud.transport_url.rsplit("/", 1)[1]
    queues = dict(line.split("\t") for line in rabbitmq.ctl(
        "list_queues", "-p", vhost, "--no-table-headers", "name", "consumers").splitlines()
        if "\t" in line)
    # Each thread of kumo-conductor's direct server consumes ([DEFAULT] rpc_direct_threads).
    assert queues.get(rpc_direct.queue_name("conductor")) == "4", queues

    server_id = boot(cloud, "direct")["server"]["id"]
    wait_status(cloud, server_id, "ACTIVE")
    status, body = cloud.api("GET", f"/servers/{server_id}")
    assert status == 200 and body["server"]["id"] == server_id, body
    status, body = cloud.api("GET", "/servers/00000000-0000-0000-0000-000000000000")
    assert status == 404 and body["itemNotFound"]["code"] == 404, body
    delete_server(cloud, server_id)
    wait_gone(cloud, server_id)
