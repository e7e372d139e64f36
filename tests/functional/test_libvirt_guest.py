"""Real guests through the Compute API: kumo-compute on a real libvirtd with QEMU (TCG).

The tiny image of devstack/lib/tiny_image.sh (a Debian kernel and a busybox
initramfs printing ``KUMO-TINY-GUEST-UP`` on its serial console) is imported
AKI/ARI/AMI style; ``POST /servers`` boots it through the real daemons over
a real RabbitMQ, and the test reads the marker through
``os-getConsoleOutput``, reboots, stops and starts the server, and deletes
it, checking libvirt's own view (the domain, its ports, its files) after
each step.

libvirtd is reused when it answers on ``qemu:///system``, else started by
hand (virtlogd first) and stopped at the end. Skipped when that is not
possible here, unless ``KUMO_REQUIRE_LIBVIRT=1`` (CI), which makes it a
failure. Guests are TCG (``virt_type = qemu``): KVM hangs under nested
virtualisation on these machines (docs/devstack.md).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional import harness, servers

REPO = Path(__file__).resolve().parents[2]
TINY_IMAGE_SCRIPT = REPO / "devstack" / "lib" / "tiny_image.sh"
MARKER = "KUMO-TINY-GUEST-UP"
URI = "qemu:///system"
# A small flavor: the guest is a kernel and a busybox initramfs.
FLAVOR = ("g1.tiny", "91", 128, 1, 1)
# TCG on a loaded 2-core machine: the marker comes ~5-10 s after the start.
BOOT_BOUND = 150
# Daemons a build needs; the others would only cost CPU here.
DAEMONS = ("kumo-conductor", "kumo-scheduler", "kumo-compute", "kumo-api")


def _unavailable_reason() -> str | None:
    if os.geteuid() != 0:
        return "starting libvirtd and running qemu:///system guests needs root"
    for tool in ("qemu-system-x86_64", "qemu-img", "virsh", "apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (libvirt-clients, qemu-system-x86, qemu-utils)"
    for daemon in ("/usr/sbin/libvirtd", "/usr/sbin/virtlogd"):
        if not os.access(daemon, os.X_OK):
            return f"{daemon} is not installed (libvirt-daemon, libvirt-daemon-driver-qemu)"
    try:
        import libvirt  # noqa: F401
    except ImportError:
        return "libvirt-python is not installed in the test environment"
    return None


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("KUMO_REQUIRE_LIBVIRT") == "1":
        pytest.fail(f"KUMO_REQUIRE_LIBVIRT=1, but {reason}", pytrace=False)
    pytest.skip(reason)


def _libvirtd_answers() -> bool:
    result = subprocess.run(["virsh", "-c", URI, "version"], capture_output=True,
                            stdin=subprocess.DEVNULL, timeout=30, check=False)
    return result.returncode == 0


class Libvirtd:
    """virtlogd and libvirtd started by hand here (there is no init system to ask)."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, *daemons: str) -> None:
        for daemon in daemons or ("virtlogd", "libvirtd"):
            with open(self.logs / f"{daemon}.log", "ab") as log:
                self.processes[daemon] = subprocess.Popen(
                    [f"/usr/sbin/{daemon}"], stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True)
        harness.wait_for(_libvirtd_answers, 60, interval=0.5,
                         message=lambda: "libvirtd answering on qemu:///system\n"
                         + harness.tail(self.logs / "libvirtd.log"))

    def stop(self, *daemons: str) -> None:
        for daemon in daemons or ("libvirtd", "virtlogd"):
            process = self.processes.pop(daemon, None)
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def restart_libvirtd(self) -> None:
        """Stop and start libvirtd; the guests (QEMU processes) keep running."""
        self.stop("libvirtd")
        self.start("libvirtd")


