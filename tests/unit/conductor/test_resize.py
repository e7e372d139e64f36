"""Resizing and migrating servers: conductor task, both compute ends, the two claims.

The conductor (manager, tasks, database) and kumo-compute's managers with the
fake driver are real; the scheduler is a stand-in that claims like the real
one, and the compute casts are delivered synchronously to the manager of the
named host.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from kumo import context, exception
from kumo.compute import manager as compute_manager
from kumo.compute import move_actions, power_state, system_metadata, task_states, vm_states
from kumo.conductor import rpcapi
from kumo.conductor.tasks import common
from kumo.db import migration_claims
from kumo.virt.fake import driver as fake_driver

LIMITS = {"vcpus": 4, "memory_mb": 4096, "disk_gb": 100}
SMALL = {"id": 1, "flavorid": "1", "name": "small", "vcpus": 1, "memory_mb": 512,
         "root_gb": 1, "ephemeral_gb": 0, "swap": 0, "extra_specs": {}}
LARGE = {"id": 2, "flavorid": "2", "name": "large", "vcpus": 2, "memory_mb": 1024,
         "root_gb": 2, "ephemeral_gb": 0, "swap": 0, "extra_specs": {}}
HOSTS = ("host1", "host2", "host3")


class FakeScheduler:
    """Picks the first node not ignored and claims it as the real scheduler would."""

    def __init__(self, conductor: rpcapi.ConductorAPI, nodes: list[Any]) -> None:
        self.conductor = conductor
        self.nodes = nodes
        self.specs: list[dict[str, Any]] = []
        self.error: Exception | None = None

    def select_destinations(self, ctxt: Any, request_spec: dict[str, Any],
                            instance_uuids: list[str], return_alternates: bool = True,
                            claim: bool = True) -> list[list[dict[str, Any]]]:
        assert claim, "moves are claimed by the scheduler"
        self.specs.append(request_spec)
        if self.error is not None:
            raise self.error
        flavor = request_spec["flavor"]
        resources = {"vcpus": flavor["vcpus"], "memory_mb": flavor["memory_mb"],
                     "disk_gb": flavor["root_gb"]}
        node = next(n for n in self.nodes
                    if n.hypervisor_hostname not in request_spec.get("ignore_nodes", []))
        claim = (self.conductor.compute_node_claim_migration if request_spec.get("move")
                 else self.conductor.compute_node_claim)
        claim(ctxt, node.uuid, instance_uuids[0], resources, LIMITS)
        return [[{"host": node.host, "nodename": node.hypervisor_hostname,
                  "node_uuid": node.uuid, "limits": LIMITS}]]


class DirectCompute:
    """kumo-compute's RPC client, delivering each cast to the manager of its host."""

    def __init__(self) -> None:
        self.managers: dict[str, compute_manager.ComputeManager] = {}

    def __getattr__(self, method: str) -> Callable[..., None]:
        def cast(ctxt: Any, host: str, **kwargs: Any) -> None:
            getattr(self.managers[host], method)(ctxt, **kwargs)
        return cast


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch, conductor: rpcapi.ConductorAPI,
          ctxt: context.RequestContext) -> dict[str, Any]:
    nodes = [conductor.compute_nodes_report(ctxt, host, None, [{
        "hypervisor_hostname": host, "hypervisor_type": "fake", "hypervisor_version": 1,
        "vcpus": 4, "memory_mb": 4096, "local_gb": 100}])[0] for host in HOSTS]
    scheduler = FakeScheduler(conductor, nodes)
    compute = DirectCompute()
    for host in HOSTS:
        driver = fake_driver.FakeDriver()
        driver.init_host(host)
        compute.managers[host] = compute_manager.ComputeManager(
            host=host, driver=driver, conductor=conductor)
    monkeypatch.setattr(common, "scheduler", lambda: scheduler)
    monkeypatch.setattr(common, "compute", lambda: compute)
    monkeypatch.setattr(move_actions.MoveActionsMixin, "_compute_rpc", lambda self: compute)
    return {"nodes": nodes, "scheduler": scheduler, "compute": compute}


def _server(conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any],
            vm_state: str = vm_states.ACTIVE) -> str:
    """An ACTIVE server on host1 with its guest and its claim."""
    instance = conductor.instance_create(ctxt, [{
        "project_id": "p1", "user_id": "u1", "display_name": "vm", "flavor": SMALL,
        "vcpus": 1, "memory_mb": 512, "root_gb": 1, "image_ref": "img"}])[0]
    node = cloud["nodes"][0]
    conductor.compute_node_claim(ctxt, node.uuid, instance.uuid,
                                 {"vcpus": 1, "memory_mb": 512, "disk_gb": 1}, LIMITS)
    instance = conductor.instance_update(ctxt, instance.uuid, {
        "host": "host1", "node": "host1", "vm_state": vm_state, "task_state": None,
        "power_state": power_state.RUNNING})
    cloud["compute"].managers["host1"].driver.spawn(ctxt, instance, {}, [], "host1")
    return instance.uuid


