"""Server groups, availability zones and host aggregates end to end: plain HTTP to
kumo-api, real daemons, a real RabbitMQ.

Anti-affinity is per host, and the fake nodes of one kumo-compute share its
host, so this cloud runs four kumo-compute processes, each its own host with
one fake node.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.functional.harness import SERVER_BINARIES, Cloud, wait_for
from tests.functional.servers import (
    ACTIVE_BOUND,
    ADMIN,
    SMALL,
    create_flavors_and_image,
    delete_all_and_wait,
    image_id,
    list_servers,
)

EXTRA_HOSTS = 3
CLOUD_BINARIES = SERVER_BINARIES
CLOUD_OPTIONS = {
    "fake": {"node_count": 1, "vcpus": 8, "memory_mb": 16384, "local_gb": 400},
    "compute": {"resource_report_interval": 2},
    "scheduler": {"ram_allocation_ratio": 1.0, "host_state_refresh_interval": 1},
}


def CLOUD_SETUP(cloud: Cloud) -> None:  # noqa: N802  (a hook the conftest looks up)
    create_flavors_and_image(cloud, SMALL)
    cloud.manage("flavor", "create", "ssd.small", "--id", "20", "--ram", "2048",
                 "--vcpus", "1", "--disk", "20")


@pytest.fixture(scope="module")
def hosts(module_cloud: Cloud) -> Iterator[list[str]]:
    """The cloud's own compute host plus EXTRA_HOSTS more kumo-compute processes."""
    cloud = module_cloud
    names = [cloud.host] + [f"{cloud.host}-c{i}" for i in range(1, EXTRA_HOSTS + 1)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for name in names[1:]:
            config = cloud.write_config(cloud.root / f"{name}.conf",
                                        {"DEFAULT": {"host": name}})
            processes.append(cloud.spawn("kumo-compute", cloud.log_dir / f"{name}.log",
                                         config_files=[config]))

        def all_reported() -> bool:
            rows = cloud.query("SELECT DISTINCT host FROM compute_nodes WHERE deleted = 0")
            up = cloud.query("SELECT DISTINCT host FROM services WHERE deleted = 0 AND "
                             "binary = 'kumo-compute' AND report_count > 0")
            return ({str(r[0]) for r in rows} >= set(names)
                    and {str(r[0]) for r in up} >= set(names))

        wait_for(all_reported, 60, interval=0.5, message="every compute host reported")
        yield names
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def _group(cloud: Cloud, policy: str) -> str:
    status, body = cloud.api("POST", "/os-server-groups",
                             {"server_group": {"name": policy, "policies": [policy]}})
    assert status == 200, body
    return str(body["server_group"]["id"])


def _boot(cloud: Cloud, name: str, count: int, flavor: str = "2",
          hints: dict[str, Any] | None = None, zone: str | None = None) -> str:
    server: dict[str, Any] = {"name": name, "imageRef": image_id(cloud), "flavorRef": flavor,
                              "min_count": count, "max_count": count,
                              "return_reservation_id": True}
    if zone is not None:
        server["availability_zone"] = zone
    request: dict[str, Any] = {"server": server}
    if hints:
        request["os:scheduler_hints"] = hints
    status, body = cloud.api("POST", "/servers", request)
    assert status == 202, body
    return str(body["reservation_id"])


def _settled(cloud: Cloud, reservation: str, count: int) -> list[dict[str, Any]]:
    """The request's servers once each is ACTIVE or ERROR."""

    def done() -> list[dict[str, Any]] | None:
        servers = list_servers(cloud, reservation_id=reservation)
        finished = [s for s in servers if s["status"] in ("ACTIVE", "ERROR")]
        return servers if len(servers) == count and len(finished) == count else None

    return wait_for(done, ACTIVE_BOUND, interval=0.5,
                    message=lambda: cloud.log_tails(["kumo-conductor", "kumo-scheduler"]))


def _faults(servers: list[dict[str, Any]]) -> list[Any]:
    return [(s["name"], s["status"], s.get("OS-EXT-SRV-ATTR:host"), s.get("fault"))
            for s in servers]


def _host(server: dict[str, Any]) -> str:
    return str(server["OS-EXT-SRV-ATTR:host"])


def _aggregate(cloud: Cloud, name: str, host: str, zone: str | None = None,
               metadata: dict[str, str] | None = None) -> int:
    status, body = cloud.api("POST", "/os-aggregates",
                             {"aggregate": {"name": name, "availability_zone": zone}})
    assert status == 200, body
    number = int(body["aggregate"]["id"])
    status, body = cloud.api("POST", f"/os-aggregates/{number}/action",
                             {"add_host": {"host": host}})
    assert status == 200, body
    if metadata:
        status, body = cloud.api("POST", f"/os-aggregates/{number}/action",
                                 {"set_metadata": {"metadata": metadata}})
        assert status == 200, body
    return number


def _drop_aggregate(cloud: Cloud, number: int, host: str) -> None:
    status, body = cloud.api("POST", f"/os-aggregates/{number}/action",
                             {"remove_host": {"host": host}})
    assert status == 200, body
    status, body = cloud.api("DELETE", f"/os-aggregates/{number}")
    assert status == 200, body


def test_anti_affinity_spreads_group_across_hosts_and_fails_cleanly_when_it_cannot(
        cloud: Cloud, hosts: list[str]) -> None:
    group = _group(cloud, "anti-affinity")
    count = len(hosts) + 1
    reservation = _boot(cloud, "spread", count, hints={"group": group})

    servers = _settled(cloud, reservation, count)

    active = [s for s in servers if s["status"] == "ACTIVE"]
    failed = [s for s in servers if s["status"] == "ERROR"]
    assert sorted(_host(s) for s in active) == sorted(hosts), servers
    assert len(failed) == 1, servers
    fault = failed[0]["fault"]
    assert fault["message"].startswith("No valid host was found."), fault
    assert "anti-affinity" in fault["message"], fault
    status, body = cloud.api("GET", f"/os-server-groups/{group}")
    assert status == 200, body
    assert sorted(body["server_group"]["members"]) == sorted(s["id"] for s in servers)

    delete_all_and_wait(cloud, servers)
    status, body = cloud.api("GET", f"/os-server-groups/{group}")
    assert body["server_group"]["members"] == [], body
    assert cloud.api("DELETE", f"/os-server-groups/{group}")[0] == 204


def test_concurrent_boots_into_one_anti_affinity_group_never_share_a_host(
        cloud: Cloud, hosts: list[str]) -> None:
    group = _group(cloud, "anti-affinity")
    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        reservations = list(pool.map(
            lambda index: _boot(cloud, f"race-{index}", 1, hints={"group": group}),
            range(len(hosts))))

    servers = [s for r in reservations for s in _settled(cloud, r, 1)]

    assert all(s["status"] == "ACTIVE" for s in servers), _faults(servers)
    assert sorted(_host(s) for s in servers) == sorted(hosts), _faults(servers)
    delete_all_and_wait(cloud, servers)


def test_affinity_keeps_the_members_of_a_group_together(
        cloud: Cloud, hosts: list[str]) -> None:
    group = _group(cloud, "affinity")
    first = _settled(cloud, _boot(cloud, "together", 3, hints={"group": group}), 3)
    later = _settled(cloud, _boot(cloud, "later", 1, hints={"group": group}), 1)

    servers = first + later
    assert all(s["status"] == "ACTIVE" for s in servers), servers
    assert len({_host(s) for s in servers}) == 1, [_host(s) for s in servers]
    delete_all_and_wait(cloud, servers)


def test_a_zone_made_by_an_aggregate_takes_the_servers_booted_into_it(
        cloud: Cloud, hosts: list[str]) -> None:
    zone_host = hosts[2]
    number = _aggregate(cloud, "zone-b", zone_host, zone="zone-b")
    try:
        status, body = cloud.api("GET", "/os-availability-zone", token="alice:project-a")
        assert status == 200, body
        zones = {z["zoneName"]: z["zoneState"]["available"]
                 for z in body["availabilityZoneInfo"]}
        assert zones.get("zone-b") is True and zones.get("nova") is True, zones

        servers = _settled(cloud, _boot(cloud, "zoned", 3, zone="zone-b"), 3)
        assert {_host(s) for s in servers} == {zone_host}, _faults(servers)
        assert all(s["status"] == "ACTIVE" for s in servers), servers
        assert {s["OS-EXT-AZ:availability_zone"] for s in servers} == {"zone-b"}, servers
        status, body = cloud.api("POST", "/servers", {"server": {
            "name": "x", "imageRef": image_id(cloud), "flavorRef": "2",
            "availability_zone": "no-such-zone"}})
        assert status == 400, body
        delete_all_and_wait(cloud, servers)
    finally:
        _drop_aggregate(cloud, number, zone_host)


def test_aggregate_metadata_matches_the_flavors_scoped_extra_spec(
        cloud: Cloud, hosts: list[str]) -> None:
    ssd_host = hosts[1]
    spec = {"aggregate_instance_extra_specs:ssd": "true"}
    status, body = cloud.api("POST", "/flavors/20/os-extra_specs", {"extra_specs": spec})
    assert status == 200, body
    number = _aggregate(cloud, "ssd", ssd_host, metadata={"ssd": "true"})
    try:
        servers = _settled(cloud, _boot(cloud, "fast", 3, flavor="20"), 3)
        assert {_host(s) for s in servers} == {ssd_host}, _faults(servers)
        delete_all_and_wait(cloud, servers)
    finally:
        _drop_aggregate(cloud, number, ssd_host)


def test_a_host_cannot_join_two_zones(cloud: Cloud, hosts: list[str]) -> None:
    first = _aggregate(cloud, "zone-x", hosts[3], zone="zone-x")
    status, body = cloud.api("POST", "/os-aggregates",
                             {"aggregate": {"name": "zone-y", "availability_zone": "zone-y"}})
    assert status == 200, body
    second = int(body["aggregate"]["id"])
    try:
        status, body = cloud.api("POST", f"/os-aggregates/{second}/action",
                                 {"add_host": {"host": hosts[3]}})
        assert status == 409, body
        assert "already in availability zone(s)" in body["conflictingRequest"]["message"]
        status, body = cloud.api("POST", f"/os-aggregates/{second}/action",
                                 {"add_host": {"host": "no-such-host"}})
        assert status == 404, body
        status, body = cloud.api("GET", "/os-aggregates", token="alice:project-a")
        assert status == 403, body
    finally:
        _drop_aggregate(cloud, first, hosts[3])
        assert cloud.api("DELETE", f"/os-aggregates/{second}", token=ADMIN)[0] == 200
