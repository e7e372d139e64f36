"""Keypairs through each client: generated, imported, per user."""

from __future__ import annotations

from pathlib import Path

from tests.e2e import cloud as e2e
from tests.functional.harness import Cloud


def test_novaclient_generates_and_imports(cloud: Cloud, tmp_path: Path) -> None:
    nova = e2e.novaclient(cloud, e2e.ALICE)
    # 2.92 stopped generating keys: generate at 2.91.
    generated = e2e.novaclient(cloud, e2e.ALICE, version="2.91").keypairs.create(
        "nc-generated")
    assert "PRIVATE KEY" in generated.private_key
    imported = nova.keypairs.create("nc-imported", public_key=e2e.ssh_public_key())
    assert imported.fingerprint
    names = {k.name for k in nova.keypairs.list()}
    assert {"nc-generated", "nc-imported"} <= names
    assert "nc-generated" not in {k.name for k in e2e.novaclient(cloud, e2e.BOB).keypairs.list()}
    for name in ("nc-generated", "nc-imported"):
        nova.keypairs.delete(name)
    assert not {"nc-generated", "nc-imported"} & {k.name for k in nova.keypairs.list()}


def test_openstacksdk_keypairs(cloud: Cloud, tmp_path: Path) -> None:
    conn = e2e.sdk(cloud, e2e.ALICE)
    created = conn.compute.create_keypair(name="sdk-key", public_key=e2e.ssh_public_key())
    assert conn.compute.get_keypair("sdk-key").fingerprint == created.fingerprint
    assert "sdk-key" in [k.name for k in conn.compute.keypairs()]
    conn.compute.delete_keypair("sdk-key")
    assert conn.compute.find_keypair("sdk-key") is None


def test_kumo_cli_keypairs_and_boot_with_one(cloud: Cloud, tmp_path: Path) -> None:
    pub = tmp_path / "key.pub"
    pub.write_text(e2e.ssh_public_key())
    e2e.kumo_cli(cloud, "keypair-add", "--pub-key", str(pub), "kumo-key", token=e2e.ALICE)
    generated = e2e.kumo_cli(cloud, "keypair-add", "kumo-gen", token=e2e.ALICE)
    assert "PRIVATE KEY" in generated.stdout
    rows = e2e.table_rows(e2e.kumo_cli(cloud, "keypair-list", token=e2e.ALICE).stdout)
    assert {"kumo-key", "kumo-gen"} <= {r["Name"] for r in rows}
    shown = e2e.kumo_cli(cloud, "keypair-show", "kumo-key", token=e2e.ALICE).stdout
    assert e2e.table_value(shown, "public_key") == pub.read_text().strip()

    booted = e2e.kumo_cli(cloud, "boot", "--flavor", "1", "--image", e2e.IMAGE,
                          "--key-name", "kumo-key", "--poll", "keyed", token=e2e.ALICE)
    server_id = e2e.table_value(booted.stdout, "id")
    assert e2e.table_value(booted.stdout, "key_name") == "kumo-key"
    e2e.kumo_cli(cloud, "delete", server_id, token=e2e.ALICE)
    e2e.wait_status(lambda: e2e.api_status(cloud, server_id), "DELETED", "keyed deleted")
    for name in ("kumo-key", "kumo-gen"):
        e2e.kumo_cli(cloud, "keypair-delete", name, token=e2e.ALICE)
    missing = e2e.kumo_cli(cloud, "keypair-show", "kumo-key", token=e2e.ALICE, check=False)
    assert missing.returncode == 1 and "(HTTP 404)" in missing.stderr