@pytest.fixture(scope="module")
def libvirtd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Libvirtd | None]:
    """A libvirtd on qemu:///system: the running one (None), or one started here."""
    reason = _unavailable_reason()
    if reason:
        _skip_or_fail(reason)
    import libvirt

    # libvirt prints every error on stderr by default; the tests look at them.
    libvirt.registerErrorHandler(lambda ctx, error: None, None)
    # With /dev/kvm root-only, libvirt re-probes QEMU on every call (tens of
    # seconds each); group kvm and 0660 make that milliseconds.
    if os.path.exists("/dev/kvm"):
        with contextlib.suppress(OSError, KeyError):
            import grp

            os.chown("/dev/kvm", -1, grp.getgrnam("kvm").gr_gid)
            os.chmod("/dev/kvm", 0o660)
    if _libvirtd_answers():
        yield None
        return
    daemons = Libvirtd(tmp_path_factory.mktemp("libvirtd"))
    try:
        try:
            daemons.start()
        except harness.WaitTimeout as error:
            _skip_or_fail(f"libvirtd did not start: {error}")
        yield daemons
    finally:
        daemons.stop()


@pytest.fixture(scope="module")
def tiny_image() -> Path:
    """The built tiny guest (cached across runs: KUMO_TINY_IMAGE_DIR or /var/cache/kumo)."""
    reason = _unavailable_reason()
    if reason:
        _skip_or_fail(reason)
    result = subprocess.run(["bash", str(TINY_IMAGE_SCRIPT)], capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=600, check=False)
    if result.returncode != 0:
        pytest.fail(f"tiny_image.sh failed:\n{result.stderr}", pytrace=False)
    return Path(result.stdout.strip().splitlines()[-1])


def _import(cloud: harness.Cloud, path: Path, name: str, disk_format: str,
            *properties: str) -> str:
    args = ["image", "import", str(path), "--name", name, "--disk-format", disk_format,
            "--container-format", disk_format, "--public", "--format", "json"]
    for prop in properties:
        args += ["--property", prop]
    import json

    return json.loads(cloud.manage(*args))[0]["id"]


@pytest.fixture(scope="module")
def guest_cloud(libvirtd: Libvirtd | None, tiny_image: Path, rabbitmq: harness.RabbitMQ,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.Cloud]:
    """A cloud whose kumo-compute drives qemu:///system, with the tiny image imported."""
    # QEMU runs as libvirt-qemu: the guests' directory must be reachable by
    # it, which pytest's private (0700) tmp directories are not.
    instances = Path(tempfile.mkdtemp(prefix="kumo-ft-guests-", dir="/var/tmp"))
    instances.chmod(0o755)
    root = tmp_path_factory.mktemp("guest-cloud")
    cloud = harness.Cloud(root, rabbitmq.add_vhost(f"kumo-{uuid.uuid4().hex[:8]}"),
                          overrides={
                              # os-stop shuts the tiny guest down by ACPI (it
                              # obeys within a second); bounded all the same.
                              "DEFAULT": {"shutdown_timeout": 30},
                              # Only lifecycle events can sync power states
                              # within the test's bounds.
                              "compute": {"compute_driver": "libvirt",
                                          "sync_power_state_interval": 600},
                              "libvirt": {"connection_uri": URI, "virt_type": "qemu",
                                          "instances_path": instances,
                                          "soft_reboot_timeout": 30,
                                          "spice_enabled": False},
                          })
    try:
        cloud.db_sync()
        servers.create_flavors_and_image(cloud, FLAVOR)
        kernel = _import(cloud, tiny_image / "vmlinuz", "tiny-kernel", "aki")
        ramdisk = _import(cloud, tiny_image / "initrd.gz", "tiny-ramdisk", "ari")
        _import(cloud, tiny_image / "disk.raw", "tiny-guest", "ami",
                f"kernel_id={kernel}", f"ramdisk_id={ramdisk}",
                "os_command_line=console=ttyS0")
        cloud.start(DAEMONS, timeout=120)
        yield cloud
    finally:
        cloud.stop()
        _undefine_leftovers(instances)
        shutil.rmtree(instances, ignore_errors=True)


