"""The libvirt driver against libvirt's in-process test driver (test:///default).

No daemon and no real guest: libvirt's test driver keeps the domains in
memory and changes their states as a hypervisor would. The disks are still
prepared for real with qemu-img in tmp_path, from an image written into a
local image store in tmp_path.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import json
import os
import pathlib
import pwd
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

libvirt = pytest.importorskip("libvirt")

from kumo import context, exception, objects, virt  # noqa: E402
from kumo.compute import power_state  # noqa: E402
from kumo.conf import CONF  # noqa: E402
from kumo.image import api as image_api  # noqa: E402
from kumo.image import local  # noqa: E402
from kumo.objects.image import Image  # noqa: E402
from kumo.objects.instance import Instance  # noqa: E402
from kumo.virt import driver as virt_driver  # noqa: E402
from kumo.virt.libvirt import disk, virt_type  # noqa: E402
from kumo.virt.libvirt import driver as libvirt_driver  # noqa: E402

objects.register_all()

pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None,
                                reason="qemu-img (qemu-utils) is not installed")

HOST = "cmp-lv"
IMAGE_ID = "0b6a3c1e-5d2f-4c8a-9e7b-1f2a3b4c5d6e"
KERNEL_ID = "1c7b4d2f-6e3a-4d9b-8f8c-2a3b4c5d6e7f"


@pytest.fixture
def store(tmp_path: pathlib.Path) -> local.LocalStore:
    store = local.LocalStore(tmp_path / "images")
    image = tmp_path / "image.qcow2"
    disk.qemu_img("create", "-f", "qcow2", str(image), "64M")
    store.write_file(IMAGE_ID, image)
    kernel = tmp_path / "vmlinuz"
    kernel.write_bytes(b"not really a kernel")
    store.write_file(KERNEL_ID, kernel)
    return store


@pytest.fixture(autouse=True)
def image_records(monkeypatch: pytest.MonkeyPatch) -> dict[str, Image]:
    """The image service's records as the driver reads them (kumo-conductor's, in a
    cloud): an image registered here has these hashes; any other one in the local
    store has the hashes of its bytes as they are now."""
    records: dict[str, Image] = {}

    def get(self, ctxt, image_id: str, project_id: str | None = None) -> Image:
        if image_id in records:
            return records[image_id]
        path = pathlib.Path(CONF.image.local_store_path) / image_id
        if not path.is_file():
            raise exception.ImageNotFound(image_id=image_id)
        return recorded(path, image_id)

    monkeypatch.setattr(image_api.ImageAPI, "get", get)
    return records


def recorded(path: pathlib.Path, image_id: str) -> Image:
    """The local store's record of the bytes at ``path`` (as kumo-manage imports it)."""
    data = path.read_bytes()
    return Image(id=image_id, status="active", size=len(data),
                 checksum=hashlib.md5(data, usedforsecurity=False).hexdigest(),
                 properties={"os_hash_algo": "sha256",
                             "os_hash_value": hashlib.sha256(data).hexdigest()})


@contextlib.contextmanager
def _started_driver(overrides: dict[tuple[str, str], object]
                    ) -> Iterator[libvirt_driver.LibvirtDriver]:
    """The libvirt driver, loaded by name as kumo-compute loads it, under the option
    ``overrides`` and started on HOST; its guests are undefined afterwards."""
    for (name, group), value in overrides.items():
        CONF.set_override(name, value, group=group)
    lv = virt.load_driver("libvirt")
    assert isinstance(lv, libvirt_driver.LibvirtDriver)
    lv.init_host(HOST)
    yield lv
    for dom in lv._host.kumo_domains():
        lv._undefine(dom)
    lv.cleanup_host(HOST)
    for name, group in overrides:
        CONF.clear_override(name, group=group)


