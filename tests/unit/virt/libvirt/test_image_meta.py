"""What the libvirt driver asks the image service before it boots an image."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("libvirt")

from kumo import exception  # noqa: E402
from kumo.image import api as image_api  # noqa: E402
from kumo.virt.libvirt import driver  # noqa: E402

IMAGES: dict[str, dict[str, Any]] = {
    "ami": {"id": "ami", "checksum": "c0", "properties": {
        "kernel_id": "aki", "ramdisk_id": "ari", "os_command_line": "console=ttyS0",
        "hw_disk_bus": "virtio"}},
    "snap1": {"id": "snap1", "checksum": "c1", "properties": {
        "image_type": "snapshot", "base_image_ref": "ami"}},
    "snap2": {"id": "snap2", "checksum": "c2", "properties": {
        "image_type": "snapshot", "base_image_ref": "snap1"}},
    "orphan": {"id": "orphan", "properties": {"base_image_ref": "deleted"}},
}


@pytest.fixture(autouse=True)
def image_service(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    asked: list[str] = []

    def get(self: Any, ctxt: Any, image_id: str, project_id: str | None = None) -> Any:
        asked.append(image_id)
        if image_id not in IMAGES:
            raise exception.ImageNotFound(image_id=image_id)
        return IMAGES[image_id]

    monkeypatch.setattr(image_api.ImageAPI, "get", get)
    return asked


def complete(meta: dict[str, Any]) -> dict[str, Any]:
    return driver.LibvirtDriver._complete_image_meta(None, meta)


def test_an_image_known_by_id_only_gets_its_properties(image_service) -> None:
    meta = complete({"id": "ami"})
    assert meta["properties"]["kernel_id"] == "aki" and meta["checksum"] == "c0"
    assert image_service == ["ami"]


def test_image_meta_with_properties_costs_no_lookup(image_service) -> None:
    assert complete({"id": "ami", "properties": {}}) == {"id": "ami", "properties": {}}
    assert image_service == []


def test_snapshots_inherit_kernel_boot_through_their_base_images(image_service) -> None:
    meta = complete({"id": "snap2", "properties": dict(IMAGES["snap2"]["properties"])})
    properties = meta["properties"]
    assert (properties["kernel_id"], properties["ramdisk_id"],
            properties["os_command_line"]) == ("aki", "ari", "console=ttyS0")
    assert "hw_disk_bus" not in properties  # only what kernel boot needs
    assert image_service == ["snap1", "ami"]


def test_a_deleted_base_image_leaves_the_snapshot_as_it_is(image_service) -> None:
    meta = complete({"id": "orphan"})
    assert "kernel_id" not in meta["properties"]
    with pytest.raises(exception.ImageNotFound):
        complete({"id": "missing"})
