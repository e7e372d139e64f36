"""The Glance v2 backend against a small local HTTP server speaking Glance v2's subset.

The server is a test double of the external image service (it keeps images
in memory, pages lists with ``next`` links, stores bytes and computes their
md5 as Glance does); the client under test is the real one, over HTTP,
through a keystoneauth1 session.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint

from kumo import exception
from kumo.image import glance

TOKEN = "user-token"


class FakeGlance:
    """In-memory images, members and bytes; what each request carried."""

    def __init__(self) -> None:
        self.images: dict[str, dict[str, Any]] = {}
        self.members: dict[str, list[dict[str, str]]] = {}
        self.data: dict[str, bytes] = {}
        self.tokens: list[str | None] = []

    def add(self, **values: Any) -> dict[str, Any]:
        image = {"id": str(uuid.uuid4()), "status": "queued", "visibility": "shared",
                 "owner": "p1", "disk_format": "raw", "container_format": "bare",
                 "size": None, "checksum": None, "min_disk": 0, "min_ram": 0,
                 "protected": False, "tags": [], "created_at": "2026-01-01T00:00:00Z",
                 "updated_at": "2026-01-01T00:00:00Z", "self": "", "file": "",
                 "schema": "/v2/schemas/image"}
        image.update(values)
        image["self"] = f"/v2/images/{image['id']}"
        image["file"] = f"/v2/images/{image['id']}/file"
        self.images[image["id"]] = image
        return image


class Handler(BaseHTTPRequestHandler):
    glance: FakeGlance

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _reply(self, status: int, body: Any = None, raw: bytes | None = None) -> None:
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                               else b"")
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream" if raw is not None
                         else "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding") == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _route(self, method: str) -> None:
        self.glance.tokens.append(self.headers.get("X-Auth-Token"))
        url = urlparse(self.path)
        parts = url.path.strip("/").split("/")
        if parts[:2] != ["v2", "images"]:
            return self._reply(404, {"message": "no such path"})
        images = self.glance.images
        if len(parts) == 2 and method == "GET":
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            listing = sorted(images.values(), key=lambda i: i["id"])
            if "visibility" in query:
                listing = [i for i in listing if i["visibility"] == query["visibility"]]
            if "marker" in query:
                listing = [i for i in listing if i["id"] > query["marker"]]
            limit = int(query.get("limit", 25))
            body: dict[str, Any] = {"images": listing[:limit]}
            if len(listing) > limit:
                body["next"] = f"/v2/images?marker={listing[limit - 1]['id']}&limit={limit}"
            return self._reply(200, body)
        if len(parts) == 2 and method == "POST":
            values = json.loads(self._body())
            return self._reply(201, self.glance.add(**values))
        image = images.get(parts[2])
        if image is None:
            return self._reply(404, {"message": "image not found"})
        if len(parts) == 3:
            if method == "GET":
                return self._reply(200, image)
            if method == "DELETE":
                del images[parts[2]]
                return self._reply(204)
            if method == "PATCH":
                assert self.headers["Content-Type"] == glance._JSON_PATCH
                for op in json.loads(self._body()):
                    key = op["path"].lstrip("/")
                    if op["op"] == "remove":
                        image.pop(key, None)
                    else:
                        image[key] = op["value"]
                return self._reply(200, image)
        if parts[3:] == ["members"] and method == "GET":
            return self._reply(200, {"members": self.glance.members.get(image["id"], [])})
        if parts[3:] == ["members"] and method == "POST":
            if image["visibility"] != "shared":  # Glance's rule
                return self._reply(403, {"message": "not a shared image"})
            member = {"member_id": json.loads(self._body())["member"], "status": "pending"}
            self.glance.members.setdefault(image["id"], []).append(member)
            return self._reply(200, member)
        if parts[3:] == ["file"]:
            if method == "GET":
                if image["id"] not in self.glance.data:
                    return self._reply(204)
                return self._reply(200, raw=self.glance.data[image["id"]])
            if method == "PUT":
                data = self._body()
                self.glance.data[image["id"]] = data
                image.update(status="active", size=len(data),
                             checksum=hashlib.md5(data, usedforsecurity=False).hexdigest())
                return self._reply(204)
        return self._reply(405, {"message": "method not allowed"})

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    def do_DELETE(self) -> None:
        self._route("DELETE")


@pytest.fixture
def fake_glance() -> Iterator[tuple[FakeGlance, str]]:
    state = FakeGlance()
    handler = type("BoundHandler", (Handler,), {"glance": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def client(fake_glance: tuple[FakeGlance, str]) -> glance.GlanceClient:
    _, endpoint = fake_glance
    session = ks_session.Session(auth=token_endpoint.Token(endpoint, TOKEN))
    return glance.GlanceClient(session=session, endpoint=endpoint)


def test_list_pages_through_next_links_and_honours_visibility(fake_glance, client) -> None:
    state, _ = fake_glance
    public = state.add(name="pub", visibility="public", owner="other")
    community = state.add(name="com", visibility="community", owner="other")
    mine = state.add(name="mine", visibility="private", owner="p1")
    theirs = state.add(name="theirs", visibility="private", owner="other")
    shared = state.add(name="shared", visibility="shared", owner="other")
    pending = state.add(name="pending", visibility="shared", owner="other")
    state.members[shared["id"]] = [{"member_id": "p1", "status": "accepted"}]
    state.members[pending["id"]] = [{"member_id": "p1", "status": "pending"}]

    seen = {image["name"] for image in client.list(None, project_id="p1", page_size=2)}
    assert seen == {"pub", "com", "mine", "shared"}
    assert {i["id"] for i in client.list(None, project_id=None, page_size=2)} == {
        public["id"], community["id"], mine["id"], theirs["id"], shared["id"], pending["id"]}
    assert [i["name"] for i in client.list(None, filters={"visibility": "public"})] == ["pub"]
    assert set(state.tokens) == {TOKEN}


def test_show_gathers_custom_properties_and_hides_what_the_project_may_not_see(
        fake_glance, client) -> None:
    state, _ = fake_glance
    image = state.add(name="k", visibility="private", owner="p1", disk_format="ami",
                      kernel_id="kid", ramdisk_id="rid", hw_disk_bus="virtio")
    shown = client.show(None, image["id"], project_id="p1")
    assert shown["name"] == "k" and shown["disk_format"] == "ami"
    assert shown["properties"] == {"kernel_id": "kid", "ramdisk_id": "rid",
                                   "hw_disk_bus": "virtio"}
    with pytest.raises(exception.ImageNotFound):
        client.show(None, image["id"], project_id="p2")
    with pytest.raises(exception.ImageNotFound):
        client.show(None, str(uuid.uuid4()))


def test_show_lets_a_pending_member_see_a_shared_image_by_id(fake_glance, client) -> None:
    state, _ = fake_glance
    shared = state.add(name="snap", visibility="shared", owner="admin")
    state.members[shared["id"]] = [{"member_id": "p1", "status": "pending"}]
    assert client.show(None, shared["id"], project_id="p1")["name"] == "snap"
    with pytest.raises(exception.ImageNotFound):
        client.show(None, shared["id"], project_id="p2")


def test_create_upload_download_round_trip_with_checksum(fake_glance, client,
                                                         tmp_path) -> None:
    state, _ = fake_glance
    created = client.create(None, {"name": "snap", "disk_format": "qcow2",
                                   "container_format": "bare", "visibility": "private",
                                   "properties": {"instance_uuid": "i1", "min": 3}})
    assert created["status"] == "queued"
    assert state.images[created["id"]]["instance_uuid"] == "i1"
    with pytest.raises(exception.ImageNotFound):  # no data yet: Glance answers 204
        client.download(None, created["id"], tmp_path / "none")

    data = b"qcow2 bytes " * 100_000
    uploaded = client.upload(None, created["id"], io.BytesIO(data))
    assert uploaded["status"] == "active" and uploaded["size"] == len(data)
    checksum = hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert uploaded["checksum"] == checksum
    target = client.download(None, created["id"], tmp_path / "image", checksum=checksum)
    assert target.read_bytes() == data
    with pytest.raises(glance.GlanceError):
        client.download(None, created["id"], tmp_path / "bad", checksum="0" * 32)
    assert not (tmp_path / "bad").exists()  # no unverified bytes left behind


def test_update_patches_fields_and_properties_then_delete(fake_glance, client) -> None:
    state, _ = fake_glance
    image = state.add(name="old", visibility="private", owner="p1", extra="x")
    updated = client.update(None, image["id"], {"name": "new", "visibility": "public",
                                                "properties": {"extra": None, "os": "c"}})
    assert updated["name"] == "new" and updated["visibility"] == "public"
    assert updated["properties"] == {"os": "c"}
    client.delete(None, image["id"])
    assert image["id"] not in state.images
    with pytest.raises(exception.ImageNotFound):
        client.delete(None, image["id"])


def test_visibility_rules() -> None:
    def members(image_id: str) -> set[str]:
        return {"p2"}

    shared = {"id": "i", "visibility": "shared", "owner": "p1"}
    assert glance.visible_to(shared, "p1", members)
    assert glance.visible_to(shared, "p2", members)
    assert not glance.visible_to(shared, "p3", members)
    assert not glance.visible_to({"id": "i", "visibility": "private", "owner": "p1"}, "p2")
    assert glance.visible_to({"id": "i", "visibility": "community", "owner": "p1"}, "p2")
    assert glance.visible_to({"id": "i", "visibility": "private", "owner": "p1"}, None)


def test_image_api_reads_from_glance_when_configured(fake_glance, tmp_path) -> None:
    from kumo import context
    from kumo.conf import CONF
    from kumo.image import api as image_api

    state, endpoint = fake_glance
    image = state.add(name="g", visibility="public", owner="other")
    state.data[image["id"]] = b"bytes"
    CONF.set_override("backend", "glance", group="image")
    CONF.set_override("endpoint", endpoint, group="glance")
    try:
        ctxt = context.RequestContext(user_id="u1", project_id="p1", auth_token="tok-u1")
        images = image_api.ImageAPI()
        assert images.get(ctxt, image["id"], project_id="p1")["name"] == "g"
        assert [i["id"] for i in images.get_all(ctxt, project_id="p1")] == [image["id"]]
        target = images.download(image["id"], tmp_path / "img", ctxt=ctxt)
        assert target.read_bytes() == b"bytes"
        # The user's own token went to Glance.
        assert set(state.tokens) == {"tok-u1"}
    finally:
        CONF.clear_override("backend", group="image")
        CONF.clear_override("endpoint", group="glance")


@pytest.fixture
def glance_backend(fake_glance) -> Iterator[tuple[FakeGlance, str]]:
    from kumo.conf import CONF

    _state, endpoint = fake_glance
    CONF.set_override("backend", "glance", group="image")
    CONF.set_override("endpoint", endpoint, group="glance")
    try:
        yield fake_glance
    finally:
        CONF.clear_override("backend", group="image")
        CONF.clear_override("endpoint", group="glance")


def test_compute_hosts_refuse_a_corrupted_glance_download(glance_backend, tmp_path) -> None:
    from kumo import context
    from kumo.image import api as image_api

    state, _ = glance_backend
    data = b"the real image"
    image = state.add(name="g", visibility="public", owner="other", status="active",
                      checksum=hashlib.md5(data, usedforsecurity=False).hexdigest(),
                      os_hash_algo="sha512", os_hash_value=hashlib.sha512(data).hexdigest())
    ctxt = context.RequestContext(user_id="u1", project_id="p1", auth_token="tok-u1")
    images = image_api.ImageAPI()
    state.data[image["id"]] = data
    assert images.fetch_verified(ctxt, image["id"], tmp_path / "ok").read_bytes() == data
    state.data[image["id"]] = b"the real imagf"  # a flipped bit on the way
    with pytest.raises(exception.ImageChecksumMismatch):
        images.fetch_verified(ctxt, image["id"], tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
    # Only the multihash recorded (no md5): it alone is checked.
    state.images[image["id"]]["checksum"] = None
    with pytest.raises(exception.ImageChecksumMismatch, match="sha512"):
        images.fetch_verified(ctxt, image["id"], tmp_path / "bad")


def test_the_compute_api_image_proxy_over_glance(glance_backend) -> None:
    import webob

    from kumo.api.openstack import app as compute_app

    state, _ = glance_backend
    mine = state.add(name="mine", visibility="private", owner="p1", status="active",
                     os_distro="cirros")
    public = state.add(name="pub", visibility="public", owner="other", status="active")
    state.add(name="theirs", visibility="private", owner="other", status="active")
    api = compute_app.app_factory(conductor=QuotaOnly(), auth_strategy="noauth2")

    def call(method: str, path: str, body: Any = None) -> webob.Response:
        request = webob.Request.blank("/v2.1" + path, method=method)
        request.headers["X-Auth-Token"] = "u1:p1"
        if body is not None:
            request.json_body = body
        return request.get_response(api)

    listed = call("GET", "/images/detail").json["images"]
    assert {i["name"] for i in listed} == {"mine", "pub"}
    shown = call("GET", f"/images/{mine['id']}").json["image"]
    assert shown["metadata"] == {"os_distro": "cirros"} and shown["status"] == "ACTIVE"
    assert call("PUT", f"/images/{mine['id']}/metadata",
                {"metadata": {"hw_disk_bus": "scsi"}}).json == {
        "metadata": {"hw_disk_bus": "scsi"}}
    assert "os_distro" not in state.images[mine["id"]]  # removed through a JSON patch
    assert state.images[mine["id"]]["hw_disk_bus"] == "scsi"
    assert call("DELETE", f"/images/{public['id']}").status_int == 403
    assert call("DELETE", f"/images/{mine['id']}").status_int == 204
    assert mine["id"] not in state.images
    assert set(state.tokens) == {"u1:p1"}  # the user's own token went to Glance


class QuotaOnly:
    """The conductor as the image proxy over Glance uses it: the metadata quota only."""

    def quota_check_metadata(self, ctxt: Any, project_id: str, count: int) -> None:
        if count > 128:
            raise exception.MetadataLimitExceeded(allowed=128)
