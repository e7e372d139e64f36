"""kumo-conductor and kumo-api forked into two workers each ([conductor] workers,
[DEFAULT] osapi_compute_workers), over a real RabbitMQ and one SQLite file.

Both workers of each daemon serve (competing consumers on the conductor topic,
accept() on the API's one socket), the service row is heartbeated once per
service, a dead worker is forked again, and SIGTERM to the daemon stops all of
its workers.
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import time
from pathlib import Path

from tests.functional import servers
from tests.functional.harness import (
    CONDUCTOR,
    REPORT_INTERVAL,
    SERVER_BINARIES,
    STOP_BOUND,
    Cloud,
    wait_for,
)

API = "kumo-api"
WORKERS = 2
CLOUD_OPTIONS = {"conductor": {"workers": WORKERS},
                 "DEFAULT": {"osapi_compute_workers": WORKERS}}
CLOUD_BINARIES = SERVER_BINARIES
CLOUD_SETUP = lambda cloud: servers.create_flavors_and_image(cloud, servers.SMALL)  # noqa: E731
BURST = 8


def _workers(cloud: Cloud, binary: str) -> list[int]:
    pid = cloud.daemons[binary].pid
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cpu_ms(pid: int) -> float:
    """utime + stime of ``pid`` (all its threads) in ms."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / 100  # USER_HZ = 100


def _running_workers(cloud: Cloud, binary: str) -> list[int]:
    return wait_for(lambda: len(kids := _workers(cloud, binary)) == WORKERS and kids, 30,
                    message=f"{WORKERS} workers of {binary}")


def test_each_daemon_runs_its_workers_under_one_service_row(cloud: Cloud) -> None:
    for binary in (CONDUCTOR, API):
        _running_workers(cloud, binary)
    before = cloud.services()
    time.sleep(4 * REPORT_INTERVAL)
    after = cloud.services()
    for binary in (CONDUCTOR, API):
        assert after[binary].id == before[binary].id
        beats = after[binary].report_count - before[binary].report_count
        # One heartbeat per report_interval for the service, not one per worker.
        assert 1 <= beats <= 5, (binary, beats)
    rows = cloud.query("SELECT count(*) FROM services WHERE host = ? AND deleted = 0 "
                       "AND \"binary\" IN (?, ?)", cloud.host, CONDUCTOR, API)
    assert rows[0][0] == 2


def test_a_dead_worker_is_forked_again_and_every_worker_serves_a_burst(
        cloud: Cloud) -> None:
    victim = _running_workers(cloud, CONDUCTOR)[-1]
    os.kill(victim, signal.SIGKILL)
    conductors = wait_for(lambda: victim not in (kids := _workers(cloud, CONDUCTOR))
                          and len(kids) == WORKERS and kids, 30,
                          message="the killed conductor worker forked again")
    apis = _running_workers(cloud, API)
    cpu_before = {pid: _cpu_ms(pid) for pid in [*conductors, *apis]}

    def boot(i: int) -> str:
        return servers.boot(cloud, f"workers-{i}")["server"]["id"]

    with concurrent.futures.ThreadPoolExecutor(BURST) as pool:
        ids = list(pool.map(boot, range(BURST)))
        list(pool.map(lambda sid: servers.wait_status(cloud, sid, "ACTIVE"), ids))
        # Reads spread over both API workers and both conductor workers.
        list(pool.map(lambda n: cloud.api("GET", f"/servers/{ids[n % BURST]}"), range(200)))
        list(pool.map(lambda sid: servers.delete_server(cloud, sid), ids))
        list(pool.map(lambda sid: servers.wait_gone(cloud, sid), ids))

    assert len({s["id"] for s in servers.list_servers(cloud)} & set(ids)) == 0
    busy = {pid: _cpu_ms(pid) - cpu_before[pid] for pid in cpu_before}
    # Every worker did part of the work (an idle one burns a few ms at most).
    assert all(ms >= 40 for ms in busy.values()), busy
    assert sorted(_workers(cloud, CONDUCTOR)) == sorted(conductors)


def test_sigterm_stops_every_worker_of_the_daemon(cloud: Cloud) -> None:
    workers = _running_workers(cloud, API)
    daemon = cloud.daemons[API]
    daemon.send(signal.SIGTERM)
    assert daemon.wait(STOP_BOUND) == 0, daemon.log_tail()
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists()
    # The next test's fixture starts it again; it answers at once.
    cloud.ensure_running()
    _running_workers(cloud, API)
    assert cloud.api("GET", "/flavors")[0] == 200
