"""kumo-compute over the fake bus: the client's casts reach the manager of the named host.

With the conductor's RPC client of the contract in place, a stub conductor
endpoint on topic ``conductor`` checks the wire names of what kumo-compute
sends back.
"""

from __future__ import annotations

from typing import Any

import oslo_messaging as messaging
import pytest

from kumo.compute import manager as compute_manager
from kumo.compute import rpcapi as compute_rpcapi
from kumo.compute import task_states, vm_states
from kumo.conductor import rpcapi as conductor_rpcapi
from kumo.virt.fake import driver as fake_driver

from .conftest import HOST, REQUEST_SPEC, StubConductor, serve, stop

pytestmark = pytest.mark.usefixtures("fake_bus")


def test_client_and_manager_speak_version_1_4() -> None:
    assert compute_rpcapi.ComputeAPI.VERSION == "1.5"
    assert compute_manager.ComputeManager.target.version == "1.5"


@pytest.mark.usefixtures("compute_on_bus")
def test_build_cast_reaches_the_host_and_reports_active(
        conductor: StubConductor, driver: fake_driver.FakeDriver, make_instance: Any,
        ctxt: Any) -> None:
    instance = make_instance()
    compute_rpcapi.ComputeAPI().build_and_run_instance(
        ctxt, instance=instance, node=HOST, request_spec=REQUEST_SPEC, host=HOST)
    update = conductor.wait_for_state_update()
    assert update["values"]["vm_state"] == vm_states.ACTIVE
    assert update["expected_task_state"] == task_states.SPAWNING
    assert driver.list_instance_uuids() == [instance.uuid]


@pytest.mark.usefixtures("compute_on_bus")
def test_terminate_cast_reaches_the_host(
        conductor: StubConductor, driver: fake_driver.FakeDriver, make_instance: Any,
        ctxt: Any) -> None:
    instance = make_instance(task_state=task_states.DELETING)
    driver.spawn(ctxt, instance, {}, [], HOST)
    compute_rpcapi.ComputeAPI().terminate_instance(ctxt, instance=instance, host=HOST)
    assert conductor.wait_for("instance_destroy") == {"instance_uuid": instance.uuid}
    assert driver.list_instance_uuids() == []


CONTRACT_METHODS = ("instance_update", "instance_destroy", "instance_get_all",
                    "compute_nodes_report", "reschedule_instance")
conductor_client_ready = pytest.mark.skipif(
    not all(hasattr(conductor_rpcapi.ConductorAPI, name) for name in CONTRACT_METHODS),
    reason="the conductor's RPC client does not have the server-lifecycle methods yet")


class ConductorEndpoint(StubConductor):
    """The stub conductor served on the bus: checks the wire's method and argument names."""

    # 1.10: kumo-compute takes a build with instance_build_take (of the stub).
    target = messaging.Target(version="1.10")


@conductor_client_ready
def test_build_and_failed_build_reach_a_conductor_on_the_bus(
        driver: fake_driver.FakeDriver, ctxt: Any, flags: Any, make_instance: Any,
        conductor: StubConductor) -> None:
    endpoint = ConductorEndpoint()
    rpc_server = serve(conductor_rpcapi.TOPIC, "conductor-host", endpoint)
    try:
        flags(node_count=2, fail_spawn_on_nodes=[f"{HOST}-node1"])
        compute = compute_manager.ComputeManager(host=HOST, driver=driver)
        ok = make_instance(node=f"{HOST}-node0")
        failing = make_instance(node=f"{HOST}-node1")
        endpoint.instances = dict(conductor.instances)
        compute.build_and_run_instance(ctxt, instance=ok, node=f"{HOST}-node0",
                                       request_spec=REQUEST_SPEC)
        compute.build_and_run_instance(ctxt, instance=failing, node=f"{HOST}-node1",
                                       request_spec=REQUEST_SPEC)
        update = endpoint.wait_for("instance_update")
        assert update["instance_uuid"] == ok.uuid
        assert update["expected_task_state"] == task_states.SPAWNING
        reschedule = endpoint.wait_for("reschedule_instance")
        assert reschedule["instance_uuid"] == failing.uuid
        assert reschedule["fault"]["code"] == 500
        compute.report_resources(ctxt)
        assert len(endpoint.wait_for("compute_nodes_report")["nodes"]) == 2
    finally:
        stop(rpc_server)
