"""The e2e cloud: every kumo daemon over a private RabbitMQ, set up as devstack does,
and the real OpenStack clients pointed at it.

Nothing here imports kumo: the clients talk HTTP to kumo-api, and the `kumo`
and `openstack` CLIs run as subprocesses, as a user would run them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint

from tests.functional import servers
from tests.functional.harness import Cloud, console_script, wait_for

ADMIN = "admin:admin"
ALICE = "alice:project-a"
BOB = "bob:project-b"
NODES = 3
ACTIVE_BOUND = 60
# devstack/lib/cloud.sh's flavors (name, id, ram MB, vcpus, disk GB) and image.
FLAVORS = (("m1.tiny", "1", 512, 1, 1), ("m1.small", "2", 2048, 1, 20),
           ("m1.medium", "3", 4096, 2, 40), ("m1.large", "4", 8192, 4, 80),
           ("m1.xlarge", "5", 16384, 8, 160))
IMAGE = "cirros"

CLOUD_OPTIONS: dict[str, dict[str, object]] = {
    "fake": {"node_count": NODES, "vcpus": 32, "memory_mb": 131072, "local_gb": 2000},
    "compute": {"resource_report_interval": 2},
    "scheduler": {"host_state_refresh_interval": 1},
    # Nova's (and devstack's) default quotas; the functional harness lifts them.
    "quota": {"instances": 10, "cores": 20, "ram": 51200},
}


def setup_like_devstack(cloud: Cloud) -> None:
    """The flavors and the public image devstack/lib/cloud.sh creates."""
    servers.create_flavors(cloud, *FLAVORS)
    image = Path(cloud.root) / "cirros.img"
    image.write_bytes(b"\0" * 1024 * 1024)
    cloud.manage("image", "import", str(image), "--name", IMAGE, "--disk-format", "raw",
                 "--container-format", "bare", "--public", "--property", "os_distro=cirros")


def endpoint(cloud: Cloud) -> str:
    """The compute endpoint as a catalog would list it."""
    return f"http://127.0.0.1:{cloud.api_port}/v2.1"


def token_session(cloud: Cloud, token: str = ADMIN) -> ks_session.Session:
    """A keystoneauth session that sends ``token`` to kumo-api (the admin_token way)."""
    return ks_session.Session(auth=token_endpoint.Token(endpoint(cloud), token))


def novaclient(cloud: Cloud, token: str = ADMIN, version: str = "2.latest") -> Any:
    """python-novaclient at ``version``; ``2.latest`` negotiates as the nova CLI does.

    novaclient's ``Client()`` refuses ``2.latest`` itself ("The version should
    be explicit"); its shell asks the server with ``discover_version`` first.
    """
    from novaclient import api_versions, client

    sess = token_session(cloud, token)
    wanted = api_versions.APIVersion(version)
    if wanted.is_latest():
        probe = client.Client("2.1", session=sess)
        wanted = api_versions.discover_version(probe, wanted)
    return client.Client(wanted.get_string(), session=sess)


def sdk(cloud: Cloud, token: str = ADMIN) -> Any:
    """An openstacksdk connection whose compute service is kumo-api."""
    import openstack

    return openstack.connection.Connection(
        session=token_session(cloud, token), compute_endpoint_override=endpoint(cloud),
        compute_api_version="2")


def _run(argv: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


def kumo_cli(cloud: Cloud, *args: str, token: str = ADMIN, check: bool = True,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the `kumo` CLI (installed console script) against the cloud."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(OS_COMPUTE_API_URL=endpoint(cloud), OS_TOKEN=token)
    result = _run([str(console_script("kumo")), *args], env, timeout)
    if check:
        assert result.returncode == 0, f"kumo {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result


def openstack_cli(cloud: Cloud, *args: str, token: str = ADMIN, check: bool = True,
                  timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the `openstack` CLI with admin_token auth against the cloud's endpoint."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    argv = [str(Path(sys.executable).parent / "openstack"), "--os-auth-type", "admin_token",
            "--os-endpoint", endpoint(cloud), "--os-token", token, *args]
    result = _run(argv, env, timeout)
    if check:
        assert result.returncode == 0, (f"openstack {' '.join(args)}:\n"
                                        f"{result.stdout}{result.stderr}")
    return result


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(result.stdout)


def table_value(output: str, prop: str) -> str:
    """The Value of ``prop`` in a kumo Property/Value table."""
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] == prop:
            return cells[1]
    raise AssertionError(f"{prop} not in\n{output}")


def table_rows(output: str) -> list[dict[str, str]]:
    """The rows of a kumo list table as dicts by heading.

    Columns are cut where the ``+----+`` border has its ``+``: a cell may
    itself hold a ``|`` (availability-zone-list's ``|- host``).
    """
    lines = output.splitlines()
    border = next((line for line in lines if line.startswith("+")), None)
    if border is None:
        return []
    cuts = [i for i, char in enumerate(border) if char == "+"]

    def cells(line: str) -> list[str]:
        return [line[a + 1:b].strip() for a, b in zip(cuts, cuts[1:], strict=False)]

    body = [line for line in lines if line.startswith("|")]
    headings = cells(body[0])
    return [dict(zip(headings, cells(line), strict=True)) for line in body[1:]]


def wait_status(get_status: Callable[[], str], wanted: str, what: str,
                timeout: float = ACTIVE_BOUND) -> None:
    """Poll ``get_status`` until it returns ``wanted``; ERROR fails at once."""
    seen: list[str] = []

    def reached() -> bool:
        status = get_status()
        seen.append(status)
        assert status != "ERROR" or wanted == "ERROR", f"{what} went to ERROR"
        return status == wanted

    wait_for(reached, timeout, interval=0.3,
             message=lambda: f"{what} {wanted}, last seen {seen[-1:] or 'nothing'}")


def image_id(cloud: Cloud) -> str:
    """The ID of devstack's image (the image proxy of microversion 2.1)."""
    return servers.image_id(cloud, IMAGE)


def nova_nics(nova: Any) -> dict[str, str]:
    """novaclient's ``nics="none"`` where the microversion wants a choice (2.37+)."""
    from novaclient import api_versions

    return {"nics": "none"} if nova.api_version >= api_versions.APIVersion("2.37") else {}


def ssh_public_key(comment: str = "e2e") -> str:
    """A fresh ed25519 public key in OpenSSH form (no ssh-keygen needed)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return f"{key.decode()} {comment}\n"


def api_status(cloud: Cloud, server_id: str, token: str = ADMIN) -> str:
    """The server's status by plain HTTP ("DELETED" once it is gone)."""
    status, body = cloud.api("GET", f"/servers/{server_id}", token=token)
    if status == 404:
        return "DELETED"
    assert status == 200, body
    return body["server"]["status"]  # type: ignore[index]

