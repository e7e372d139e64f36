"""The resource tracker reports every node's inventory, with the service id once it exists."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from kumo.compute import resource_tracker
from kumo.virt import driver as virt_driver
from kumo.virt.fake import driver as fake_driver

from .conftest import HOST, StubConductor


def tracker(driver: fake_driver.FakeDriver,
            conductor: StubConductor) -> resource_tracker.ResourceTracker:
    return resource_tracker.ResourceTracker(HOST, driver, conductor)


def test_report_carries_one_inventory_per_node(
        driver: fake_driver.FakeDriver, conductor: StubConductor, ctxt: Any,
        flags: Callable[..., None]) -> None:
    flags(node_count=3, vcpus=4, memory_mb=2048, local_gb=20)
    tracker(driver, conductor).report(ctxt)
    [report] = conductor.calls_of("compute_nodes_report")
    assert report["host"] == HOST
    nodes = report["nodes"]
    assert [node["hypervisor_hostname"] for node in nodes] == [
        f"{HOST}-node0", f"{HOST}-node1", f"{HOST}-node2"]
    for node in nodes:
        assert set(node) == set(virt_driver.NODE_RESOURCE_KEYS) | set(
            resource_tracker.ALLOCATION_RATIOS)
        assert (node["vcpus"], node["memory_mb"], node["local_gb"]) == (4, 2048, 20)
        assert node["hypervisor_type"] == "fake"
        json.loads(node["cpu_info"])
        assert node["cpu_allocation_ratio"] is None
    # Everything in the report is JSON-able, as the bus needs it.
    json.dumps(nodes)


def test_report_carries_the_configured_allocation_ratios(
        driver: fake_driver.FakeDriver, conductor: StubConductor, ctxt: Any,
        flags: Callable[..., None]) -> None:
    flags(group="compute", cpu_allocation_ratio=4.0, ram_allocation_ratio=1.0)
    tracker(driver, conductor).report(ctxt)
    [node] = conductor.calls_of("compute_nodes_report")[0]["nodes"]
    assert (node["cpu_allocation_ratio"], node["ram_allocation_ratio"],
            node["disk_allocation_ratio"]) == (4.0, 1.0, None)


def test_service_id_is_none_until_the_service_is_registered_then_kept(
        driver: fake_driver.FakeDriver, conductor: StubConductor, ctxt: Any) -> None:
    reporter = tracker(driver, conductor)
    reporter.report(ctxt)
    conductor.service_id = 5
    reporter.report(ctxt)
    reporter.report(ctxt)
    assert [call["service_id"] for call in conductor.calls_of("compute_nodes_report")] == [
        None, 5, 5]
    assert conductor.calls_of("service_get_by_host_and_binary") == [
        {"host": HOST, "binary": "kumo-compute"}] * 2


def test_a_node_the_driver_cannot_describe_is_left_out(
        driver: fake_driver.FakeDriver, conductor: StubConductor, ctxt: Any,
        flags: Callable[..., None], monkeypatch: Any) -> None:
    flags(node_count=2)
    describe = driver.get_node_resources

    def flaky(nodename: str) -> dict[str, Any]:
        if nodename.endswith("node0"):
            raise RuntimeError("hypervisor busy")
        return describe(nodename)

    monkeypatch.setattr(driver, "get_node_resources", flaky)
    tracker(driver, conductor).report(ctxt)
    [report] = conductor.calls_of("compute_nodes_report")
    assert [node["hypervisor_hostname"] for node in report["nodes"]] == [f"{HOST}-node1"]