def _virsh(*args: str, check: bool = True) -> str:
    """``virsh -c qemu:///system ARGS``'s output.

    The test looks at libvirt through virsh, not libvirt-python: once another
    test of the session used the in-process ``qemu:///embed`` driver, this
    process can no longer reach the daemon through libvirt-python.
    """
    result = subprocess.run(["virsh", "-c", URI, *args], capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=60, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"virsh {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def _undefine_leftovers(instances: Path) -> None:
    """Remove any guest a failed test left, so that no QEMU outlives the module."""
    for uuid_ in _virsh("list", "--all", "--uuid", check=False).split():
        if str(instances) in _virsh("dumpxml", uuid_, check=False):
            _virsh("destroy", uuid_, check=False)
            _virsh("undefine", "--managed-save", uuid_, check=False)


def _domain_state(server_id: str) -> tuple[str, str] | None:
    """(state, id) of the server's domain as virsh names them ("running", "shut off";
    id "-" when not running); None when libvirt has none."""
    state = subprocess.run(["virsh", "-c", URI, "domstate", server_id], capture_output=True,
                           text=True, stdin=subprocess.DEVNULL, timeout=60, check=False)
    if state.returncode != 0:
        return None
    return state.stdout.strip(), _virsh("domid", server_id, check=False)


def _vnc_port(server_id: str) -> int:
    import xml.etree.ElementTree as ET

    xml = _virsh("dumpxml", server_id)
    graphics = ET.fromstring(xml).find("devices/graphics[@type='vnc']")
    assert graphics is not None, xml
    return int(graphics.get("port"))


def _console(cloud: harness.Cloud, server_id: str) -> str:
    status, body = servers.action(cloud, server_id, {"os-getConsoleOutput": {}})
    assert status == 200, body
    return body["output"]


def _wait_marker(cloud: harness.Cloud, server_id: str, after_domain_id: str | None = None
                 ) -> float:
    """Wait for the marker on the server's console (in a guest started after the
    domain id ``after_domain_id``); the seconds it took."""
    started = time.monotonic()

    def seen() -> bool:
        if after_domain_id is not None:
            state = _domain_state(server_id)
            if state is None or state[1] in (after_domain_id, "-"):
                return False
        return MARKER in _console(cloud, server_id)

    harness.wait_for(seen, BOOT_BOUND, interval=0.5,
                     message=lambda: f"{MARKER} on the console of {server_id}; console:\n"
                     + _console(cloud, server_id)[-1500:]
                     + cloud.log_tails(["kumo-compute"]))
    return time.monotonic() - started


def _image_id(cloud: harness.Cloud, name: str) -> str | None:
    return next((image["id"] for image in cloud.api("GET", "/images")[1]["images"]
                 if image["name"] == name), None)


def _boot(cloud: harness.Cloud, name: str, image_name: str = "tiny-guest") -> str:
    image = _image_id(cloud, image_name)
    status, body = cloud.api("POST", "/servers", {"server": {
        "name": name, "imageRef": image, "flavorRef": FLAVOR[1]}})
    assert status == 202, body
    return body["server"]["id"]


@pytest.mark.timeout(900)
def test_tiny_guest_boots_prints_its_marker_and_follows_the_server(
        guest_cloud: harness.Cloud, libvirtd: Libvirtd | None) -> None:

    cloud = guest_cloud
    started = time.monotonic()
    server_id = _boot(cloud, "tiny1")
    servers.wait_status(cloud, server_id, "ACTIVE", timeout=BOOT_BOUND)
    active = time.monotonic() - started
    booted = _wait_marker(cloud, server_id) + active
    print(f"TCG: ACTIVE after {active:.1f}s, marker after {booted:.1f}s")

    state, first_id = _domain_state(server_id)
    assert state == "running"
    status, body = cloud.api("GET", f"/servers/{server_id}")
    assert body["server"]["OS-EXT-STS:power_state"] == 1, body
    instance_dir = Path(cloud.overrides["libvirt"]["instances_path"]) / server_id
    assert (instance_dir / "disk").is_file() and (instance_dir / "kernel").is_file()
    # The VNC display listens where the config says; QEMU answers RFB.
    with socket.create_connection(("127.0.0.1", _vnc_port(server_id)), timeout=10) as vnc:
        assert vnc.recv(12).startswith(b"RFB ")

    # Soft reboot: the ACPI power button powers the guest off, it starts again.
    status, body = servers.action(cloud, server_id, {"reboot": {"type": "SOFT"}})
    assert status == 202, body
    servers.wait_status(cloud, server_id, "ACTIVE", timeout=BOOT_BOUND)
    _wait_marker(cloud, server_id, after_domain_id=first_id)
    _, second_id = _domain_state(server_id)

    status, body = servers.action(cloud, server_id, {"reboot": {"type": "HARD"}})
    assert status == 202, body
    servers.wait_status(cloud, server_id, "ACTIVE", timeout=BOOT_BOUND)
    _wait_marker(cloud, server_id, after_domain_id=second_id)
    _, third_id = _domain_state(server_id)

    def presses() -> int:
        return (instance_dir / "console.log").read_text(errors="replace").count(
            "KUMO-TINY-GUEST-POWER-BUTTON")

    pressed = presses()
    status, body = servers.action(cloud, server_id, {"os-stop": None})
    assert status == 202, body
    servers.wait_status(cloud, server_id, "SHUTOFF", timeout=BOOT_BOUND)
    assert _domain_state(server_id)[0] == "shut off"
    assert presses() > pressed  # a clean shutdown: the guest saw its power button

    status, body = servers.action(cloud, server_id, {"os-start": None})
    assert status == 202, body
    servers.wait_status(cloud, server_id, "ACTIVE", timeout=BOOT_BOUND)
    _wait_marker(cloud, server_id, after_domain_id=third_id)

    if libvirtd is not None:
        # kumo-compute reconnects to the new libvirtd (and its events) by itself.
        libvirtd.restart_libvirtd()
        assert _domain_state(server_id)[0] == "running"
        harness.wait_for(lambda: MARKER in _console(cloud, server_id), 30,
                         message="console output after the libvirtd restart")

    # The guest powers itself off (an ACPI request from outside kumo): the
    # lifecycle event turns the server SHUTOFF long before the periodic sync.
    _virsh("shutdown", server_id)
    servers.wait_status(cloud, server_id, "SHUTOFF", timeout=60)
    status, body = servers.action(cloud, server_id, {"os-start": None})
    assert status == 202, body
    servers.wait_status(cloud, server_id, "ACTIVE", timeout=BOOT_BOUND)

    # A snapshot of the running guest is a new image that boots on its own
    # (its kernel and ramdisk come from the image it was taken from).
    status, body = servers.action(cloud, server_id, {"createImage": {"name": "tiny-snap"}})
    assert status == 202, body
    snapshot = harness.wait_for(lambda: _image_id(cloud, "tiny-snap"), 30,
                                message="the snapshot image listed")

    def snapshot_active() -> bool:
        status, body = cloud.api("GET", f"/images/{snapshot}")
        assert status == 200 and body["image"]["status"] != "ERROR", body
        return body["image"]["status"] == "ACTIVE"

    harness.wait_for(snapshot_active, BOOT_BOUND, interval=0.5,
                     message=lambda: "snapshot ACTIVE\n" + cloud.log_tails(["kumo-compute"]))
    servers.wait_status(cloud, server_id, "ACTIVE", timeout=BOOT_BOUND)  # task cleared
    clone_id = _boot(cloud, "tiny-clone", image_name="tiny-snap")
    servers.wait_status(cloud, clone_id, "ACTIVE", timeout=BOOT_BOUND)
    _wait_marker(cloud, clone_id)

    for gone in (server_id, clone_id):
        servers.delete_server(cloud, gone)
    for gone in (server_id, clone_id):
        servers.wait_gone(cloud, gone, timeout=BOOT_BOUND)
        assert _domain_state(gone) is None
    # No domain, disk or overlay is left; only the cached bases remain.
    assert not instance_dir.exists()
    assert [p.name for p in instance_dir.parent.iterdir()] == ["_base"]
