"""The reads of kumo-compute's periodic work: the power-state sync's rows and the
resource report's usage, recomputed from every kind of claim in one read."""

from __future__ import annotations

from typing import Any

from kumo.compute import power_state, task_states, vm_states
from kumo.db import compute_nodes, instances, migration_claims, power_states

LIMITS = {"vcpus": 64, "memory_mb": 65536, "disk_gb": 1000}


def _instance(host: str = "host1", **values: Any) -> dict[str, Any]:
    base = {"project_id": "p1", "user_id": "u1", "display_name": "vm", "memory_mb": 512,
            "vcpus": 1, "root_gb": 1, "host": host}
    return instances.instance_create([{**base, **values}])[0]


def _report(host: str, *names: str) -> dict[str, dict[str, Any]]:
    nodes = compute_nodes.compute_nodes_report(host, None, [{
        "hypervisor_hostname": name, "hypervisor_type": "fake", "hypervisor_version": 1,
        "vcpus": 16, "memory_mb": 16384, "local_gb": 500, "cpu_info": "{}",
        "host_ip": "127.0.0.1"} for name in names])
    assert [node["hypervisor_hostname"] for node in nodes] == list(names)
    return {node["hypervisor_hostname"]: node for node in nodes}


def _used(node: dict[str, Any]) -> tuple[int, int, int, int, int]:
    return (node["vcpus_used"], node["memory_mb_used"], node["local_gb_used"],
            node["running_vms"], node["free_ram_mb"])


def test_power_state_rows_are_the_hosts_idle_and_spawning_servers(db: str) -> None:
    active = _instance(vm_state=vm_states.ACTIVE, task_state=None,
                       power_state=power_state.RUNNING)
    stopped = _instance(vm_state=vm_states.STOPPED, task_state=None,
                        power_state=power_state.SHUTDOWN)
    spawning = _instance(vm_state=vm_states.BUILDING, task_state=task_states.SPAWNING)
    _instance(vm_state=vm_states.ACTIVE, task_state=task_states.REBOOTING)
    _instance(vm_state=vm_states.ERROR, task_state=None)
    _instance(vm_state=vm_states.BUILDING, task_state=None)
    _instance(host="host2", vm_state=vm_states.ACTIVE, task_state=None)
    gone = _instance(vm_state=vm_states.ACTIVE, task_state=None)
    instances.instance_destroy(gone["uuid"])
    assert power_states.power_state_rows("host1") == [
        [active["uuid"], vm_states.ACTIVE, None, power_state.RUNNING],
        [stopped["uuid"], vm_states.STOPPED, None, power_state.SHUTDOWN],
        [spawning["uuid"], vm_states.BUILDING, task_states.SPAWNING, None],
    ]


def test_report_sums_every_kind_of_claim_per_node(db: str) -> None:
    nodes = _report("host1", "n0", "n1")
    other = _report("host2", "m0")["m0"]
    n0, n1 = nodes["n0"]["uuid"], nodes["n1"]["uuid"]

    def claim(node_uuid: str, vcpus: int, **values: Any) -> dict[str, Any]:
        instance = _instance(**values)
        compute_nodes.compute_node_claim(node_uuid, instance["uuid"], {
            "vcpus": vcpus, "memory_mb": 256 * vcpus, "disk_gb": vcpus}, LIMITS)
        return instance

    claim(n0, 1, vm_state=vm_states.BUILDING, task_state=task_states.SPAWNING)
    claim(n0, 2, vm_state=vm_states.ACTIVE, task_state=None)
    claim(other["uuid"], 4, host="host2", vm_state=vm_states.ACTIVE)
    # Resizing from n0 to n1 (a claim on each); migrating from host2 to n1.
    resizing = claim(n0, 3, vm_state=vm_states.ACTIVE, task_state=task_states.RESIZE_PREP)
    migration_claims.migration_claim(n1, resizing["uuid"], {
        "vcpus": 5, "memory_mb": 1280, "disk_gb": 5}, LIMITS)
    migrating = claim(other["uuid"], 6, host="host2", vm_state=vm_states.ACTIVE,
                      task_state=task_states.MIGRATING)
    migration_claims.migration_claim(n1, migrating["uuid"], {
        "vcpus": 7, "memory_mb": 1792, "disk_gb": 7}, LIMITS)
    gone = claim(n1, 8, vm_state=vm_states.ACTIVE)
    instances.instance_destroy(gone["uuid"])
    expected = {"n0": (6, 1536, 6, 3, 16384 - 1536), "n1": (12, 3072, 12, 2, 16384 - 3072)}
    claimed = {name: _used(compute_nodes.compute_node_get(nodes[name]["uuid"]))
               for name in expected}
    assert claimed == expected  # as the claims left them
    assert {name: _used(node) for name, node in _report("host1", "n0", "n1").items()} == (
        expected)
    assert _used(_report("host2", "m0")["m0"])[:4] == (10, 2560, 10, 2)
