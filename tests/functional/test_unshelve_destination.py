"""Unshelving into a named availability zone (microversion 2.77) end to end: the API
checks the zone and the state, the conductor (RPC 1.8) schedules within it."""

from __future__ import annotations

from typing import Any

from tests.functional.harness import SERVER_BINARIES, Cloud
from tests.functional.servers import (
    SMALL,
    action,
    boot,
    create_flavors_and_image,
    wait_nodes,
    wait_status,
)

NODES = 2
CLOUD_BINARIES = SERVER_BINARIES
CLOUD_OPTIONS = {
    "DEFAULT": {"shelved_offload_time": -1},
    "fake": {"node_count": NODES, "vcpus": 8, "memory_mb": 16384, "local_gb": 400},
    "compute": {"resource_report_interval": 2},
    "scheduler": {"host_state_refresh_interval": 1},
}


def CLOUD_SETUP(cloud: Cloud) -> None:  # noqa: N802  (a hook the conftest looks up)
    create_flavors_and_image(cloud, SMALL)


def _unshelve(cloud: Cloud, server_id: str, body: Any, version: str) -> tuple[int, Any]:
    return cloud.api("POST", f"/servers/{server_id}/action", body, version=version)


def test_unshelve_into_a_zone_only_when_offloaded(cloud: Cloud) -> None:
    wait_nodes(cloud, NODES)
    server_id = boot(cloud, "nap")["server"]["id"]
    wait_status(cloud, server_id, "ACTIVE")
    assert action(cloud, server_id, {"shelve": None})[0] == 202
    wait_status(cloud, server_id, "SHELVED")  # kept on its host: offload time -1

    zone = {"unshelve": {"availability_zone": "nova"}}
    status, body = _unshelve(cloud, server_id, zone, "2.77")
    assert status == 409, body
    assert action(cloud, server_id, {"shelveOffload": None})[0] == 202
    wait_status(cloud, server_id, "SHELVED_OFFLOADED")

    status, body = _unshelve(cloud, server_id, {"unshelve": {"availability_zone": "x"}},
                             "2.77")
    assert status == 400, body
    status, body = _unshelve(cloud, server_id, zone, "2.77")
    assert status == 202, body
    back = wait_status(cloud, server_id, "ACTIVE")
    assert back["OS-EXT-AZ:availability_zone"] == "nova"
    assert back["OS-EXT-SRV-ATTR:host"]
