"""Disk plans: the qemu-img commands planned, and really run when qemu-img is present."""

from __future__ import annotations

import hashlib
import pathlib
import shutil
import subprocess

import pytest

from kumo.virt.libvirt import disk

GiB = disk.GiB
needs_qemu_img = pytest.mark.skipif(shutil.which("qemu-img") is None,
                                    reason="qemu-img (qemu-utils) is not installed")


def test_plan_overlay_grown_to_the_flavor(tmp_path: pathlib.Path) -> None:
    base = tmp_path / "_base" / "abc"
    plan = disk.plan(tmp_path / "inst", base, root_gb=2, ephemeral_gb=1,
                     base_info={"format": "qcow2", "virtual-size": GiB})
    assert plan.root == tmp_path / "inst" / "disk"
    assert plan.commands() == [
        ["qemu-img", "create", "-f", "qcow2", "-b", str(base), "-F", "qcow2",
         str(tmp_path / "inst" / "disk"), str(2 * GiB)],
        ["qemu-img", "create", "-f", "qcow2", str(tmp_path / "inst" / "disk.eph0"), "1G"],
    ]


def test_plan_keeps_the_image_size_when_the_flavor_says_zero(tmp_path: pathlib.Path) -> None:
    plan = disk.plan(tmp_path / "inst", tmp_path / "b", root_gb=0,
                     base_info={"format": "raw", "virtual-size": 3 * GiB})
    assert plan.root_size is None
    assert plan.ephemeral is None
    assert plan.commands() == [["qemu-img", "create", "-f", "qcow2", "-b",
                                str(tmp_path / "b"), "-F", "raw",
                                str(tmp_path / "inst" / "disk")]]


def test_plan_refuses_a_root_disk_smaller_than_the_image(tmp_path: pathlib.Path) -> None:
    with pytest.raises(disk.DiskError, match="smaller"):
        disk.plan(tmp_path, tmp_path / "b", root_gb=1,
                  base_info={"format": "raw", "virtual-size": 2 * GiB})
    with pytest.raises(disk.DiskError, match="vmdk"):
        disk.plan(tmp_path, tmp_path / "b", root_gb=1,
                  base_info={"format": "vmdk", "virtual-size": 1})


def test_plan_direct_kernel_boot(tmp_path: pathlib.Path) -> None:
    plan = disk.plan(tmp_path / "inst", None, root_gb=1, kernel=tmp_path / "k",
                     ramdisk=tmp_path / "r")
    assert plan.commands() == []
    assert plan.kernel == tmp_path / "inst" / "kernel"
    assert plan.ramdisk == tmp_path / "inst" / "ramdisk"


def _fetcher(images: dict[str, bytes], calls: list[str]):
    def fetch(image_id: str, destination: pathlib.Path) -> None:
        calls.append(image_id)
        destination.write_bytes(images[image_id])
    return fetch


@needs_qemu_img
def test_cache_downloads_once_and_verifies(tmp_path: pathlib.Path) -> None:
    data = b"\0" * 1024 * 1024
    calls: list[str] = []
    cache = disk.ImageCache(tmp_path / "_base", _fetcher({"img": data}, calls))
    first = cache.get("img", hashlib.md5(data, usedforsecurity=False).hexdigest())
    assert cache.get("img") == first and first.read_bytes() == data
    assert calls == ["img"]
    bad = disk.ImageCache(tmp_path / "_bad", _fetcher({"img": data}, []))
    with pytest.raises(disk.DiskError, match="checksum"):
        bad.get("img", "0" * 32)
    assert list((tmp_path / "_bad").iterdir()) == []


@needs_qemu_img
def test_cache_refuses_images_with_a_backing_file(tmp_path: pathlib.Path) -> None:
    disk.qemu_img("create", "-f", "qcow2", str(tmp_path / "b.qcow2"), "1M")
    disk.qemu_img("create", "-f", "qcow2", "-b", str(tmp_path / "b.qcow2"), "-F", "qcow2",
                  str(tmp_path / "evil.qcow2"))
    cache = disk.ImageCache(tmp_path / "_base",
                            _fetcher({"e": (tmp_path / "evil.qcow2").read_bytes()}, []))
    with pytest.raises(disk.DiskError, match="backing"):
        cache.get("e")


@needs_qemu_img
def test_execute_really_makes_the_disks(tmp_path: pathlib.Path) -> None:
    base = tmp_path / "base.qcow2"
    disk.qemu_img("create", "-f", "qcow2", str(base), "64M")
    kernel = tmp_path / "vmlinuz"
    kernel.write_bytes(b"kernel")
    plan = disk.plan(tmp_path / "inst", base, root_gb=1, ephemeral_gb=1, kernel=kernel)
    plan.execute()
    root = disk.image_info(plan.root)
    assert root["format"] == "qcow2"
    assert root["virtual-size"] == GiB
    assert root["backing-filename"] == str(base)
    eph = disk.image_info(plan.ephemeral)
    assert eph["format"] == "qcow2" and eph["virtual-size"] == GiB
    assert plan.kernel.read_bytes() == b"kernel"
    assert plan.console_log.is_file()
    flat = tmp_path / "flat.qcow2"
    assert disk.flatten(plan.root, flat) > 0
    assert "backing-filename" not in disk.image_info(flat)
    plan.remove()
    assert not plan.instance_dir.exists()


@needs_qemu_img
def test_cache_cleaner_keeps_bases_in_use(tmp_path: pathlib.Path) -> None:
    cache = disk.ImageCache(tmp_path / "_base", _fetcher({"a": b"a" * 512, "b": b"b" * 512},
                                                          []))
    used, unused = cache.get("a"), cache.get("b")
    assert cache.clean({str(used)}, min_age=3600) == []
    assert cache.clean({str(used)}, min_age=0) == [unused]
    assert used.exists() and not unused.exists()


def test_qemu_img_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(*args, **kwargs):
        raise FileNotFoundError("qemu-img")
    monkeypatch.setattr(subprocess, "run", missing)
    with pytest.raises(disk.DiskError, match="qemu-utils"):
        disk.qemu_img("info", "x")
