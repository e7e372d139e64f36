"""Every kumo daemon as a real process over a real RabbitMQ and a real SQLite file.

Registration and heartbeats, up/down judgement, re-registration after a
crash, graceful SIGTERM (also while the broker is down), and the configuration
errors a daemon refuses to start with. Surviving a broker restart, with builds
in flight, is test_server_faults.py's.
"""

from __future__ import annotations

import concurrent.futures
import json
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from tests.functional import harness
from tests.functional.harness import (
    BINARIES,
    REPORT_INTERVAL,
    SERVICE_DOWN_TIME,
    STOP_BOUND,
    Cloud,
    wait_for,
)

COMPUTE = "kumo-compute"
# The daemons that serve an RPC topic, and the topic each serves.
RPC_SERVERS = {
    "conductor": "kumo-conductor",
    "scheduler": "kumo-scheduler",
    "compute": "kumo-compute",
    "network": "kumo-network",
    "cert": "kumo-cert",
    "consoleauth": "kumo-consoleauth",
}
# After the broker is back, every daemon must heartbeat again within this many seconds.
BROKER_RECOVERY_BOUND = 60
# Nothing listens here: for daemons that must refuse to start before they connect.
UNREACHABLE_BUS = "rabbit://guest:guest@127.0.0.1:1/"


def assert_all_up(listing: dict[str, dict[str, object]], cloud: Cloud) -> None:
    assert sorted(listing) == sorted(BINARIES), listing
    down = {binary: entry for binary, entry in listing.items() if entry["state"] != "up"}
    assert not down, f"services down: {json.dumps(down, indent=2)}\n{cloud.log_tails(down)}"


def test_every_daemon_registers_and_heartbeats(cloud: Cloud) -> None:
    listing = cloud.service_list()

    assert_all_up(listing, cloud)
    for binary, entry in listing.items():
        assert entry["host"] == cloud.host
        assert entry["status"] == "enabled"
        assert entry["forced_down"] is False
        assert entry["zone"] == ("nova" if binary == COMPUTE else "internal")
        assert entry["updated_at"]
    before = cloud.services()
    assert {b: row.id for b, row in before.items()} == {
        b: entry["id"] for b, entry in listing.items()}

    after = cloud.wait_heartbeats(BINARIES, beats=3, timeout=3 * REPORT_INTERVAL + 10)

    for binary in BINARIES:
        assert after[binary].id == before[binary].id
        assert after[binary].report_count >= before[binary].report_count + 3


def test_every_rpc_server_answers_on_its_host(cloud: Cloud) -> None:
    assert cloud.rpc_ping() == RPC_SERVERS


def test_api_serves_the_versions_document(cloud: Cloud) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{cloud.api_port}/", timeout=10) as reply:
        assert reply.status == 200
        document = json.load(reply)

    assert [version["id"] for version in document["versions"]] == ["v2.1"]

    url = f"http://127.0.0.1:{cloud.metadata_port}/"
    with urllib.request.urlopen(url, timeout=10) as reply:
        assert reply.status == 200
        assert reply.read().decode().splitlines()[-1] == "latest"


def test_killed_compute_goes_down_and_comes_back_with_the_same_service_id(
        cloud: Cloud) -> None:
    before = cloud.services()[COMPUTE]

    cloud.daemons[COMPUTE].kill()
    wait_for(lambda: cloud.services()[COMPUTE].age() > SERVICE_DOWN_TIME,
             timeout=SERVICE_DOWN_TIME + 10,
             message=lambda: f"{COMPUTE}'s last heartbeat aging past service_down_time")

    listing = cloud.service_list()
    assert listing[COMPUTE]["state"] == "down"
    assert listing[COMPUTE]["id"] == before.id
    others = {b: entry["state"] for b, entry in listing.items() if b != COMPUTE}
    assert others == {b: "up" for b in BINARIES if b != COMPUTE}

    cloud.start_daemon(COMPUTE)
    back = cloud.wait_up([COMPUTE], timeout=30)[COMPUTE]

    assert back.id == before.id
    assert back.report_count > before.report_count
    listing = cloud.service_list()
    assert listing[COMPUTE]["state"] == "up"
    assert listing[COMPUTE]["id"] == before.id
    # Re-registration reused the row: there is still only one, live or deleted.
    assert cloud.query("SELECT id FROM services WHERE host = ? AND binary = ?",
                       cloud.host, COMPUTE) == [(before.id,)]


