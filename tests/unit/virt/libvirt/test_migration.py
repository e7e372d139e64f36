"""The plan and copy steps of a libvirt live migration (no libvirt needed)."""

from __future__ import annotations

import pathlib
import xml.etree.ElementTree as ET

from kumo.virt.libvirt import migration, resize

XML = """<domain type='qemu'><name>kumo-u</name>
<os><type>hvm</type><kernel>/src/u/kernel</kernel><initrd>/src/u/ramdisk</initrd></os>
<devices>
<disk type='file' device='disk'><source file='/src/u/disk'/><target dev='vda'/></disk>
<disk type='file' device='disk'><source file='/src/u/disk.eph0'/><target dev='vdb'/></disk>
<serial type='file'><source path='/src/u/console.log'/></serial>
<disk type='file' device='cdrom'><source file='/src/uother/x.iso'/></disk>
</devices></domain>"""


def test_rewrite_paths_moves_every_file_of_the_guest_to_the_new_directory() -> None:
    root = ET.fromstring(migration.rewrite_paths(XML, "/src/u", "/dst/u"))
    assert root.findtext("os/kernel") == "/dst/u/kernel"
    assert root.findtext("os/initrd") == "/dst/u/ramdisk"
    sources = [s.get("file") or s.get("path") for s in root.iter("source")]
    # Only files under the guest's own directory move (not a sibling's prefix).
    assert sources == ["/dst/u/disk", "/dst/u/disk.eph0", "/dst/u/console.log",
                       "/src/uother/x.iso"]
    assert migration.rewrite_paths(XML, "/src/u/", "/src/u") == XML


def test_handoff_is_recognised_only_with_a_kept_directory() -> None:
    record = migration.handoff("cmp1", pathlib.Path("/i/u_resize"), pathlib.Path("/i/u"),
                               1, True)
    assert record == {"host": "cmp1", "path": "/i/u_resize", "instance_dir": "/i/u",
                      "power": 1, "memory": True}
    assert migration.is_carried(record)
    assert not migration.is_carried({"power": 1}) and not migration.is_carried(None)


def test_keep_and_take_back_carry_the_memory_state_and_log(tmp_path: pathlib.Path) -> None:
    instance_dir, kept = tmp_path / "u", tmp_path / "u_resize"
    instance_dir.mkdir()
    for name, data in (("disk", "root"), ("disk.eph0", "eph"), ("kernel", "k"),
                       (migration.MEMORY_STATE, "ram"), ("console.log", "log"),
                       (migration.DOMAIN_XML, "<domain/>")):
        (instance_dir / name).write_text(data)

    resize.keep(instance_dir, kept, migration.CARRIED)
    assert sorted(p.name for p in kept.iterdir()) == sorted(
        ["disk", "disk.eph0", "console.log", migration.MEMORY_STATE, migration.DOMAIN_XML])
    assert [p.name for p in instance_dir.iterdir()] == ["kernel"]

    # A rollback on a host whose directory is gone: everything comes back as it was.
    (instance_dir / "kernel").unlink()
    instance_dir.rmdir()
    resize.take_back(kept, instance_dir, migration.CARRIED)
    assert (instance_dir / "disk").read_text() == "root"
    assert (instance_dir / migration.MEMORY_STATE).read_text() == "ram"
    assert (instance_dir / "console.log").read_text() == "log"
    assert not kept.exists()