@pytest.fixture
def driver(tmp_path: pathlib.Path, store: local.LocalStore
           ) -> Iterator[libvirt_driver.LibvirtDriver]:
    overrides = {
        ("connection_uri", "libvirt"): "test:///default",
        ("virt_type", "libvirt"): "auto",
        ("instances_path", "libvirt"): str(tmp_path / "instances"),
        ("base_images_path", "libvirt"): str(tmp_path / "instances" / "_base"),
        ("soft_reboot_timeout", "libvirt"): 5,
        ("console_output_max_bytes", "libvirt"): 64,
        ("local_store_path", "image"): str(tmp_path / "images"),
    }
    with _started_driver(overrides) as lv:
        yield lv


@pytest.fixture
def ctxt() -> context.RequestContext:
    return context.get_admin_context()


def make_instance(**values) -> Instance:
    fields = dict(uuid=str(uuid.uuid4()), display_name="vm1", vcpus=1, memory_mb=128,
                  root_gb=1, ephemeral_gb=0, project_id="p1", user_id="u1",
                  image_ref=IMAGE_ID)
    fields.update(values)
    return Instance(**fields)


IMAGE_META = {"id": IMAGE_ID, "properties": {}, "min_ram": 0, "min_disk": 0, "size": 0}


def spawn(driver: libvirt_driver.LibvirtDriver, ctxt, **values) -> Instance:
    instance = make_instance(**values)
    driver.spawn(ctxt, instance, IMAGE_META, [], HOST)
    return instance


def test_loaded_by_name_with_one_node_named_after_the_host(driver) -> None:
    assert driver.get_available_nodes() == [HOST]
    assert driver.virt_type == "qemu"  # test:// is not probed


def test_host_resources_come_from_the_hypervisor(driver) -> None:
    resources = driver.get_node_resources(HOST)
    assert set(resources) == set(virt_driver.NODE_RESOURCE_KEYS)
    conn = libvirt.open("test:///default")
    try:
        model, memory_mb, cpus = conn.getInfo()[:3]
        assert resources["vcpus"] == cpus
        assert resources["memory_mb"] == memory_mb
        assert resources["hypervisor_type"] == conn.getType()
        assert resources["hypervisor_version"] == conn.getVersion()
    finally:
        conn.close()
    assert resources["hypervisor_hostname"] == HOST
    assert resources["local_gb"] > 0
    assert '"topology"' in resources["cpu_info"]
    with pytest.raises(exception.ComputeNodeNotFound):
        driver.get_node_resources("elsewhere")


def test_spawn_defines_and_starts_a_domain_with_real_disks(driver, ctxt,
                                                           tmp_path: pathlib.Path) -> None:
    instance = spawn(driver, ctxt, ephemeral_gb=1)
    assert driver.get_info(instance) == power_state.RUNNING
    assert instance.uuid in driver.list_instance_uuids()
    assert instance.uuid in driver.list_instance_uuids(HOST)
    assert driver.list_instance_uuids("other-node") == []
    # The test driver's own "test" domain is not a kumo guest.
    assert len(driver.list_instance_uuids()) == 1

    inst_dir = tmp_path / "instances" / instance.uuid
    root = disk.image_info(inst_dir / "disk")
    assert root["format"] == "qcow2" and root["virtual-size"] == disk.GiB
    assert root["backing-filename"].startswith(str(tmp_path / "instances" / "_base"))
    assert disk.image_info(inst_dir / "disk.eph0")["virtual-size"] == disk.GiB

    dom = driver._host.get_domain(instance.uuid)
    xml = dom.XMLDesc(0)
    assert f"kumo-{instance.uuid}" == dom.name()
    assert str(inst_dir / "disk") in xml and str(inst_dir / "disk.eph0") in xml
    assert str(inst_dir / "console.log") in xml

    with pytest.raises(exception.InstanceInvalidState):
        driver.spawn(ctxt, instance, IMAGE_META, [], HOST)
    with pytest.raises(exception.ComputeNodeNotFound):
        driver.spawn(ctxt, make_instance(), IMAGE_META, [], "elsewhere")


def test_spawn_with_direct_kernel_boot(driver, ctxt, tmp_path: pathlib.Path) -> None:
    instance = spawn(driver, ctxt, kernel_id=KERNEL_ID)
    xml = driver._host.get_domain(instance.uuid).XMLDesc(0)
    kernel = tmp_path / "instances" / instance.uuid / "kernel"
    assert kernel.read_bytes() == b"not really a kernel"
    assert f"<kernel>{kernel}</kernel>" in xml


