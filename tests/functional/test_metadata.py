"""kumo-api-metadata end to end: a server of a real cloud (conductor, database,
scheduler, fake compute) asks its metadata over the real HTTP listener, found
by its fixed IP (X-Forwarded-For, as behind kumo-network's redirect) and by a
metadata proxy's signed X-Instance-ID headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.functional import servers
from tests.functional.harness import CONDUCTOR, Cloud, RabbitMQ

pytestmark = pytest.mark.timeout(180)

SECRET = "metadata-proxy-secret"
CIDR = "10.77.0.0/24"
FIXED_IP = "10.77.0.10"
FLOATING_IP = "203.0.113.9"  # the pool's one address
USER_DATA = b"#cloud-config\nhostname: meta\n"
DAEMONS = (CONDUCTOR, "kumo-scheduler", "kumo-compute", "kumo-api", "kumo-api-metadata")
OPTIONS = {"api": {"use_forwarded_for": True, "metadata_proxy_shared_secret": SECRET}}


def _setup(cloud: Cloud) -> None:
    servers.create_flavors_and_image(cloud, servers.SMALL)
    cloud.manage("network", "create", "--label", "private", "--fixed-range-v4", CIDR,
                 "--bridge", "brmeta", "--dns1", "192.0.2.53")
    cloud.manage("floating", "create", "--ip-range", f"{FLOATING_IP}/32", "--pool", "public")


@pytest.fixture(scope="module")
def module_cloud(rabbitmq: RabbitMQ, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[Cloud]:
    """The daemons a boot and a metadata request need (not kumo-network: the
    fixed IP is given through the conductor, no host networking is touched)."""
    cloud = Cloud(tmp_path_factory.mktemp("cloud"),
                  rabbitmq.add_vhost(f"kumo-{uuid.uuid4().hex[:8]}"), overrides=OPTIONS)
    try:
        cloud.db_sync()
        _setup(cloud)
        cloud.start(DAEMONS)
        yield cloud
    finally:
        cloud.stop()


def conductor_calls(cloud: Cloud, *calls: tuple[str, dict[str, Any]]) -> list[Any]:
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("conductor_calls.py")),
         "--config-file", str(cloud.config_path), json.dumps(calls)],
        env=cloud.env, cwd=cloud.root, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def server(module_cloud: Cloud) -> dict[str, Any]:
    """An ACTIVE server with a key, user data, metadata, fixed IP and floating IP."""
    cloud = module_cloud
    status, body = cloud.api("POST", "/os-keypairs", {"keypair": {"name": "meta-key"}})
    assert status in (200, 201), body
    public_key = body["keypair"]["public_key"]
    status, body = cloud.api("POST", "/servers", {"server": {
        "name": "meta-vm", "imageRef": servers.image_id(cloud), "flavorRef": "2",
        "key_name": "meta-key", "user_data": base64.b64encode(USER_DATA).decode(),
        "metadata": {"role": "db"}}})
    assert status == 202, body
    server_id = body["server"]["id"]
    servers.wait_status(cloud, server_id, "ACTIVE")
    [(network_uuid,)] = cloud.query("SELECT uuid FROM networks WHERE cidr = ?", CIDR)
    vif, floating, _ = conductor_calls(
        cloud,
        ("fixed_ip_allocate", {"instance_uuid": server_id, "network_uuid": network_uuid,
                               "address": FIXED_IP}),
        ("floating_ip_allocate", {"project_id": "admin", "pool": "public"}),
        ("floating_ip_associate", {"address": FLOATING_IP, "project_id": "admin",
                                   "instance_uuid": server_id, "fixed_address": FIXED_IP}))
    [(row_id,)] = cloud.query("SELECT id FROM instances WHERE uuid = ?", server_id)
    return {"id": server_id, "row_id": row_id, "mac": vif["address"], "key": public_key,
            "floating": floating["address"], "network_uuid": network_uuid}


def get(cloud: Cloud, path: str, **headers: str) -> tuple[int, bytes, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{cloud.metadata_port}{path}",
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, reply.read(), reply.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("Content-Type", "")


def as_guest(cloud: Cloud, path: str, address: str = FIXED_IP) -> tuple[int, bytes, str]:
    return get(cloud, path, **{"X-Forwarded-For": address})


def test_guest_reads_its_ec2_metadata_by_fixed_ip(cloud: Cloud,
                                                  server: dict[str, Any]) -> None:
    def text(path: str) -> str:
        status, body, _ = as_guest(cloud, path)
        assert status == 200, (path, body)
        return body.decode()

    assert text("/latest/meta-data/instance-id") == f"i-{server['row_id']:08x}"
    assert text("/latest/meta-data/local-ipv4") == FIXED_IP
    assert text("/latest/meta-data/public-ipv4") == server["floating"]
    assert text("/latest/meta-data/hostname") == "meta-vm.novalocal"
    assert text("/latest/meta-data/instance-type") == "m1.small"
    assert text("/latest/meta-data/public-keys/") == "0=meta-key"
    assert text("/latest/meta-data/public-keys/0/openssh-key") == server["key"]
    assert text("/2009-04-04/meta-data/placement/availability-zone") == "nova"
    assert as_guest(cloud, "/latest/user-data")[1] == USER_DATA
    assert "ami-launch-index" in text("/latest/meta-data/").split("\n")


def test_guest_reads_its_openstack_documents(cloud: Cloud, server: dict[str, Any]) -> None:
    status, body, content_type = as_guest(cloud, "/openstack/latest/meta_data.json")
    assert status == 200 and content_type.startswith("application/json")
    document = json.loads(body)
    assert document["uuid"] == server["id"] and document["name"] == "meta-vm"
    assert document["project_id"] == "admin" and document["meta"] == {"role": "db"}
    assert document["keys"] == [{"name": "meta-key", "type": "ssh",
                                 "data": server["key"]}]

    network = json.loads(as_guest(cloud, "/openstack/latest/network_data.json")[1])
    assert network["links"][0]["ethernet_mac_address"] == server["mac"]
    assert network["networks"][0]["ip_address"] == FIXED_IP
    assert network["networks"][0]["network_id"] == server["network_uuid"]
    assert network["networks"][0]["routes"][0]["gateway"] == "10.77.0.1"
    assert network["services"] == [{"type": "dns", "address": "192.0.2.53"}]
    assert json.loads(as_guest(cloud, "/openstack/latest/vendor_data2.json")[1]) == {
        "static": {}}


def test_unknown_address_path_and_version_are_404(cloud: Cloud,
                                                  server: dict[str, Any]) -> None:
    assert as_guest(cloud, "/latest/meta-data/", address="10.77.0.99")[0] == 404
    assert as_guest(cloud, "/latest/meta-data/no-such-key")[0] == 404
    assert as_guest(cloud, "/1999-01-01/meta-data/")[0] == 404


def test_proxy_with_signed_instance_id(cloud: Cloud, server: dict[str, Any]) -> None:
    signature = hmac.new(SECRET.encode(), server["id"].encode(), hashlib.sha256).hexdigest()
    headers = {"X-Instance-ID": server["id"], "X-Tenant-ID": "admin"}

    status, body, _ = get(cloud, "/openstack/latest/meta_data.json",
                          **headers, **{"X-Instance-ID-Signature": signature})
    assert status == 200 and json.loads(body)["uuid"] == server["id"]
    status, body, _ = get(cloud, "/latest/meta-data/",
                          **headers, **{"X-Instance-ID-Signature": "0" * 64})
    assert status == 403 and b"Invalid proxy request signature" in body


def test_guest_stores_its_password_once(cloud: Cloud, server: dict[str, Any]) -> None:
    def post(data: bytes) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{cloud.metadata_port}/openstack/latest/password",
            data=data, method="POST", headers={"X-Forwarded-For": FIXED_IP})
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status
        except urllib.error.HTTPError as error:
            return error.code

    assert post(b"c2VjcmV0LWVuY3J5cHRlZA==") == 200
    assert as_guest(cloud, "/openstack/latest/password")[1] == b"c2VjcmV0LWVuY3J5cHRlZA=="
    assert post(b"other") == 409

    # The Compute API serves what the guest stored, and clears it.
    path = f"/servers/{server['id']}/os-server-password"
    assert cloud.api("GET", path) == (200, {"password": "c2VjcmV0LWVuY3J5cHRlZA=="})
    assert cloud.api("GET", path, token="mallory:other")[0] == 404
    assert cloud.api("DELETE", path)[0] == 204
    assert cloud.api("GET", path) == (200, {"password": ""})
