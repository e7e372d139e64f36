"""kumo.launcher: workers forked, a dead one forked again, SIGTERM passed on and drained.

Each test runs a launcher in a process of its own (a small script below), since
the launcher takes over the signals of the process it runs in.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kumo import launcher, process

# argv: state directory, mode ("serve", "config-error", "stubborn" or "starting"),
# workers. A worker records "<slot>.<pid>.<reports>" and runs until SIGTERM, then
# records "stopped.<pid>" ("stubborn": ignores SIGTERM; "starting": never gets
# as far as handling it).
_SCRIPT = """
import os, signal, sys, time
from kumo import conf, launcher, process

state, mode, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
conf.CONF([], project="kumo")
conf.CONF.set_override("graceful_shutdown_timeout", 1)
launcher.STOP_MARGIN = 1.0

def run():
    if mode == "config-error":
        return launcher.EX_CONFIG
    if mode == "starting":
        open(os.path.join(state, f"{process.worker()}.{os.getpid()}.0"), "w").close()
        time.sleep(60)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: None if mode == "stubborn" else stop.append(1))
    reports = int(process.reports_for_service())
    open(os.path.join(state, f"{process.worker()}.{os.getpid()}.{reports}"), "w").close()
    while not stop:
        time.sleep(0.02)
    open(os.path.join(state, f"stopped.{os.getpid()}"), "w").close()
    return 0

sys.exit(launcher.ProcessLauncher("kumo-test", workers, run).run())
"""

PATIENCE = 20.0


def _wait_for(predicate: Callable[[], object], what: str, timeout: float = PATIENCE) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def _workers(state: Path) -> dict[int, tuple[int, int]]:
    """{pid: (slot, reports)} of every worker started so far."""
    out = {}
    for path in state.iterdir():
        slot, pid, reports = path.name.split(".")
        if slot != "stopped":
            out[int(pid)] = (int(slot), int(reports))
    return out


def _stopped(state: Path) -> set[int]:
    return {int(p.name.split(".")[1]) for p in state.glob("stopped.*")}


def _ppid(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("PPid:"))


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def run(mode: str = "serve", workers: int = 2) -> subprocess.Popen[str]:
        proc = subprocess.Popen([sys.executable, "-c", _SCRIPT, str(tmp_path), mode,
                                 str(workers)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        started.append(proc)
        return proc

    yield run
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def test_workers_are_forked_respawned_and_drained_on_sigterm(
        start: Callable[..., subprocess.Popen[str]], tmp_path: Path) -> None:
    parent = start()
    first = _wait_for(lambda: len(w := _workers(tmp_path)) == 2 and w, "two workers")
    assert sorted(slot for slot, _ in first.values()) == [0, 1]
    assert all(_ppid(pid) == parent.pid for pid in first)
    # Only worker 0 speaks for the service (heartbeat, periodic tasks).
    assert {slot: reports for slot, reports in first.values()} == {0: 1, 1: 0}

    # A worker that dies is forked again, into the same slot.
    victim = next(pid for pid, (slot, _) in first.items() if slot == 1)
    os.kill(victim, signal.SIGKILL)
    after = _wait_for(lambda: len(w := _workers(tmp_path)) == 3 and w, "a new worker 1")
    [(new_pid, (slot, reports))] = [(p, v) for p, v in after.items() if p not in first]
    assert (slot, reports) == (1, 0) and _ppid(new_pid) == parent.pid

    # SIGTERM: every live worker gets it, drains, and the launcher exits 0.
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(PATIENCE) == 0, parent.stdout.read() if parent.stdout else ""
    live = set(after) - {victim}
    assert _stopped(tmp_path) == live
    for pid in live:
        assert not Path(f"/proc/{pid}").exists()


def test_a_worker_that_cannot_build_its_service_stops_the_launcher(
        start: Callable[..., subprocess.Popen[str]]) -> None:
    # Not respawned for ever: the configuration will not get better on its own.
    parent = start("config-error")
    assert parent.wait(PATIENCE) == 1


def test_workers_still_running_after_the_drain_bound_are_killed(
        start: Callable[..., subprocess.Popen[str]], tmp_path: Path) -> None:
    parent = start("stubborn")
    workers = _wait_for(lambda: len(w := _workers(tmp_path)) == 2 and w, "two workers")
    parent.send_signal(signal.SIGTERM)
    # graceful_shutdown_timeout 1 s + STOP_MARGIN 1 s, then SIGKILL.
    assert parent.wait(PATIENCE) == 1
    assert _stopped(tmp_path) == set()
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists()


def test_workers_stopped_while_still_starting_are_a_clean_stop(
        start: Callable[..., subprocess.Popen[str]], tmp_path: Path) -> None:
    # The forwarded SIGTERM ends a worker that has no handler yet: that is the
    # stop that was asked for, so the launcher exits 0 (and does not wait out
    # the drain bound).
    parent = start("starting")
    workers = _wait_for(lambda: len(w := _workers(tmp_path)) == 2 and w, "two workers")
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(PATIENCE) == 0, parent.stdout.read() if parent.stdout else ""
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists()


def test_workers_stop_when_the_parent_is_killed(
        start: Callable[..., subprocess.Popen[str]], tmp_path: Path) -> None:
    # SIGKILL gives the launcher no chance to pass a stop on: each worker must
    # notice its parent is gone and stop (drain) by itself, not serve orphaned.
    parent = start()
    workers = _wait_for(lambda: len(w := _workers(tmp_path)) == 2 and w, "two workers")
    parent.kill()
    parent.wait(PATIENCE)
    _wait_for(lambda: _stopped(tmp_path) == set(workers), "the orphaned workers to stop")


def test_one_process_is_not_a_worker() -> None:
    assert process.worker() is None and process.reports_for_service()
    with pytest.raises(ValueError):
        launcher.ProcessLauncher("kumo-test", 0, lambda: 0)
