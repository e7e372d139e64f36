"""Deleting a shelved-offloaded server deletes its shelve snapshot too."""

from __future__ import annotations

import io
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from kumo import context, exception
from kumo.compute.system_metadata import SHELVED_IMAGE_ID
from kumo.conductor import rpcapi
from kumo.conf import CONF
from kumo.image import local
from tests.unit.conductor.test_rpcapi import _boot


@pytest.fixture
def store(tmp_path: pathlib.Path) -> Iterator[local.LocalStore]:
    CONF.set_override("local_store_path", str(tmp_path), group="image")
    yield local.LocalStore(str(tmp_path))
    CONF.clear_override("local_store_path", group="image")


@pytest.fixture
def tiny(conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> Any:
    return conductor.flavor_create(ctxt, {"name": "m1.tiny", "flavorid": "1", "memory_mb": 512,
                                          "vcpus": 1, "root_gb": 1})


def test_destroy_removes_the_shelve_snapshot_row_and_bytes(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext, tiny: Any,
        store: local.LocalStore) -> None:
    image = conductor.image_create(ctxt, {"name": "vm-0-shelved", "owner": "p1",
                                          "status": "active"})
    store.write(image.id, io.BytesIO(b"snapshot"))
    [server] = _boot(conductor, ctxt, vm_state="shelved_offloaded",
                     system_metadata={SHELVED_IMAGE_ID: image.id})

    conductor.instance_destroy(ctxt, server.uuid)

    with pytest.raises(exception.ImageNotFound):
        conductor.image_get(ctxt, image.id)
    with pytest.raises(exception.ImageNotFound):
        store.location(image.id)
    # Idempotent: the image is gone already, the second destroy still succeeds.
    conductor.instance_destroy(ctxt, server.uuid)


def test_destroy_of_a_server_without_a_shelve_snapshot_keeps_images(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext, tiny: Any) -> None:
    image = conductor.image_create(ctxt, {"name": "kept", "owner": "p1"})
    [server] = _boot(conductor, ctxt, image_ref=image.id)

    conductor.instance_destroy(ctxt, server.uuid)

    assert conductor.image_get(ctxt, image.id).id == image.id
