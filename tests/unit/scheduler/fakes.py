"""A fake conductor for the scheduler's unit tests: compute nodes and services in memory.

Its claim is the conductor's guarded update in miniature (usage + request <=
limit, else ComputeResourcesUnavailable), so over-commit shows up as a failure.
"""

from __future__ import annotations

import datetime
import itertools
import uuid as uuidlib
from typing import Any

from kumo import exception
from kumo.objects.compute_node import ComputeNode
from kumo.objects.service import Service

_ids = itertools.count(1)
EPOCH = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def make_node(host: str, nodename: str | None = None, vcpus: int = 8, memory_mb: int = 16384,
              local_gb: int = 100, **fields: Any) -> ComputeNode:
    values: dict[str, Any] = {
        "id": next(_ids), "uuid": str(uuidlib.uuid4()), "service_id": None, "host": host,
        "hypervisor_hostname": nodename or host, "hypervisor_type": "fake",
        "hypervisor_version": 1, "vcpus": vcpus, "memory_mb": memory_mb,
        "local_gb": local_gb, "vcpus_used": 0, "memory_mb_used": 0, "local_gb_used": 0,
        "running_vms": 0, "cpu_allocation_ratio": None, "ram_allocation_ratio": None,
        "disk_allocation_ratio": None, "cpu_info": "{}", "updated_at": EPOCH}
    values.update(fields)
    return ComputeNode.from_row(values)


def make_service(host: str, up: bool = True, disabled: bool = False) -> Service:
    seen = (datetime.datetime.now(datetime.UTC) if up
            else datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC))
    return Service.from_row({"id": next(_ids), "uuid": str(uuidlib.uuid4()), "host": host,
                             "binary": "kumo-compute", "topic": "compute",
                             "disabled": disabled, "forced_down": False,
                             "last_seen_up": seen})


class FakeConductor:
    """The four conductor methods the scheduler uses, over in-memory nodes."""

    def __init__(self, nodes: list[ComputeNode] | None = None,
                 services: list[Service] | None = None) -> None:
        self.nodes: dict[str, ComputeNode] = {n.uuid: n for n in nodes or []}
        if services is None:
            services = [make_service(h) for h in sorted({n.host for n in self.nodes.values()})]
        self.services = services
        self.claims: dict[str, tuple[str, dict[str, int]]] = {}
        # Host aggregates: {"name", "hosts", "metadata", "availability_zone"}.
        self.aggregates: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.clock = EPOCH

    def tick(self) -> datetime.datetime:
        self.clock += datetime.timedelta(seconds=1)
        return self.clock

    def add_node(self, node: ComputeNode) -> None:
        node.updated_at = self.tick()
        self.nodes[node.uuid] = node

    def take(self, node_uuid: str, vcpus: int = 0, memory_mb: int = 0, disk_gb: int = 0,
             touch: bool = True) -> None:
        """Someone else (another scheduler) uses resources on the node."""
        node = self.nodes[node_uuid]
        node.vcpus_used += vcpus
        node.memory_mb_used += memory_mb
        node.local_gb_used += disk_gb
        if touch:
            node.updated_at = self.tick()

    # -- the conductor API ----------------------------------------------------
    def compute_node_get_all(self, ctxt: Any, changed_since: Any = None) -> list[ComputeNode]:
        self.calls.append(("compute_node_get_all", {"changed_since": changed_since}))
        nodes = [n for n in self.nodes.values()
                 if changed_since is None or n.updated_at >= changed_since]
        return [n.obj_clone() for n in nodes]

    def service_get_all(self, ctxt: Any, binary: str | None = None,
                        host: str | None = None) -> list[Service]:
        self.calls.append(("service_get_all", {"binary": binary, "host": host}))
        return [s for s in self.services if (binary is None or s.binary == binary)
                and (host is None or s.host == host)]

    def compute_node_claim(self, ctxt: Any, node_uuid: str, instance_uuid: str,
                           resources: dict[str, int], limits: dict[str, int]) -> ComputeNode:
        self.calls.append(("compute_node_claim", {"node_uuid": node_uuid,
                                                  "instance_uuid": instance_uuid}))
        node = self.nodes[node_uuid]
        if (node.vcpus_used + resources["vcpus"] > limits["vcpus"]
                or node.memory_mb_used + resources["memory_mb"] > limits["memory_mb"]
                or node.local_gb_used + resources["disk_gb"] > limits["disk_gb"]):
            raise exception.ComputeResourcesUnavailable(node=node.hypervisor_hostname,
                                                        reason="does not fit")
        self.take(node_uuid, resources["vcpus"], resources["memory_mb"],
                  resources["disk_gb"])
        self.claims[instance_uuid] = (node_uuid, dict(resources))
        return node.obj_clone()

    def compute_node_release(self, ctxt: Any, node_uuid: str,
                             instance_uuid: str) -> ComputeNode:
        self.calls.append(("compute_node_release", {"node_uuid": node_uuid,
                                                    "instance_uuid": instance_uuid}))
        claim = self.claims.get(instance_uuid)
        if claim and claim[0] == node_uuid:
            del self.claims[instance_uuid]
            res = claim[1]
            self.take(node_uuid, -res["vcpus"], -res["memory_mb"], -res["disk_gb"])
        return self.nodes[node_uuid].obj_clone()

    def aggregate_get_all(self, ctxt: Any) -> list[dict[str, Any]]:
        return [dict(aggregate) for aggregate in self.aggregates]

    def method_calls(self, name: str) -> list[dict[str, Any]]:
        return [kwargs for method, kwargs in self.calls if method == name]


def request_spec(vcpus: int = 1, memory_mb: int = 512, root_gb: int = 1, ephemeral_gb: int = 0,
                 swap: int = 0, num_instances: int = 1, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "project_id": "p1", "user_id": "u1",
        "flavor": {"flavorid": "f1", "name": "f1", "vcpus": vcpus, "memory_mb": memory_mb,
                   "root_gb": root_gb, "ephemeral_gb": ephemeral_gb, "swap": swap,
                   "extra_specs": extra.pop("extra_specs", {})},
        "image": {"id": "img", "properties": extra.pop("image_properties", {}),
                  "min_ram": 0, "min_disk": 0, "size": 0},
        "availability_zone": None, "num_instances": num_instances, "scheduler_hints": {},
        "ignore_hosts": [], "instance_group": None}
    spec.update(extra)
    return spec