def test_failed_spawn_leaves_nothing_behind(driver, ctxt, tmp_path: pathlib.Path) -> None:
    instance = make_instance(image_ref=None)
    meta = dict(IMAGE_META, id=str(uuid.uuid4()))  # not in the store
    with pytest.raises(exception.ImageNotFound):
        driver.spawn(ctxt, instance, meta, [], HOST)
    assert driver.list_instance_uuids() == []
    assert not (tmp_path / "instances" / instance.uuid).exists()

    bad = dict(IMAGE_META, properties={"hw_disk_bus": "floppy"})
    with pytest.raises(ValueError):
        driver.spawn(ctxt, instance, bad, [], HOST)
    assert driver.list_instance_uuids() == []
    assert not (tmp_path / "instances" / instance.uuid).exists()


def test_a_corrupted_image_download_is_refused_and_not_cached(
        driver, ctxt, tmp_path: pathlib.Path, image_records: dict[str, Image]) -> None:
    stored = tmp_path / "images" / IMAGE_ID
    image_records[IMAGE_ID] = recorded(stored, IMAGE_ID)
    with open(stored, "r+b") as data:  # a flipped byte in the store (or on the wire)
        data.seek(4096)
        byte = data.read(1)
        data.seek(4096)
        data.write(bytes([byte[0] ^ 0xFF]))
    instance = make_instance()
    with pytest.raises(exception.ImageChecksumMismatch):
        driver.spawn(ctxt, instance, IMAGE_META, [], HOST)
    base = tmp_path / "instances" / "_base"
    assert not base.exists() or list(base.iterdir()) == []
    assert driver.list_instance_uuids() == []
    assert not (tmp_path / "instances" / instance.uuid).exists()
    # Only the multihash recorded: still checked.
    image_records[IMAGE_ID].checksum = None
    with pytest.raises(exception.ImageChecksumMismatch, match="sha256"):
        driver.spawn(ctxt, instance, IMAGE_META, [], HOST)


def test_reboot_soft_and_hard(driver, ctxt) -> None:
    instance = spawn(driver, ctxt)
    driver.reboot(ctxt, instance, virt_driver.REBOOT_SOFT)
    assert driver.get_info(instance) == power_state.RUNNING
    driver.reboot(ctxt, instance, virt_driver.REBOOT_HARD)
    assert driver.get_info(instance) == power_state.RUNNING
    # A stopped or paused guest runs again after any reboot.
    driver.power_off(ctxt, instance)
    driver.reboot(ctxt, instance, virt_driver.REBOOT_SOFT)
    assert driver.get_info(instance) == power_state.RUNNING
    driver.pause(ctxt, instance)
    driver.reboot(ctxt, instance, virt_driver.REBOOT_HARD)
    assert driver.get_info(instance) == power_state.RUNNING


def test_soft_reboot_falls_back_to_hard_when_the_guest_ignores_acpi(
        driver, ctxt, monkeypatch: pytest.MonkeyPatch) -> None:
    instance = spawn(driver, ctxt)
    CONF.set_override("soft_reboot_timeout", 0, group="libvirt")
    ignored = []
    monkeypatch.setattr(libvirt.virDomain, "shutdown",
                        lambda self: ignored.append(self.UUIDString()) or 0)
    destroyed = []
    real_destroy = libvirt.virDomain.destroy
    monkeypatch.setattr(libvirt.virDomain, "destroy",
                        lambda self: destroyed.append(1) or real_destroy(self))
    try:
        driver.reboot(ctxt, instance, virt_driver.REBOOT_SOFT)
    finally:
        CONF.set_override("soft_reboot_timeout", 5, group="libvirt")
    assert ignored == [instance.uuid]
    assert destroyed == [1]
    assert driver.get_info(instance) == power_state.RUNNING


