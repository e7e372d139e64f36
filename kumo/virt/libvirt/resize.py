"""A guest's disks across a resize on this host: kept, grown, or given back on revert.

kumo-compute resizes by destroying the guest on the source (task state
``resize_migrating``) and spawning it with the new flavor on the
destination (``resize_migrated``); a revert destroys it there and spawns it
with the old flavor on the source (``resize_reverting``). Without help the
guest would come back with a fresh disk from its image. So the driver:

* on the source's destroy, moves the root and ephemeral disks to
  ``<instances_path>/<uuid>_resize/`` instead of deleting them;
* on the destination's spawn, boots from copies of them, grown to the new
  flavor's sizes (never shrunk), and keeps the originals for a revert;
* on the revert's spawn, boots from copies of the originals as they were,
  and drops them once the guest runs.

The kept disks go with the server's delete (any destroy outside a resize).
A confirmed resize keeps them until then, as Nova keeps ``_resize``
directories. The destination must see the source's ``instances_path``:
the same host, or a shared file system.
"""

from __future__ import annotations

import os
import pathlib
import shutil

from oslo_log import log as logging

from kumo.virt.libvirt import disk as vdisk

LOG = logging.getLogger(__name__)

KEPT_SUFFIX = "_resize"
DISKS = (vdisk.ROOT_DISK, vdisk.EPHEMERAL_DISK)


def kept_dir(instances_path: pathlib.Path, instance_uuid: str) -> pathlib.Path:
    return instances_path / f"{instance_uuid}{KEPT_SUFFIX}"


def keep(instance_dir: pathlib.Path, kept: pathlib.Path) -> None:
    """Move the guest's disks from ``instance_dir`` to ``kept`` (replacing older ones)."""
    if not (instance_dir / vdisk.ROOT_DISK).is_file():
        return
    shutil.rmtree(kept, ignore_errors=True)
    kept.mkdir(parents=True)
    for name in DISKS:
        if (instance_dir / name).is_file():
            os.replace(instance_dir / name, kept / name)
    LOG.info("Kept the disks of %s for its resize in %s", instance_dir.name, kept)


def _grow(path: pathlib.Path, size_gb: int) -> None:
    wanted = size_gb * vdisk.GiB
    if wanted and wanted > int(vdisk.image_info(path).get("virtual-size") or 0):
        vdisk.qemu_img("resize", "-f", "qcow2", str(path), str(wanted))


def use_for_resize(kept: pathlib.Path, instance_dir: pathlib.Path, root_gb: int,
                   ephemeral_gb: int) -> bool:
    """Replace the fresh disks of ``instance_dir`` with grown copies of the kept ones.

    Returns False (nothing done) when no disks were kept.
    """
    if not (kept / vdisk.ROOT_DISK).is_file():
        return False
    for name, size_gb in ((vdisk.ROOT_DISK, root_gb), (vdisk.EPHEMERAL_DISK, ephemeral_gb)):
        source, target = kept / name, instance_dir / name
        if not source.is_file() or (name == vdisk.EPHEMERAL_DISK and not target.exists()):
            continue
        partial = target.with_name(name + ".part")
        shutil.copyfile(source, partial)
        _grow(partial, size_gb)
        os.replace(partial, target)
    LOG.info("Resized guest %s boots from its kept disks", instance_dir.name)
    return True


def discard(kept: pathlib.Path) -> None:
    shutil.rmtree(kept, ignore_errors=True)