def _wait(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _used(conductor: rpcapi.ConductorAPI, ctxt: Any) -> dict[str, int]:
    return {n.hypervisor_hostname: n.vcpus_used for n in conductor.compute_node_get_all(ctxt)}


def _resize(conductor: rpcapi.ConductorAPI, ctxt: Any, uuid: str,
            flavor: dict[str, Any] | None) -> Any:
    conductor.instance_update(ctxt, uuid, {"task_state": task_states.RESIZE_PREP})
    conductor.resize_instance(ctxt, instance_uuid=uuid, flavor=flavor)
    _wait(lambda: conductor.instance_get(ctxt, uuid).task_state is None)
    return conductor.instance_get(ctxt, uuid)


def test_resize_moves_the_guest_and_holds_both_claims_until_confirmed(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any]) -> None:
    uuid = _server(conductor, ctxt, cloud)

    instance = _resize(conductor, ctxt, uuid, LARGE)

    assert instance.vm_state == vm_states.RESIZED
    assert (instance.host, instance.node) == ("host2", "host2")
    assert (instance.flavor.flavorid, instance.vcpus, instance.memory_mb) == ("2", 2, 1024)
    assert cloud["scheduler"].specs[0]["ignore_nodes"] == ["host1"]
    assert cloud["compute"].managers["host1"].driver.guest(uuid) is None
    assert cloud["compute"].managers["host2"].driver.guest(uuid).vcpus == 2
    assert _used(conductor, ctxt) == {"host1": 1, "host2": 2, "host3": 0}
    # A resource report recomputes the same usage from the two claims.
    conductor.compute_nodes_report(ctxt, "host2", None, [{
        "hypervisor_hostname": "host2", "vcpus": 4, "memory_mb": 4096, "local_gb": 100}])
    assert _used(conductor, ctxt)["host2"] == 2

    conductor.instance_update(ctxt, uuid, {"task_state": task_states.RESIZE_CONFIRMING})
    conductor.confirm_resize(ctxt, instance_uuid=uuid)
    _wait(lambda: conductor.instance_get(ctxt, uuid).task_state is None)

    instance = conductor.instance_get(ctxt, uuid)
    assert instance.vm_state == vm_states.ACTIVE
    assert _used(conductor, ctxt) == {"host1": 0, "host2": 2, "host3": 0}
    assert migration_claims.MIGRATION_CLAIM_NODE not in instance.system_metadata
    conductor.instance_destroy(ctxt, uuid)
    assert _used(conductor, ctxt) == {"host1": 0, "host2": 0, "host3": 0}


def test_revert_resize_restores_the_old_flavor_node_and_claim(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any]) -> None:
    uuid = _server(conductor, ctxt, cloud)
    _resize(conductor, ctxt, uuid, LARGE)

    conductor.instance_update(ctxt, uuid, {"task_state": task_states.RESIZE_REVERTING})
    conductor.revert_resize(ctxt, instance_uuid=uuid)
    _wait(lambda: conductor.instance_get(ctxt, uuid).task_state is None)

    instance = conductor.instance_get(ctxt, uuid)
    assert instance.vm_state == vm_states.ACTIVE
    assert (instance.host, instance.node, instance.flavor.flavorid) == ("host1", "host1", "1")
    assert instance.vcpus == 1
    assert cloud["compute"].managers["host2"].driver.guest(uuid) is None
    assert cloud["compute"].managers["host1"].driver.guest(uuid).vcpus == 1
    assert _used(conductor, ctxt) == {"host1": 1, "host2": 0, "host3": 0}
    assert system_metadata.OLD_FLAVOR not in instance.system_metadata


def test_migrate_of_a_stopped_server_keeps_its_flavor_and_stays_stopped(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any]) -> None:
    uuid = _server(conductor, ctxt, cloud, vm_state=vm_states.STOPPED)

    instance = _resize(conductor, ctxt, uuid, None)
    assert instance.vm_state == vm_states.RESIZED and instance.flavor.flavorid == "1"
    assert instance.power_state == power_state.SHUTDOWN

    conductor.instance_update(ctxt, uuid, {"task_state": task_states.RESIZE_CONFIRMING})
    conductor.confirm_resize(ctxt, instance_uuid=uuid)
    _wait(lambda: conductor.instance_get(ctxt, uuid).task_state is None)
    assert conductor.instance_get(ctxt, uuid).vm_state == vm_states.STOPPED
    assert _used(conductor, ctxt) == {"host1": 0, "host2": 1, "host3": 0}


def test_no_valid_host_leaves_the_server_as_it_was_with_a_fault(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any]) -> None:
    uuid = _server(conductor, ctxt, cloud)
    cloud["scheduler"].error = exception.NoValidHost(reason="3 hosts: RamFilter rejected 2")

    instance = _resize(conductor, ctxt, uuid, LARGE)

    assert (instance.vm_state, instance.host, instance.flavor.flavorid) == (
        vm_states.ACTIVE, "host1", "1")
    assert "RamFilter" in instance.fault.message
    assert _used(conductor, ctxt) == {"host1": 1, "host2": 0, "host3": 0}


def test_a_failed_spawn_on_the_destination_ends_in_error_without_the_second_claim(
        conductor: rpcapi.ConductorAPI, ctxt: Any, cloud: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    uuid = _server(conductor, ctxt, cloud)

    def fail(*args: Any, **kwargs: Any) -> None:
        raise exception.InstanceFaultInjected(operation="spawn", node="host2")

    monkeypatch.setattr(cloud["compute"].managers["host2"].driver, "spawn", fail)
    instance = _resize(conductor, ctxt, uuid, LARGE)

    assert instance.vm_state == vm_states.ERROR and instance.task_state is None
    assert "Moving the server failed" in instance.fault.message
    assert _used(conductor, ctxt) == {"host1": 1, "host2": 0, "host3": 0}
    conductor.instance_destroy(ctxt, uuid)
    assert _used(conductor, ctxt) == {"host1": 0, "host2": 0, "host3": 0}
