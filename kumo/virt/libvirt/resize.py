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

The source tells the destination where its kept disks are
(:func:`source_of`: the server's system_metadata ``resize_source_disks``,
``{"host", "path"}``). A destination whose own ``instances_path`` has no
such directory -- another kumo-compute with instances of its own, as two
hosts of a devstack multi-node on one machine -- copies them from there
with ``qemu-img convert`` (:func:`copy_from_source`): flattened, so the copy
needs none of the source's cached base images. The path must be readable on
the destination: the same machine, or the source's ``instances_path``
mounted at the same place (NFS). Between machines without a shared mount
the copy would have to go over ssh (``rsync`` of the kept directory, with
keys between the compute hosts), which kumo does not do.

The confirmation drops the source's kept disks (:func:`discard`, through the
source host's ``confirm_resize``); a revert boots them on the source again.
Any destroy outside a move (the server's delete) drops them too, and a
delete of a server still waiting for its confirmation has the source drop
them (kumo-compute's ``cleanup_move_source``).

A live migration (:mod:`kumo.virt.libvirt.migration`) keeps the guest the
same way, with its memory state beside the disks, and the destination
copies them with the same functions (grown to the same sizes: unchanged).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
from typing import Any

from oslo_log import log as logging

from kumo.compute.system_metadata import RESIZE_SOURCE_DISKS
from kumo.virt.libvirt import disk as vdisk

LOG = logging.getLogger(__name__)

KEPT_SUFFIX = "_resize"
DISKS = (vdisk.ROOT_DISK, vdisk.EPHEMERAL_DISK)


def kept_dir(instances_path: pathlib.Path, instance_uuid: str) -> pathlib.Path:
    return instances_path / f"{instance_uuid}{KEPT_SUFFIX}"


def keep(instance_dir: pathlib.Path, kept: pathlib.Path, extra: tuple[str, ...] = ()) -> None:
    """Move the guest's disks (and the ``extra`` files there are: a live migration's
    memory state, console log and domain XML) from ``instance_dir`` to ``kept``,
    replacing older ones."""
    if not (instance_dir / vdisk.ROOT_DISK).is_file():
        return
    shutil.rmtree(kept, ignore_errors=True)
    kept.mkdir(parents=True)
    for name in (*DISKS, *extra):
        if (instance_dir / name).is_file():
            os.replace(instance_dir / name, kept / name)
    LOG.info("Kept the disks of %s for its move in %s", instance_dir.name, kept)


def take_back(kept: pathlib.Path, instance_dir: pathlib.Path,
              extra: tuple[str, ...] = ()) -> None:
    """Move what :func:`keep` kept back over the fresh files of ``instance_dir`` (the
    same host: a rolled-back live migration), unchanged."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    for name in (*DISKS, *extra):
        if (kept / name).is_file():
            os.replace(kept / name, instance_dir / name)
    discard(kept)


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


def source_record(host: str, kept: pathlib.Path) -> dict[str, str] | None:
    """What the source tells the destination: where its kept disks are (None: none)."""
    if not (kept / vdisk.ROOT_DISK).is_file():
        return None
    return {"host": host, "path": str(kept)}


def source_of(system_metadata: dict[str, Any] | None) -> dict[str, str] | None:
    """The source's record from the server's system_metadata, if any."""
    raw = (system_metadata or {}).get(RESIZE_SOURCE_DISKS)
    if not raw:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        LOG.warning("Unreadable %s: %r", RESIZE_SOURCE_DISKS, raw)
        return None
    return record if isinstance(record, dict) and record.get("path") else None


def copy_from_source(source: dict[str, str], instance_dir: pathlib.Path, root_gb: int,
                     ephemeral_gb: int) -> None:
    """Replace the fresh disks of ``instance_dir`` with flattened, grown copies of the
    disks another host kept (``source``: :func:`source_record`).

    :raises DiskError: the source's directory is not readable from here.
    """
    kept = pathlib.Path(source["path"])
    if not (kept / vdisk.ROOT_DISK).is_file():
        raise vdisk.DiskError(reason=(
            f"the disks host {source.get('host')} kept for the move ({kept}) are not "
            f"readable on this host: resizing across machines needs the source's "
            f"instances_path on a shared file system"))
    for name, size_gb in ((vdisk.ROOT_DISK, root_gb), (vdisk.EPHEMERAL_DISK, ephemeral_gb)):
        disk, target = kept / name, instance_dir / name
        if not disk.is_file() or (name == vdisk.EPHEMERAL_DISK and not target.exists()):
            continue
        partial = target.with_name(name + ".part")
        try:
            vdisk.flatten(disk, partial)  # no backing file: the source's cache stays its own
            _grow(partial, size_gb)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    LOG.info("Guest %s boots from the disks %s kept (copied from %s)", instance_dir.name,
             source.get("host"), kept)
