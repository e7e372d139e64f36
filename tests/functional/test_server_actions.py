"""Server actions end to end: reboot, stop/start, pause, suspend, lock, the console,
os-instance-actions and metadata, through plain HTTP to real daemons."""

from __future__ import annotations

import threading
from typing import Any

from tests.functional.harness import SERVER_BINARIES, Cloud, wait_for
from tests.functional.servers import action, boot, wait_status
from tests.functional.test_servers import CLOUD_SETUP as _SERVERS_SETUP

CLOUD_BINARIES = SERVER_BINARIES
CLOUD_OPTIONS = {
    "fake": {"node_count": 2, "vcpus": 8, "memory_mb": 16384, "local_gb": 400},
    "compute": {"resource_report_interval": 2},
    "scheduler": {"ram_allocation_ratio": 1.0, "host_state_refresh_interval": 1},
}
USER = "alice:demo"


def CLOUD_SETUP(cloud: Cloud) -> None:  # noqa: N802  (a hook the conftest looks up)
    _SERVERS_SETUP(cloud)


def _active_server(cloud: Cloud, name: str, token: str = USER) -> str:
    server_id = boot(cloud, name, token=token)["server"]["id"]
    wait_status(cloud, server_id, "ACTIVE")
    return server_id


def _action(cloud: Cloud, server_id: str, body: dict[str, Any],
            token: str = USER) -> tuple[int, Any]:
    return action(cloud, server_id, body, token)


def _act(cloud: Cloud, server_id: str, name: str, wanted: str,
         body: Any = None) -> dict[str, Any]:
    status, reply = _action(cloud, server_id, {name: body})
    assert status == 202, reply
    assert reply is None
    return wait_status(cloud, server_id, wanted)


def test_power_actions_move_the_server_through_its_statuses(cloud: Cloud) -> None:
    server_id = _active_server(cloud, "power")

    _act(cloud, server_id, "reboot", "ACTIVE", {"type": "SOFT"})
    _act(cloud, server_id, "reboot", "ACTIVE", {"type": "HARD"})
    stopped = _act(cloud, server_id, "os-stop", "SHUTOFF")
    assert stopped["OS-EXT-STS:vm_state"] == "stopped"
    assert stopped["OS-EXT-STS:power_state"] == 4
    assert stopped["OS-EXT-STS:task_state"] is None

    status, reply = _action(cloud, server_id, {"reboot": {"type": "SOFT"}})
    assert status == 409, reply
    assert reply["conflictingRequest"]["message"] == (
        f"Cannot 'reboot' instance {server_id} while it is in vm_state stopped")
    status, reply = _action(cloud, server_id, {"os-stop": None})
    assert status == 409, reply
    assert "vm_state stopped" in reply["conflictingRequest"]["message"]

    started = _act(cloud, server_id, "os-start", "ACTIVE")
    assert started["OS-EXT-STS:power_state"] == 1
    assert _act(cloud, server_id, "pause", "PAUSED")["OS-EXT-STS:power_state"] == 3
    _act(cloud, server_id, "unpause", "ACTIVE")
    assert _act(cloud, server_id, "suspend", "SUSPENDED")["OS-EXT-STS:power_state"] == 7
    _act(cloud, server_id, "resume", "ACTIVE")
    # A hard reboot is allowed from stopped, too.
    _act(cloud, server_id, "os-stop", "SHUTOFF")
    _act(cloud, server_id, "reboot", "ACTIVE", {"type": "HARD"})

    status, reply = _action(cloud, server_id, {"fly": None})
    assert (status, reply["badRequest"]["message"]) == (400, "There is no such action: fly")


