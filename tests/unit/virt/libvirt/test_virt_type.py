"""virt_type: explicit choices are taken as they are; auto probes a real guest."""

from __future__ import annotations

import shutil

import pytest

from kumo.virt.libvirt import virt_type


def test_explicit_choices_do_not_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args, **kwargs):
        raise AssertionError("probed")
    monkeypatch.setattr(virt_type, "probe_kvm", boom)
    assert virt_type.choose("qemu") == "qemu"
    assert virt_type.choose("kvm") == "kvm"


@pytest.mark.parametrize("ok,expected", [(True, "kvm"), (False, "qemu")])
def test_auto_follows_the_kernel_probe(monkeypatch: pytest.MonkeyPatch, tmp_path,
                                       ok: bool, expected: str) -> None:
    kernel = tmp_path / "vmlinuz"
    kernel.write_bytes(b"k")
    probed = []
    monkeypatch.setattr(virt_type, "_probed", {})
    monkeypatch.setattr(virt_type, "probe_kvm",
                        lambda *a, **k: probed.append(k["kernel"]) or (ok, "test"))
    assert virt_type.choose("auto", probe_kernel=str(kernel)) == expected
    assert virt_type.choose("auto", probe_kernel=str(kernel)) == expected
    assert probed == [str(kernel)]  # once per process


def test_auto_without_a_kernel_does_not_trust_kvm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(virt_type, "_probed", {})
    monkeypatch.setattr(virt_type, "find_probe_kernel", lambda configured=None: None)
    monkeypatch.setattr(virt_type, "probe_kvm", lambda *a, **k: (True, "boot sector ran"))
    assert virt_type.choose("auto") == "qemu"


def test_find_probe_kernel(tmp_path) -> None:
    assert virt_type.find_probe_kernel(str(tmp_path / "missing")) is None
    kernel = tmp_path / "vmlinuz"
    kernel.write_bytes(b"k")
    assert virt_type.find_probe_kernel(str(kernel)) == str(kernel)


def test_boot_sector_shape() -> None:
    sector = virt_type.boot_sector()
    assert len(sector) == 512 and sector.endswith(b"\x55\xaa")
    assert virt_type.MARKER in sector


def test_no_kvm_device_means_qemu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(virt_type.os.path, "exists", lambda path: False)
    ok, reason = virt_type.probe_kvm(1)
    assert not ok and "/dev/kvm" in reason


@pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None,
                    reason="qemu-system-x86 is not installed")
def test_probe_guest_really_runs_under_tcg() -> None:
    """The probe's guest prints its marker when the accelerator works (TCG always does)."""
    ok, reason = virt_type.probe_kvm(20, accel="tcg")
    assert ok, reason
