"""Moves between two kumo-compute hosts with the libvirt driver, through the API.

Two kumo-compute processes, each on libvirt's in-process test driver
(``test:///default``: every process is a hypervisor of its own) with an
``instances_path`` of its own, as two hosts of a devstack multi-node on one
machine. The disks are real qcow2 files made with qemu-img, so the test
reads what each host keeps: a live migration carries the guest's disk (a
pattern written with qemu-io is on the destination's copy) and leaves
nothing on the source; deleting a server waiting in VERIFY_RESIZE leaves no
``<uuid>_resize`` directory or disk on either host.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional import harness, servers

pytest.importorskip("libvirt")
pytestmark = pytest.mark.skipif(
    shutil.which("qemu-img") is None or shutil.which("qemu-io") is None,
    reason="qemu-img and qemu-io (qemu-utils) are needed")

# What builds and moves need (no kumo-network: the servers need no addresses).
DAEMONS = ("kumo-conductor", "kumo-scheduler", "kumo-compute", "kumo-api")
FLAVORS = (("t.small", "61", 256, 1, 1), ("t.large", "62", 512, 1, 2))


def _libvirt_options(instances: Path) -> dict[str, object]:
    return {"connection_uri": "test:///default", "instances_path": instances,
            "image_cache_clean_interval": 0}


@pytest.fixture(scope="module")
def two_hosts(rabbitmq: harness.RabbitMQ, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[tuple[harness.Cloud, dict[str, Path]]]:
    """A cloud of two libvirt compute hosts; their instances paths by host name."""
    root = tmp_path_factory.mktemp("libvirt-moves")
    cloud = harness.Cloud(root, rabbitmq.add_vhost(f"kumo-{uuid.uuid4().hex[:8]}"),
                          overrides={"compute": {"compute_driver": "libvirt",
                                                 "resource_report_interval": 2},
                                     "libvirt": _libvirt_options(root / "host-a"),
                                     "scheduler": {"host_state_refresh_interval": 1}})
    other = f"{cloud.host}-b"
    paths = {cloud.host: root / "host-a", other: root / "host-b"}
    process = None
    with cloud.running(lambda c: servers.create_flavors_and_image(c, *FLAVORS),
                       DAEMONS):
        try:
            config = cloud.write_config(root / "b.conf", {
                "DEFAULT": {"host": other}, "libvirt": _libvirt_options(paths[other])})
            process = cloud.spawn("kumo-compute", cloud.log_dir / "compute-b.log",
                                  config_files=[config])
            harness.wait_for(lambda: len(cloud.query(
                "SELECT id FROM compute_nodes WHERE deleted = 0")) == 2, 60, interval=0.5,
                message="both compute hosts reported")
            yield cloud, paths
        finally:
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)


def _qemu_io(path: Path, command: str) -> None:
    result = subprocess.run(["qemu-io", "-f", "qcow2", "-c", command, str(path)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0 and "verification failed" not in result.stdout, \
        result.stdout + result.stderr


def _active(cloud: harness.Cloud, name: str) -> dict:
    server_id = servers.boot(cloud, name, flavor="61")["server"]["id"]
    return servers.wait_status(cloud, server_id, "ACTIVE")


def _leftovers(paths: dict[str, Path], server_id: str) -> list[str]:
    return [str(entry) for path in paths.values() if path.is_dir()
            for entry in path.iterdir() if entry.name.startswith(server_id)]


def _nothing_left(cloud: harness.Cloud, paths: dict[str, Path], server_id: str) -> None:
    harness.wait_for(lambda: not _leftovers(paths, server_id), 30, interval=0.3,
                     message=lambda: f"no files of {server_id} on either host: "
                     f"{_leftovers(paths, server_id)}\n" + cloud.log_tails(["kumo-compute"]))


def test_live_migration_carries_the_disk_and_leaves_nothing_on_the_source(
        two_hosts: tuple[harness.Cloud, dict[str, Path]]) -> None:
    cloud, paths = two_hosts
    server = _active(cloud, "carried")
    source = server["OS-EXT-SRV-ATTR:host"]
    dest = next(host for host in paths if host != source)
    _qemu_io(paths[source] / server["id"] / "disk", "write -P 0x5a 0 64k")

    status, body = servers.action(cloud, server["id"], {"os-migrateLive": {
        "host": dest, "block_migration": True}})
    assert status == 202, body
    harness.wait_for(lambda: servers.wait_status(cloud, server["id"], "ACTIVE")[
        "OS-EXT-SRV-ATTR:host"] == dest, 60, interval=0.5, message="moved to " + dest)

    _qemu_io(paths[dest] / server["id"] / "disk", "read -P 0x5a 0 64k")
    harness.wait_for(lambda: not [p for p in _leftovers({source: paths[source]},
                                                        server["id"])], 30,
                     message="the source dropped its copy")
    servers.delete_server(cloud, server["id"])
    servers.wait_gone(cloud, server["id"])
    _nothing_left(cloud, paths, server["id"])


def test_deleting_a_server_waiting_in_verify_resize_cleans_both_hosts(
        two_hosts: tuple[harness.Cloud, dict[str, Path]]) -> None:
    cloud, paths = two_hosts
    server = _active(cloud, "resized")
    source = server["OS-EXT-SRV-ATTR:host"]

    status, body = servers.action(cloud, server["id"], {"resize": {"flavorRef": "62"}})
    assert status == 202, body
    resized = servers.wait_status(cloud, server["id"], "VERIFY_RESIZE")
    dest = resized["OS-EXT-SRV-ATTR:host"]
    assert dest != source
    assert (paths[source] / f"{server['id']}_resize" / "disk").is_file()
    assert (paths[dest] / server["id"] / "disk").is_file()

    servers.delete_server(cloud, server["id"])
    servers.wait_gone(cloud, server["id"])
    _nothing_left(cloud, paths, server["id"])