def test_stop_shuts_the_guest_down_cleanly_then_forces_it(
        driver, ctxt, monkeypatch: pytest.MonkeyPatch) -> None:
    instance = spawn(driver, ctxt)
    destroyed = []
    real_destroy = libvirt.virDomain.destroy
    monkeypatch.setattr(libvirt.virDomain, "destroy",
                        lambda self: destroyed.append(1) or real_destroy(self))
    # test:/// guests honour the ACPI request at once: no forced power-off.
    driver.power_off(ctxt, instance, timeout=30)
    assert driver.get_info(instance) == power_state.SHUTDOWN and destroyed == []
    driver.power_on(ctxt, instance)

    ignored = []
    monkeypatch.setattr(libvirt.virDomain, "shutdown",
                        lambda self: ignored.append(self.UUIDString()) or 0)
    started = time.monotonic()
    driver.power_off(ctxt, instance, timeout=1)
    assert 1 <= time.monotonic() - started < 10
    assert ignored == [instance.uuid] and destroyed == [1]
    assert driver.get_info(instance) == power_state.SHUTDOWN
    # timeout 0: powered off at once, the guest not asked.
    driver.power_on(ctxt, instance)
    driver.power_off(ctxt, instance)
    assert ignored == [instance.uuid] and destroyed == [1, 1]


def test_pause_unpause(driver, ctxt) -> None:
    instance = spawn(driver, ctxt)
    driver.pause(ctxt, instance)
    assert driver.get_info(instance) == power_state.PAUSED
    with pytest.raises(exception.InstanceInvalidState):
        driver.pause(ctxt, instance)
    driver.unpause(ctxt, instance)
    assert driver.get_info(instance) == power_state.RUNNING
    with pytest.raises(exception.InstanceInvalidState):
        driver.unpause(ctxt, instance)


def test_suspend_resume_through_managed_save(driver, ctxt) -> None:
    instance = spawn(driver, ctxt)
    driver.suspend(ctxt, instance)
    assert driver.get_info(instance) == power_state.SUSPENDED
    assert driver._host.get_domain(instance.uuid).hasManagedSaveImage(0)
    with pytest.raises(exception.InstanceInvalidState):
        driver.power_on(ctxt, instance)
    driver.resume(ctxt, instance)
    assert driver.get_info(instance) == power_state.RUNNING
    with pytest.raises(exception.InstanceInvalidState):
        driver.resume(ctxt, instance)
    # A paused guest may be suspended too; it runs after resume.
    driver.pause(ctxt, instance)
    driver.suspend(ctxt, instance)
    assert driver.get_info(instance) == power_state.SUSPENDED
    driver.resume(ctxt, instance)
    assert driver.get_info(instance) == power_state.RUNNING


def test_power_off_on(driver, ctxt) -> None:
    instance = spawn(driver, ctxt)
    driver.power_off(ctxt, instance)
    assert driver.get_info(instance) == power_state.SHUTDOWN
    driver.power_off(ctxt, instance)  # stopping a stopped guest is fine
    assert instance.uuid in driver.list_instance_uuids()  # still defined
    with pytest.raises(exception.InstanceInvalidState):
        driver.pause(ctxt, instance)
    driver.power_on(ctxt, instance)
    assert driver.get_info(instance) == power_state.RUNNING
    driver.power_on(ctxt, instance)  # starting a running guest is fine
    # Powering off a suspended guest drops its saved memory.
    driver.suspend(ctxt, instance)
    driver.power_off(ctxt, instance)
    assert driver.get_info(instance) == power_state.SHUTDOWN


def test_destroy_removes_domain_and_disks(driver, ctxt, tmp_path: pathlib.Path) -> None:
    instance = spawn(driver, ctxt, ephemeral_gb=1)
    driver.suspend(ctxt, instance)  # with a managed save image, too
    driver.destroy(ctxt, instance)
    assert driver.list_instance_uuids() == []
    assert not (tmp_path / "instances" / instance.uuid).exists()
    with pytest.raises(exception.InstanceNotFound):
        driver.get_info(instance)
    driver.destroy(ctxt, instance)  # a missing guest is fine
    # The cached base stays until the cleaner finds it unused.
    CONF.set_override("remove_unused_base_images_age", 0, group="libvirt")
    try:
        assert len(driver.clean_image_cache()) == 1
    finally:
        CONF.clear_override("remove_unused_base_images_age", group="libvirt")


