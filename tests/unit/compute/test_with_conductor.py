"""kumo-compute with a real kumo-conductor (manager and in-memory database) on the fake bus.

Only kumo-scheduler is a stub, served on its topic: it picks the compute
nodes in order and claims the first, as the contract says the real one does.
Everything else crosses the bus as in production: the conductor casts
``build_and_run_instance`` through kumo-compute's client to the host's
manager, which answers through the conductor's client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import oslo_messaging as messaging
import pytest

from kumo import context, exception
from kumo.compute import manager as compute_manager
from kumo.compute import power_state, task_states, vm_states
from kumo.compute import rpcapi as compute_rpcapi
from kumo.conductor import manager as conductor_manager
from kumo.conductor import rpcapi as conductor_rpcapi
from kumo.conf import CONF
from kumo.virt.fake import driver as fake_driver

from .conftest import serve

HOST = "cmp1"
LIMITS = {"vcpus": 64, "memory_mb": 65536, "disk_gb": 1000}
REQUEST_SPEC = {"project_id": "p1", "user_id": "u1", "flavor": {"flavorid": "1"},
                "image": {"id": "img-1", "properties": {}, "min_ram": 0, "min_disk": 0,
                          "size": 0},
                "availability_zone": None, "num_instances": 1, "scheduler_hints": {},
                "ignore_hosts": [], "instance_group": None}


class StubScheduler:
    """select_destinations over every node in name order; the first one claimed
    (``claim=False``: left to the caller, as RPC 1.2 says)."""

    target = messaging.Target(version="1.2")

    def __init__(self, conductor: conductor_rpcapi.ConductorAPI) -> None:
        self.conductor = conductor

    def select_destinations(self, ctxt: Any, request_spec: dict[str, Any],
                            instance_uuids: list[str], return_alternates: bool = True,
                            claim: bool = True) -> list[list[dict[str, Any]]]:
        nodes = sorted(self.conductor.compute_node_get_all(ctxt),
                       key=lambda node: node.hypervisor_hostname)
        answers = []
        for instance_uuid in instance_uuids:
            selections = [{"host": node.host, "nodename": node.hypervisor_hostname,
                           "node_uuid": node.uuid, "limits": LIMITS} for node in nodes]
            resources = {"vcpus": 1, "memory_mb": 512, "disk_gb": 1}
            if claim:
                self.conductor.compute_node_claim(
                    ctxt, selections[0]["node_uuid"], instance_uuid, resources, LIMITS)
            else:
                selections[0].update(claimed=False, resources=resources)
            answers.append(selections[:CONF.scheduler.max_attempts])
        return answers


@pytest.fixture
def cloud(fake_bus: None, conductor_db: None,
          flags: Callable[..., None]) -> Iterator[dict[str, Any]]:
    """A conductor, a stub scheduler and kumo-compute on HOST with two fake nodes."""
    flags(node_count=2)
    conductor = conductor_rpcapi.ConductorAPI(timeout=10)
    driver = fake_driver.FakeDriver()
    compute = compute_manager.ComputeManager(host=HOST, driver=driver)
    servers = [
        serve(conductor_rpcapi.TOPIC, "conductor-host",
              conductor_manager.ConductorManager(host="conductor-host")),
        serve("scheduler", "scheduler-host", StubScheduler(conductor)),
        serve("compute", HOST, compute),
    ]
    compute.init_host()
    yield {"conductor": conductor, "driver": driver, "compute": compute}
    for rpc_server in servers:
        rpc_server.stop()
    for rpc_server in servers:
        rpc_server.wait()


@pytest.fixture
def ctxt() -> context.RequestContext:
    return context.RequestContext(request_id="req-cloud", project_id="p1", user_id="u1")


def boot(conductor: conductor_rpcapi.ConductorAPI, ctxt: Any) -> str:
    [instance] = conductor.instance_create(ctxt, [
        {"project_id": "p1", "user_id": "u1", "memory_mb": 512, "vcpus": 1, "root_gb": 1,
         "display_name": "vm"}])
    conductor.build_instances(ctxt, instance_uuids=[instance.uuid],
                              request_spec=REQUEST_SPEC)
    return instance.uuid


def wait_for(conductor: conductor_rpcapi.ConductorAPI, ctxt: Any, uuid: str,
             predicate: Callable[[Any], bool], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            instance = conductor.instance_get(ctxt, uuid)
        except exception.InstanceNotFound:
            instance = None
        if predicate(instance):
            return instance
        assert time.monotonic() < deadline, f"timed out; last seen {instance}"
        time.sleep(0.02)


def test_nodes_are_reported_at_start(cloud: dict[str, Any], ctxt: Any) -> None:
    nodes = cloud["conductor"].compute_node_get_all(ctxt)
    assert sorted(node.hypervisor_hostname for node in nodes) == [
        f"{HOST}-node0", f"{HOST}-node1"]
    assert {node.host for node in nodes} == {HOST}


def test_boot_becomes_active_and_delete_removes_guest_and_row(
        cloud: dict[str, Any], ctxt: Any) -> None:
    conductor, driver = cloud["conductor"], cloud["driver"]
    uuid = boot(conductor, ctxt)
    active = wait_for(conductor, ctxt, uuid,
                      lambda i: i is not None and i.vm_state == vm_states.ACTIVE)
    assert active.task_state is None
    assert active.power_state == power_state.RUNNING
    assert active.launched_at is not None
    assert (active.host, active.node) == (HOST, f"{HOST}-node0")
    assert driver.list_instance_uuids(node=f"{HOST}-node0") == [uuid]

    conductor.instance_update(ctxt, uuid, {"task_state": task_states.DELETING},
                              expected_task_state=[None])
    compute_rpcapi.ComputeAPI().terminate_instance(ctxt, instance=active, host=HOST)
    wait_for(conductor, ctxt, uuid, lambda i: i is None)
    assert driver.list_instance_uuids() == []


def test_failed_spawn_is_rebuilt_on_the_next_node(
        cloud: dict[str, Any], ctxt: Any, flags: Callable[..., None]) -> None:
    flags(fail_spawn_on_nodes=[f"{HOST}-node0"])
    conductor, driver = cloud["conductor"], cloud["driver"]
    uuid = boot(conductor, ctxt)
    active = wait_for(conductor, ctxt, uuid,
                      lambda i: i is not None and i.vm_state == vm_states.ACTIVE)
    assert active.node == f"{HOST}-node1"
    assert driver.list_instance_uuids() == [uuid]


def test_spawn_failing_everywhere_ends_in_error_with_a_fault(
        cloud: dict[str, Any], ctxt: Any, flags: Callable[..., None]) -> None:
    flags(fail_spawn_on_nodes=[f"{HOST}-node0", f"{HOST}-node1"])
    conductor, driver = cloud["conductor"], cloud["driver"]
    uuid = boot(conductor, ctxt)
    # The conductor sets ERROR, then records the fault: wait for both.
    failed = wait_for(conductor, ctxt, uuid, lambda i: i is not None
                      and i.vm_state == vm_states.ERROR and i.fault is not None)
    assert failed.task_state is None
    assert "Injected failure of spawn" in failed.fault.message
    assert driver.list_instance_uuids() == []


def test_power_sync_stops_a_server_whose_guest_shut_down(
        cloud: dict[str, Any], ctxt: Any) -> None:
    conductor, driver = cloud["conductor"], cloud["driver"]
    uuid = boot(conductor, ctxt)
    wait_for(conductor, ctxt, uuid, lambda i: i is not None and i.vm_state == vm_states.ACTIVE)
    driver.set_power_state(uuid, power_state.SHUTDOWN)
    cloud["compute"].sync_power_states(ctxt)
    stopped = conductor.instance_get(ctxt, uuid)
    assert (stopped.vm_state, stopped.power_state) == (vm_states.STOPPED,
                                                        power_state.SHUTDOWN)


def test_restart_reschedules_a_build_whose_guest_is_gone(
        cloud: dict[str, Any], ctxt: Any) -> None:
    conductor, driver, compute = cloud["conductor"], cloud["driver"], cloud["compute"]
    uuid = boot(conductor, ctxt)
    wait_for(conductor, ctxt, uuid, lambda i: i is not None and i.vm_state == vm_states.ACTIVE)
    # As if kumo-compute had died during the spawn on node0.
    instance = conductor.instance_get(ctxt, uuid)
    driver.destroy(ctxt, instance)
    conductor.instance_update(ctxt, uuid, {"vm_state": vm_states.BUILDING,
                                           "task_state": task_states.SPAWNING})
    compute.reconcile(ctxt)
    rebuilt = wait_for(conductor, ctxt, uuid,
                       lambda i: i is not None and i.vm_state == vm_states.ACTIVE
                       and i.node == f"{HOST}-node1")
    assert rebuilt.task_state is None
    assert driver.list_instance_uuids() == [uuid]
