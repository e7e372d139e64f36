"""``/os-keypairs`` through the WSGI app over the real conductor and a SQLite file."""

from __future__ import annotations

from typing import Any

import pytest

from kumo import crypto
from kumo.api.openstack import api_version
from kumo.api.openstack import app as compute_app
from kumo.conf import CONF
from kumo.context import get_admin_context
from tests.unit.api.conftest import NoBuild, call

# A real RSA public key (imported keys are parsed, not just stored).
SSH_KEY = crypto.generate_ssh_key_pair()[1].replace("Generated-by-Kumo", "alice@example")


def v(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


@pytest.fixture
def cloud(conductor_cloud: tuple[compute_app.ComputeAPI, NoBuild, str],
          monkeypatch: pytest.MonkeyPatch) -> tuple[compute_app.ComputeAPI, NoBuild, str]:
    # Whatever the API declares today, these tests speak the microversions they test.
    monkeypatch.setattr(api_version, "MAX", api_version.APIVersion("2.104"))
    return conductor_cloud


def test_import_list_show_delete_at_2_1(cloud: Any) -> None:
    api, _, _ = cloud
    created = call(api, "POST", "/os-keypairs", {"keypair": {"name": "k1",
                                                             "public_key": SSH_KEY}})
    assert created.status_int == 200
    key = created.json["keypair"]
    assert key == {"name": "k1", "public_key": SSH_KEY, "user_id": "alice",
                   "fingerprint": crypto.ssh_fingerprint(SSH_KEY)}
    assert len(key["fingerprint"].split(":")) == 16

    listed = call(api, "GET", "/os-keypairs").json
    assert listed == {"keypairs": [{"keypair": {
        "name": "k1", "public_key": SSH_KEY, "fingerprint": key["fingerprint"]}}]}
    shown = call(api, "GET", "/os-keypairs/k1").json["keypair"]
    assert shown["user_id"] == "alice" and shown["deleted"] is False and "type" not in shown

    assert call(api, "POST", "/os-keypairs", {"keypair": {
        "name": "k1", "public_key": SSH_KEY}}).json["conflictingRequest"]["message"] == (
        "Key pair 'k1' already exists.")
    assert call(api, "DELETE", "/os-keypairs/k1").status_int == 202
    missing = call(api, "GET", "/os-keypairs/k1")
    assert missing.status_int == 404
    assert missing.json["itemNotFound"]["message"] == "Keypair k1 not found for user alice"
    # The name is free again once deleted.
    assert call(api, "POST", "/os-keypairs", {"keypair": {
        "name": "k1", "public_key": SSH_KEY}}).status_int == 200


def test_generated_ssh_and_x509_key_pairs_at_2_2(cloud: Any) -> None:
    api, _, _ = cloud
    ssh = call(api, "POST", "/os-keypairs", {"keypair": {"name": "gen"}}, **v("2.2"))
    assert ssh.status_int == 201
    body = ssh.json["keypair"]
    assert body["type"] == "ssh" and "PRIVATE KEY" in body["private_key"]
    assert body["fingerprint"] == crypto.ssh_fingerprint(body["public_key"])

    cert = call(api, "POST", "/os-keypairs", {"keypair": {"name": "win", "type": "x509"}},
                **v("2.2")).json["keypair"]
    assert cert["public_key"].startswith("-----BEGIN CERTIFICATE-----")
    assert len(cert["fingerprint"].split(":")) == 20  # SHA-1
    imported = call(api, "POST", "/os-keypairs", {"keypair": {
        "name": "win2", "type": "x509", "public_key": cert["public_key"]}}, **v("2.2"))
    assert imported.json["keypair"]["fingerprint"] == cert["fingerprint"]
    bad = call(api, "POST", "/os-keypairs", {"keypair": {
        "name": "bad", "type": "x509", "public_key": SSH_KEY}}, **v("2.2"))
    assert bad.status_int == 400
    assert "Keypair data is invalid" in bad.json["badRequest"]["message"]
    assert call(api, "POST", "/os-keypairs", {"keypair": {"name": "x", "type": "x509"}}
                ).status_int == 400  # no type before 2.2
    types = {k["keypair"]["name"]: k["keypair"]["type"]
             for k in call(api, "GET", "/os-keypairs", **v("2.2")).json["keypairs"]}
    assert types == {"gen": "ssh", "win": "x509", "win2": "x509"}
    assert call(api, "DELETE", "/os-keypairs/gen", **v("2.2")).status_int == 204


def test_invalid_names_and_keys_are_400(cloud: Any) -> None:
    api, _, _ = cloud
    for name in ("", "a/b", " lead", "x" * 256, "a@b"):
        response = call(api, "POST", "/os-keypairs", {"keypair": {
            "name": name, "public_key": SSH_KEY}})
        assert response.status_int == 400, name
    assert call(api, "POST", "/os-keypairs", {"keypair": {
        "name": "a@b.c", "public_key": SSH_KEY}}, **v("2.92")).status_int == 201
    assert call(api, "POST", "/os-keypairs", {"keypair": {
        "name": "nokey"}}, **v("2.92")).status_int == 400  # 2.92: no generation
    garbage = call(api, "POST", "/os-keypairs", {"keypair": {"name": "g",
                                                             "public_key": "ssh-rsa AAAA"}})
    assert garbage.json["badRequest"]["message"] == (
        "Keypair data is invalid: failed to generate fingerprint")


def test_key_pairs_are_per_user_and_admins_act_for_a_user_at_2_10(cloud: Any) -> None:
    api, _, _ = cloud
    call(api, "POST", "/os-keypairs", {"keypair": {"name": "mine", "public_key": SSH_KEY}})
    assert call(api, "GET", "/os-keypairs", token="bob:project-a").json["keypairs"] == []
    assert call(api, "GET", "/os-keypairs/mine", token="bob:project-a").status_int == 404
    # A user may not name another user; an admin may.
    forbidden = call(api, "GET", "/os-keypairs?user_id=alice", token="bob:project-a",
                     **v("2.10"))
    assert forbidden.status_int == 403
    assert "os_compute_api:os-keypairs:index" in forbidden.json["forbidden"]["message"]
    as_admin = call(api, "GET", "/os-keypairs?user_id=alice", token="admin:admin",
                    **v("2.10")).json["keypairs"]
    assert [k["keypair"]["name"] for k in as_admin] == ["mine"]
    made = call(api, "POST", "/os-keypairs", {"keypair": {
        "name": "for-bob", "public_key": SSH_KEY, "user_id": "bob"}}, token="admin:admin",
        **v("2.10"))
    assert made.status_int == 201 and made.json["keypair"]["user_id"] == "bob"
    assert call(api, "GET", "/os-keypairs/for-bob", token="bob:project-a").status_int == 200
    assert call(api, "DELETE", "/os-keypairs/for-bob?user_id=bob", token="admin:admin",
                **v("2.10")).status_int == 204


def test_list_pages_by_name_at_2_35(cloud: Any) -> None:
    api, _, _ = cloud
    for name in ("c", "a", "b"):
        call(api, "POST", "/os-keypairs", {"keypair": {"name": name, "public_key": SSH_KEY}})
    page = call(api, "GET", "/os-keypairs?limit=2", **v("2.35")).json
    assert [k["keypair"]["name"] for k in page["keypairs"]] == ["a", "b"]
    assert "marker=b" in page["keypairs_links"][0]["href"]
    rest = call(api, "GET", "/os-keypairs?limit=2&marker=b", **v("2.35")).json
    assert [k["keypair"]["name"] for k in rest["keypairs"]] == ["c"]
    assert "keypairs_links" not in rest
    assert call(api, "GET", "/os-keypairs?marker=zz", **v("2.35")).status_int == 400
    # Before 2.35 paging parameters are ignored.
    assert len(call(api, "GET", "/os-keypairs?limit=1").json["keypairs"]) == 3


def test_key_pair_quota_is_a_403(cloud: Any) -> None:
    api, _, _ = cloud
    CONF.set_override("key_pairs", 2, group="quota")
    try:
        for name in ("one", "two"):
            assert call(api, "POST", "/os-keypairs", {"keypair": {
                "name": name, "public_key": SSH_KEY}}).status_int == 200
        over = call(api, "POST", "/os-keypairs", {"keypair": {"name": "three",
                                                              "public_key": SSH_KEY}})
        assert over.status_int == 403
        assert over.json["overLimit"]["message"] == "Quota exceeded, too many key pairs."
        call(api, "DELETE", "/os-keypairs/one")
        assert call(api, "POST", "/os-keypairs", {"keypair": {
            "name": "three", "public_key": SSH_KEY}}).status_int == 200
    finally:
        CONF.clear_override("key_pairs", group="quota")


def test_boot_with_key_name_records_the_key(cloud: Any) -> None:
    api, conductor, image_id = cloud
    call(api, "POST", "/os-keypairs", {"keypair": {"name": "k", "public_key": SSH_KEY}})
    unknown = call(api, "POST", "/servers", {"server": {
        "name": "s", "imageRef": image_id, "flavorRef": "2", "key_name": "nope"}})
    assert unknown.status_int == 400
    assert unknown.json["badRequest"]["message"] == "Invalid key_name provided."
    booted = call(api, "POST", "/servers", {"server": {
        "name": "s", "imageRef": image_id, "flavorRef": "2", "key_name": "k"}})
    assert booted.status_int == 202, booted.json
    server_id = booted.json["server"]["id"]
    assert call(api, "GET", f"/servers/{server_id}").json["server"]["key_name"] == "k"
    instance = conductor.instance_get(get_admin_context(), server_id)
    assert instance.key_data == SSH_KEY
    # Another user's key pair of that name is not the caller's.
    assert call(api, "POST", "/servers", {"server": {
        "name": "s", "imageRef": image_id, "flavorRef": "2", "key_name": "k"}},
        token="bob:project-a").status_int == 400
