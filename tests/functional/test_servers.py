"""Servers end to end: plain HTTP to kumo-api, real daemons, a real RabbitMQ.

One kumo-compute serves four fake nodes; the tests boot through the REST API
and watch the statuses, the scheduler's placement and the nodes' usage.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.functional.harness import Cloud, wait_for

NODES = 4
# Each node fits 8 servers of m1.small (2048 MB, ram ratio 1.0 below).
NODE_MEMORY_MB = 16384
ACTIVE_BOUND = 60

CLOUD_OPTIONS = {
    "fake": {"node_count": NODES, "vcpus": 8, "memory_mb": NODE_MEMORY_MB, "local_gb": 400},
    "compute": {"resource_report_interval": 2},
    "scheduler": {"ram_allocation_ratio": 1.0, "host_state_refresh_interval": 1},
}


def CLOUD_SETUP(cloud: Cloud) -> None:  # noqa: N802  (a hook the conftest looks up)
    cloud.manage("flavor", "create", "m1.small", "--id", "2", "--ram", "2048",
                 "--vcpus", "1", "--disk", "20")
    cloud.manage("flavor", "create", "huge", "--id", "99", "--ram", str(NODE_MEMORY_MB * 4),
                 "--vcpus", "1", "--disk", "1")
    image = Path(cloud.root) / "tiny.img"
    image.write_bytes(b"kumo test image\n" * 64)
    cloud.manage("image", "import", str(image), "--name", "tiny", "--disk-format", "raw",
                 "--public")


def _image_id(cloud: Cloud) -> str:
    status, body = cloud.api("GET", "/images")
    assert status == 200, body
    return next(image["id"] for image in body["images"] if image["name"] == "tiny")


def _boot(cloud: Cloud, name: str, flavor: str = "2", count: int = 1,
          token: str = "admin:admin") -> dict[str, Any]:
    request: dict[str, Any] = {"name": name, "imageRef": _image_id(cloud), "flavorRef": flavor}
    if count > 1:
        request.update(min_count=count, max_count=count, return_reservation_id=True)
    status, body = cloud.api("POST", "/servers", {"server": request}, token=token)
    assert status == 202, body
    return body


def _servers(cloud: Cloud, **query: str) -> list[dict[str, Any]]:
    suffix = "&".join(f"{key}={value}" for key, value in query.items())
    status, body = cloud.api("GET", "/servers/detail" + (f"?{suffix}" if suffix else ""))
    assert status == 200, body
    return body["servers"]


def _wait_status(cloud: Cloud, server_id: str, wanted: str,
                 timeout: float = ACTIVE_BOUND) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def reached() -> dict[str, Any] | None:
        status, body = cloud.api("GET", f"/servers/{server_id}")
        assert status == 200, body
        seen.update(body["server"])
        return body["server"] if body["server"]["status"] == wanted else None

    return wait_for(reached, timeout, interval=0.3,
                    message=lambda: f"server {server_id} {wanted}, last seen {seen}\n"
                                    f"{cloud.log_tails(['kumo-conductor', 'kumo-compute'])}")


def _wait_gone(cloud: Cloud, server_id: str, timeout: float = ACTIVE_BOUND) -> None:
    wait_for(lambda: cloud.api("GET", f"/servers/{server_id}")[0] == 404, timeout,
             interval=0.3, message=lambda: f"server {server_id} deleted")


def _node_usage(cloud: Cloud) -> dict[str, tuple[int, int, int]]:
    rows = cloud.query("SELECT hypervisor_hostname, vcpus_used, memory_mb_used, local_gb_used "
                       "FROM compute_nodes WHERE host = ? AND deleted = 0", cloud.host)
    return {str(name): (int(v), int(m), int(d)) for name, v, m, d in rows}


def test_boot_twenty_servers_across_four_nodes_then_delete_them(cloud: Cloud) -> None:
    wait_for(lambda: len(_node_usage(cloud)) == NODES, 30, message="four fake nodes reported")
    started = time.monotonic()
    reply = _boot(cloud, "many", count=20)
    reservation = reply["reservation_id"]

    def all_active() -> list[dict[str, Any]] | None:
        servers = [s for s in _servers(cloud, reservation_id=reservation)]
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
    assert all(used[1] == 5 * 2048 for used in _node_usage(cloud).values()), _node_usage(cloud)
    print(f"20 servers ACTIVE {took:.1f}s after POST /servers")

    for server in servers:
        status, body = cloud.api("DELETE", f"/servers/{server['id']}")
        assert status == 204, body
    for server in servers:
        _wait_gone(cloud, server["id"])
    assert set(_node_usage(cloud).values()) == {(0, 0, 0)}, _node_usage(cloud)


def test_a_flavor_no_node_fits_ends_in_error_with_an_explaining_fault(cloud: Cloud) -> None:
    server_id = _boot(cloud, "too-big", flavor="99")["server"]["id"]

    server = _wait_status(cloud, server_id, "ERROR")

    fault = server["fault"]
    assert fault["code"] == 500
    assert fault["message"].startswith("No valid host was found."), fault
    assert "RamFilter rejected 4" in fault["message"], fault
    status, _ = cloud.api("DELETE", f"/servers/{server_id}")
    assert status == 204
    _wait_gone(cloud, server_id)


def test_another_project_cannot_see_or_delete_a_server(cloud: Cloud) -> None:
    server_id = _boot(cloud, "mine", token="alice:project-a")["server"]["id"]
    _wait_status(cloud, server_id, "ACTIVE")

    status, body = cloud.api("GET", f"/servers/{server_id}", token="bob:project-b")
    assert status == 404, body
    assert "itemNotFound" in body
    status, body = cloud.api("DELETE", f"/servers/{server_id}", token="bob:project-b")
    assert status == 404, body
    listed = cloud.api("GET", "/servers", token="bob:project-b")[1]["servers"]
    assert server_id not in [s["id"] for s in listed]

    status, _ = cloud.api("DELETE", f"/servers/{server_id}", token="alice:project-a")
    assert status == 204
    _wait_gone(cloud, server_id)


def test_bad_boot_requests_answer_400_with_the_reason(cloud: Cloud) -> None:
    image = _image_id(cloud)
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
