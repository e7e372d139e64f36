"""Server ``addresses`` and ``/servers/{id}/ips`` from kumo-network's info caches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kumo.conf import CONF
from tests.unit.api import conftest as api_fixtures
from tests.unit.api.conftest import StubConductor, call

# The compute API's own fixtures, over the conductor below.
api = api_fixtures.api
compute = api_fixtures.compute
policy_defaults = api_fixtures.policy_defaults

VIF = {"id": "vif-1", "address": "fa:16:3e:00:00:01",
       "network": {"id": "net-1", "label": "private", "bridge": "br100", "vlan": None,
                   "subnets": [{"cidr": "10.0.0.0/24", "gateway": "10.0.0.1", "dns": [],
                                "ips": [{"address": "10.0.0.2", "type": "fixed",
                                         "version": 4,
                                         "floating_ips": [{"address": "203.0.113.5",
                                                           "type": "floating",
                                                           "version": 4}]}]}]}}


class CachingConductor(StubConductor):
    def __init__(self) -> None:
        super().__init__()
        self.caches: dict[str, list[dict[str, Any]]] = {}

    def instance_info_cache_get(self, ctxt: Any, instance_uuids: list[str]) -> dict:
        self._record("instance_info_cache_get", instance_uuids=instance_uuids)
        return {uuid: self.caches.get(uuid, []) for uuid in instance_uuids}


@pytest.fixture
def conductor() -> CachingConductor:
    return CachingConductor()


@pytest.fixture
def network_enabled() -> Iterator[None]:
    CONF.set_override("enabled", True, group="network")
    yield
    CONF.clear_override("enabled", group="network")


def test_server_shows_its_fixed_and_floating_addresses(api: Any, conductor: CachingConductor,
                                                       network_enabled: None) -> None:
    server = conductor.add_instance(project_id="project-a")
    conductor.caches[server.uuid] = [VIF]

    shown = call(api, "GET", f"/servers/{server.uuid}").json["server"]["addresses"]
    listed = call(api, "GET", "/servers/detail").json["servers"][0]["addresses"]

    mac = "fa:16:3e:00:00:01"
    assert shown == listed == {"private": [
        {"version": 4, "addr": "10.0.0.2", "OS-EXT-IPS:type": "fixed",
         "OS-EXT-IPS-MAC:mac_addr": mac},
        {"version": 4, "addr": "203.0.113.5", "OS-EXT-IPS:type": "floating",
         "OS-EXT-IPS-MAC:mac_addr": mac}]}
    # One cache read for the whole list.
    assert len(conductor.called("instance_info_cache_get")) == 2


def test_ips_by_network(api: Any, conductor: CachingConductor, network_enabled: None) -> None:
    server = conductor.add_instance(project_id="project-a")
    conductor.caches[server.uuid] = [VIF]

    every = call(api, "GET", f"/servers/{server.uuid}/ips")
    one = call(api, "GET", f"/servers/{server.uuid}/ips/private")
    missing = call(api, "GET", f"/servers/{server.uuid}/ips/public")
    other = call(api, "GET", f"/servers/{server.uuid}/ips", token="bob:project-b")

    assert every.json == {"addresses": {"private": [
        {"version": 4, "addr": "10.0.0.2"}, {"version": 4, "addr": "203.0.113.5"}]}}
    assert one.json == {"private": every.json["addresses"]["private"]}
    assert missing.status_int == 404
    assert other.status_int == 404


def test_without_kumo_network_servers_have_no_addresses(api: Any,
                                                        conductor: CachingConductor) -> None:
    server = conductor.add_instance(project_id="project-a")
    conductor.caches[server.uuid] = [VIF]

    assert call(api, "GET", f"/servers/{server.uuid}").json["server"]["addresses"] == {}
    assert conductor.called("instance_info_cache_get") == []