def test_operations_on_a_missing_guest(driver, ctxt) -> None:
    ghost = make_instance()
    for operation in (driver.power_off, driver.power_on, driver.pause, driver.unpause,
                      driver.suspend, driver.resume, driver.get_console_output):
        with pytest.raises(exception.InstanceNotFound):
            operation(ctxt, ghost)
    with pytest.raises(exception.InstanceNotFound):
        driver.reboot(ctxt, ghost, virt_driver.REBOOT_HARD)
    with pytest.raises(exception.InstanceNotFound):
        driver.snapshot(ctxt, ghost, str(uuid.uuid4()))


def test_console_output_is_the_tail_of_the_serial_log(driver, ctxt,
                                                      tmp_path: pathlib.Path) -> None:
    instance = spawn(driver, ctxt)
    assert driver.get_console_output(ctxt, instance) == ""
    log = tmp_path / "instances" / instance.uuid / "console.log"
    log.write_bytes(b"x" * 100 + b"\nKUMO-MARKER guest up\n")
    output = driver.get_console_output(ctxt, instance)
    assert len(output.encode()) == 64  # console_output_max_bytes
    assert output.endswith("KUMO-MARKER guest up\n")


def test_snapshot_flattens_the_root_disk_into_the_store(driver, ctxt,
                                                       store: local.LocalStore) -> None:
    instance = spawn(driver, ctxt)
    snapshot_id = str(uuid.uuid4())
    data = driver.snapshot(ctxt, instance, snapshot_id)
    assert data["disk_format"] == "qcow2" and data["container_format"] == "bare"
    stored = store.location(snapshot_id)
    assert data["size"] == stored.stat().st_size > 0
    info = disk.image_info(stored)
    assert "backing-filename" not in info and info["virtual-size"] == disk.GiB
    assert driver.get_info(instance) == power_state.RUNNING  # saved only meanwhile
    driver.pause(ctxt, instance)
    driver.snapshot(ctxt, instance, str(uuid.uuid4()))
    assert driver.get_info(instance) == power_state.PAUSED
    driver.unpause(ctxt, instance)
    # The snapshot boots like any image.
    clone = make_instance(image_ref=snapshot_id)
    driver.spawn(ctxt, clone, dict(IMAGE_META, id=snapshot_id), [], HOST)
    assert driver.get_info(clone) == power_state.RUNNING


def test_lifecycle_events_reach_listeners(driver, ctxt) -> None:
    events: list[tuple[str, int]] = []
    seen = threading.Event()

    def listener(instance_uuid: str, state: int) -> None:
        events.append((instance_uuid, state))
        if state == power_state.PAUSED:
            seen.set()

    driver.add_lifecycle_listener(listener)
    instance = spawn(driver, ctxt)
    driver.pause(ctxt, instance)
    assert seen.wait(10), events
    assert (instance.uuid, power_state.RUNNING) in events
    assert (instance.uuid, power_state.PAUSED) in events


def test_reconnects_when_the_connection_breaks(driver, ctxt) -> None:
    instance = spawn(driver, ctxt)
    # Another connection keeps the test driver's in-memory state alive.
    keeper = libvirt.open("test:///default")
    try:
        before = driver._host.connects
        driver._host.get_connection().close()  # as if libvirtd went away
        assert driver.get_info(instance) == power_state.RUNNING
        assert driver._host.connects == before + 1
    finally:
        keeper.close()


# -- a real guest -------------------------------------------------------------

GUEST_MARKER = b"KUMO-GUEST-MARKER"


def _real_guest_unavailable() -> str | None:
    if shutil.which("qemu-system-x86_64") is None:
        return "qemu-system-x86 is not installed"
    if os.geteuid() != 0:
        return "the embedded QEMU driver runs guests as root here"
    try:
        pwd.getpwnam("libvirt-qemu")
    except KeyError:
        return "user libvirt-qemu is missing (install libvirt-daemon-system)"
    return None


