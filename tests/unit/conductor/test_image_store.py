"""The local image store's bytes: atomic writes, checksums, idempotent delete."""

from __future__ import annotations

import hashlib
import io
import pathlib
import uuid

import pytest

from kumo import exception
from kumo.image import local


def test_write_read_verify_delete(tmp_path: pathlib.Path) -> None:
    store = local.LocalStore(tmp_path / "images")
    image_id = str(uuid.uuid4())
    data = b"x" * (local.CHUNK_SIZE + 10)

    written = store.write(image_id, io.BytesIO(data))

    assert written.size == len(data)
    assert written.checksum == hashlib.md5(data).hexdigest()
    assert (written.os_hash_algo, written.os_hash_value) == (
        "sha256", hashlib.sha256(data).hexdigest())
    assert b"".join(store.read(image_id)) == data
    assert store.verify(image_id, written.checksum)
    assert [p.name for p in (tmp_path / "images").iterdir()] == [image_id]
    store.delete(image_id)
    store.delete(image_id)
    with pytest.raises(exception.ImageNotFound):
        store.location(image_id)


def test_an_id_that_is_not_a_uuid_is_refused(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError):
        local.LocalStore(tmp_path).location("../../etc/passwd")
