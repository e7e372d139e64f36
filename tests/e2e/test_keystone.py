"""kumo behind a real Keystone: password auth, the service catalog, keystonemiddleware.

Keystone runs from its own venv (tools/keystone_venv.sh) with SQLite and fernet
tokens; a second kumo-api of the session's cloud uses auth_strategy=keystone,
and the `openstack` CLI, novaclient and the `kumo` CLI find it in the catalog.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import cloud as e2e
from tests.e2e import identity_service as ks
from tests.functional.harness import Cloud, console_script, tail

DEMO_PASSWORD = "demo-secret"


@pytest.fixture(scope="module")
def identity(e2e_cloud: Cloud, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[dict[str, Any]]:
    """Keystone with project/user ``demo`` (member) and kumo-api in its catalog."""
    from keystoneclient.v3 import client as ks_client

    root = tmp_path_factory.mktemp("keystone")
    keystone = ks.Keystone(root=root, venv=ks.keystone_venv(), port=ks.free_port())
    api = None
    try:
        keystone.setup()
        keystone.start()
        api_port = ks.free_port()
        admin = ks_client.Client(session=keystone.session())
        project = admin.projects.create("demo", domain="default")
        user = admin.users.create("demo", domain="default", password=DEMO_PASSWORD,
                                  default_project=project)
        member = next(r for r in admin.roles.list() if r.name == "member")
        admin.roles.grant(member, user=user, project=project)
        service = admin.services.create("kumo", type="compute", description="kumo compute")
        for interface in ("public", "internal", "admin"):
            admin.endpoints.create(service, f"http://127.0.0.1:{api_port}/v2.1",
                                   interface=interface, region=ks.REGION)
        api = ks.start_keystone_api(e2e_cloud, keystone, api_port)
        yield {"keystone": keystone, "project_id": project.id, "user_id": user.id,
               "api_port": api_port,
               "env": {"OS_AUTH_URL": keystone.url, "OS_USERNAME": "demo",
                       "OS_PASSWORD": DEMO_PASSWORD, "OS_PROJECT_NAME": "demo",
                       "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
                       "OS_IDENTITY_API_VERSION": "3", "OS_REGION_NAME": ks.REGION,
                       "OS_INTERFACE": "public"}}
    except Exception:
        print(tail(root / "keystone.log", 60))
        raise
    finally:
        if api is not None and api.poll() is None:
            api.terminate()
            try:
                api.wait(timeout=15)
            except subprocess.TimeoutExpired:
                api.kill()
                api.wait(timeout=10)
        keystone.stop()


def _osc(identity: dict[str, Any], *args: str) -> Any:
    result = ks.openstack(*args, env=identity["env"])
    assert result.returncode == 0, f"openstack {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return json.loads(result.stdout) if "json" in args else result.stdout


def test_openstack_cli_with_password_auth_and_the_catalog(
        cloud: Cloud, identity: dict[str, Any], tmp_path: Path) -> None:
    # The Image service is not kumo's: boot through the Compute API with
    # novaclient (a Keystone session, the catalog's endpoint), then drive the
    # server with `openstack server list/show/delete`, which need Identity v3.
    from novaclient import client as nova_client

    sess = identity["keystone"].session("demo", DEMO_PASSWORD, "demo")
    nova = nova_client.Client("2.1", session=sess, region_name=ks.REGION)
    server = nova.servers.create("ks-vm", e2e.image_id(cloud), "1")
    e2e.wait_status(lambda: nova.servers.get(server.id).status, "ACTIVE", "ks-vm")
    shown = nova.servers.get(server.id)
    assert shown.tenant_id == identity["project_id"]
    assert shown.user_id == identity["user_id"]

    listed = _osc(identity, "server", "list", "-f", "json")
    assert [(s["ID"], s["Name"], s["Status"]) for s in listed] == [
        (server.id, "ks-vm", "ACTIVE")]
    detail = _osc(identity, "server", "show", "ks-vm", "-f", "json")
    assert detail["id"] == server.id and detail["project_id"] == identity["project_id"]

    key = tmp_path / "id_ks.pub"
    key.write_text(e2e.ssh_public_key())
    _osc(identity, "keypair", "create", "--public-key", str(key), "ks-key", "-f", "json")
    assert "ks-key" in [k["Name"] for k in _osc(identity, "keypair", "list", "-f", "json")]
    _osc(identity, "keypair", "delete", "ks-key")

    _osc(identity, "server", "delete", "--wait", server.id)
    assert _osc(identity, "server", "list", "-f", "json") == []


def test_kumo_cli_and_novaclient_with_a_keystone_session(
        cloud: Cloud, identity: dict[str, Any]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(identity["env"])
    booted = subprocess.run(
        [str(console_script("kumo")), "boot", "--flavor", "m1.tiny", "--image", e2e.IMAGE,
         "--poll", "ks-kumo"], env=env, capture_output=True, text=True, timeout=120)
    assert booted.returncode == 0, booted.stderr
    server_id = e2e.table_value(booted.stdout, "id")
    assert e2e.table_value(booted.stdout, "tenant_id") == identity["project_id"]
    listed = subprocess.run([str(console_script("kumo")), "list"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert server_id in listed.stdout

    from novaclient import client as nova_client

    nova = nova_client.Client(
        "2.1", session=identity["keystone"].session("demo", DEMO_PASSWORD, "demo"))
    assert [s.id for s in nova.servers.list()] == [server_id]
    nova.servers.delete(server_id)
    e2e.wait_status(lambda: e2e.api_status(cloud, server_id), "DELETED", "ks-kumo")


def test_a_forged_token_is_refused(identity: dict[str, Any]) -> None:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{identity['api_port']}/v2.1/servers",
        headers={"X-Auth-Token": "admin:admin"})
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=30)
    assert raised.value.code == 401
