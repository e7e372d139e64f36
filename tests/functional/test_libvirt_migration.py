"""Live migration with the libvirt driver between two hosts with instances of their own.

Both "hosts" are the one driver under two names and two ``instances_path``
(as two kumo-compute of a devstack multi-node on one machine, see
test_libvirt_driver's ``_as_host``). The guest's disk is written with
qemu-io before the move and read on the destination after it; the real QEMU
guest must come back *restored* (libvirt's running reason), not booted.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest

from kumo.compute import power_state, task_states
from kumo.image import local
from kumo.virt.libvirt import disk, virt_type
from tests.functional import test_libvirt_driver as lvd

libvirt = lvd.libvirt
# test_libvirt_driver's fixtures, shared (one embedded libvirt root per process).
ctxt, driver, real_driver, store = lvd.ctxt, lvd.driver, lvd.real_driver, lvd.store
image_records = lvd.image_records  # autouse: the image service's records
GUEST_MARKER, IMAGE_META = lvd.GUEST_MARKER, lvd.IMAGE_META
_as_host, _qemu_io, _wait_for, make_instance = (lvd._as_host, lvd._qemu_io, lvd._wait_for,
                                                 lvd.make_instance)

pytestmark = pytest.mark.skipif(
    shutil.which("qemu-img") is None or shutil.which("qemu-io") is None,
    reason="qemu-img and qemu-io (qemu-utils) are needed")


def _migrate(drv, ctxt, instance, tmp_path: pathlib.Path, source: str, dest: str) -> dict:
    """What kumo-compute does on both ends (move_actions): out, then in."""
    instance.task_state = task_states.MIGRATING
    with _as_host(drv, source, tmp_path):
        handoff = drv.live_migration_out(ctxt, instance, dest)
    with _as_host(drv, dest, tmp_path) as node:
        drv.live_migration_in(ctxt, instance, handoff, node)
    return handoff


def test_live_migration_carries_the_disk_and_the_source_keeps_it_until_told(
        driver, ctxt, tmp_path: pathlib.Path) -> None:
    instance = make_instance(root_gb=1, ephemeral_gb=1)
    with _as_host(driver, "src", tmp_path) as node:
        driver.spawn(ctxt, instance, IMAGE_META, [], node)
    _qemu_io(tmp_path / "src" / instance.uuid / "disk", "write -P 0x5a 0 64k")
    _qemu_io(tmp_path / "src" / instance.uuid / "disk.eph0", "write -P 0x6b 0 64k")

    handoff = _migrate(driver, ctxt, instance, tmp_path, "src", "dst")
    kept = tmp_path / "src" / f"{instance.uuid}_resize"
    assert handoff["path"] == str(kept) and handoff["memory"] is True
    assert handoff["power"] == power_state.RUNNING
    moved = tmp_path / "dst" / instance.uuid
    _qemu_io(moved / "disk", "read -P 0x5a 0 64k")
    _qemu_io(moved / "disk.eph0", "read -P 0x6b 0 64k")
    assert disk.image_info(moved / "disk")["virtual-size"] == disk.GiB
    assert driver.get_info(instance) == power_state.RUNNING
    # The domain is defined on the destination's files (libvirt's test driver
    # cannot rewrite the running XML of a saved image; real QEMU does: see below).
    assert str(moved / "disk") in driver._host.get_domain(instance.uuid).XMLDesc(
        libvirt.VIR_DOMAIN_XML_INACTIVE)
    # The source keeps its copy (a rollback's) until told; nothing else of it stays.
    assert (kept / "disk").is_file() and not (tmp_path / "src" / instance.uuid).exists()
    with _as_host(driver, "src", tmp_path):
        driver.confirm_migration(ctxt, instance)
    assert not kept.exists()

    # Back again, but the destination cannot read the source's directory: the
    # source rolls back to its own copy, with the disk as the guest left it.
    _qemu_io(moved / "disk", "write -P 0x33 0 64k")
    instance.task_state = task_states.MIGRATING
    with _as_host(driver, "dst", tmp_path):
        handoff = driver.live_migration_out(ctxt, instance, "src")
    unreadable = dict(handoff, path=str(tmp_path / "far" / "x_resize"))
    with _as_host(driver, "src", tmp_path) as node, \
            pytest.raises(disk.DiskError, match="shared file system"):
        driver.live_migration_in(ctxt, instance, unreadable, node)
    assert not (tmp_path / "src" / instance.uuid).exists()
    with _as_host(driver, "dst", tmp_path) as node:
        assert driver.live_migration_rollback(ctxt, instance, handoff, node) == \
            power_state.RUNNING
    _qemu_io(moved / "disk", "read -P 0x33 0 64k")
    assert not (tmp_path / "dst" / f"{instance.uuid}_resize").exists()
    assert not (moved / "memory.save").exists()

    # A delete (outside any move) also drops a leftover kept directory.
    leftover = tmp_path / "instances" / f"{instance.uuid}_resize"
    leftover.mkdir(parents=True)
    instance.task_state = task_states.DELETING
    driver.destroy(ctxt, instance)
    assert not leftover.exists() and driver.list_instance_uuids() == []


def test_a_source_that_cannot_keep_the_guest_restores_it_and_leaves_no_memory_state(
        driver, ctxt, tmp_path: pathlib.Path, monkeypatch) -> None:
    from kumo.virt.libvirt import resize

    instance = make_instance()
    with _as_host(driver, "src", tmp_path) as node:
        driver.spawn(ctxt, instance, IMAGE_META, [], node)

    def refuse(*args, **kwargs):
        raise OSError("no room to keep it")

    monkeypatch.setattr(resize, "keep", refuse)
    instance.task_state = task_states.MIGRATING
    with _as_host(driver, "src", tmp_path), pytest.raises(OSError, match="no room"):
        driver.live_migration_out(ctxt, instance, "dst")
    assert driver.get_info(instance) == power_state.RUNNING
    here = tmp_path / "src" / instance.uuid
    assert (here / "disk").is_file()
    assert not (here / "memory.save").exists() and not (here / "domain.xml").exists()
    instance.task_state = task_states.DELETING
    with _as_host(driver, "src", tmp_path):
        driver.destroy(ctxt, instance)


@pytest.mark.timeout(180)
def test_a_real_guest_live_migrates_with_its_disk_and_memory(
        real_driver, ctxt, tmp_path: pathlib.Path) -> None:
    """A TCG guest (the boot-sector one) moves between two instances paths: it is
    restored from its saved memory, not booted again, and a pattern written on
    its disk before the move is on the destination's copy."""
    image = tmp_path / "boot.img"
    image.write_bytes(virt_type.boot_sector(GUEST_MARKER))
    image_id = "4f1c2d3e-0000-4000-8000-00000000b007"
    local.LocalStore(tmp_path / "images").write_file(image_id, image)
    instance = make_instance(image_ref=image_id, memory_mb=64)
    with _as_host(real_driver, "src", tmp_path) as node:
        real_driver.spawn(ctxt, instance, dict(IMAGE_META, id=image_id), [], node)
        assert _wait_for(lambda: GUEST_MARKER.decode() in
                         real_driver.get_console_output(ctxt, instance), 60)
        # Written while QEMU has the disk closed, as the guest would have written it.
        real_driver.power_off(ctxt, instance)
        _qemu_io(tmp_path / "src" / instance.uuid / "disk", "write -P 0x5a 1M 64k")
        real_driver.power_on(ctxt, instance)

    _migrate(real_driver, ctxt, instance, tmp_path, "src", "dst")

    dom = real_driver._host.get_domain(instance.uuid)
    assert dom.state(0) == [libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_RESTORED]
    moved = tmp_path / "dst" / instance.uuid / "disk"
    assert str(moved) in dom.XMLDesc(0)
    # Read beside the running QEMU (-U: no lock taken).
    result = subprocess.run(["qemu-io", "-U", "-r", "-f", "qcow2", "-c",
                             "read -P 0x5a 1M 64k", str(moved)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0 and "verification failed" not in result.stdout, result
    with _as_host(real_driver, "src", tmp_path):
        real_driver.confirm_migration(ctxt, instance)
    instance.task_state = task_states.DELETING
    with _as_host(real_driver, "dst", tmp_path):
        real_driver.destroy(ctxt, instance)
    assert real_driver.list_instance_uuids() == []
    for host in ("src", "dst"):
        assert [p.name for p in (tmp_path / host).iterdir()] == ["_base"]