@pytest.fixture
def real_driver(tmp_path: pathlib.Path) -> Iterator[libvirt_driver.LibvirtDriver]:
    """The driver on libvirt's embedded QEMU driver: real TCG guests, no daemon."""
    reason = _real_guest_unavailable()
    if reason:
        pytest.skip(reason)
    overrides = {
        ("connection_uri", "libvirt"): f"qemu:///embed?root={_embed_root()}",
        ("virt_type", "libvirt"): "qemu",
        ("instances_path", "libvirt"): str(tmp_path / "instances"),
        ("base_images_path", "libvirt"): str(tmp_path / "instances" / "_base"),
        ("local_store_path", "image"): str(tmp_path / "images"),
        ("soft_reboot_timeout", "libvirt"): 1,
    }
    with _started_driver(overrides) as lv:
        yield lv


@functools.cache
def _embed_root() -> pathlib.Path:
    """One embedded-driver root per test process: libvirt opens qemu:///embed with
    one root only for the life of a process, so every real-guest test (here and
    in test_libvirt_console.py) shares it. Short: libvirt's monitor socket lives
    under it (UNIX socket path limit)."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="kumo-lv-"))
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "qemu.conf").write_text(
        'user = "root"\ngroup = "root"\nstdio_handler = "file"\n')
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.timeout(180)
def test_real_qemu_guest_boots_prints_and_is_cleaned_up(real_driver, ctxt,
                                                        tmp_path: pathlib.Path) -> None:
    """A TCG guest booted from a qcow2 overlay prints its marker on the serial log.

    The image is a 512-byte boot sector (the virt_type probe's) that writes
    the marker to COM1: a real guest on real disks, no kernel needed.
    """
    store = local.LocalStore(tmp_path / "images")
    image = tmp_path / "boot.img"
    image.write_bytes(virt_type.boot_sector(GUEST_MARKER))
    image_id = str(uuid.uuid4())
    store.write_file(image_id, image)
    instance = make_instance(image_ref=image_id, memory_mb=64)

    started = time.monotonic()
    real_driver.spawn(ctxt, instance, dict(IMAGE_META, id=image_id), [], HOST)
    assert _wait_for(lambda: GUEST_MARKER.decode() in
                     real_driver.get_console_output(ctxt, instance), 60)
    booted = time.monotonic() - started
    print(f"TCG guest marker {booted:.1f}s after spawn began")
    assert real_driver.get_info(instance) == power_state.RUNNING
    resources = real_driver.get_node_resources(HOST)
    assert resources["hypervisor_type"] == "QEMU"
    assert resources["vcpus"] > 0 and resources["memory_mb"] > 0

    address, port = real_driver.get_graphics_address(instance, "vnc")
    with socket.create_connection((address, port), timeout=10) as vnc:
        assert vnc.recv(12).startswith(b"RFB ")
    spice_address, spice_port = real_driver.get_graphics_address(instance, "spice")
    assert spice_address == "127.0.0.1" and spice_port != port
    socket.create_connection((spice_address, spice_port), timeout=10).close()

    real_driver.pause(ctxt, instance)
    assert real_driver.get_info(instance) == power_state.PAUSED
    real_driver.unpause(ctxt, instance)
    real_driver.suspend(ctxt, instance)  # QEMU writes the memory to a managed save file
    assert real_driver.get_info(instance) == power_state.SUSPENDED
    real_driver.resume(ctxt, instance)
    assert real_driver.get_info(instance) == power_state.RUNNING
    # The boot sector ignores ACPI: a soft reboot falls back to a hard one.
    real_driver.reboot(ctxt, instance, virt_driver.REBOOT_SOFT)
    assert real_driver.get_info(instance) == power_state.RUNNING
    real_driver.power_off(ctxt, instance)
    assert real_driver.get_info(instance) == power_state.SHUTDOWN
    real_driver.power_on(ctxt, instance)
    assert real_driver.get_info(instance) == power_state.RUNNING

    snapshot_id = str(uuid.uuid4())
    assert real_driver.snapshot(ctxt, instance, snapshot_id)["size"] > 0
    clone = make_instance(image_ref=snapshot_id, memory_mb=64)
    real_driver.spawn(ctxt, clone, dict(IMAGE_META, id=snapshot_id), [], HOST)
    assert _wait_for(lambda: GUEST_MARKER.decode() in
                     real_driver.get_console_output(ctxt, clone), 60)
    real_driver.destroy(ctxt, clone)

    real_driver.destroy(ctxt, instance)
    assert real_driver.list_instance_uuids() == []
    assert not (tmp_path / "instances" / instance.uuid).exists()


def test_the_cache_cleaner_removes_unused_bases_periodically(
        tmp_path: pathlib.Path, store: local.LocalStore, ctxt) -> None:
    overrides = {
        ("connection_uri", "libvirt"): "test:///default",
        ("instances_path", "libvirt"): str(tmp_path / "instances"),
        ("base_images_path", "libvirt"): str(tmp_path / "instances" / "_base"),
        ("local_store_path", "image"): str(tmp_path / "images"),
        ("image_cache_clean_interval", "libvirt"): 1,
        ("remove_unused_base_images_age", "libvirt"): 0,
    }
    with _started_driver(overrides) as lv:
        instance = spawn(lv, ctxt)
        base = tmp_path / "instances" / "_base"
        assert len(list(base.iterdir())) == 1
        time.sleep(1.5)  # a guest uses it: the cleaner keeps it
        assert len(list(base.iterdir())) == 1
        lv.destroy(ctxt, instance)
        assert _wait_for(lambda: not list(base.iterdir()), 10)


def _qemu_io(path: pathlib.Path, command: str) -> str:
    import subprocess

    result = subprocess.run(["qemu-io", "-f", "qcow2", "-c", command, str(path)],
                            capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0 and "Pattern verification failed" not in result.stdout, \
        result.stdout + result.stderr
    return result.stdout


@pytest.mark.skipif(shutil.which("qemu-io") is None, reason="qemu-io (qemu-utils) missing")
def test_resize_keeps_the_disk_grows_it_and_revert_gives_it_back(
        driver, ctxt, tmp_path: pathlib.Path) -> None:
    from kumo.compute import task_states

    instances = tmp_path / "instances"
    instance = spawn(driver, ctxt, root_gb=1)
    disk_path = instances / instance.uuid / "disk"
    _qemu_io(disk_path, "write -P 0x5a 0 64k")  # what the guest wrote
    kept = instances / f"{instance.uuid}_resize"

    instance.task_state = task_states.RESIZE_MIGRATING  # the source takes it down
    driver.destroy(ctxt, instance)
    assert not (instances / instance.uuid).exists() and (kept / "disk").is_file()

    instance.task_state = task_states.RESIZE_MIGRATED  # the destination, new flavor
    instance.root_gb = 2
    driver.spawn(ctxt, instance, IMAGE_META, [], HOST)
    assert disk.image_info(disk_path)["virtual-size"] == 2 * disk.GiB
    _qemu_io(disk_path, "read -P 0x5a 0 64k")
    _qemu_io(disk_path, "write -P 0x33 0 64k")  # written after the resize

    instance.task_state = task_states.RESIZE_REVERTING  # the revert: back to the old disk
    driver.destroy(ctxt, instance)
    assert (kept / "disk").is_file()
    instance.root_gb = 1
    driver.spawn(ctxt, instance, IMAGE_META, [], HOST)
    assert disk.image_info(disk_path)["virtual-size"] == disk.GiB
    _qemu_io(disk_path, "read -P 0x5a 0 64k")
    assert not kept.exists()

    instance.task_state = task_states.DELETING
    driver.destroy(ctxt, instance)
    assert not (instances / instance.uuid).exists() and not kept.exists()


@contextlib.contextmanager
def _as_host(driver: libvirt_driver.LibvirtDriver, name: str,
             tmp_path: pathlib.Path) -> Iterator[str]:
    """The driver acting as kumo-compute ``name`` with instances of its own (its
    [libvirt] instances_path and base cache), as two hosts on one machine."""
    previous = driver.host
    CONF.set_override("instances_path", str(tmp_path / name), group="libvirt")
    CONF.set_override("base_images_path", str(tmp_path / name / "_base"), group="libvirt")
    driver.host = name
    try:
        yield name
    finally:
        driver.host = previous
        CONF.set_override("instances_path", str(tmp_path / "instances"), group="libvirt")
        CONF.set_override("base_images_path", str(tmp_path / "instances" / "_base"),
                          group="libvirt")


@pytest.mark.skipif(shutil.which("qemu-io") is None, reason="qemu-io (qemu-utils) missing")
def test_resize_to_another_host_copies_the_disk_and_confirm_or_revert_finish_it(
        driver, ctxt, tmp_path: pathlib.Path) -> None:
    from kumo.compute import task_states
    from kumo.compute.system_metadata import RESIZE_SOURCE_DISKS

    def move(instance: Instance, source: str, dest: str, root_gb: int) -> None:
        """What kumo-compute does on both ends of a resize (move_actions)."""
        instance.task_state = task_states.RESIZE_MIGRATING
        with _as_host(driver, source, tmp_path):
            driver.destroy(ctxt, instance)
            record = driver.migration_source(instance)
        assert record == {"host": source, "path": str(tmp_path / source /
                                                      f"{instance.uuid}_resize")}
        instance.system_metadata = {RESIZE_SOURCE_DISKS: json.dumps(record)}
        instance.task_state = task_states.RESIZE_MIGRATED
        instance.root_gb = root_gb
        with _as_host(driver, dest, tmp_path) as node:
            driver.spawn(ctxt, instance, IMAGE_META, [], node)

    instance = make_instance(root_gb=1)
    with _as_host(driver, "src", tmp_path) as node:
        driver.spawn(ctxt, instance, IMAGE_META, [], node)
    _qemu_io(tmp_path / "src" / instance.uuid / "disk", "write -P 0x5a 0 64k")

    move(instance, "src", "dst", 2)
    copied = tmp_path / "dst" / instance.uuid / "disk"
    info = disk.image_info(copied)
    assert info["virtual-size"] == 2 * disk.GiB and "backing-filename" not in info
    _qemu_io(copied, "read -P 0x5a 0 64k")
    _qemu_io(copied, "write -P 0x33 0 64k")
    assert not (tmp_path / "src" / instance.uuid).exists()

    # Revert: the destination drops its copy, the source boots what it kept.
    instance.task_state = task_states.RESIZE_REVERTING
    with _as_host(driver, "dst", tmp_path):
        driver.destroy(ctxt, instance)
    assert not (tmp_path / "dst" / instance.uuid).exists()
    instance.root_gb = 1
    with _as_host(driver, "src", tmp_path) as node:
        driver.spawn(ctxt, instance, IMAGE_META, [], node)
    _qemu_io(tmp_path / "src" / instance.uuid / "disk", "read -P 0x5a 0 64k")
    assert not (tmp_path / "src" / f"{instance.uuid}_resize").exists()

    # Again, confirmed this time: the source drops what it kept.
    move(instance, "src", "dst", 2)
    kept = tmp_path / "src" / f"{instance.uuid}_resize"
    assert kept.is_dir()
    with _as_host(driver, "src", tmp_path):
        driver.confirm_migration(ctxt, instance)
    assert not kept.exists()
    assert driver.get_info(instance) == power_state.RUNNING

    # A source path the destination cannot read: the move fails, nothing is left.
    other = make_instance(root_gb=1)
    other.system_metadata = {RESIZE_SOURCE_DISKS: json.dumps(
        {"host": "far", "path": str(tmp_path / "far" / "x_resize")})}
    other.task_state = task_states.RESIZE_MIGRATED
    with _as_host(driver, "dst", tmp_path) as node, \
            pytest.raises(disk.DiskError, match="shared file system"):
        driver.spawn(ctxt, other, IMAGE_META, [], node)
    assert not (tmp_path / "dst" / other.uuid).exists()
    instance.task_state = None
    with _as_host(driver, "dst", tmp_path):
        driver.destroy(ctxt, instance)
