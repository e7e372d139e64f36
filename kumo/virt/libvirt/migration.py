"""Live migration of a libvirt guest: a stop-and-copy move that keeps disk and memory.

kumo-compute live-migrates in three driver steps (see
:meth:`kumo.virt.driver.ComputeDriver.live_migration_out`):

* the source saves the running (or paused) guest's memory to a file
  (``virDomainSave``: QEMU stops, its state is written next to the disks),
  undefines the domain and keeps the disks, the memory state, the console
  log and the domain's XML in ``<instances_path>/<uuid>_resize/`` -- the
  directory and functions a resize keeps its disks with
  (:mod:`kumo.virt.libvirt.resize`). It hands the destination a
  :func:`handoff` record;
* the destination prepares the guest's directory as a spawn does (kernel,
  ramdisk, console log), replaces the fresh disks with copies of the kept
  ones (a plain copy when it sees the same directory, otherwise
  ``qemu-img convert`` from the source's path: flattened, as a resize
  copies), defines the domain from the source's XML with the paths
  rewritten to its own directory (:func:`rewrite_paths`) and restores the
  memory state (``virDomainRestore`` with that XML). The guest resumes
  where it stopped: same disk, same memory, same console history;
* the source then drops what it kept (``confirm_migration``); if the
  destination failed, the source takes the kept files back and restores the
  guest itself (the rollback).

This is **not** a pre-copy migration: the guest is stopped while its memory
is written, copied and read back (for a small guest a second or two; for a
large one its RAM size over the disk's bandwidth), and its network
connections see that pause. A true pre-copy migration (libvirt's
``migrateToURI3`` between two libvirtds, memory copied while the guest runs)
is not built: it needs a libvirtd on each of two machines, which the test
machines do not have. Like a resize, the copy needs the source's
``instances_path`` readable on the destination (the same machine, or a
shared mount at the same place).
"""

from __future__ import annotations

import pathlib
import xml.etree.ElementTree as ET
from typing import Any

from kumo.virt.libvirt import disk as vdisk

# The files a live migration carries beside the disks.
MEMORY_STATE = "memory.save"
DOMAIN_XML = "domain.xml"
CARRIED = (MEMORY_STATE, DOMAIN_XML, vdisk.CONSOLE_LOG)


def handoff(host: str, kept: pathlib.Path, instance_dir: pathlib.Path, power: int,
            memory: bool) -> dict[str, Any]:
    """What the source tells the destination (JSON: it crosses RPC).

    ``path``: the kept directory; ``instance_dir``: where the guest's files
    were on the source (its XML names them); ``memory``: whether a memory
    state was saved (a stopped guest has none); ``power``: its power state.
    """
    return {"host": host, "path": str(kept), "instance_dir": str(instance_dir),
            "power": power, "memory": memory}


def is_carried(record: dict[str, Any] | None) -> bool:
    """Whether ``record`` is a libvirt :func:`handoff` (not another driver's)."""
    return bool(record and record.get("path") and record.get("instance_dir"))


def rewrite_paths(xml: str, old_dir: str | pathlib.Path, new_dir: str | pathlib.Path) -> str:
    """The domain XML ``xml`` with every attribute or text naming a file under
    ``old_dir`` (disks, kernel, ramdisk, console log) moved under ``new_dir``."""
    old, new = str(old_dir).rstrip("/") + "/", str(new_dir).rstrip("/") + "/"
    if old == new:
        return xml
    root = ET.fromstring(xml)
    for element in root.iter():
        for name, value in element.attrib.items():
            if value.startswith(old):
                element.set(name, new + value[len(old):])
        if element.text and element.text.startswith(old):
            element.text = new + element.text[len(old):]
    return ET.tostring(root, encoding="unicode")
