"""Guest disks: a per-host base-image cache and qcow2 overlays made with ``qemu-img``.

A :class:`DiskPlan` is computed first (pure: paths, sizes and the
``qemu-img`` command lines), then :meth:`DiskPlan.execute` runs it. The root
disk is a qcow2 overlay over the cached base image, grown to the flavor's
``root_gb`` (never shrunk below the image); an ephemeral disk of
``ephemeral_gb`` is a blank qcow2; images with ``kernel_id``/``ramdisk_id``
boot the kernel directly, copied into the instance directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import threading
import time
from collections.abc import Callable

from oslo_log import log as logging

from kumo import exception

LOG = logging.getLogger(__name__)

GiB = 1024 ** 3
QEMU_IMG = "qemu-img"
ROOT_DISK = "disk"
EPHEMERAL_DISK = "disk.eph0"
KERNEL = "kernel"
RAMDISK = "ramdisk"
CONSOLE_LOG = "console.log"

# fetch(image_id, destination) writes the image's bytes to destination.
Fetcher = Callable[[str, pathlib.Path], None]


class DiskError(exception.KumoException):
    msg_fmt = "Disk preparation failed: %(reason)s"


def qemu_img(*args: str, timeout: float = 600) -> str:
    argv = [QEMU_IMG, *args]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                check=False)
    except FileNotFoundError:
        raise DiskError(reason="qemu-img is not installed (Debian package qemu-utils)") from None
    if result.returncode != 0:
        raise DiskError(reason=f"{' '.join(argv)} failed: {result.stderr.strip()}")
    return result.stdout


def image_info(path: str | os.PathLike[str]) -> dict:
    """``qemu-img info`` of a file: format, virtual-size, backing file."""
    return json.loads(qemu_img("info", "--output=json", str(path)))


class ImageCache:
    """Images downloaded once per host into ``path``, named by the sha1 of the image id."""

    def __init__(self, path: str | os.PathLike[str], fetch: Fetcher) -> None:
        self.path = pathlib.Path(path)
        self._fetch = fetch
        self._lock = threading.Lock()
        self._image_locks: dict[str, threading.Lock] = {}

    def file(self, image_id: str) -> pathlib.Path:
        return self.path / hashlib.sha1(image_id.encode(), usedforsecurity=False).hexdigest()

    def get(self, image_id: str, checksum: str | None = None) -> pathlib.Path:
        """The cached file of the image, downloading (and verifying) it the first time."""
        target = self.file(image_id)
        with self._lock:
            lock = self._image_locks.setdefault(image_id, threading.Lock())
        with lock:
            if target.is_file():
                os.utime(target)  # in use: the cleaner measures age from here
                return target
            self.path.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            try:
                self._fetch(image_id, partial)
                if checksum:
                    md5 = hashlib.md5(usedforsecurity=False)
                    with open(partial, "rb") as data:
                        while chunk := data.read(1024 * 1024):
                            md5.update(chunk)
                    if md5.hexdigest() != checksum:
                        raise DiskError(reason=f"image {image_id} checksum {md5.hexdigest()}"
                                               f" is not the expected {checksum}")
                info = image_info(partial)
                if info.get("backing-filename"):
                    raise DiskError(reason=f"image {image_id} has a backing file; refused")
                os.replace(partial, target)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    partial.unlink()
            LOG.info("Cached image %s as %s", image_id, target)
            return target

    def clean(self, in_use: set[str], min_age: float) -> list[pathlib.Path]:
        """Remove cached bases no instance uses and unused for ``min_age`` seconds."""
        removed = []
        if not self.path.is_dir():
            return removed
        now = time.time()
        for entry in self.path.iterdir():
            if not entry.is_file() or entry.name.endswith(".part"):
                continue
            if str(entry) in in_use or now - entry.stat().st_mtime < min_age:
                continue
            entry.unlink()
            removed.append(entry)
            LOG.info("Removed unused base image %s", entry)
        return removed


@dataclasses.dataclass
class DiskPlan:
    """What one guest's disks are and how they are made."""

    instance_dir: pathlib.Path
    base: pathlib.Path | None
    base_format: str | None
    root_size: int | None            # bytes; None: the image's own size
    ephemeral_gb: int = 0
    kernel_source: pathlib.Path | None = None
    ramdisk_source: pathlib.Path | None = None

    @property
    def root(self) -> pathlib.Path:
        return self.instance_dir / ROOT_DISK

    @property
    def ephemeral(self) -> pathlib.Path | None:
        return self.instance_dir / EPHEMERAL_DISK if self.ephemeral_gb else None

    @property
    def kernel(self) -> pathlib.Path | None:
        return self.instance_dir / KERNEL if self.kernel_source else None

    @property
    def ramdisk(self) -> pathlib.Path | None:
        return self.instance_dir / RAMDISK if self.ramdisk_source else None

    @property
    def console_log(self) -> pathlib.Path:
        return self.instance_dir / CONSOLE_LOG

    def commands(self) -> list[list[str]]:
        """The qemu-img command lines this plan runs, in order."""
        commands = []
        if self.base is not None:
            create = [QEMU_IMG, "create", "-f", "qcow2", "-b", str(self.base),
                      "-F", self.base_format or "raw", str(self.root)]
            if self.root_size:
                create.append(str(self.root_size))
            commands.append(create)
        if self.ephemeral_gb:
            commands.append([QEMU_IMG, "create", "-f", "qcow2", str(self.ephemeral),
                             f"{self.ephemeral_gb}G"])
        return commands

    def execute(self) -> None:
        self.instance_dir.mkdir(parents=True, exist_ok=True)
        for argv in self.commands():
            qemu_img(*argv[1:])
        if self.kernel_source:
            shutil.copyfile(self.kernel_source, self.kernel)
        if self.ramdisk_source:
            shutil.copyfile(self.ramdisk_source, self.ramdisk)
        self.console_log.touch()

    def remove(self) -> None:
        shutil.rmtree(self.instance_dir, ignore_errors=True)


def plan(instance_dir: str | os.PathLike[str], base: pathlib.Path | None,
         root_gb: int, ephemeral_gb: int = 0, kernel: pathlib.Path | None = None,
         ramdisk: pathlib.Path | None = None, base_info: dict | None = None) -> DiskPlan:
    """The plan of a guest's disks; ``base_info`` is ``qemu-img info`` of ``base``."""
    base_format = root_size = None
    if base is not None:
        info = base_info if base_info is not None else image_info(base)
        base_format = info.get("format", "raw")
        if base_format not in ("raw", "qcow2"):
            raise DiskError(reason=f"base image format {base_format!r} is not raw or qcow2")
        virtual = int(info.get("virtual-size") or 0)
        wanted = root_gb * GiB
        if wanted and wanted < virtual:
            raise DiskError(reason=f"flavor root disk {root_gb} GiB is smaller than the "
                                   f"image ({virtual} bytes)")
        root_size = wanted if wanted > virtual else None
    return DiskPlan(instance_dir=pathlib.Path(instance_dir), base=base,
                    base_format=base_format, root_size=root_size,
                    ephemeral_gb=ephemeral_gb, kernel_source=kernel, ramdisk_source=ramdisk)


def flatten(source: str | os.PathLike[str], destination: str | os.PathLike[str],
            fmt: str = "qcow2") -> int:
    """Write ``source`` with its backing chain merged into ``destination``; its size."""
    qemu_img("convert", "-O", fmt, str(source), str(destination))
    return os.path.getsize(destination)
