"""The embedded local image store's bytes: one file per image in ``[image] local_store_path``.

Metadata lives in the database (the conductor's ``image_*`` RPC); this module
only moves bytes. Writes go to a temporary file renamed into place, so a
reader never sees half an image.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pathlib
import tempfile
import uuid as uuid_lib
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

from oslo_config import cfg

from kumo import exception

CONF = cfg.CONF
CHUNK_SIZE = 1024 * 1024
HASH_ALGO = "sha256"


class Written(NamedTuple):
    """What :meth:`LocalStore.write` stored: size and checksums of the bytes."""

    size: int
    checksum: str  # md5, Glance's legacy ``checksum``
    os_hash_algo: str
    os_hash_value: str


class LocalStore:
    """Image bytes under ``path`` (default ``[image] local_store_path``)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = pathlib.Path(path if path is not None else CONF.image.local_store_path)

    def _file(self, image_id: str) -> pathlib.Path:
        # A uuid only, so an id can never name a path outside the store.
        return self.path / str(uuid_lib.UUID(str(image_id)))

    def exists(self, image_id: str) -> bool:
        return self._file(image_id).is_file()

    def location(self, image_id: str) -> pathlib.Path:
        """The file holding the image's bytes.

        :raises ImageNotFound: the store has no bytes for this image.
        """
        path = self._file(image_id)
        if not path.is_file():
            raise exception.ImageNotFound(image_id=image_id)
        return path

    def write(self, image_id: str, data: BinaryIO) -> Written:
        """Store the bytes read from ``data`` as the image's (replacing any)."""
        self.path.mkdir(parents=True, exist_ok=True)
        md5 = hashlib.md5(usedforsecurity=False)
        digest = hashlib.new(HASH_ALGO)
        size = 0
        target = self._file(image_id)
        fd, temporary = tempfile.mkstemp(dir=self.path, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := data.read(CHUNK_SIZE):
                    out.write(chunk)
                    md5.update(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            # Readable by every kumo service of the host, as the directory is.
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        return Written(size, md5.hexdigest(), HASH_ALGO, digest.hexdigest())

    def write_file(self, image_id: str, source: str | os.PathLike[str]) -> Written:
        with open(source, "rb") as data:
            return self.write(image_id, data)

    def read(self, image_id: str) -> Iterator[bytes]:
        """The image's bytes in chunks.

        :raises ImageNotFound: the store has no bytes for this image.
        """
        with open(self.location(image_id), "rb") as data:
            while chunk := data.read(CHUNK_SIZE):
                yield chunk

    def verify(self, image_id: str, checksum: str) -> bool:
        """Whether the stored bytes have this md5 checksum."""
        md5 = hashlib.md5(usedforsecurity=False)
        for chunk in self.read(image_id):
            md5.update(chunk)
        return md5.hexdigest() == checksum

    def delete(self, image_id: str) -> None:
        """Remove the image's bytes; nothing to remove is fine."""
        with contextlib.suppress(FileNotFoundError):
            self._file(image_id).unlink()
