"""Checking downloaded image data against the hashes the image service recorded.

Glance (and the local store) record two: the legacy md5 ``checksum`` and the
multihash ``os_hash_algo``/``os_hash_value`` (sha512 in Glance by default,
sha256 in the local store). A compute host checks every one the image has
while the bytes stream to disk, so a corrupted or tampered download never
becomes a cached base image.
"""

from __future__ import annotations

import contextlib
import hashlib
import pathlib
from collections.abc import Iterable
from typing import Any

from oslo_log import log as logging

from kumo import exception

LOG = logging.getLogger(__name__)


def _get(image: Any, name: str) -> Any:
    """``name`` of a Glance dict or an Image object (None where it has no such field:
    an Image object's ``get`` raises for a name that is not one of its fields)."""
    if isinstance(image, dict):
        return image.get(name)
    if name in getattr(image, "fields", {}) and image.obj_attr_is_set(name):
        return getattr(image, name)
    return None


def _field(image: Any, name: str) -> Any:
    """A core field of the image, or (local store) one of its properties."""
    return _get(image, name) or (_get(image, "properties") or {}).get(name)


class Verifier:
    """Hashes chunks as they pass; :meth:`check` raises on any mismatch."""

    def __init__(self, image_id: str, checksum: str | None = None,
                 os_hash_algo: str | None = None, os_hash_value: str | None = None) -> None:
        self.image_id = image_id
        self._expected: list[tuple[str, Any, str]] = []
        if checksum:
            self._expected.append(("md5", hashlib.md5(usedforsecurity=False), checksum))
        if os_hash_algo and os_hash_value:
            try:
                digest = hashlib.new(os_hash_algo)
            except ValueError:
                LOG.warning("Image %s: unknown hash algorithm %s; not checked", image_id,
                            os_hash_algo)
            else:
                self._expected.append((os_hash_algo, digest, os_hash_value))

    @classmethod
    def for_image(cls, image_id: str, image: Any) -> Verifier:
        """The verifier of what ``image`` (an Image object or Glance dict) records."""
        return cls(image_id, _field(image, "checksum"), _field(image, "os_hash_algo"),
                   _field(image, "os_hash_value"))

    @property
    def checks(self) -> list[str]:
        """The hash algorithms that will be checked (empty: nothing is recorded)."""
        return [algo for algo, _digest, _value in self._expected]

    def update(self, chunk: bytes) -> None:
        for _algo, digest, _value in self._expected:
            digest.update(chunk)

    def check(self) -> None:
        """:raises ImageChecksumMismatch: a hash differs from the recorded one."""
        for algo, digest, expected in self._expected:
            actual = digest.hexdigest()
            if actual != expected.lower():
                raise exception.ImageChecksumMismatch(
                    image_id=self.image_id, algo=algo, actual=actual, expected=expected)


def write(chunks: Iterable[bytes], destination: str | pathlib.Path,
          verifier: Verifier | None = None) -> pathlib.Path:
    """Write ``chunks`` to ``destination`` (hashed on the way by ``verifier``); returns it.

    On any failure, ImageChecksumMismatch included, ``destination`` is removed:
    no partial or unverified file is left behind.
    """
    destination = pathlib.Path(destination)
    try:
        with open(destination, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                if verifier is not None:
                    verifier.update(chunk)
        if verifier is not None:
            verifier.check()
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            destination.unlink()
        raise
    return destination
