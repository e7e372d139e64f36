"""kumo-api-metadata's WSGI app over a stub conductor: lookup, signatures, errors, cache."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import webob

from kumo.api.metadata import app as metadata_app
from kumo.api.metadata import finder
from kumo.conf import CONF
from tests.unit.api.metadata import fixtures as fx

SECRET = "s3cr3t"


@pytest.fixture
def conductor() -> fx.StubConductor:
    stub = fx.StubConductor()
    stub.add(fx.FIXED_IP, fx.bundle())
    return stub


@pytest.fixture
def app(conductor: fx.StubConductor) -> Iterator[metadata_app.MetadataAPI]:
    yield metadata_app.MetadataAPI(conductor)
    for name in ("use_forwarded_for", "metadata_proxy_shared_secret",
                 "metadata_cache_expiration"):
        CONF.clear_override(name, group="api")


def get(app: metadata_app.MetadataAPI, path: str, remote: str = fx.FIXED_IP,
        method: str = "GET", **headers: str) -> webob.Response:
    req = webob.Request.blank(path, method=method, remote_addr=remote,
                              headers={k.replace("_", "-"): v for k, v in headers.items()})
    return req.get_response(app)


def signed(instance_id: str = fx.INSTANCE_UUID, tenant: str = "p1",
           secret: str = SECRET) -> dict[str, str]:
    return {"X_Instance_ID": instance_id, "X_Tenant_ID": tenant,
            "X_Instance_ID_Signature": finder.sign(secret, instance_id)}


def test_root_lists_ec2_versions_without_asking_the_conductor(
        app: metadata_app.MetadataAPI, conductor: fx.StubConductor) -> None:
    reply = get(app, "/", remote="198.51.100.1")

    assert reply.status_int == 200 and reply.content_type == "text/plain"
    assert reply.text.split("\n")[-2:] == ["2009-04-04", "latest"]
    assert conductor.calls == []


def test_instance_found_by_its_fixed_ip(app: metadata_app.MetadataAPI) -> None:
    assert get(app, "/latest/meta-data/instance-id").text == "i-0000002a"
    assert get(app, "/2009-04-04/meta-data/placement/availability-zone").text == "az1"
    assert get(app, "/latest/meta-data/public-keys/0/openssh-key").text == fx.PUBLIC_KEY
    assert get(app, "/latest/user-data").body == b"#!/bin/sh\necho hi\n"
    assert get(app, "/ec2/latest/meta-data/local-ipv4").text == fx.FIXED_IP
    listing = get(app, "/latest/meta-data/").text.split("\n")
    assert {"ami-id", "hostname", "public-keys/", "block-device-mapping/"} <= set(listing)


def test_openstack_tree(app: metadata_app.MetadataAPI) -> None:
    versions = get(app, "/openstack").text.split("\n")
    assert versions[0] == "2012-08-10" and versions[-2:] == ["2017-02-22", "latest"]
    reply = get(app, "/openstack/latest/meta_data.json")
    assert reply.content_type == "application/json"
    assert json.loads(reply.body)["uuid"] == fx.INSTANCE_UUID
    network = json.loads(get(app, "/openstack/2017-02-22/network_data.json").body)
    assert network["networks"][0]["ip_address"] == fx.FIXED_IP
    assert get(app, "/openstack/latest/user_data").body == b"#!/bin/sh\necho hi\n"
    assert json.loads(get(app, "/openstack/latest/vendor_data.json").body) == {}


def test_unknown_paths_versions_and_addresses_are_404(
        app: metadata_app.MetadataAPI) -> None:
    assert get(app, "/latest/meta-data/nope").status_int == 404
    assert get(app, "/2010-01-01/meta-data/").status_int == 404
    assert get(app, "/openstack/2099-01-01/meta_data.json").status_int == 404
    assert get(app, "/openstack/latest/nope.json").status_int == 404
    assert get(app, "/latest/meta-data/", remote="10.99.0.1").status_int == 404


def test_user_data_is_404_when_there_is_none(conductor: fx.StubConductor,
                                             app: metadata_app.MetadataAPI) -> None:
    conductor.add("10.20.0.6", fx.bundle(uuid="11111111-2222-4333-8444-555555555555",
                                         user_data=None))

    assert get(app, "/latest/user-data", remote="10.20.0.6").status_int == 404
    assert get(app, "/openstack/latest/user_data", remote="10.20.0.6").status_int == 404
    assert "user-data" not in get(app, "/latest/", remote="10.20.0.6").text


def test_only_get_and_head_are_allowed(app: metadata_app.MetadataAPI) -> None:
    reply = get(app, "/latest/meta-data/", method="POST")

    assert reply.status_int == 405 and reply.headers["Allow"] == "GET, HEAD"
    assert get(app, "/latest/meta-data/hostname", method="HEAD").status_int == 200


def test_forwarded_for_is_used_only_when_configured(app: metadata_app.MetadataAPI) -> None:
    proxied = {"X_Forwarded_For": fx.FIXED_IP}
    assert get(app, "/latest/meta-data/hostname", remote="127.0.0.1",
               **proxied).status_int == 404
    CONF.set_override("use_forwarded_for", True, group="api")
    reply = get(app, "/latest/meta-data/hostname", remote="127.0.0.1",
                X_Forwarded_For=f"10.66.0.1, {fx.FIXED_IP}")
    assert reply.text == "web-one.novalocal"


def test_signed_instance_id_finds_the_instance(app: metadata_app.MetadataAPI,
                                               conductor: fx.StubConductor) -> None:
    CONF.set_override("metadata_proxy_shared_secret", SECRET, group="api")

    reply = get(app, "/openstack/latest/meta_data.json", remote="127.0.0.1", **signed())

    assert reply.status_int == 200 and json.loads(reply.body)["project_id"] == "p1"
    assert conductor.calls[-1] == {"address": None, "instance_uuid": fx.INSTANCE_UUID}


def test_bad_signature_is_403_and_missing_headers_400(app: metadata_app.MetadataAPI) -> None:
    CONF.set_override("metadata_proxy_shared_secret", SECRET, group="api")

    forged = get(app, "/latest/meta-data/", remote="127.0.0.1", **signed(secret="guess"))
    assert forged.status_int == 403 and "Invalid proxy request signature" in forged.text
    headers = signed()
    del headers["X_Tenant_ID"]
    assert get(app, "/latest/meta-data/", remote="127.0.0.1", **headers).status_int == 400
    del headers["X_Instance_ID_Signature"]
    assert get(app, "/latest/meta-data/", remote="127.0.0.1", **headers).status_int == 400


def test_signed_request_of_another_tenant_or_unknown_instance_is_404(
        app: metadata_app.MetadataAPI) -> None:
    CONF.set_override("metadata_proxy_shared_secret", SECRET, group="api")

    assert get(app, "/latest/meta-data/", remote="127.0.0.1",
               **signed(tenant="p2")).status_int == 404
    assert get(app, "/latest/meta-data/", remote="127.0.0.1",
               **signed("99999999-0000-4000-8000-000000000000")).status_int == 404


def test_instance_headers_are_ignored_without_a_secret(app: metadata_app.MetadataAPI) -> None:
    # A guest cannot name another instance: without a secret only its address counts.
    reply = get(app, "/latest/meta-data/instance-id", remote="10.99.0.1", **signed())
    assert reply.status_int == 404
    assert get(app, "/latest/meta-data/instance-id", **signed()).text == "i-0000002a"


def test_a_burst_of_requests_costs_one_conductor_call(app: metadata_app.MetadataAPI,
                                                      conductor: fx.StubConductor) -> None:
    for path in ("/latest/meta-data/", "/latest/meta-data/hostname", "/latest/user-data",
                 "/openstack/latest/meta_data.json"):
        assert get(app, path).status_int == 200
    assert len(conductor.calls) == 1


def test_cache_entries_expire() -> None:
    now = [100.0]
    cache = finder.TTLCache(15, clock=lambda: now[0])
    cache.put("k", "v")
    now[0] += 14
    assert cache.get("k") == "v"
    now[0] += 2
    assert cache.get("k") is None
    finder.TTLCache(0).put("k", "v")


def test_conductor_failure_is_500(app: metadata_app.MetadataAPI,
                                  conductor: fx.StubConductor) -> None:
    conductor.fail = True

    reply = get(app, "/latest/meta-data/")
    assert reply.status_int == 500 and "Please try your request again" in reply.text


def test_guest_posts_its_password_once(app: metadata_app.MetadataAPI,
                                       conductor: fx.StubConductor) -> None:
    assert get(app, "/openstack/latest/password").body == b""

    posted = webob.Request.blank("/openstack/latest/password", method="POST",
                                 remote_addr=fx.FIXED_IP, body=b"ZW5jcnlwdGVk")
    assert posted.get_response(app).status_int == 200
    assert get(app, "/openstack/latest/password").body == b"ZW5jcnlwdGVk"
    again = webob.Request.blank("/openstack/latest/password", method="POST",
                                remote_addr=fx.FIXED_IP, body=b"other")
    assert again.get_response(app).status_int == 409
    too_big = webob.Request.blank("/openstack/2013-04-04/password", method="POST",
                                  remote_addr="10.99.0.1", body=b"x" * 300)
    assert too_big.get_response(app).status_int == 404
    old = webob.Request.blank("/openstack/2012-08-10/password", method="POST",
                              remote_addr=fx.FIXED_IP, body=b"x")
    assert old.get_response(app).status_int == 404


def test_oversized_password_is_400(app: metadata_app.MetadataAPI) -> None:
    posted = webob.Request.blank("/openstack/latest/password", method="POST",
                                 remote_addr=fx.FIXED_IP, body=b"x" * 300)
    assert posted.get_response(app).status_int == 400
