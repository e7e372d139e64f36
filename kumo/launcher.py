"""Run one daemon as several forked worker processes (Nova's ``workers`` options).

Why: a kumo daemon is one Python process, so the GIL lets it use one CPU at a
time; kumo-conductor and kumo-api are CPU-bound under load. Like Nova's
(oslo.service's) process launcher, the parent sets up configuration and
logging and binds the listening sockets, then forks the workers before it
opens anything that does not survive a fork (bus connections, threads, a
database engine). Each worker then builds and serves its own
:class:`kumo.service.Service`: its own RPC server on the daemon's topic (the
broker hands each message to one of the competing consumers) and ``accept()``
on the inherited listening socket.

The parent only supervises: a worker that dies is forked again (at most once
a second per slot, so a worker that crashes at start does not spin the CPU);
SIGTERM and SIGINT go on to every worker, which drain their work in flight as
a single-process daemon does, and the parent exits once they all have (any
still running past ``graceful_shutdown_timeout`` plus a margin are killed);
SIGHUP goes on to the workers. A worker whose service cannot even be built
(a configuration error) exits with :data:`EX_CONFIG`, and the parent then stops
everything instead of respawning it for ever.

A worker whose parent dies without stopping it (SIGKILL, a crash) notices it
within :data:`PARENT_POLL` and stops itself as on SIGTERM (and leaves past the
same drain bound as the parent's), so no orphaned worker keeps serving.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from kumo import process

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

# sysexits.h: a worker could not build its service from the configuration.
EX_CONFIG = 78

# A slot is forked again at most this often (seconds).
RESPAWN_INTERVAL = 1.0

# Past graceful_shutdown_timeout, how long the parent still waits for workers
# to exit before it kills them (their bus cleanup has its own bound).
STOP_MARGIN = 10.0

# How often the supervising loop looks at its workers (seconds).
POLL_INTERVAL = 0.2

# How often a worker looks whether its parent is still alive (seconds).
PARENT_POLL = 1.0

# Held blocked across fork(): a stop or HUP meant for the parent must not run
# the parent's handler in a child that has not reset its handlers yet.
_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class ProcessLauncher:
    """Forks ``workers`` processes, each running ``run_worker()``, and supervises them.

    ``run_worker`` runs in the child after :func:`kumo.process.set_worker`; it
    returns (or raises SystemExit with) the worker's exit code. It must create
    every thread, connection and engine itself: the parent holds none.
    """

    def __init__(self, binary: str, workers: int,
                 run_worker: Callable[[], int | None]) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.binary = binary
        self.workers = workers
        self._run_worker = run_worker
        self._children: dict[int, int] = {}  # pid -> slot
        self._last_fork: dict[int, float] = {}  # slot -> monotonic time
        self._stop_signal: int | None = None
        self._hup = False
        self._config_error = False

    # -- parent ----------------------------------------------------------------------

    def run(self) -> int:
        """Fork the workers and supervise them until told to stop; the exit code."""
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)
        LOG.info("%s: starting %d worker processes", self.binary, self.workers)
        for slot in range(self.workers):
            self._fork(slot)
        while self._stop_signal is None and not self._config_error:
            self._reap()
            if self._hup:
                self._hup = False
                self._signal_all(signal.SIGHUP)
            self._respawn()
            time.sleep(POLL_INTERVAL)
        return self._stop()

    def _on_stop(self, signum: int, frame: Any) -> None:
        self._stop_signal = signum

    def _on_hup(self, signum: int, frame: Any) -> None:
        self._hup = True

    def _fork(self, slot: int) -> None:
        self._last_fork[slot] = time.monotonic()
        parent = os.getpid()
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _FORWARDED)
        try:
            pid = os.fork()
            if pid == 0:
                self._child(slot, parent, mask)  # never returns
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        self._children[pid] = slot
        LOG.info("%s: worker %d started as pid %d", self.binary, slot, pid)

    def _reap(self) -> list[tuple[int, int]]:
        """Collect exited workers; [(slot, exit code)]."""
        gone = []
        while self._children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            slot = self._children.pop(pid, None)
            if slot is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            gone.append((slot, code))
            if code == EX_CONFIG:
                self._config_error = True
                LOG.error("%s: worker %d (pid %d) cannot run with this configuration; "
                          "stopping", self.binary, slot, pid)
            elif self._stop_signal is None:
                LOG.error("%s: worker %d (pid %d) exited with %d; starting it again",
                          self.binary, slot, pid, code)
        return gone

    def _respawn(self) -> None:
        running = set(self._children.values())
        for slot in range(self.workers):
            if slot in running:
                continue
            if time.monotonic() - self._last_fork.get(slot, 0.0) >= RESPAWN_INTERVAL:
                self._fork(slot)

    def _signal_all(self, signum: int) -> None:
        for pid in list(self._children):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    def _stop(self) -> int:
        """Pass the stop on, wait for the workers' drain; 0 if every worker exited 0."""
        signum = self._stop_signal or signal.SIGTERM
        LOG.info("%s: stopping %d workers", self.binary, len(self._children))
        self._signal_all(signum)
        deadline = time.monotonic() + CONF.graceful_shutdown_timeout + STOP_MARGIN
        failed = self._config_error
        # A worker still starting has not set up its own handler yet: the
        # forwarded signal ends it at once (exit code -signum), which is the
        # stop that was asked for, not a failure.
        stopped_by_us = (0, -signum)
        while self._children and time.monotonic() < deadline:
            failed |= any(code not in stopped_by_us for _, code in self._reap())
            time.sleep(POLL_INTERVAL / 2)
        if self._children:
            LOG.error("%s: workers %s still running after the drain; killing them",
                      self.binary, sorted(self._children))
            self._signal_all(signal.SIGKILL)
            failed = True
            while self._children:
                try:
                    pid, _ = os.waitpid(-1, 0)
                except ChildProcessError:
                    break
                self._children.pop(pid, None)
        LOG.info("%s stopped", self.binary)
        return 1 if failed else 0

    # -- child -----------------------------------------------------------------------

    def _child(self, slot: int, parent: int, mask: Any) -> None:
        """The forked worker: run the service, then leave without the parent's atexit."""
        code = 1
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            # Not SIG_DFL (which ends the process): a reload sent while the
            # worker still starts is ignored until its service handles it.
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            threading.Thread(target=_watch_parent, args=(parent, slot), daemon=True,
                             name="parent-watch").start()
            process.set_worker(slot)
            result = self._run_worker()
            code = 0 if result is None else int(result)
        except SystemExit as exit_:
            code = _exit_code(exit_)
        except BaseException:
            LOG.exception("%s: worker %d failed", self.binary, slot)
        finally:
            _flush_std()
            os._exit(code)


def _watch_parent(parent: int, slot: int) -> None:
    """In a worker: once the parent is gone, stop as on SIGTERM; leave past the bound."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL)
    LOG.error("worker %d: the parent process %d is gone; stopping", slot, parent)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(CONF.graceful_shutdown_timeout + STOP_MARGIN)
    LOG.error("worker %d: still running after the drain; exiting", slot)
    _flush_std()
    os._exit(1)


def _exit_code(exit_: SystemExit) -> int:
    if exit_.code is None:
        return 0
    if isinstance(exit_.code, int):
        return exit_.code
    print(exit_.code, file=sys.stderr)
    return 1


def _flush_std() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed, or a gone pipe
            stream.flush()