def test_two_racing_stops_give_one_202_and_one_409(cloud: Cloud) -> None:
    server_id = _active_server(cloud, "race")
    barrier = threading.Barrier(2)
    results: list[tuple[int, Any]] = []

    def stop() -> None:
        barrier.wait()
        results.append(_action(cloud, server_id, {"os-stop": None}))

    threads = [threading.Thread(target=stop) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(status for status, _ in results) == [202, 409], results
    [conflict] = [reply for status, reply in results if status == 409]
    assert conflict["conflictingRequest"]["message"].startswith(
        f"Cannot 'stop' instance {server_id} while it is in ")
    wait_status(cloud, server_id, "SHUTOFF")


def test_a_locked_server_refuses_its_owner_until_unlocked(cloud: Cloud) -> None:
    server_id = _active_server(cloud, "locked")
    status, reply = _action(cloud, server_id, {"lock": None})
    assert status == 202, reply
    status, body = cloud.api("GET", f"/servers/{server_id}", token=USER)
    assert status == 200, body
    status, reply = _action(cloud, server_id, {"os-stop": None})
    assert status == 409, reply
    assert reply["conflictingRequest"]["message"] == f"Instance {server_id} is locked"
    status, reply = _action(cloud, server_id, {"unlock": None})
    assert status == 202, reply

    # Locked by an admin: the owner may not unlock it, the admin may.
    assert _action(cloud, server_id, {"lock": None}, token="admin:admin")[0] == 202
    status, reply = _action(cloud, server_id, {"unlock": None})
    assert status == 403, reply
    assert _action(cloud, server_id, {"unlock": None}, token="admin:admin")[0] == 202
    _act(cloud, server_id, "os-stop", "SHUTOFF")


def test_console_output_and_instance_actions(cloud: Cloud) -> None:
    server_id = _active_server(cloud, "console")
    _act(cloud, server_id, "os-stop", "SHUTOFF")
    _act(cloud, server_id, "os-start", "ACTIVE")

    status, reply = _action(cloud, server_id, {"os-getConsoleOutput": {}})
    assert status == 200, reply
    assert "booted" in reply["output"] and "powered on" in reply["output"]
    status, reply = _action(cloud, server_id, {"os-getConsoleOutput": {"length": 1}})
    assert status == 200, reply
    assert len(reply["output"].strip().splitlines()) == 1

    def recorded() -> list[dict[str, Any]] | None:
        status, body = cloud.api("GET", f"/servers/{server_id}/os-instance-actions",
                                 token=USER)
        assert status == 200, body
        actions = body["instanceActions"]
        return actions if [a["action"] for a in actions] == ["start", "stop", "create"] \
            else None

    actions = wait_for(recorded, 20, message="start, stop and create recorded")
    stop = actions[1]
    assert set(stop) == {"action", "instance_uuid", "request_id", "user_id", "project_id",
                         "start_time", "message"}
    assert (stop["instance_uuid"], stop["user_id"], stop["project_id"]) == (
        server_id, "alice", "demo")
    path = f"/servers/{server_id}/os-instance-actions/{stop['request_id']}"
    status, body = cloud.api("GET", path, token=USER)
    assert status == 200, body
    assert "events" not in body["instanceAction"]

    def finished() -> list[dict[str, Any]] | None:
        status, body = cloud.api("GET", path, token="admin:admin")
        assert status == 200, body
        events = body["instanceAction"]["events"]
        return events if events and events[0]["finish_time"] else None

    [event] = wait_for(finished, 20, message="the stop's event finished")
    assert (event["event"], event["result"]) == ("compute_stop_instance", "Success")
    assert "traceback" in event
    status, body = cloud.api("GET", f"/servers/{server_id}/os-instance-actions/req-nope",
                             token=USER)
    assert status == 404, body


def test_metadata_crud(cloud: Cloud) -> None:
    server_id = _active_server(cloud, "meta")
    base = f"/servers/{server_id}/metadata"

    status, body = cloud.api("PUT", base, {"metadata": {"a": "1", "b": "2"}}, token=USER)
    assert (status, body) == (200, {"metadata": {"a": "1", "b": "2"}})
    status, body = cloud.api("POST", base, {"metadata": {"b": "3", "c": "4"}}, token=USER)
    assert (status, body) == (200, {"metadata": {"a": "1", "b": "3", "c": "4"}})
    status, body = cloud.api("PUT", f"{base}/d", {"meta": {"d": "5"}}, token=USER)
    assert (status, body) == (200, {"meta": {"d": "5"}})
    status, body = cloud.api("GET", f"{base}/d", token=USER)
    assert (status, body) == (200, {"meta": {"d": "5"}})
    status, body = cloud.api("DELETE", f"{base}/a", token=USER)
    assert status == 204, body
    status, body = cloud.api("GET", base, token=USER)
    assert (status, body) == (200, {"metadata": {"b": "3", "c": "4", "d": "5"}})
    status, body = cloud.api("GET", f"/servers/{server_id}", token=USER)
    assert body["server"]["metadata"] == {"b": "3", "c": "4", "d": "5"}

    status, body = cloud.api("GET", f"{base}/a", token=USER)
    assert (status, body["itemNotFound"]["message"]) == (404, "Metadata item was not found")
    status, body = cloud.api("PUT", f"{base}/x", {"meta": {"y": "1"}}, token=USER)
    assert (status, body["badRequest"]["message"]) == (400, "Request body and URI mismatch")
    status, body = cloud.api("PUT", base, {"metadata": {"k": "v" * 256}}, token=USER)
    assert status == 400, body
    status, body = cloud.api("PUT", base, {"metadata": {"k" * 256: "v"}}, token=USER)
    assert status == 400, body
