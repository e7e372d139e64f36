"""A daemon bounds glibc's malloc and hands the heap's free pages back once idle
(kumo.malloc_tuning)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kumo import malloc_tuning

needs_glibc = pytest.mark.skipif(malloc_tuning._LIBC is None, reason="glibc only")


@needs_glibc
def test_trim_returns_freed_heap_pages() -> None:
    # 2,000 blocks of 8 KB (below the mmap threshold: they live in an arena),
    # freed all but every 50th, so the free space cannot merge into the top alone.
    blocks = [bytearray(8192) for _ in range(2000)]
    kept = blocks[::50]
    del blocks
    assert malloc_tuning.free_bytes() > 0
    malloc_tuning.trim()  # must not fail; the figure itself is the bench's business
    assert kept


@needs_glibc
def test_configure_steps_aside_for_the_operators_tuning() -> None:
    code = ("from kumo import malloc_tuning; import sys; "
            "sys.exit(0 if malloc_tuning.configure() else 3)")
    env = {"PATH": "/usr/bin:/bin"}
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0
    env["MALLOC_ARENA_MAX"] = "4"
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 3


@needs_glibc
def test_idle_trimmer_trims_only_after_a_quiet_interval(monkeypatch) -> None:
    clock = {"wall": 100.0, "cpu": 10.0}
    monkeypatch.setattr(malloc_tuning.time, "monotonic", lambda: clock["wall"])
    monkeypatch.setattr(malloc_tuning.time, "process_time", lambda: clock["cpu"])
    monkeypatch.setattr(malloc_tuning, "free_bytes", lambda: 64 * 1024 * 1024)
    trims = []
    monkeypatch.setattr(malloc_tuning, "trim", lambda: trims.append(clock["wall"]))
    trimmer = malloc_tuning.IdleTrimmer(interval=5.0)

    clock["wall"] += 1.0
    assert not trimmer.maybe_trim()  # not due yet
    clock["wall"] += 4.0
    clock["cpu"] += 2.0  # busy: 40% of a CPU
    assert not trimmer.maybe_trim()
    clock["wall"] += 5.0
    clock["cpu"] += 0.01  # quiet
    assert trimmer.maybe_trim()
    monkeypatch.setattr(malloc_tuning, "free_bytes", lambda: 1024)
    clock["wall"] += 5.0
    assert not trimmer.maybe_trim()  # little free: not worth a trim
    assert trims == [110.0]


def test_daemon_start_does_not_import_keystoneauth() -> None:
    # kumo/conf/image.py registers [glance]'s keystoneauth1 options only when the
    # Glance backend is used: ~9 MB and 200 modules less in every daemon.
    code = ("import sys; from kumo import conf; from kumo.cmd import common; "
            "bad = [m for m in ('keystoneauth1', 'requests') if m in sys.modules]; "
            "sys.exit(', '.join(bad) or None)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
