"""Snapshots into a real Glance (``[image] backend = glance``) through kumo's real daemons.

A glance-api of its own (SQLite, file store, no auth: :mod:`tests.functional.glance_api`)
holds every image: the base image the servers boot from, createImage's
snapshots and shelve's. The fake virt driver's snapshot is a line naming the
server, which kumo-compute uploads; Glance caps images at ``SIZE_CAP`` bytes,
so a server with a long name makes a snapshot Glance refuses (the failure path).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from kumo.virt.fake.driver import fake_disk
from tests.functional import glance_api
from tests.functional.harness import SERVER_BINARIES, Cloud, free_port, wait_for
from tests.functional.servers import SMALL, action, create_flavors, wait_status

SIZE_CAP = 200
METADATA_ITEMS = 3
GLANCE_PORT = free_port()
USER = "alice:p1"

CLOUD_BINARIES = SERVER_BINARIES
CLOUD_OPTIONS = {
    "image": {"backend": "glance"},
    "glance": {"endpoint": f"http://127.0.0.1:{GLANCE_PORT}"},
    "quota": {"metadata_items": METADATA_ITEMS},
}


def CLOUD_SETUP(cloud: Cloud) -> None:  # noqa: N802  (a hook the conftest looks up)
    create_flavors(cloud, SMALL)


@pytest.fixture(scope="module")
def glance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[glance_api.GlanceAPI]:
    """The module's glance-api, starting in the background while the module's cloud
    starts (``base`` needs both and waits until Glance answers)."""
    reason = glance_api.unavailable_reason()
    if reason is not None:
        if os.environ.get("KUMO_REQUIRE_GLANCE") == "1":
            pytest.fail(f"KUMO_REQUIRE_GLANCE=1, but {reason}", pytrace=False)
        pytest.skip(reason)
    server = glance_api.GlanceAPI(tmp_path_factory.mktemp("glance"), GLANCE_PORT,
                                  image_size_cap=SIZE_CAP)
    try:
        server.start_in_background()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def base(glance: glance_api.GlanceAPI, module_cloud: Cloud) -> dict[str, Any]:
    """A public image booted from a kernel: its snapshots keep kernel and ramdisk.

    (Made once the cloud runs, which started while Glance did.)"""
    return glance.ready().create_image(b"kumo base image\n" * 4, name="base", min_ram=64,
                               kernel_id="11111111-1111-4111-8111-111111111111",
                               ramdisk_id="22222222-2222-4222-8222-222222222222")


def _boot(cloud: Cloud, name: str, image_id: str) -> dict[str, Any]:
    status, body = cloud.api("POST", "/servers", {"server": {
        "name": name, "imageRef": image_id, "flavorRef": SMALL[1]}}, token=USER)
    assert status == 202, body
    return wait_status(cloud, body["server"]["id"], "ACTIVE")


def _glance_image(glance: glance_api.GlanceAPI, name: str,
                  status: str = "active") -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        images = [i for i in glance.images(name=name) if i["status"] == status]
        return images[0] if images else None

    return wait_for(found, 60, interval=0.3, message=f"Glance image {name} {status}")


def test_create_image_is_a_glance_image_that_boots(glance: glance_api.GlanceAPI,
                                                    cloud: Cloud, base: dict[str, Any]) -> None:
    server = _boot(cloud, "snappy", base["id"])

    status, body = action(cloud, server["id"], {"createImage": {
        "name": "snappy-image", "metadata": {"purpose": "test"}}}, token=USER)
    assert status == 202, body

    image = _glance_image(glance, "snappy-image")
    assert body is None or body.get("image_id") in (None, image["id"])
    assert {key: image.get(key) for key in (
        "instance_uuid", "image_type", "base_image_ref", "user_id", "purpose", "owner",
        "visibility", "kernel_id", "ramdisk_id", "disk_format", "container_format",
        "min_ram", "min_disk")} == {
        "instance_uuid": server["id"], "image_type": "snapshot",
        "base_image_ref": base["id"], "user_id": "alice", "purpose": "test",
        "owner": "p1", "visibility": "private", "kernel_id": base["kernel_id"],
        "ramdisk_id": base["ramdisk_id"], "disk_format": "raw", "container_format": "bare",
        "min_ram": 64, "min_disk": SMALL[4]}
    assert glance.data(image["id"]) == fake_disk(server["id"], "snappy")
    # The Compute API's image proxy reads it from Glance too.
    status, shown = cloud.api("GET", f"/images/{image['id']}", token=USER)
    assert status == 200 and shown["image"]["status"] == "ACTIVE", shown
    wait_status(cloud, server["id"], "ACTIVE")

    clone = _boot(cloud, "clone", image["id"])
    assert clone["image"]["id"] == image["id"]


def test_shelve_offload_and_unshelve_go_through_a_glance_snapshot(
        glance: glance_api.GlanceAPI, cloud: Cloud, base: dict[str, Any]) -> None:
    server = _boot(cloud, "napper", base["id"])

    status, body = action(cloud, server["id"], {"shelve": None}, token=USER)
    assert status == 202, body
    wait_status(cloud, server["id"], "SHELVED_OFFLOADED")
    shelved = _glance_image(glance, "napper-shelved")
    assert shelved["instance_uuid"] == server["id"] and shelved["owner"] == "p1"
    assert glance.data(shelved["id"]) == fake_disk(server["id"], "napper")

    status, body = action(cloud, server["id"], {"unshelve": None}, token=USER)
    assert status == 202, body
    wait_status(cloud, server["id"], "ACTIVE")
    # Unshelved: the shelved snapshot is deleted in Glance.
    wait_for(lambda: glance.image(shelved["id"]) is None, 30, interval=0.3,
             message="the shelved snapshot deleted in Glance")


def test_a_snapshot_glance_refuses_is_deleted_and_the_server_keeps_running(
        glance: glance_api.GlanceAPI, cloud: Cloud, base: dict[str, Any]) -> None:
    name = "big-" + "x" * SIZE_CAP  # its fake disk is larger than Glance takes
    server = _boot(cloud, name, base["id"])

    status, body = action(cloud, server["id"], {"createImage": {"name": "too-big"}},
                          token=USER)
    assert status == 202, body

    def snapshot_failed() -> bool:
        actions = cloud.api("GET", f"/servers/{server['id']}/os-instance-actions",
                            token="admin:admin")[1]["instanceActions"]
        request = next(a for a in actions if a["action"] == "createImage")["request_id"]
        events = cloud.api("GET", f"/servers/{server['id']}/os-instance-actions/{request}",
                           token="admin:admin")[1]["instanceAction"].get("events", [])
        return any(e["event"] == "compute_snapshot_instance" and e["result"] == "Error"
                   for e in events)

    wait_for(snapshot_failed, 60, interval=0.3, message="the snapshot's Error event")
    wait_for(lambda: not glance.images(name="too-big"), 30, interval=0.3,
             message="the refused snapshot deleted in Glance")
    assert wait_status(cloud, server["id"], "ACTIVE")["status"] == "ACTIVE"


def test_create_image_errors_are_clean_and_leave_no_image(
        glance: glance_api.GlanceAPI, cloud: Cloud, base: dict[str, Any]) -> None:
    server = _boot(cloud, "picky", base["id"])
    before = {image["id"] for image in glance.images()}

    # Up to 2.38 the metadata counts against the metadata_items quota.
    many = {f"k{i}": "v" for i in range(METADATA_ITEMS + 1)}
    status, body = action(cloud, server["id"], {"createImage": {
        "name": "many", "metadata": many}}, token=USER)
    assert (status, body) == (403, {"forbidden": {
        "code": 403, "message": "Image metadata limit exceeded"}})
    # Glance refuses the image record itself (a reserved property): its 403, as JSON.
    status, body = action(cloud, server["id"], {"createImage": {
        "name": "reserved", "metadata": {"os_glance_thing": "1"}}}, token=USER)
    assert status == 403 and body["forbidden"]["code"] == 403, body

    assert {image["id"] for image in glance.images()} == before
    status, shown = cloud.api("GET", f"/servers/{server['id']}", token=USER)
    assert shown["server"]["status"] == "ACTIVE"
    assert shown["server"].get("OS-EXT-STS:task_state") is None
