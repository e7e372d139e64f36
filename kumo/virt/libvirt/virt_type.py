"""Choosing the domain type: ``[libvirt] virt_type`` and the ``auto`` probe.

On nested-virtualisation machines ``/dev/kvm`` exists and answers, yet a
guest hangs under it, so ``auto`` does not trust the device: it boots a
probe guest under KVM with QEMU directly (``-cpu host``, as the guests'
``host-passthrough``) and chooses ``kvm`` only when the guest prints on its
serial port in time.

The probe guest is a Linux kernel (``[libvirt] kvm_probe_kernel``, else
the host's newest ``/boot/vmlinuz-*``): it must print its ``Linux
version`` banner. On the machines this was written on a Debian 6.1 kernel
prints nothing at all under KVM (with ``-cpu host`` too) and boots under
TCG, while the hand-made boot sector of :func:`boot_sector` (timer
interrupts into a halted vCPU, protected mode, paging, 64-bit long mode,
serial output) runs fine under KVM. So the boot sector proves too little:
without a kernel to probe with, ``auto`` chooses qemu. The boot sector
still serves as a tiny real guest for tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

MARKER = b"KUMO-KVM-PROBE-OK"
LINUX_MARKER = b"Linux version"
QEMU_BINARIES = ("qemu-system-x86_64", "/usr/libexec/qemu-kvm", "kvm")

_lock = threading.Lock()
_probed: dict[str, str] = {}


def boot_sector(marker: bytes = MARKER) -> bytes:
    """A boot sector that enters 64-bit long mode and prints ``marker`` on COM1, then halts."""
    # 16-bit part, loaded at 0x7c00.
    code = bytearray()
    code += bytes([0x31, 0xC0])              # xor ax, ax
    code += bytes([0x8E, 0xD8])              # mov ds, ax
    # Wait for three BIOS timer ticks (the dword at 0x46c), halting between
    # them: interrupts must be delivered and wake a halted vCPU.
    code += bytes([0xFB])                    # sti
    code += bytes([0x8B, 0x1E, 0x6C, 0x04])  # mov bx, [0x46c]
    code += bytes([0x83, 0xC3, 0x03])        # add bx, 3
    wait = len(code)
    code += bytes([0xF4])                    # hlt
    code += bytes([0xA1, 0x6C, 0x04])        # mov ax, [0x46c]
    code += bytes([0x39, 0xD8])              # cmp ax, bx
    code += bytes([0x72, (wait - (len(code) + 2)) & 0xFF])  # jb wait
    code += bytes([0xFA])                    # cli
    code += bytes([0x0F, 0x01, 0x16])        # lgdt [gdtr]
    gdtr_fixup = len(code)
    code += b"\x00\x00"
    code += bytes([0x0F, 0x20, 0xC0])        # mov eax, cr0
    code += bytes([0x66, 0x83, 0xC8, 0x01])  # or eax, 1
    code += bytes([0x0F, 0x22, 0xC0])        # mov cr0, eax
    code += bytes([0x66, 0xEA])              # jmp dword 0x08:pm32
    pm32_fixup = len(code)
    code += b"\x00\x00\x00\x00" + bytes([0x08, 0x00])
    pm32 = len(code)
    # 32-bit part: identity-map the first 2 MiB and enter 64-bit long mode,
    # as every x86_64 kernel does early.
    code += bytes([0x66, 0xB8, 0x10, 0x00])  # mov ax, 0x10
    code += bytes([0x8E, 0xD8])              # mov ds, ax
    code += bytes([0x8E, 0xC0])              # mov es, ax
    code += bytes([0xBF, 0x00, 0x10, 0x00, 0x00])  # mov edi, 0x1000
    code += bytes([0x31, 0xC0])              # xor eax, eax
    code += bytes([0xB9, 0x00, 0x0C, 0x00, 0x00])  # mov ecx, 0xc00 (3 pages)
    code += bytes([0xF3, 0xAB])              # rep stosd
    code += bytes([0xC7, 0x05, 0x00, 0x10, 0, 0, 0x03, 0x20, 0, 0])  # PML4[0] = 0x2003
    code += bytes([0xC7, 0x05, 0x00, 0x20, 0, 0, 0x03, 0x30, 0, 0])  # PDPT[0] = 0x3003
    code += bytes([0xC7, 0x05, 0x00, 0x30, 0, 0, 0x83, 0x00, 0, 0])  # PD[0] = 2 MiB page
    code += bytes([0xB8, 0x00, 0x10, 0x00, 0x00])  # mov eax, 0x1000
    code += bytes([0x0F, 0x22, 0xD8])        # mov cr3, eax
    code += bytes([0x0F, 0x20, 0xE0])        # mov eax, cr4
    code += bytes([0x83, 0xC8, 0x20])        # or eax, 0x20 (PAE)
    code += bytes([0x0F, 0x22, 0xE0])        # mov cr4, eax
    code += bytes([0xB9, 0x80, 0x00, 0x00, 0xC0])  # mov ecx, 0xc0000080 (EFER)
    code += bytes([0x0F, 0x32])              # rdmsr
    code += bytes([0x0D, 0x00, 0x01, 0x00, 0x00])  # or eax, 0x100 (LME)
    code += bytes([0x0F, 0x30])              # wrmsr
    code += bytes([0x0F, 0x20, 0xC0])        # mov eax, cr0
    code += bytes([0x0D, 0x00, 0x00, 0x00, 0x80])  # or eax, 0x80000000 (PG)
    code += bytes([0x0F, 0x22, 0xC0])        # mov cr0, eax
    code += bytes([0xEA])                    # jmp 0x18:lm64
    lm64_fixup = len(code)
    code += b"\x00\x00\x00\x00" + bytes([0x18, 0x00])
    lm64 = len(code)
    # 64-bit part.
    code += bytes([0xBE])                    # mov esi, msg
    msg_fixup = len(code)
    code += b"\x00\x00\x00\x00"
    code += bytes([0x66, 0xBA, 0xF8, 0x03])  # mov dx, 0x3f8
    loop = len(code)
    code += bytes([0xAC])                    # lodsb
    code += bytes([0x84, 0xC0])              # test al, al
    code += bytes([0x74, 0x03])              # jz done
    code += bytes([0xEE])                    # out dx, al
    code += bytes([0xEB, (loop - (len(code) + 2)) & 0xFF])  # jmp loop
    done = len(code)
    code += bytes([0xF4])                    # hlt
    code += bytes([0xEB, (done - (len(code) + 2)) & 0xFF])  # jmp done
    while len(code) % 8:
        code += b"\x90"
    gdt = len(code)
    code += bytes(8)                                          # null descriptor
    code += bytes([0xFF, 0xFF, 0, 0, 0, 0x9A, 0xCF, 0])      # 0x08 code, flat
    code += bytes([0xFF, 0xFF, 0, 0, 0, 0x92, 0xCF, 0])      # 0x10 data, flat
    code += bytes([0xFF, 0xFF, 0, 0, 0, 0x9A, 0xAF, 0])      # 0x18 code, 64-bit
    gdtr = len(code)
    code += (32 - 1).to_bytes(2, "little") + (0x7C00 + gdt).to_bytes(4, "little")
    msg = len(code)
    code += marker + b"\r\n\x00"
    code[gdtr_fixup:gdtr_fixup + 2] = (0x7C00 + gdtr).to_bytes(2, "little")
    code[pm32_fixup:pm32_fixup + 4] = (0x7C00 + pm32).to_bytes(4, "little")
    code[lm64_fixup:lm64_fixup + 4] = (0x7C00 + lm64).to_bytes(4, "little")
    code[msg_fixup:msg_fixup + 4] = (0x7C00 + msg).to_bytes(4, "little")
    if len(code) > 510:
        raise ValueError("probe boot sector too large")
    return bytes(code) + bytes(510 - len(code)) + b"\x55\xaa"


def find_qemu() -> str | None:
    for name in QEMU_BINARIES:
        path = shutil.which(name)
        if path:
            return path
    return None


def find_probe_kernel(configured: str | None = None) -> str | None:
    """The kernel the probe boots: ``configured``, else the newest /boot/vmlinuz-*."""
    if configured:
        return configured if os.path.isfile(configured) else None
    try:
        kernels = sorted(name for name in os.listdir("/boot") if name.startswith("vmlinuz-"))
    except OSError:
        return None
    for name in reversed(kernels):
        path = os.path.join("/boot", name)
        if os.access(path, os.R_OK):
            return path
    return None


def probe_kvm(timeout: float = 10.0, qemu: str | None = None,
              kernel: str | None = None, accel: str = "kvm") -> tuple[bool, str]:
    """Whether a guest really runs under KVM here; with the reason.

    ``kernel``: a Linux kernel to boot (the stronger probe); None boots the
    built-in boot sector. ``accel`` is there for tests (``tcg``).
    """
    if accel == "kvm":
        if not os.path.exists("/dev/kvm"):
            return False, "/dev/kvm does not exist"
        if not os.access("/dev/kvm", os.R_OK | os.W_OK):
            return False, "/dev/kvm is not accessible"
    qemu = qemu or find_qemu()
    if qemu is None:
        return False, "no qemu-system-x86_64 to probe with"
    with tempfile.TemporaryDirectory(prefix="kumo-kvm-probe-") as tmp:
        serial = os.path.join(tmp, "serial.log")
        argv = [qemu, "-accel", accel, "-machine", "pc", "-nodefaults",
                "-cpu", "host" if accel == "kvm" else "qemu64",
                "-no-user-config", "-display", "none", "-monitor", "none", "-no-reboot",
                "-serial", f"file:{serial}"]
        if kernel:
            argv += ["-m", "256", "-kernel", kernel, "-append", "console=ttyS0 panic=-1"]
            marker, what = LINUX_MARKER, f"kernel {kernel}"
        else:
            disk = os.path.join(tmp, "boot.img")
            with open(disk, "wb") as out:
                out.write(boot_sector())
            argv += ["-m", "32",
                     "-drive", f"file={disk},format=raw,if=ide,index=0,media=disk"]
            marker, what = MARKER, "boot sector"
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        try:
            while time.monotonic() - started < timeout:
                try:
                    with open(serial, "rb") as log:
                        if marker in log.read():
                            return True, (f"probe guest ({what}) ran under {accel} in "
                                          f"{time.monotonic() - started:.1f}s")
                except FileNotFoundError:
                    pass
                if proc.poll() is not None:
                    err = proc.stderr.read().decode(errors="replace").strip() \
                        if proc.stderr else ""
                    return False, f"qemu exited with {proc.returncode}: {err[-300:]}"
                time.sleep(0.1)
            return False, (f"probe guest ({what}) printed nothing under {accel} "
                           f"within {timeout:.0f}s")
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stderr:
                proc.stderr.close()


def choose(configured: str, probe_timeout: float = 10.0,
           probe_kernel: str | None = None) -> str:
    """The domain type for ``[libvirt] virt_type`` (probing once per process for auto).

    ``auto`` chooses kvm only when a Linux kernel booted under KVM: without a
    kernel to probe with it chooses qemu, since the boot-sector probe passes
    on hosts where Linux guests hang.
    """
    if configured != "auto":
        return configured
    with _lock:
        if "auto" not in _probed:
            kernel = find_probe_kernel(probe_kernel)
            if kernel is None:
                ok, reason = False, ("no Linux kernel to probe KVM with (set [libvirt] "
                                     "kvm_probe_kernel, or virt_type=kvm to trust KVM)")
            else:
                ok, reason = probe_kvm(probe_timeout, kernel=kernel)
            _probed["auto"] = "kvm" if ok else "qemu"
            (LOG.info if ok else LOG.warning)("virt_type auto: %s (%s)", _probed["auto"],
                                              reason)
        return _probed["auto"]
