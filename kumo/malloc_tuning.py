"""Give the C heap's free memory back to the system once a burst of work is over.

Why: a 1,000-server ``GET /servers/detail`` makes kumo-conductor and kumo-api
allocate tens of MB of row dicts, JSON text and message bodies. Python hands
what is bigger than 512 bytes to glibc's malloc, which serves each thread from
one of up to 8 x cores arenas and keeps freed chunks for reuse instead of
returning them: a conductor that had idled at 80 MB held 260-420 MB after a
boot burst and a few listings, of which mallinfo2 counted ~35 MB in use and
~150 MB free inside the arenas (bench/README.md, "Memory after a burst").
``malloc_trim(0)`` returns those free pages (measured 265 -> 131 MB).

:func:`configure` (kumo.cmd.common.prepare, before any thread starts) bounds
the allocator: :data:`ARENA_MAX` arenas instead of 8 x cores (the GIL lets one
thread run Python at a time, so more arenas mostly hold more free memory), and
fixed mmap and trim thresholds: glibc otherwise raises both after each large
block it frees (up to 32 and 64 MB), after which every thread arena keeps that
much free space at its top for good; with them fixed a 1 MB+ JSON reply is
mmapped and unmapped, and an arena's top beyond :data:`TRIM_THRESHOLD` goes
back at once. Measured on kumo-conductor, 1,000-server listings from 1 and 8
clients: 260-330 MB after them (420 MB after a boot burst too) without, 185
MB with; CPU per listing unchanged (bench/README.md). An operator's own
``MALLOC_ARENA_MAX`` or ``GLIBC_TUNABLES`` in the environment wins.

An :class:`IdleTrimmer`, asked by the service's main loop (kumo.service.serve)
every :data:`CHECK_INTERVAL`, trims only when the
process used less than :data:`IDLE_CPU_SHARE` of a CPU since the last check
(so a burst never pays for pages it would fault in again at once) and at
least :data:`FREE_THRESHOLD` bytes lie free in the arenas. Without glibc
(musl, macOS) every function here does nothing.
"""

from __future__ import annotations

import ctypes
import os
import time

#: Seconds between two looks at the heap, in the service's main loop.
CHECK_INTERVAL = 5.0

#: Below this share of one CPU since the last look, the process counts as idle.
IDLE_CPU_SHARE = 0.05

#: Free bytes in malloc's arenas worth a trim (a trim of less is not worth its walk).
FREE_THRESHOLD = 8 * 1024 * 1024


#: malloc arenas of a kumo process (glibc's default: 8 per core).
ARENA_MAX = 2

#: Blocks from this size on are mmapped on their own, and unmapped when freed.
MMAP_THRESHOLD = 1024 * 1024

#: Free space at an arena's top beyond this goes back to the system when freed.
TRIM_THRESHOLD = 4 * 1024 * 1024

# mallopt(3) parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

# Environment variables with which an operator tunes glibc's malloc himself.
_OPERATOR_TUNING = ("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",
                    "GLIBC_TUNABLES")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd",
        "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _load_libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return None
    if not all(hasattr(libc, name) for name in ("mallinfo2", "malloc_trim", "mallopt")):
        return None  # not glibc, or older than 2.33
    libc.mallinfo2.restype = _MallInfo2
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    libc.malloc_trim.restype = ctypes.c_int
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    return libc


_LIBC = _load_libc()


def configure() -> bool:
    """Bound malloc's arenas and fix its thresholds; whether it did (see the docstring).

    Call it before the process starts threads: a thread that already has an
    arena keeps it.
    """
    if _LIBC is None or any(name in os.environ for name in _OPERATOR_TUNING):
        return False
    for param, value in ((_M_ARENA_MAX, ARENA_MAX), (_M_MMAP_THRESHOLD, MMAP_THRESHOLD),
                         (_M_TRIM_THRESHOLD, TRIM_THRESHOLD)):
        _LIBC.mallopt(param, value)
    return True


def free_bytes() -> int:
    """Bytes malloc holds free in its arenas (0 without glibc)."""
    if _LIBC is None:
        return 0
    return int(_LIBC.mallinfo2().fordblks)


def trim() -> None:
    """Return every whole free page of malloc's arenas to the system."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


class IdleTrimmer:
    """Trims the heap at the first check after a burst; see the module docstring."""

    def __init__(self, interval: float = CHECK_INTERVAL) -> None:
        self.interval = interval
        self._last_check = time.monotonic()
        self._last_cpu = time.process_time()

    def maybe_trim(self) -> bool:
        """Trim if a check is due, the process was idle and enough is free; whether it did."""
        now = time.monotonic()
        elapsed = now - self._last_check
        if _LIBC is None or elapsed < self.interval:
            return False
        cpu = time.process_time()
        busy = (cpu - self._last_cpu) / elapsed
        self._last_check, self._last_cpu = now, cpu
        if busy >= IDLE_CPU_SHARE or free_bytes() < FREE_THRESHOLD:
            return False
        trim()
        # The trim's own CPU must not make the next check look busy.
        self._last_cpu = time.process_time()
        return True
