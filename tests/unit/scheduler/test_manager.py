"""kumo-scheduler over the fake bus: the RPC client, the manager and a stub conductor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import oslo_messaging as messaging
import pytest

from kumo import context, exception
from kumo.conductor import rpcapi as conductor_rpcapi
from kumo.conf import CONF
from kumo.scheduler import manager as scheduler_manager
from kumo.scheduler import rpcapi as scheduler_rpcapi
from tests.unit.scheduler.fakes import FakeConductor, make_node, request_spec

pytestmark = pytest.mark.usefixtures("fake_bus")


class ConductorEndpoint(FakeConductor):
    """The stub conductor, served on topic ``conductor`` at the version the client sends."""

    target = messaging.Target(version="1.4")


@pytest.fixture
def conductor(rpc_servers: Callable[..., None]) -> ConductorEndpoint:
    endpoint = ConductorEndpoint([make_node("h1", memory_mb=4096, ram_allocation_ratio=1.0),
                                  make_node("h2", memory_mb=4096, ram_allocation_ratio=1.0)])
    for topic, served in ((conductor_rpcapi.TOPIC, endpoint),
                          (scheduler_rpcapi.TOPIC,
                           scheduler_manager.SchedulerManager(host="unit"))):
        rpc_servers(messaging.Target(topic=topic, server="unit", version="1.2"), [served])
    return endpoint


@pytest.fixture
def ctxt() -> context.RequestContext:
    return context.RequestContext(request_id="req-sched", project_id="p1", user_id="u1")


def test_select_destinations_over_the_bus_claims_through_the_conductor(
        conductor: ConductorEndpoint, ctxt: context.RequestContext) -> None:
    client = scheduler_rpcapi.SchedulerAPI()
    instance_uuids = ["11111111-1111-1111-1111-111111111111",
                      "22222222-2222-2222-2222-222222222222"]
    result = client.select_destinations(ctxt, request_spec(memory_mb=3072, num_instances=2),
                                        instance_uuids)
    assert sorted(r[0]["host"] for r in result) == ["h1", "h2"]
    # The first server may fall back to the other node; the second has nowhere else to go.
    assert [len(r) for r in result] == [2, 1]
    assert {uuid: node for uuid, (node, _) in conductor.claims.items()} == {
        uuid: r[0]["node_uuid"] for uuid, r in zip(instance_uuids, result, strict=True)}
    assert result[0][0]["limits"] == {"vcpus": 128, "memory_mb": 4096, "disk_gb": 100}


def test_no_valid_host_crosses_the_bus_with_its_reason(
        conductor: ConductorEndpoint, ctxt: context.RequestContext) -> None:
    client = scheduler_rpcapi.SchedulerAPI()
    with pytest.raises(exception.NoValidHost,
                       match=r"2 hosts: RamFilter rejected 2 \(need 8192 MB, best has 4096 MB\)"):
        client.select_destinations(ctxt, request_spec(memory_mb=8192), ["3" * 32])
    assert conductor.claims == {}


def test_client_waits_the_generous_select_destinations_timeout(flags: Any) -> None:
    flags(select_destinations_timeout=240.0)
    client = scheduler_rpcapi.SchedulerAPI(timeout=30)
    seen: dict[str, Any] = {}

    def call(ctxt: Any, method: str, args: dict[str, Any], **kwargs: Any) -> list[Any]:
        seen.update(method=method, args=args, **kwargs)
        return []

    client.call = call  # type: ignore[method-assign]
    client.select_destinations(None, {"num_instances": 1}, ["u"], return_alternates=False)
    assert seen == {"method": "select_destinations", "version": "1.1", "timeout": 240.0,
                    "args": {"request_spec": {"num_instances": 1}, "instance_uuids": ["u"],
                             "return_alternates": False}}


def test_unclaimed_selections_cross_the_bus_at_1_2(
        conductor: ConductorEndpoint, ctxt: context.RequestContext) -> None:
    client = scheduler_rpcapi.SchedulerAPI()
    [selections] = client.select_destinations(ctxt, request_spec(memory_mb=3072),
                                              ["3" * 32], claim=False)
    assert selections[0]["claimed"] is False
    assert selections[0]["resources"] == {"vcpus": 1, "memory_mb": 3072, "disk_gb": 1}
    assert conductor.claims == {}


def test_a_scheduler_pinned_below_1_2_is_asked_to_claim() -> None:
    seen: dict[str, Any] = {}

    def call(ctxt: Any, method: str, args: dict[str, Any], **kwargs: Any) -> list[Any]:
        seen.update(version=kwargs["version"], args=args)
        return []

    CONF.set_override("scheduler", "1.1", group="upgrade_levels")
    try:
        client = scheduler_rpcapi.SchedulerAPI()
        client.call = call  # type: ignore[method-assign]
        client.select_destinations(None, {"num_instances": 1}, ["u"], claim=False)
    finally:
        CONF.clear_override("scheduler", group="upgrade_levels")
    assert seen["version"] == "1.1" and "claim" not in seen["args"]
    client = scheduler_rpcapi.SchedulerAPI()
    client.call = call  # type: ignore[method-assign]
    client.select_destinations(None, {"num_instances": 1}, ["u"], claim=False)
    assert seen == {"version": "1.2", "args": {"request_spec": {"num_instances": 1},
                                                "instance_uuids": ["u"],
                                                "return_alternates": True, "claim": False}}
