"""The hashes a compute host checks image data against, from either backend's record."""

from __future__ import annotations

import hashlib

import pytest

from kumo import exception
from kumo.image import verify
from kumo.objects.image import Image

DATA = b"image bytes" * 1000


def _check(record: object, data: bytes) -> list[str]:
    verifier = verify.Verifier.for_image("i1", record)
    verifier.update(data[:7])
    verifier.update(data[7:])
    verifier.check()
    return verifier.checks


def test_a_local_store_record_checks_md5_and_its_sha256_property() -> None:
    record = Image(id="0b6a3c1e-5d2f-4c8a-9e7b-1f2a3b4c5d6e", status="active",
                   checksum=hashlib.md5(DATA, usedforsecurity=False).hexdigest(),
                   properties={"os_hash_algo": "sha256",
                               "os_hash_value": hashlib.sha256(DATA).hexdigest()})
    assert _check(record, DATA) == ["md5", "sha256"]
    with pytest.raises(exception.ImageChecksumMismatch, match="md5"):
        _check(record, DATA + b"x")
    record.checksum = None
    with pytest.raises(exception.ImageChecksumMismatch, match="sha256"):
        _check(record, DATA[:-1])


def test_a_glance_record_checks_its_multihash() -> None:
    record = {"id": "i1", "checksum": None, "os_hash_algo": "sha512",
              "os_hash_value": hashlib.sha512(DATA).hexdigest(), "properties": {}}
    assert _check(record, DATA) == ["sha512"]
    with pytest.raises(exception.ImageChecksumMismatch):
        _check(record, b"")


def test_nothing_recorded_nothing_checked() -> None:
    assert _check(Image(id="0b6a3c1e-5d2f-4c8a-9e7b-1f2a3b4c5d6e", status="queued"),
                  DATA) == []
    assert _check({"id": "i1", "os_hash_algo": "nope", "os_hash_value": "x"}, DATA) == []


def test_write_removes_the_file_when_the_bytes_do_not_match(tmp_path) -> None:
    verifier = verify.Verifier("i1", hashlib.md5(DATA, usedforsecurity=False).hexdigest())
    with pytest.raises(exception.ImageChecksumMismatch):
        verify.write([DATA[:10], b"tampered"], tmp_path / "base", verifier)
    assert not (tmp_path / "base").exists()
    good = verify.Verifier("i1", hashlib.md5(DATA, usedforsecurity=False).hexdigest())
    assert verify.write([DATA], tmp_path / "base", good).read_bytes() == DATA
