#!/usr/bin/env python3
"""The scheduler alone, in-process: select_destinations over 1,000 and 10,000 synthetic hosts.

Builds kumo's real ``HostManager`` and ``FilterScheduler`` (default filters and
weighers) over synthetic compute nodes, with an in-memory conductor whose
``compute_node_claim`` applies the claim under the limits it is given, as the
conductor's guarded UPDATE does, but without a database or RPC. So the figures
are the scheduler's own cost per decision: filters + weighers + the claim's
bookkeeping (the real claim adds one RPC round trip and one UPDATE).

Reports p50/p95 of one ``select_destinations`` for one server and for a
multi-create of 50 (one request, 50 instance uuids). Needs kumo importable
(run it with the repo's virtualenv). Prints one JSON line.

    .venv/bin/python bench/scheduler.py
    .venv/bin/python bench/scheduler.py --hosts 1000,10000 --runs 200 --multi-runs 20
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import common  # noqa: E402


class InMemoryConductor:
    """The conductor calls the scheduler makes, over a dict of node rows."""

    def __init__(self, nodes: dict[str, dict], services: list[dict]) -> None:
        self.nodes = nodes
        self.services = services
        self.claims: dict[str, tuple[str, dict]] = {}

    def compute_node_get_all(self, ctxt, changed_since=None):
        if changed_since is not None:
            return [n for n in self.nodes.values() if n["updated_at"] > changed_since]
        return list(self.nodes.values())

    def service_get_all(self, ctxt, binary=None):
        return self.services

    def compute_node_claim(self, ctxt, node_uuid, instance_uuid, resources, limits):
        from kumo import exception
        node = self.nodes.get(node_uuid)
        if node is None:
            raise exception.ComputeNodeNotFound(node_id=node_uuid)
        if (node["vcpus_used"] + resources["vcpus"] > limits["vcpus"]
                or node["memory_mb_used"] + resources["memory_mb"] > limits["memory_mb"]
                or node["local_gb_used"] + resources["disk_gb"] > limits["disk_gb"]):
            raise exception.ComputeResourcesUnavailable(reason="over limit")
        node["vcpus_used"] += resources["vcpus"]
        node["memory_mb_used"] += resources["memory_mb"]
        node["local_gb_used"] += resources["disk_gb"]
        node["running_vms"] += 1
        self.claims[instance_uuid] = (node_uuid, resources)
        # Like the conductor: answer with the node's usage now. (updated_at kept,
        # so the incremental refresh does not refetch it.)
        return node

    compute_node_claim_migration = compute_node_claim

    def compute_node_release(self, ctxt, node_uuid, instance_uuid):
        node_uuid, resources = self.claims.pop(instance_uuid)
        node = self.nodes[node_uuid]
        node["vcpus_used"] -= resources["vcpus"]
        node["memory_mb_used"] -= resources["memory_mb"]
        node["local_gb_used"] -= resources["disk_gb"]
        node["running_vms"] -= 1
        return node

    def release_all(self) -> None:
        for instance_uuid, (node_uuid, _) in list(self.claims.items()):
            self.compute_node_release(None, node_uuid, instance_uuid)


def synthetic(count: int, seed_used: bool = True) -> tuple[dict[str, dict], list[dict]]:
    """``count`` nodes on count/10 hosts (10 nodes per compute service), partly used."""
    now = datetime.datetime.now(datetime.UTC)
    nodes: dict[str, dict] = {}
    services = []
    hosts = max(1, count // 10)
    for h in range(hosts):
        services.append({"host": f"host{h}", "binary": "kumo-compute", "disabled": False,
                         "forced_down": False, "updated_at": now, "created_at": now})
    for i in range(count):
        node_uuid = str(uuid.UUID(int=i + 1))
        # A spread of usage so that the weighers have something to order.
        used = (i * 7919) % 12 if seed_used else 0
        nodes[node_uuid] = {
            "uuid": node_uuid, "host": f"host{i % hosts}",
            "hypervisor_hostname": f"host{i % hosts}-node{i}", "hypervisor_type": "fake",
            "cpu_info": '{"arch": "x86_64"}',
            "vcpus": 16, "vcpus_used": used, "memory_mb": 65536,
            "memory_mb_used": used * 2048, "local_gb": 1024, "local_gb_used": used * 10,
            "running_vms": used, "cpu_allocation_ratio": None, "ram_allocation_ratio": None,
            "disk_allocation_ratio": None, "updated_at": now, "created_at": now,
        }
    return nodes, services


FLAVOR = {"id": "1", "name": "m1.tiny", "vcpus": 1, "memory_mb": 512, "root_gb": 1,
          "ephemeral_gb": 0, "swap": 0, "extra_specs": {}}


def request_spec(count: int) -> dict:
    return {"project_id": "bench", "user_id": "bench", "flavor": FLAVOR,
            "image": {"id": "img", "properties": {}, "min_ram": 0, "min_disk": 0},
            "availability_zone": None, "num_instances": count, "scheduler_hints": {},
            "ignore_hosts": [], "instance_group": None}


def bench_hosts(count: int, runs: int, multi: int, multi_runs: int) -> dict:
    from kumo.scheduler import filter_scheduler, host_manager

    nodes, services = synthetic(count)
    conductor = InMemoryConductor(nodes, services)
    clock = [0.0]  # a frozen clock: the cache never goes stale, as between refreshes
    manager = host_manager.HostManager(conductor=conductor, clock=lambda: clock[0])
    scheduler = filter_scheduler.FilterScheduler(host_manager=manager)

    t0 = time.perf_counter()
    manager.refresh(None, force=True)
    load_s = time.perf_counter() - t0

    def timed(n: int, reps: int) -> list[float]:
        spec = request_spec(n)
        out = []
        for _ in range(reps):
            uuids = [str(uuid.uuid4()) for _ in range(n)]
            t = time.perf_counter()
            selections = scheduler.select_destinations(None, spec, uuids)
            out.append(time.perf_counter() - t)
            assert len(selections) == n
        return out

    timed(1, 3)  # warm-up
    one = timed(1, runs)
    many = timed(multi, multi_runs)
    placed = len(conductor.claims)
    conductor.release_all()
    return {
        "hosts": count,
        "initial_load_ms": common.ms(load_s),
        "one_p50_ms": common.ms(common.percentile(one, 50)),
        "one_p95_ms": common.ms(common.percentile(one, 95)),
        "one_runs": runs,
        f"multi{multi}_p50_ms": common.ms(common.percentile(many, 50)),
        f"multi{multi}_p95_ms": common.ms(common.percentile(many, 95)),
        f"multi{multi}_per_server_p50_ms": common.ms(
            (common.percentile(many, 50) or 0) / multi),
        "multi_runs": multi_runs,
        "servers_placed": placed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", default="1000,10000",
                        help="comma-separated synthetic node counts (1000,10000)")
    parser.add_argument("--runs", type=int, default=100,
                        help="single-server decisions timed per size (100)")
    parser.add_argument("--multi", type=int, default=50, help="servers of the multi-create (50)")
    parser.add_argument("--multi-runs", type=int, default=10,
                        help="multi-create decisions timed per size (10)")
    args = parser.parse_args()

    from oslo_config import cfg

    from kumo import conf as kumo_conf  # noqa: F401 - registers the options

    cfg.CONF([], project="kumo", default_config_files=[])
    results = [bench_hosts(int(n), args.runs, args.multi, args.multi_runs)
               for n in args.hosts.split(",")]
    for r in results:
        common.log(str(r))
    common.emit({"bench": "scheduler", "python": sys.version.split()[0], "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
