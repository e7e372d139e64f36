"""Snapshot images through ImageAPI: the record made queued (both backends), the bytes
uploaded and the image activated — against the Glance v2 double of test_glance."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from kumo import context, exception
from kumo.image import api as image_api
from kumo.image import local
from kumo.image.snapshot import snapshot_record
from kumo.objects.image import Image
from kumo.objects.instance import Instance
from tests.unit.image.test_glance import fake_glance, glance_backend  # noqa: F401

SERVER = "33333333-3333-4333-8333-333333333333"
BASE = "44444444-4444-4444-8444-444444444444"


def _instance(**values: Any) -> Instance:
    fields = {"uuid": SERVER, "project_id": "p1", "user_id": "alice", "root_gb": 20,
              "image_ref": BASE, "display_name": "vm"}
    fields.update(values)
    return Instance(**fields)


def _ctxt(project_id: str = "p1", user_id: str = "alice") -> Any:
    return context.RequestContext(user_id=user_id, project_id=project_id,
                                  auth_token=f"{user_id}:{project_id}")


def test_the_record_follows_novas_snapshot_metadata() -> None:
    base = Image(id=BASE, status="active", disk_format="qcow2", container_format="bare",
                 min_ram=256, min_disk=40,
                 properties={"kernel_id": "k1", "ramdisk_id": "r1", "os_distro": "x"})

    record = snapshot_record(_ctxt(), _instance(), "snap", base, {"purpose": "test"})

    assert record.member is None
    assert record.values == {
        "name": "snap", "status": "queued", "visibility": "private", "owner": "p1",
        "min_disk": 40, "min_ram": 256, "disk_format": "qcow2", "container_format": "bare",
        "properties": {"kernel_id": "k1", "ramdisk_id": "r1", "purpose": "test",
                       "instance_uuid": SERVER, "image_type": "snapshot",
                       "base_image_ref": BASE, "user_id": "alice"}}


def test_the_record_without_a_base_keeps_the_servers_kernel_and_root_size() -> None:
    record = snapshot_record(_ctxt(), _instance(kernel_id="k2"), "snap", None)
    assert record.values["min_disk"] == 20 and "disk_format" not in record.values
    assert record.values["properties"]["kernel_id"] == "k2"


def test_an_admins_snapshot_of_another_projects_server() -> None:
    admin = _ctxt("admin", "admin")
    # Glance: the caller's project owns it, shared with the server's project.
    shared = snapshot_record(admin, _instance(), "snap", None, shared_by_members=True)
    assert (shared.values["owner"], shared.values["visibility"], shared.member) == (
        "admin", "shared", "p1")
    assert shared.values["properties"]["instance_owner"] == "p1"
    # The local store has no members: the server's project owns it.
    local_record = snapshot_record(admin, _instance(), "snap", None)
    assert (local_record.values["owner"], local_record.values["visibility"],
            local_record.member) == ("p1", "private", None)


def test_glance_snapshot_is_created_queued_uploaded_and_active(glance_backend) -> None:  # noqa: F811
    state, _ = glance_backend
    base = state.add(name="base", status="active", visibility="public", owner="admin",
                     disk_format="qcow2", min_ram=128, kernel_id="k1")
    images = image_api.ImageAPI(glance=None)
    ctxt = _ctxt()

    image = images.create_snapshot(ctxt, _instance(image_ref=base["id"]), "snap",
                                   {"purpose": "test"})

    created = state.images[image.id]
    assert (created["status"], created["owner"], created["visibility"]) == (
        "queued", "p1", "private")
    assert (created["instance_uuid"], created["base_image_ref"], created["kernel_id"],
            created["purpose"], created["min_ram"]) == (SERVER, base["id"], "k1", "test", 128)
    uploaded = images.upload(ctxt, image.id, b"disk bytes", "raw", "bare")
    images.activate(ctxt, image.id, uploaded)
    assert state.images[image.id]["status"] == "active"
    assert state.images[image.id]["disk_format"] == "raw"
    assert state.data[image.id] == b"disk bytes"
    assert uploaded["checksum"] == hashlib.md5(b"disk bytes",
                                               usedforsecurity=False).hexdigest()


def test_an_admins_glance_snapshot_is_shared_with_the_servers_project(
        glance_backend) -> None:  # noqa: F811
    state, _ = glance_backend
    images = image_api.ImageAPI()

    image = images.create_snapshot(_ctxt("admin", "admin"), _instance(image_ref=None), "s")

    assert state.images[image.id]["visibility"] == "shared"
    assert state.members[image.id] == [{"member_id": "p1", "status": "pending"}]


def test_activate_refuses_a_glance_image_that_is_not_active(glance_backend) -> None:  # noqa: F811
    state, _ = glance_backend
    queued = state.add(name="q")
    with pytest.raises(exception.KumoException, match="queued after its upload"):
        image_api.ImageAPI().activate(_ctxt(), queued["id"], {})


def test_local_snapshot_bytes_go_to_the_store_and_the_record_goes_active(tmp_path) -> None:
    updates: list[tuple[str, dict[str, Any]]] = []

    class Conductor:
        def image_update(self, ctxt: Any, image_id: str, values: dict[str, Any]) -> None:
            updates.append((image_id, values))

    store = local.LocalStore(tmp_path)
    images = image_api.ImageAPI(conductor=Conductor(), store=store)  # type: ignore[arg-type]
    uploaded = images.upload(_ctxt(), BASE, b"disk", "qcow2")
    images.activate(_ctxt(), BASE, uploaded)

    assert store.location(BASE).read_bytes() == b"disk"
    assert updates == [(BASE, {"status": "active", "disk_format": "qcow2",
                               "container_format": "bare", "size": 4,
                               "checksum": hashlib.md5(b"disk",
                                                       usedforsecurity=False).hexdigest()})]


def test_glance_false_keeps_the_local_store_whatever_the_backend(glance_backend,  # noqa: F811
                                                                 tmp_path) -> None:
    assert image_api.ImageAPI(store=local.LocalStore(tmp_path), glance=False).glance is None
    assert image_api.ImageAPI().glance is not None
