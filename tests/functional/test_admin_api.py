"""The admin API on real daemons: os-services, os-hypervisors and
os-simple-tenant-usage over a real RabbitMQ, one kumo-compute with two fake nodes."""

from __future__ import annotations

import datetime
from typing import Any

from tests.functional.harness import Cloud, wait_for
from tests.functional.servers import (
    ACTIVE_BOUND,
    SMALL,
    boot,
    create_flavors_and_image,
    delete_server,
    wait_gone,
    wait_nodes,
    wait_status,
)

NODES = 2
CLOUD_OPTIONS = {
    "fake": {"node_count": NODES, "vcpus": 8, "memory_mb": 16384, "local_gb": 400},
    "compute": {"resource_report_interval": 2},
    "scheduler": {"ram_allocation_ratio": 1.0, "host_state_refresh_interval": 1},
}


def CLOUD_SETUP(cloud: Cloud) -> None:  # noqa: N802  (a hook the conftest looks up)
    create_flavors_and_image(cloud, SMALL)


def _get(cloud: Cloud, path: str) -> Any:
    status, body = cloud.api("GET", path)
    assert status == 200, body
    return body


def _set_compute(cloud: Cloud, action: str) -> None:
    status, body = cloud.api("PUT", f"/os-services/{action}",
                             {"host": cloud.host, "binary": "kumo-compute"})
    assert status == 200, body


def test_services_list_shows_the_daemons_up(cloud: Cloud) -> None:
    services = [s for s in _get(cloud, f"/os-services?host={cloud.host}")["services"]]
    by_binary = {s["binary"]: s for s in services}
    for binary in ("kumo-conductor", "kumo-scheduler", "kumo-compute", "kumo-network"):
        assert by_binary[binary]["state"] == "up", services
        assert by_binary[binary]["status"] == "enabled"
    assert by_binary["kumo-compute"]["zone"] == "nova"
    assert by_binary["kumo-scheduler"]["zone"] == "internal"
    assert [s["binary"] for s in _get(
        cloud, f"/os-services?host={cloud.host}&binary=kumo-compute")["services"]] == [
        "kumo-compute"]


def test_hypervisors_and_usage_show_a_booted_server(cloud: Cloud) -> None:
    wait_nodes(cloud, NODES)
    before = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    server_id = boot(cloud, "counted")["server"]["id"]
    server = wait_status(cloud, server_id, "ACTIVE")
    node_name = server["OS-EXT-SRV-ATTR:hypervisor_hostname"]
    try:
        hypervisors = {h["hypervisor_hostname"]: h for h in _get(
            cloud, "/os-hypervisors/detail")["hypervisors"] if h["service"]["host"] == cloud.host}
        assert len(hypervisors) == NODES, hypervisors
        used = hypervisors[node_name]
        assert (used["vcpus_used"], used["memory_mb_used"], used["running_vms"]) == (
            1, 2048, 1)
        assert (used["state"], used["status"], used["hypervisor_type"]) == (
            "up", "enabled", "fake")
        with_servers = _get(cloud, f"/os-hypervisors/{node_name}/servers")["hypervisors"]
        assert [s["uuid"] for h in with_servers for s in h.get("servers", [])] == [server_id]

        start = (before - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
        end = (before + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
        usage = _get(cloud, f"/os-simple-tenant-usage/admin?start={start}&end={end}")[
            "tenant_usage"]
        [counted] = [s for s in usage["server_usages"] if s["instance_id"] == server_id]
        assert counted["state"] == "active" and counted["flavor"] == "m1.small"
        assert 0 < counted["hours"] < 2 and usage["total_hours"] >= counted["hours"]
        assert usage["total_memory_mb_usage"] >= 2048 * counted["hours"]
    finally:
        delete_server(cloud, server_id)
        wait_gone(cloud, server_id)


def test_a_disabled_compute_service_gets_no_servers(cloud: Cloud) -> None:
    wait_nodes(cloud, NODES)
    _set_compute(cloud, "disable")
    try:
        def refused() -> dict[str, Any] | None:
            # The scheduler sees the change at its next refresh: until then a boot may land.
            server_id = boot(cloud, "avoided")["server"]["id"]
            server = wait_for(lambda: next(
                (s for s in [_get(cloud, f"/servers/{server_id}")["server"]]
                 if s["status"] in ("ACTIVE", "ERROR")), None), ACTIVE_BOUND)
            delete_server(cloud, server_id)
            wait_gone(cloud, server_id)
            return server if server["status"] == "ERROR" else None

        server = wait_for(refused, 60, interval=0.5)
        assert "No valid host" in server["fault"]["message"]
    finally:
        _set_compute(cloud, "enable")
    server_id = boot(cloud, "welcome-back")["server"]["id"]

    def placed() -> dict[str, Any] | None:
        status = _get(cloud, f"/servers/{server_id}")["server"]["status"]
        return {"status": status} if status in ("ACTIVE", "ERROR") else None

    try:
        # Re-enabled: a boot may still meet the scheduler's old view once.
        assert wait_for(placed, ACTIVE_BOUND)["status"] in ("ACTIVE", "ERROR")
    finally:
        delete_server(cloud, server_id)
        wait_gone(cloud, server_id)
