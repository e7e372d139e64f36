"""The libvirt driver's snapshot upload with ``[image] backend = glance``.

The driver of test_libvirt_driver (libvirt's test:///default, real qemu-img
disks) spawns from the local store; its snapshot then goes to the Glance v2
double of the image unit tests, as kumo-compute's would go to Glance.
"""

from __future__ import annotations

import pytest

pytest.importorskip("libvirt")

from kumo.conf import CONF  # noqa: E402
from tests.functional.test_libvirt_driver import (  # noqa: E402, F401
    ctxt,
    driver,
    image_records,
    spawn,
    store,
)
from tests.unit.image.test_glance import fake_glance  # noqa: E402, F401

QCOW2_MAGIC = b"QFI\xfb"


def test_snapshot_uploads_the_flattened_disk_to_the_queued_glance_image(
        driver, ctxt, fake_glance) -> None:  # noqa: F811
    instance = spawn(driver, ctxt)
    state, endpoint = fake_glance
    queued = state.add(name="snap", disk_format=None, container_format=None)
    CONF.set_override("backend", "glance", group="image")
    CONF.set_override("endpoint", endpoint, group="glance")
    try:
        data = driver.snapshot(ctxt, instance, queued["id"])
    finally:
        CONF.clear_override("backend", group="image")
        CONF.clear_override("endpoint", group="glance")

    image = state.images[queued["id"]]
    assert (image["status"], image["disk_format"], image["container_format"]) == (
        "active", "qcow2", "bare")
    assert state.data[queued["id"]].startswith(QCOW2_MAGIC)
    assert data["uploaded"] and data["size"] == len(state.data[queued["id"]])
    assert data["checksum"] == image["checksum"]
