"""kumo-compute asks kumo-network (over the fake bus) for addresses before the
driver spawns and releases them on delete — only with ``[network] enabled``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import oslo_messaging as messaging
import pytest

from kumo import rpc
from kumo.conf import CONF
from kumo.network import rpcapi as network_rpcapi
from tests.unit.compute import conftest as compute_fixtures

conductor = compute_fixtures.conductor
driver = compute_fixtures.driver
compute = compute_fixtures.compute
ctxt = compute_fixtures.ctxt
make_instance = compute_fixtures.make_instance
HOST = compute_fixtures.HOST
VIF = {"id": "vif-1", "address": "fa:16:3e:00:00:01", "network": {"label": "private"}}


class RecordingNetwork:
    """kumo-network's RPC endpoint, recording what kumo-compute asks."""

    target = messaging.Target(version="1.1")

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def allocate_for_instance(self, context: Any, **kwargs: Any) -> list[dict[str, Any]]:
        self.calls.append(("allocate_for_instance", kwargs))
        return [VIF]

    def deallocate_for_instance(self, context: Any, **kwargs: Any) -> None:
        self.calls.append(("deallocate_for_instance", kwargs))


@pytest.fixture
def network(fake_bus: None) -> Iterator[RecordingNetwork]:
    endpoint = RecordingNetwork()
    server = rpc.get_server(messaging.Target(topic=network_rpcapi.TOPIC, server="net1"),
                            [endpoint])
    server.start()
    CONF.set_override("enabled", True, group="network")
    yield endpoint
    CONF.clear_override("enabled", group="network")
    server.stop()
    server.wait()


def test_build_allocates_before_spawn_and_delete_releases(
        network: RecordingNetwork, compute: Any, driver: Any, make_instance: Any,
        ctxt: Any) -> None:
    instance = make_instance()
    spec = {**compute_fixtures.REQUEST_SPEC,
            "networks": [{"uuid": "net-1", "fixed_ip": "10.0.0.9", "tag": "x"}]}

    compute.build_and_run_instance(ctxt, instance, HOST, spec)

    [(name, args)] = network.calls
    assert name == "allocate_for_instance"
    assert args["instance_uuid"] == instance.uuid and args["host"] == HOST
    assert args["requested_networks"] == [{"uuid": "net-1", "fixed_ip": "10.0.0.9"}]
    assert driver._guests[instance.uuid].network_info == [VIF]

    compute.terminate_instance(ctxt, instance)
    assert network.calls[-1] == ("deallocate_for_instance",
                                 {"instance_uuid": instance.uuid, "host": HOST})


def test_networks_none_and_disabled_never_call_kumo_network(
        network: RecordingNetwork, compute: Any, driver: Any, make_instance: Any,
        ctxt: Any) -> None:
    none = make_instance()
    compute.build_and_run_instance(ctxt, none, HOST, {**compute_fixtures.REQUEST_SPEC,
                                                      "networks": "none"})
    CONF.set_override("enabled", False, group="network")
    off = make_instance()
    compute.build_and_run_instance(ctxt, off, HOST, compute_fixtures.REQUEST_SPEC)
    compute.terminate_instance(ctxt, off)

    assert network.calls == []
    assert driver._guests[none.uuid].network_info == []
