"""Quotas, limits and key pairs end to end: plain HTTP to kumo-api, real daemons over a
real RabbitMQ. Booting beyond the instance quota is a 403 overLimit naming the
resource; deleting gives the quota back; a server booted with a key pair shows it.
"""

from __future__ import annotations

from typing import Any

from tests.functional.harness import SERVER_BINARIES, Cloud, wait_for
from tests.functional.servers import (
    ACTIVE_BOUND,
    ADMIN,
    SMALL,
    create_flavors_and_image,
    image_id,
    wait_gone,
    wait_nodes,
    wait_status,
)

NODES = 2
PROJECT = "quota-project"
USER = f"carol:{PROJECT}"

CLOUD_BINARIES = SERVER_BINARIES
CLOUD_OPTIONS = {
    "fake": {"node_count": NODES, "vcpus": 8, "memory_mb": 16384, "local_gb": 400},
    "compute": {"resource_report_interval": 2},
    "scheduler": {"host_state_refresh_interval": 1},
}


def CLOUD_SETUP(cloud: Cloud) -> None:  # noqa: N802  (a hook the conftest looks up)
    create_flavors_and_image(cloud, SMALL)


def _boot(cloud: Cloud, name: str, **extra: Any) -> tuple[int, Any]:
    return cloud.api("POST", "/servers", {"server": {
        "name": name, "imageRef": image_id(cloud), "flavorRef": "2", **extra}}, token=USER)


def _absolute(cloud: Cloud) -> dict[str, int]:
    status, body = cloud.api("GET", "/limits", token=USER)
    assert status == 200, body
    return body["limits"]["absolute"]


def test_boot_beyond_the_quota_is_403_and_delete_gives_the_quota_back(cloud: Cloud) -> None:
    wait_nodes(cloud, NODES)
    status, body = cloud.api("PUT", f"/os-quota-sets/{PROJECT}",
                             {"quota_set": {"instances": 3}}, token=ADMIN)
    assert status == 200 and body["quota_set"]["instances"] == 3, body

    status, body = _boot(cloud, "q", min_count=3, max_count=3, return_reservation_id=True)
    assert status == 202, body
    status, body = _boot(cloud, "one-more")
    assert status == 403, body
    assert body["overLimit"]["message"] == (
        "Quota exceeded for instances: Requested 1, but already used 3 of 3 instances")
    assert (_absolute(cloud)["totalInstancesUsed"], _absolute(cloud)["maxTotalInstances"]) \
        == (3, 3)

    status, body = cloud.api("GET", "/servers", token=USER)
    servers = body["servers"]
    for server in servers:
        wait_status(cloud, server["id"], "ACTIVE")
    for server in servers:
        assert cloud.api("DELETE", f"/servers/{server['id']}", token=USER)[0] == 204
    for server in servers:
        wait_gone(cloud, server["id"])
    wait_for(lambda: _absolute(cloud)["totalInstancesUsed"] == 0, ACTIVE_BOUND,
             message="usage back to zero")
    status, body = cloud.api("GET", f"/os-quota-sets/{PROJECT}/detail", token=USER)
    assert body["quota_set"]["cores"]["in_use"] == body["quota_set"]["ram"]["in_use"] == 0

    status, body = _boot(cloud, "again")
    assert status == 202, body
    wait_status(cloud, body["server"]["id"], "ACTIVE")
    assert cloud.api("DELETE", f"/servers/{body['server']['id']}", token=USER)[0] == 204
    wait_gone(cloud, body["server"]["id"])


def test_key_pair_crud_and_boot_with_key_name(cloud: Cloud) -> None:
    status, body = cloud.api("POST", "/os-keypairs", {"keypair": {"name": "k1"}}, token=USER)
    assert status == 200, body
    generated = body["keypair"]
    assert "PRIVATE KEY" in generated["private_key"]
    status, body = cloud.api("POST", "/os-keypairs", {"keypair": {
        "name": "k2", "public_key": generated["public_key"]}}, token=USER)
    assert status == 200 and body["keypair"]["fingerprint"] == generated["fingerprint"]
    status, body = cloud.api("GET", "/os-keypairs", token=USER)
    assert sorted(k["keypair"]["name"] for k in body["keypairs"]) == ["k1", "k2"]
    assert cloud.api("GET", "/os-keypairs/k1", token="dave:other")[0] == 404

    status, body = _boot(cloud, "keyed", key_name="k1")
    assert status == 202, body
    server = wait_status(cloud, body["server"]["id"], "ACTIVE")
    assert server["key_name"] == "k1"
    status, body = _boot(cloud, "nokey", key_name="missing")
    assert (status, body["badRequest"]["message"]) == (400, "Invalid key_name provided.")

    assert cloud.api("DELETE", f"/servers/{server['id']}", token=USER)[0] == 204
    wait_gone(cloud, server["id"])
    assert cloud.api("DELETE", "/os-keypairs/k2", token=USER)[0] == 202
    assert cloud.api("GET", "/os-keypairs/k2", token=USER)[0] == 404