def test_sigterm_stops_every_daemon_with_exit_code_0(cloud: Cloud) -> None:
    daemons = [cloud.daemons[binary] for binary in BINARIES]

    for daemon in daemons:
        daemon.send(signal.SIGTERM)
    signalled = time.monotonic()
    codes = {}
    for daemon in daemons:
        codes[daemon.binary] = daemon.wait(max(0.0, signalled + STOP_BOUND - time.monotonic()))
    elapsed = time.monotonic() - signalled

    bad = [binary for binary, code in codes.items() if code != 0]
    assert not bad, (f"exit codes {codes} within {STOP_BOUND}s of SIGTERM "
                     f"(None: still running)\n{cloud.log_tails(bad)}")
    print(f"all {len(daemons)} daemons exited 0 within {elapsed:.1f}s of SIGTERM")


def test_sigterm_while_the_broker_is_down_still_exits_0(
        cloud: Cloud, rabbitmq: harness.RabbitMQ) -> None:
    daemons = [cloud.daemons[binary] for binary in BINARIES]
    try:
        rabbitmq.stop()
        # Let every daemon notice: heartbeats fail and RPC servers start reconnecting.
        time.sleep(2)
        for daemon in daemons:
            daemon.send(signal.SIGTERM)
        signalled = time.monotonic()
        codes = {daemon.binary: daemon.wait(max(0.0, signalled + STOP_BOUND - time.monotonic()))
                 for daemon in daemons}
        elapsed = time.monotonic() - signalled
    finally:
        rabbitmq.start()

    bad = [binary for binary, code in codes.items() if code != 0]
    assert not bad, (f"exit codes {codes} within {STOP_BOUND}s of SIGTERM with the broker "
                     f"down (None: still running)\n{cloud.log_tails(bad)}")
    print(f"broker down: all {len(daemons)} daemons exited 0 within {elapsed:.1f}s of SIGTERM")


def test_eventlet_executor_without_kumo_eventlet_is_refused(tmp_path: Path) -> None:
    cloud = Cloud(tmp_path, UNREACHABLE_BUS)
    config = cloud.write_config(tmp_path / "eventlet.conf",
                                {"DEFAULT": {"rpc_executor": "eventlet"}})

    with concurrent.futures.ThreadPoolExecutor(len(BINARIES)) as pool:
        results = dict(zip(BINARIES, pool.map(
            lambda binary: cloud.run(binary, config_files=[config], timeout=60), BINARIES),
            strict=True))

    for binary, result in results.items():
        output = result.stdout + result.stderr
        assert result.returncode != 0, f"{binary} started:\n{output}"
        assert "rpc_executor = eventlet needs KUMO_EVENTLET=1" in output, output
        assert binary in output, output


@pytest.mark.parametrize(("driver", "complaint"), [
    # Not among the option's choices: oslo.config rejects the value when
    # kumo-compute reads it (choices are checked on access, not at parse time).
    ("bogus", "Valid values are [fake, libvirt, xenapi, vmwareapi], but found 'bogus'"),
    # A valid choice whose driver this kumo does not ship yet.
    ("vmwareapi", "compute_driver 'vmwareapi' is not available in this kumo"),
])
def test_compute_refuses_a_compute_driver_it_cannot_load(
        tmp_path: Path, driver: str, complaint: str) -> None:
    cloud = Cloud(tmp_path, UNREACHABLE_BUS)
    config = cloud.write_config(tmp_path / "driver.conf",
                                {"compute": {"compute_driver": driver}})

    result = cloud.run(COMPUTE, config_files=[config], timeout=60)

    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert complaint in output, output
