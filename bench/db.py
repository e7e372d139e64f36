"""CPU and SQL statements of kumo-conductor's database calls per server boot and
per delete, in-process on a temporary file SQLite (no RPC, no daemons).

Runs the conductor's DB functions of one boot in the order the services call
them (the flavor and image reads, the quota-checked insert, the claim in the
build's schedule write with its event, kumo-compute's build take, the ACTIVE
write finishing its event) and of one delete (the destroy finishing its event),
and prints one JSON line: statements and CPU ms (this process's utime+stime) per
boot and per delete.
Needs kumo importable (the repo's .venv). Figures only, no assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kumo import process  # noqa: E402
from kumo.conf import CONF  # noqa: E402

NODES = 20
IMAGE = "6a1c5c1e-7e43-4e4b-9d7b-3f1c2b4d5e6f"
FLAVOR = {"flavorid": "1", "name": "m1.tiny", "vcpus": 1, "memory_mb": 512, "root_gb": 1,
          "ephemeral_gb": 0, "swap": 0}


def _setup(directory: str) -> list[dict[str, Any]]:
    CONF([], project="kumo")
    process._binary = "kumo-conductor"
    # Finite limits large enough for every run: the check does its real work.
    for resource in ("instances", "cores", "ram"):
        CONF.set_override(resource, 10 ** 9, group="quota")
    CONF.set_override("connection", f"sqlite:///{directory}/kumo.sqlite", group="database")
    from kumo.db import compute_nodes, flavors, images, migration

    migration.db_sync()
    flavors.flavor_create({**FLAVOR, "extra_specs": {"hw:cpu_policy": "shared"}})
    images.image_create({"id": IMAGE, "name": "cirros", "visibility": "public",
                         "status": "active", "properties": {"hw_disk_bus": "virtio"}})
    return compute_nodes.compute_nodes_report("bench", None, [
        {"hypervisor_hostname": f"node{i}", "vcpus": 10 ** 6, "memory_mb": 10 ** 9,
         "local_gb": 10 ** 7} for i in range(NODES)])


def _boot(index: int, node: dict[str, Any], request_id: str) -> str:
    from kumo.compute import build_guard, task_states, vm_states
    from kumo.db import flavors, images, instance_writes, instances

    # The API's first call: the flavor and the image the boot names (boot_sources).
    flavors.flavor_get_by_flavor_id(FLAVOR["flavorid"], project_id="bench")
    images.image_get(IMAGE, project_id="bench")
    values = {"project_id": "bench", "user_id": "bench", "vcpus": 1, "memory_mb": 512,
              "root_gb": 1, "ephemeral_gb": 0, "flavor": FLAVOR, "image_ref": "image",
              "display_name": f"bench-{index}", "metadata": {}}
    instance_uuid = instances.instance_create_uuids([values], min_count=1)[0]
    event = {"action": "create", "request_id": request_id, "user_id": "bench",
             "project_id": "bench", "event": "conductor_schedule_and_build_instances",
             "host": "conductor", "start_time": None, "result": "Success",
             "traceback": None, "details": None}
    # The conductor claims the scheduler's pick in the move to spawning (one commit).
    instance_writes.claim_and_update(
        node["uuid"], {"vcpus": 1, "memory_mb": 512, "disk_gb": 1}, {"vcpus": 10 ** 6},
        instance_uuid, {"host": "bench", "node": node["hypervisor_hostname"],
                        "task_state": task_states.SPAWNING,
                        "system_metadata": {"alternates": "[]",
                                            "attempts": '[{"host": "bench"}]',
                                            "request_spec": "{}"}},
        event, expected_task_state=task_states.SCHEDULING)
    token = f"bench/{node['hypervisor_hostname']}#1"
    reason = instance_writes.take_build(
        instance_uuid, {"system_metadata": {build_guard.BUILD_TAKEN: token}},
        lambda row: build_guard.stale_reason_of_row(row, "bench",
                                                    node["hypervisor_hostname"], token),
        event={"request_id": request_id, "event": "compute_build_and_run_instance",
               "host": "bench"})
    if reason is not None:
        raise RuntimeError(f"build take refused: {reason}")
    instance_writes.update_finishing_event(
        instance_uuid, {"vm_state": vm_states.ACTIVE, "task_state": None, "power_state": 1},
        {"request_id": request_id, "event": "compute_build_and_run_instance",
         "host": "bench", "result": "Success"}, expected_task_state=task_states.SPAWNING)
    return instance_uuid


def _delete(instance_uuid: str, request_id: str) -> None:
    from kumo.db import instance_writes

    # The finish refers to the boot's action (request_id): the API's start of a delete
    # action is another call, not measured here.
    instance_writes.destroy_finishing_event(instance_uuid, {
        "request_id": request_id, "event": "compute_terminate_instance", "host": "bench",
        "result": "Success", "start_time": "2026-01-01T00:00:00Z"})


def _cpu() -> float:
    return time.process_time()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--servers", type=int, default=300,
                        help="servers booted then deleted while measured (300)")
    parser.add_argument("--warmup", type=int, default=40, help="unmeasured boots first (40)")
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="kumo-bench-db-")
    try:
        nodes = _setup(directory)
        import sqlalchemy as sa

        from kumo.db import api

        statements = [0]

        def count(*_args: Any) -> None:
            statements[0] += 1

        sa.event.listen(api.get_engine(), "before_cursor_execute", count)
        for index in range(args.warmup):
            request_id = f"req-{uuid.uuid4()}"
            _delete(_boot(index, nodes[index % NODES], request_id), request_id)
        booted = []
        statements[0] = 0
        started = _cpu()
        for index in range(args.servers):
            request_id = f"req-{uuid.uuid4()}"
            booted.append((_boot(index, nodes[index % NODES], request_id), request_id))
        boot_cpu, boot_statements = _cpu() - started, statements[0]
        statements[0] = 0
        started = _cpu()
        for instance_uuid, request_id in booted:
            _delete(instance_uuid, request_id)
        delete_cpu, delete_statements = _cpu() - started, statements[0]
    except Exception as error:  # noqa: BLE001 (one JSON line whatever fails)
        print(json.dumps({"bench": "db", "error": repr(error)}))
        return 1
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    count_ = args.servers
    print(json.dumps({
        "bench": "db", "servers": count_,
        "boot": {"statements": round(boot_statements / count_, 2),
                 "cpu_ms": round(boot_cpu / count_ * 1000, 3)},
        "delete": {"statements": round(delete_statements / count_, 2),
                   "cpu_ms": round(delete_cpu / count_ * 1000, 3)}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
