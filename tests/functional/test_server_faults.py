"""Servers when things go wrong: a failing hypervisor node, a compute killed mid-build,
a broker that restarts mid-build.

Spawns take SPAWN_DELAY seconds here, so a build can be interrupted, and the
first fake node fails every spawn, so the conductor has to use alternates.
"""

from __future__ import annotations

import time
from typing import Any

from tests.functional import harness
from tests.functional.harness import BINARIES, Cloud, wait_for
from tests.functional.servers import (
    ACTIVE_BOUND,
    boot,
    delete_all_and_wait,
    delete_server,
    list_servers,
    node_usage,
    settled_servers_cleaned_up,
    wait_gone,
    wait_nodes,
)
from tests.functional.test_servers import CLOUD_SETUP as _SERVERS_SETUP
from tests.functional.test_services import (
    BROKER_RECOVERY_BOUND,
    RPC_SERVERS,
    assert_all_up,
)

NODES = 3
SPAWN_DELAY = 2.0
COMPUTE = "kumo-compute"

CLOUD_OPTIONS = {
    "fake": {"node_count": NODES, "vcpus": 8, "memory_mb": 16384, "local_gb": 400,
             "spawn_delay": SPAWN_DELAY},
    # A build cast a broker restart dropped is tried again after LOST_BUILD_TIMEOUT.
    "compute": {"resource_report_interval": 2, "sync_power_state_interval": 2,
                "lost_build_timeout": 10},
    "scheduler": {"ram_allocation_ratio": 1.0, "host_state_refresh_interval": 1,
                  "max_attempts": 3},
}


def _failing_node(cloud: Cloud) -> str:
    return f"{cloud.host}-node0"


def CLOUD_SETUP(cloud: Cloud) -> None:  # noqa: N802  (a hook the conftest looks up)
    _SERVERS_SETUP(cloud)
    cloud.overrides["fake"]["fail_spawn_on_nodes"] = _failing_node(cloud)
    cloud.write_config(cloud.config_path)


def test_a_build_failing_on_one_node_is_retried_on_an_alternate(cloud: Cloud) -> None:
    wait_nodes(cloud, NODES)
    # Spreading sends some of six servers to the failing node first.
    reservation = boot(cloud, "retry", count=6)["reservation_id"]

    def settled() -> list[dict[str, Any]] | None:
        servers = list_servers(cloud, reservation_id=reservation)
        done = len(servers) == 6 and all(s["status"] in ("ACTIVE", "ERROR") for s in servers)
        return servers if done else None

    servers = wait_for(settled, ACTIVE_BOUND, interval=0.5,
                       message=lambda: cloud.log_tails(["kumo-conductor", COMPUTE]))

    assert [s["status"] for s in servers] == ["ACTIVE"] * 6, servers
    nodes = {s["OS-EXT-SRV-ATTR:hypervisor_hostname"] for s in servers}
    assert _failing_node(cloud) not in nodes
    usage = node_usage(cloud)
    assert usage[_failing_node(cloud)] == (0, 0, 0), usage
    # The failures were real: the failing node was tried and gave its claim back.
    assert "Injected failure" in (cloud.daemons[COMPUTE].log_path.read_text())
    delete_all_and_wait(cloud, servers)
    assert set(node_usage(cloud).values()) == {(0, 0, 0)}, node_usage(cloud)


def test_compute_killed_during_a_build_leaves_no_server_in_build(cloud: Cloud) -> None:
    server_id = boot(cloud, "interrupted")["server"]["id"]

    def spawning() -> bool:
        server = cloud.api("GET", f"/servers/{server_id}")[1]["server"]
        return server["OS-EXT-STS:task_state"] == "spawning"

    wait_for(spawning, 30, interval=0.1, message="the build to reach spawning")
    cloud.daemons[COMPUTE].kill()
    cloud.start([COMPUTE])
    started = time.monotonic()

    def settled() -> dict[str, Any] | None:
        server = cloud.api("GET", f"/servers/{server_id}")[1]["server"]
        return server if server["status"] in ("ACTIVE", "ERROR") else None

    server = wait_for(settled, ACTIVE_BOUND, interval=0.3,
                      message=lambda: cloud.log_tails(["kumo-conductor", COMPUTE]))
    print(f"interrupted build settled {server['status']} "
          f"{time.monotonic() - started:.1f}s after kumo-compute restarted")
    if server["status"] == "ERROR":
        assert server["fault"]["message"], server
    delete_server(cloud, server_id)
    wait_gone(cloud, server_id)
    assert set(node_usage(cloud).values()) == {(0, 0, 0)}, node_usage(cloud)


def test_delete_during_build_releases_everything(cloud: Cloud) -> None:
    server_id = boot(cloud, "short-lived")["server"]["id"]
    delete_server(cloud, server_id)
    wait_gone(cloud, server_id)
    # The build may still be sleeping in the driver; its end must not resurrect it.
    time.sleep(SPAWN_DELAY + 1)
    assert cloud.api("GET", f"/servers/{server_id}")[0] == 404
    wait_for(lambda: set(node_usage(cloud).values()) == {(0, 0, 0)}, 10,
             message=lambda: f"usage back to zero: {node_usage(cloud)}")


def test_a_broker_restart_mid_build_every_daemon_reconnects_and_the_builds_end(
        cloud: Cloud, rabbitmq: harness.RabbitMQ) -> None:
    wait_nodes(cloud, NODES)
    ids = {binary: row.id for binary, row in cloud.services().items()}
    reservation = boot(cloud, "broker", count=3)["reservation_id"]

    def spawning() -> bool:
        return any(s["OS-EXT-STS:task_state"] == "spawning"
                   for s in list_servers(cloud, reservation_id=reservation))

    wait_for(spawning, 30, interval=0.1, message="a build to reach spawning")
    try:
        rabbitmq.stop()
        time.sleep(2)
        cloud.check_alive()
    finally:
        rabbitmq.start()
    back = time.monotonic()

    # Every daemon heartbeats and every RPC server answers again, with its old row.
    rows = cloud.wait_heartbeats(BINARIES, beats=2, timeout=BROKER_RECOVERY_BOUND)
    heartbeating = time.monotonic() - back
    answers: dict[str, str] = {}

    def every_server_answers() -> bool:
        answers.update(cloud.rpc_ping())
        return answers == RPC_SERVERS

    wait_for(every_server_answers, timeout=max(10.0, back + BROKER_RECOVERY_BOUND
                                               - time.monotonic()),
             interval=1, message=lambda: f"every RPC server answering, got {answers}")
    assert {binary: rows[binary].id for binary in BINARIES} == ids
    assert_all_up(cloud.service_list(), cloud)

    # The builds the restart caught end ACTIVE, or ERROR with a fault: none stays in BUILD.
    def settled() -> list[dict[str, Any]] | None:
        servers = list_servers(cloud, reservation_id=reservation)
        done = len(servers) == 3 and all(
            s["status"] in ("ACTIVE", "ERROR") and s["OS-EXT-STS:task_state"] is None
            for s in servers)
        return servers if done else None

    servers = wait_for(settled, ACTIVE_BOUND, interval=0.5,
                       message=lambda: cloud.log_tails(["kumo-conductor", COMPUTE]))
    statuses = [s["status"] for s in servers]
    print(f"broker back after {rabbitmq.started_in:.1f}s of boot; every daemon heartbeating "
          f"{heartbeating:.1f}s later; builds settled {time.monotonic() - back:.1f}s later: "
          f"{statuses.count('ACTIVE')} ACTIVE, {statuses.count('ERROR')} ERROR")
    settled_servers_cleaned_up(cloud, servers)
