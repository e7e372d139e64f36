"""Servers after a process went away mid-task, and the lifecycle's timed actions.

kumo-conductor is killed (SIGKILL) while builds are in flight and started
again: its reconciliation must leave no server in BUILD or with a task. Also
resizes confirmed by themselves after ``resize_confirm_window`` and
shelveOffload (``shelved_offload_time = -1`` keeps shelved servers on their host).
"""

from __future__ import annotations

import time
from typing import Any

from tests.functional.harness import SERVER_BINARIES, Cloud, wait_for
from tests.functional.servers import (
    SMALL,
    action,
    boot,
    create_flavors_and_image,
    delete_all_and_wait,
    list_servers,
    settled_servers_cleaned_up,
    wait_nodes,
    wait_status,
)

NODES = 3
CONDUCTOR = "kumo-conductor"
CONFIRM_WINDOW = 2
MEMBER = "user:project"
LOST_BUILD_TIMEOUT = 5
# Seconds from the conductor's restart until every build ended ACTIVE or ERROR.
SETTLE_BOUND = 90

CLOUD_BINARIES = SERVER_BINARIES
CLOUD_OPTIONS = {
    "DEFAULT": {"resize_confirm_window": CONFIRM_WINDOW, "shelved_offload_time": -1},
    "conductor": {"reconcile_interval": 2, "reconcile_grace_period": 3},
    "fake": {"node_count": NODES, "vcpus": 16, "memory_mb": 65536, "local_gb": 2000,
             "spawn_delay": 1.0},
    "compute": {"resource_report_interval": 2, "sync_power_state_interval": 2,
                "lost_build_timeout": LOST_BUILD_TIMEOUT},
    "scheduler": {"ram_allocation_ratio": 1.0, "host_state_refresh_interval": 1},
}


def CLOUD_SETUP(cloud: Cloud) -> None:  # noqa: N802  (a hook the conftest looks up)
    create_flavors_and_image(cloud, SMALL, ("m1.medium", "3", 4096, 2, 40))


def _events(cloud: Cloud, server_id: str, action_name: str) -> dict[str, str]:
    """The events (name -> result) of the server's newest ``action_name`` action, once
    every one has finished (a step finishes its event just after its last update)."""
    status, body = cloud.api("GET", f"/servers/{server_id}/os-instance-actions")
    assert status == 200, body
    request_id = next(a["request_id"] for a in body["instanceActions"]
                      if a["action"] == action_name)

    def finished() -> dict[str, str] | None:
        status, body = cloud.api(
            "GET", f"/servers/{server_id}/os-instance-actions/{request_id}")
        assert status == 200, body
        events = {e["event"]: e["result"] for e in body["instanceAction"].get("events", [])}
        return events if None not in events.values() else None

    return wait_for(finished, 30, interval=0.3, message=f"the events of {action_name}")


def test_conductor_killed_during_builds_leaves_no_server_in_build(cloud: Cloud) -> None:
    wait_nodes(cloud, NODES)
    # 9 servers: within the default quota of 10 instances.
    reservations = [boot(cloud, f"recover{index}", count=3)["reservation_id"]
                    for index in range(3)]

    def servers_now() -> list[dict[str, Any]]:
        return [server for reservation in reservations
                for server in list_servers(cloud, reservation_id=reservation)]

    # Killed once the first build reached its compute host: the others are still
    # being scheduled, and calls of the compute host and of the scheduler are in
    # flight — the ones the conductor had taken die with it.
    wait_for(lambda: any(s["OS-EXT-STS:task_state"] == "spawning" for s in servers_now()),
             30, interval=0.05, message="a build to reach spawning")
    cloud.daemons[CONDUCTOR].kill()
    cloud.start([CONDUCTOR])
    started = time.monotonic()

    def settled() -> list[dict[str, Any]] | None:
        servers = servers_now()
        done = len(servers) == 9 and all(
            s["status"] in ("ACTIVE", "ERROR") and s["OS-EXT-STS:task_state"] is None
            for s in servers)
        return servers if done else None

    # A call the killed conductor had taken gets no heartbeat: it fails after
    # rpc_call_monitor_timeout (20 s), and a read or guarded update is sent again.
    # A build whose cast or reschedule was lost is tried again after
    # LOST_BUILD_TIMEOUT. Two such waits in a row, with room for a loaded machine.
    servers = wait_for(settled, SETTLE_BOUND, interval=0.5,
                       message=lambda: cloud.log_tails([CONDUCTOR, "kumo-compute"]))
    statuses = [s["status"] for s in servers]
    given_up = cloud.daemons[CONDUCTOR].log_path.read_text().count("its build is given up")
    print(f"after kumo-conductor was killed: {statuses.count('ACTIVE')} ACTIVE, "
          f"{statuses.count('ERROR')} ERROR ({given_up} builds given up by the "
          f"reconciliation), settled {time.monotonic() - started:.1f}s after its restart")
    settled_servers_cleaned_up(cloud, servers)


def test_a_resize_nobody_confirms_is_confirmed_after_the_window(cloud: Cloud) -> None:
    wait_nodes(cloud, NODES)
    server_id = wait_status(cloud, boot(cloud, "autoconfirm")["server"]["id"], "ACTIVE")["id"]

    status, body = action(cloud, server_id, {"resize": {"flavorRef": "3"}})
    assert status == 202, body
    wait_status(cloud, server_id, "VERIFY_RESIZE")
    server = wait_status(cloud, server_id, "ACTIVE", timeout=CONFIRM_WINDOW + 30)

    assert server["flavor"].get("original_name", server["flavor"].get("id")) in (
        "m1.medium", "3"), server["flavor"]
    events = _events(cloud, server_id, "resize")
    assert events.get("compute_resize_instance") == "Success", events
    assert events.get("compute_finish_resize") == "Success", events
    delete_all_and_wait(cloud, [server])


def test_shelve_offload_then_unshelve(cloud: Cloud) -> None:
    wait_nodes(cloud, NODES)
    # A member's server: its owner may shelve it, only an admin may offload it.
    server_id = wait_status(cloud, boot(cloud, "offload", token=MEMBER)["server"]["id"],
                            "ACTIVE")["id"]

    status, body = action(cloud, server_id, {"shelve": None}, token=MEMBER)
    assert status == 202, body
    server = wait_status(cloud, server_id, "SHELVED")
    assert server["OS-EXT-SRV-ATTR:host"], server
    status, body = action(cloud, server_id, {"shelveOffload": None}, token=MEMBER)
    assert status == 403, body

    status, body = action(cloud, server_id, {"shelveOffload": None})
    assert status == 202, body
    server = wait_status(cloud, server_id, "SHELVED_OFFLOADED")
    assert not server["OS-EXT-SRV-ATTR:host"], server
    assert _events(cloud, server_id, "shelveOffload") == {
        "compute_shelve_offload_instance": "Success"}
    status, body = action(cloud, server_id, {"shelveOffload": None})
    assert status == 409, body

    status, body = action(cloud, server_id, {"unshelve": None})
    assert status == 202, body
    server = wait_status(cloud, server_id, "ACTIVE")
    assert _events(cloud, server_id, "shelve").get("compute_shelve_instance") == "Success"
    delete_all_and_wait(cloud, [server])
