"""LibvirtDriver: kumo guests as libvirt domains (KVM, or plain QEMU/TCG).

One node, named after the host. A guest is the domain ``kumo-<uuid>`` with
the instance's uuid; its files live in ``[libvirt] instances_path/<uuid>/``
(the root overlay ``disk``, ``disk.eph0``, ``kernel``/``ramdisk`` for
direct kernel boot, ``console.log`` of the serial port). Images come from a
per-host cache in ``[libvirt] base_images_path``.

With ``connection_uri = test:///default`` (libvirt's in-process test
driver, for functional tests) nothing runs the disks, but they are still
prepared for real with qemu-img, and the domain type is not probed.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import tempfile
import threading
import time
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from kumo import context, exception

try:
    import libvirt
except ImportError as _exc:  # an optional extra: kumo[libvirt]
    raise exception.ConfigError(
        reason="compute_driver libvirt needs libvirt-python: pip install 'kumo[libvirt]' "
               "(it builds against the Debian packages libvirt-dev and pkg-config)"
    ) from _exc
from kumo.compute import power_state, task_states
from kumo.image import api as image_api
from kumo.image import local as image_local
from kumo.virt import driver
from kumo.virt.libvirt import config as vconfig
from kumo.virt.libvirt import console as vconsole
from kumo.virt.libvirt import disk as vdisk
from kumo.virt.libvirt import host as vhost
from kumo.virt.libvirt import migration as vmigration
from kumo.virt.libvirt import power_sync
from kumo.virt.libvirt import resize as vresize
from kumo.virt.libvirt import virt_type as vtype

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

# Seconds between two ACPI shutdown requests while a soft reboot waits.
SHUTDOWN_RETRY_INTERVAL = 5
# What a snapshot of a kernel-booted guest inherits from the image it was taken from.
KERNEL_BOOT_PROPERTIES = ("kernel_id", "ramdisk_id", "os_command_line")

_STATE_MAP = {
    libvirt.VIR_DOMAIN_NOSTATE: power_state.NOSTATE,
    libvirt.VIR_DOMAIN_RUNNING: power_state.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: power_state.RUNNING,
    libvirt.VIR_DOMAIN_PAUSED: power_state.PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: power_state.RUNNING,  # shutting down: still runs
    libvirt.VIR_DOMAIN_SHUTOFF: power_state.SHUTDOWN,
    libvirt.VIR_DOMAIN_CRASHED: power_state.CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: power_state.SUSPENDED,
}


def image_service_fetch(image_id: str, destination: pathlib.Path) -> None:
    """Copy an image's bytes from the image service (``[image] backend``: the local
    store's ``local_store_path``, or Glance), verified against the checksum and
    multihash the image service records for it (ImageChecksumMismatch otherwise:
    the base-image cache then keeps nothing)."""
    image_api.ImageAPI().fetch_verified(context.get_admin_context(), image_id, destination)


def _attr(instance: Any, name: str, default: Any = None) -> Any:
    if instance.obj_attr_is_set(name):
        value = getattr(instance, name)
        return default if value is None else value
    return default


class LibvirtDriver(driver.ComputeDriver):
    def __init__(self, fetch: vdisk.Fetcher | None = None,
                 image_store: image_local.LocalStore | None = None) -> None:
        self.host = CONF.host
        self._host = vhost.Host(CONF.libvirt.connection_uri)
        self._fetch = fetch or image_service_fetch
        self._image_store = image_store
        self._virt_type: str | None = None
        self._power_sync: power_sync.LifecycleSync | None = None
        self._stopping = threading.Event()
        self._cache_cleaner: threading.Thread | None = None
        self._locks_guard = threading.Lock()
        self._locks: dict[str, threading.RLock] = {}

    # -- the host ------------------------------------------------------------

    @property
    def instances_path(self) -> pathlib.Path:
        return pathlib.Path(CONF.libvirt.instances_path)

    @property
    def image_cache(self) -> vdisk.ImageCache:
        return vdisk.ImageCache(CONF.libvirt.base_images_path, self._fetch)

    @property
    def virt_type(self) -> str:
        if self._virt_type is None:
            if CONF.libvirt.connection_uri.startswith("test:"):
                # libvirt's test driver runs nothing: no probe.
                self._virt_type = "qemu" if CONF.libvirt.virt_type == "auto" \
                    else CONF.libvirt.virt_type
            else:
                self._virt_type = vtype.choose(CONF.libvirt.virt_type,
                                               CONF.libvirt.kvm_probe_timeout,
                                               CONF.libvirt.kvm_probe_kernel)
        return self._virt_type

    def init_host(self, host: str) -> None:
        self.host = host
        self._host.get_connection()
        LOG.info("libvirt driver on %s: domain type %s", CONF.libvirt.connection_uri,
                 self.virt_type)
        if CONF.libvirt.image_cache_clean_interval and self._cache_cleaner is None:
            self._stopping.clear()
            self._cache_cleaner = threading.Thread(
                target=self._clean_image_cache_periodically, name="kumo-image-cache",
                daemon=True)
            self._cache_cleaner.start()

    def cleanup_host(self, host: str) -> None:
        self._stopping.set()
        if self._cache_cleaner is not None:
            self._cache_cleaner.join(timeout=10)
            self._cache_cleaner = None
        if self._power_sync is not None:
            self._power_sync.stop()
        self._host.close()

    def add_lifecycle_listener(self, listener: vhost.LifecycleListener) -> None:
        """Call ``listener(instance_uuid, power_state)`` on libvirt lifecycle events."""
        self._host.add_lifecycle_listener(listener)

    def register_power_sync(self, manager: Any) -> None:
        """Sync a server's power state through ``manager`` (kumo-compute) as soon as
        libvirt reports a lifecycle event of its guest, not only periodically."""
        if self._power_sync is None:
            self._power_sync = power_sync.LifecycleSync(manager)
            self.add_lifecycle_listener(self._power_sync)

    def get_available_nodes(self) -> list[str]:
        return [self.host]

    def get_node_resources(self, nodename: str) -> dict[str, Any]:
        if nodename not in self.get_available_nodes():
            raise exception.ComputeNodeNotFound(node=nodename)
        info = self._host.node_info()
        path = self.instances_path
        while not path.exists() and path != path.parent:
            path = path.parent
        stat = os.statvfs(path)
        return {
            "hypervisor_hostname": nodename,
            "hypervisor_type": info["type"],
            "hypervisor_version": info["version"],
            "vcpus": info["vcpus"],
            "memory_mb": info["memory_mb"],
            "local_gb": stat.f_blocks * stat.f_frsize // vdisk.GiB,
            "cpu_info": info["cpu_info"],
            "host_ip": CONF.compute.host_ip or "127.0.0.1",
        }

    # -- guests --------------------------------------------------------------

    def list_instance_uuids(self, node: str | None = None) -> list[str]:
        if node is not None and node not in self.get_available_nodes():
            return []
        return [dom.UUIDString() for dom in self._host.kumo_domains()]

    def get_info(self, instance: Any) -> int:
        return self._power_state(self._host.get_domain(instance.uuid))

    def spawn(self, ctxt: Any, instance: Any, image_meta: dict[str, Any],
              network_info: list[Any], node: str) -> None:
        if node not in self.get_available_nodes():
            raise exception.ComputeNodeNotFound(node=node)
        with self._lock(instance.uuid):
            self._refuse_existing(instance, "spawn")
            image_meta = self._complete_image_meta(ctxt, image_meta)
            instance_dir = self.instances_path / instance.uuid
            plan = None
            dom = None
            try:
                plan = self._plan_disks(instance, image_meta, instance_dir)
                plan.execute()
                reverted = self._reuse_resized_disks(instance, instance_dir)
                xml = vconfig.build_domain_xml(
                    self._guest_config(instance, image_meta, network_info, plan))
                dom = self._host.call(lambda conn: conn.defineXML(xml))
                dom.create()
                if reverted:
                    vresize.discard(vresize.kept_dir(self.instances_path, instance.uuid))
            except BaseException:
                LOG.exception("Spawning the guest of %s failed; cleaning up", instance.uuid)
                if dom is not None:
                    self._undefine(dom)
                if plan is not None:
                    plan.remove()
                else:
                    vdisk.DiskPlan(instance_dir, None, None, None).remove()
                raise
        LOG.info("Guest of %s runs (domain %s, type %s)", instance.uuid,
                 vconfig.domain_name(instance.uuid), self.virt_type)

    def destroy(self, ctxt: Any, instance: Any) -> None:
        with self._lock(instance.uuid):
            try:
                dom = self._host.get_domain(instance.uuid)
            except exception.InstanceNotFound:
                dom = None
            if dom is not None:
                self._undefine(dom)
            instance_dir = self.instances_path / instance.uuid
            kept = vresize.kept_dir(self.instances_path, instance.uuid)
            task = _attr(instance, "task_state")
            if task == task_states.RESIZE_MIGRATING:
                vresize.keep(instance_dir, kept)
            elif task not in (task_states.RESIZE_MIGRATED, task_states.RESIZE_FINISH,
                              task_states.RESIZE_REVERTING, task_states.MIGRATING):
                # Outside a move (a delete): no leftover of an earlier one stays.
                vresize.discard(kept)
            vdisk.DiskPlan(instance_dir, None, None, None).remove()
        LOG.info("Guest of %s destroyed with its disks", instance.uuid)

    def reboot(self, ctxt: Any, instance: Any, reboot_type: str) -> None:
        with self._lock(instance.uuid):
            dom = self._host.get_domain(instance.uuid)
            if reboot_type == driver.REBOOT_SOFT and \
                    self._power_state(dom) == power_state.RUNNING:
                if self._soft_reboot(dom):
                    return
                LOG.warning("Guest of %s did not shut down within %ss; hard reboot",
                            instance.uuid, CONF.libvirt.soft_reboot_timeout)
            self._hard_reboot(dom)

    def power_off(self, ctxt: Any, instance: Any, timeout: float = 0) -> None:
        """A clean shutdown (ACPI) given ``timeout`` seconds, then a forced one."""
        with self._lock(instance.uuid):
            dom = self._host.get_domain(instance.uuid)
            if timeout > 0 and self._power_state(dom) == power_state.RUNNING:
                if self._clean_shutdown(dom, timeout):
                    LOG.info("Guest of %s shut down cleanly", instance.uuid)
                else:
                    LOG.warning("Guest of %s did not shut down within %ss; powering it "
                                "off", instance.uuid, timeout)
            if dom.isActive():
                dom.destroy()
            if dom.hasManagedSaveImage(0):
                dom.managedSaveRemove(0)

    def power_on(self, ctxt: Any, instance: Any) -> None:
        with self._lock(instance.uuid):
            dom = self._host.get_domain(instance.uuid)
            state = self._check_state(dom, instance, "power_on")
            if state != power_state.RUNNING:
                if dom.isActive():  # crashed but still there
                    dom.destroy()
                dom.create()

    def pause(self, ctxt: Any, instance: Any) -> None:
        with self._lock(instance.uuid):
            dom = self._host.get_domain(instance.uuid)
            self._check_state(dom, instance, "pause")
            dom.suspend()

    def unpause(self, ctxt: Any, instance: Any) -> None:
        with self._lock(instance.uuid):
            dom = self._host.get_domain(instance.uuid)
            self._check_state(dom, instance, "unpause")
            dom.resume()

    def suspend(self, ctxt: Any, instance: Any) -> None:
        with self._lock(instance.uuid):
            dom = self._host.get_domain(instance.uuid)
            self._check_state(dom, instance, "suspend")
            dom.managedSave(0)

    def resume(self, ctxt: Any, instance: Any) -> None:
        with self._lock(instance.uuid):
            dom = self._host.get_domain(instance.uuid)
            self._check_state(dom, instance, "resume")
            dom.create()  # restores the managed save image
            if self._power_state(dom) == power_state.PAUSED:
                dom.resume()  # it was saved while paused

    def migration_source(self, instance: Any) -> dict[str, str] | None:
        """After a resize's destroy on this (source) host: where the destination
        finds the disks kept here (see :mod:`kumo.virt.libvirt.resize`)."""
        return vresize.source_record(
            self.host, vresize.kept_dir(self.instances_path, instance.uuid))

    def confirm_migration(self, ctxt: Any, instance: Any) -> None:
        """The resize away from this host was confirmed: drop the disks kept for a
        revert."""
        with self._lock(instance.uuid):
            kept = vresize.kept_dir(self.instances_path, instance.uuid)
            if kept.exists():
                vresize.discard(kept)
                LOG.info("Resize of %s confirmed: dropped %s", instance.uuid, kept)

    # -- live migration (a stop-and-copy move: see kumo.virt.libvirt.migration) ---------

    def live_migration_out(self, ctxt: Any, instance: Any, dest_host: str) -> dict[str, Any]:
        """Save the guest's memory, keep it with the disks, console log and domain XML
        (the resize's kept directory), undefine the domain; the handoff says where.

        On failure the guest is restored here as it was.
        """
        with self._lock(instance.uuid):
            dom = self._host.get_domain(instance.uuid)
            power = self._power_state(dom)
            driver.check_power_state(instance, "live_migration", power,
                                     (power_state.RUNNING, power_state.PAUSED,
                                      power_state.SHUTDOWN))
            instance_dir = self.instances_path / instance.uuid
            if not (instance_dir / vdisk.ROOT_DISK).is_file():
                raise exception.InstanceInvalidState(
                    action="live_migration", instance_uuid=instance.uuid,
                    attr="root disk", state="missing")
            kept = vresize.kept_dir(self.instances_path, instance.uuid)
            xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE)
            (instance_dir / vmigration.DOMAIN_XML).write_text(xml)
            memory = bool(dom.isActive())
            if memory:
                try:
                    # QEMU writes the guest's memory and stops; the disks are closed.
                    dom.save(str(instance_dir / vmigration.MEMORY_STATE))
                except BaseException:  # the guest still runs here
                    for name in (vmigration.MEMORY_STATE, vmigration.DOMAIN_XML):
                        (instance_dir / name).unlink(missing_ok=True)
                    raise
            try:
                self._undefine(dom)  # the destination may share this libvirtd
                vresize.keep(instance_dir, kept, vmigration.CARRIED)
                vdisk.DiskPlan(instance_dir, None, None, None).remove()  # kernel, ramdisk
            except BaseException:
                LOG.exception("Keeping the guest of %s for its live migration failed; "
                              "restoring it here", instance.uuid)
                if kept.is_dir():
                    vresize.take_back(kept, instance_dir, vmigration.CARRIED)
                self._start_carried(instance_dir, xml, memory, instance_dir)
                # Restored: the memory state (the guest's RAM size) is spent.
                for name in (vmigration.MEMORY_STATE, vmigration.DOMAIN_XML):
                    (instance_dir / name).unlink(missing_ok=True)
                raise
        LOG.info("Guest of %s stopped for its live migration to %s (memory %s); kept in %s",
                 instance.uuid, dest_host, "saved" if memory else "none", kept)
        return vmigration.handoff(self.host, kept, instance_dir, power, memory)

    def live_migration_in(self, ctxt: Any, instance: Any, handoff: dict[str, Any],
                          node: str) -> int:
        """Run the guest from copies of what the source kept: its disks, console log
        and memory; the source's files stay for a rollback until it is told."""
        if not vmigration.is_carried(handoff):
            return super().live_migration_in(ctxt, instance, handoff, node)
        return self._run_carried(ctxt, instance, handoff, node, back=False)

    def live_migration_rollback(self, ctxt: Any, instance: Any, handoff: dict[str, Any],
                                node: str) -> int:
        """Take the kept files back and restore the guest here, as it was."""
        if not vmigration.is_carried(handoff):
            return super().live_migration_rollback(ctxt, instance, handoff, node)
        return self._run_carried(ctxt, instance, handoff, node, back=True)

    def _run_carried(self, ctxt: Any, instance: Any, handoff: dict[str, Any], node: str,
                     back: bool) -> int:
        if node not in self.get_available_nodes():
            raise exception.ComputeNodeNotFound(node=node)
        # A rollback takes back (and then removes) this host's own kept directory,
        # never a path it was told.
        kept = (vresize.kept_dir(self.instances_path, instance.uuid) if back
                else pathlib.Path(handoff["path"]))
        instance_dir = self.instances_path / instance.uuid
        with self._lock(instance.uuid):
            self._refuse_existing(instance, "live_migration")
            image_meta = self._complete_image_meta(ctxt, {"id": _attr(instance, "image_ref")})
            plan = None
            try:
                # The guest's directory as a spawn makes it (kernel, ramdisk, log) ...
                plan = self._plan_disks(instance, image_meta, instance_dir)
                plan.execute()
                # ... with the kept disks instead of fresh ones.
                if back:
                    vresize.take_back(kept, instance_dir, vmigration.CARRIED)
                    files = instance_dir
                else:
                    self._copy_kept(handoff, kept, instance_dir)
                    files = kept
                xml = (files / vmigration.DOMAIN_XML).read_text()
                state = self._start_carried(
                    pathlib.Path(handoff["instance_dir"]), xml, bool(handoff.get("memory")),
                    instance_dir, files / vmigration.MEMORY_STATE, back)
            except BaseException:
                LOG.exception("Running the carried guest of %s failed", instance.uuid)
                with contextlib.suppress(exception.InstanceNotFound):
                    self._undefine(self._host.get_domain(instance.uuid))
                if not back and plan is not None:
                    plan.remove()
                raise
            for name in (vmigration.MEMORY_STATE, vmigration.DOMAIN_XML):
                (instance_dir / name).unlink(missing_ok=True)
        LOG.info("Guest of %s %s with its disks%s", instance.uuid,
                 "restored here" if back else f"live-migrated from {handoff.get('host')}",
                 " and memory" if handoff.get("memory") else "")
        return state

    def _copy_kept(self, handoff: dict[str, Any], kept: pathlib.Path,
                   instance_dir: pathlib.Path) -> None:
        """Replace the fresh disks and log with copies of the source's (same sizes)."""
        if kept == vresize.kept_dir(self.instances_path, instance_dir.name):
            vresize.use_for_resize(kept, instance_dir, 0, 0)  # the same directory
        else:
            vresize.copy_from_source({"host": handoff.get("host"), "path": str(kept)},
                                     instance_dir, 0, 0)
        if (kept / vdisk.CONSOLE_LOG).is_file():
            shutil.copyfile(kept / vdisk.CONSOLE_LOG, instance_dir / vdisk.CONSOLE_LOG)

    def _start_carried(self, old_dir: pathlib.Path, xml: str, memory: bool,
                       instance_dir: pathlib.Path, state: pathlib.Path | None = None,
                       cold_fallback: bool = True) -> int:
        """Define the domain from the source's ``xml`` (paths under ``old_dir`` moved
        to ``instance_dir``) and restore its memory ``state`` (default: in
        ``instance_dir``); without memory it stays shut off. ``cold_fallback``: a
        memory state that will not restore boots the guest from its disk instead
        (the rollback: the guest runs, with its disk, if not with its memory)."""
        state = state or instance_dir / vmigration.MEMORY_STATE
        dom = self._host.call(lambda conn: conn.defineXML(
            vmigration.rewrite_paths(xml, old_dir, instance_dir)))
        if memory:
            try:
                self._host.call(lambda conn: self._restore(conn, state, old_dir, instance_dir))
            except libvirt.libvirtError:
                if not cold_fallback:
                    raise
                LOG.exception("The memory of %s did not restore; booting it from its disk",
                              dom.UUIDString())
                dom.create()
        return self._power_state(dom)

    @staticmethod
    def _restore(conn: libvirt.virConnect, state: pathlib.Path, old_dir: pathlib.Path,
                 instance_dir: pathlib.Path) -> None:
        dxml = None
        if old_dir != instance_dir:
            dxml = vmigration.rewrite_paths(
                conn.saveImageGetXMLDesc(str(state), libvirt.VIR_DOMAIN_XML_SECURE),
                old_dir, instance_dir)
        try:
            conn.restoreFlags(str(state), dxml, 0)
        except libvirt.libvirtError as exc:
            if dxml is None or exc.get_error_code() not in (
                    libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED, libvirt.VIR_ERR_NO_SUPPORT):
                raise
            # libvirt's test driver cannot change a saved image's XML (it runs nothing).
            conn.restore(str(state))

    def get_console_output(self, ctxt: Any, instance: Any) -> str:
        self._host.get_domain(instance.uuid)
        log = self.instances_path / instance.uuid / vdisk.CONSOLE_LOG
        limit = CONF.libvirt.console_output_max_bytes
        try:
            with open(log, "rb") as data:
                data.seek(0, os.SEEK_END)
                size = data.tell()
                data.seek(max(0, size - limit))
                tail = data.read()
        except FileNotFoundError:
            return ""
        return tail.decode("utf-8", errors="replace")

    def get_graphics_address(self, instance: Any, kind: str) -> tuple[str, int]:
        """(address, port) of the running guest's ``vnc`` or ``spice`` display."""
        dom = self._host.get_domain(instance.uuid)
        ports = vconfig.graphics_ports(dom.XMLDesc(0))
        if kind not in ports:
            raise exception.InstanceInvalidState(
                action=f"get_{kind}_console", instance_uuid=instance.uuid,
                attr="graphics", state="none")
        return ports[kind]

    def get_vnc_console(self, ctxt: Any, instance: Any) -> dict[str, Any]:
        return vconsole.console_address(self._host.get_domain(instance.uuid).XMLDesc(0), "vnc")

    def get_spice_console(self, ctxt: Any, instance: Any) -> dict[str, Any]:
        return vconsole.console_address(self._host.get_domain(instance.uuid).XMLDesc(0),
                                        "spice")

    def snapshot(self, ctxt: Any, instance: Any, image_id: str) -> dict[str, Any]:
        """Flatten the root disk and upload it to the queued image ``image_id`` of the
        image service (:meth:`kumo.image.api.ImageAPI.upload`: the local store's
        bytes, or Glance with ``[image] backend = glance``), a cold snapshot.

        A running or paused guest is saved (managed save) meanwhile -- QEMU
        then has flushed and closed the disk -- and restored afterwards in
        the state it had.
        """
        store = self._image_store or image_local.LocalStore()
        store.path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=store.path, prefix=".snapshot-") as tmp:
            flat = pathlib.Path(tmp) / "disk"
            with self._lock(instance.uuid):
                dom = self._host.get_domain(instance.uuid)
                root = self.instances_path / instance.uuid / vdisk.ROOT_DISK
                if not root.is_file():
                    raise exception.InstanceInvalidState(
                        action="snapshot", instance_uuid=instance.uuid, attr="root disk",
                        state="missing")
                before = self._power_state(dom)
                saved = before in (power_state.RUNNING, power_state.PAUSED)
                if saved:
                    dom.managedSave(0)
                try:
                    vdisk.flatten(root, flat)
                finally:
                    if saved:
                        dom.create()
                        state = self._power_state(dom)
                        if before == power_state.RUNNING and state == power_state.PAUSED:
                            dom.resume()
                        elif before == power_state.PAUSED and state == power_state.RUNNING:
                            dom.suspend()
            # The flattened copy is this call's own: the upload (minutes to Glance for
            # a big disk) does not hold the server's other actions up.
            uploaded = self._snapshot_images().upload(ctxt, image_id, flat, "qcow2", "bare")
        LOG.info("Snapshot %s of %s: %s bytes", image_id, instance.uuid, uploaded["size"])
        return {**uploaded, "uploaded": True}

    def _snapshot_images(self) -> image_api.ImageAPI:
        """Where snapshots go: the configured image service; a driver given its own
        local store (tests) keeps them there."""
        if self._image_store is not None:
            return image_api.ImageAPI(store=self._image_store, glance=False)
        return image_api.ImageAPI()

    # -- the base-image cache --------------------------------------------------

    def clean_image_cache(self) -> list[pathlib.Path]:
        """Remove cached bases no guest of this host uses any more (old enough)."""
        in_use = set()
        for entry in self.instances_path.glob(f"*/{vdisk.ROOT_DISK}"):
            with contextlib.suppress(vdisk.DiskError, ValueError):
                backing = vdisk.image_info(entry).get("backing-filename")
                if backing:
                    in_use.add(backing)
        return self.image_cache.clean(in_use, CONF.libvirt.remove_unused_base_images_age)

    def _clean_image_cache_periodically(self) -> None:
        while not self._stopping.wait(CONF.libvirt.image_cache_clean_interval):
            try:
                removed = self.clean_image_cache()
            except Exception:
                LOG.exception("Cleaning the base-image cache failed")
                continue
            if removed:
                LOG.info("Image cache cleaner removed %d unused base images", len(removed))

    # -- helpers -------------------------------------------------------------

    def _lock(self, uuid: str) -> threading.RLock:
        with self._locks_guard:
            return self._locks.setdefault(uuid, threading.RLock())

    @staticmethod
    def _power_state(dom: libvirt.virDomain) -> int:
        state, _reason = dom.state(0)
        if state == libvirt.VIR_DOMAIN_SHUTOFF and dom.hasManagedSaveImage(0):
            return power_state.SUSPENDED
        return _STATE_MAP.get(state, power_state.NOSTATE)

    def _check_state(self, dom: libvirt.virDomain, instance: Any, action: str) -> int:
        state = self._power_state(dom)
        driver.check_power_state(instance, action, state)
        return state

    def _soft_reboot(self, dom: libvirt.virDomain) -> bool:
        """ACPI shutdown, wait for it, start again; False if it did not shut down."""
        if not self._clean_shutdown(dom, CONF.libvirt.soft_reboot_timeout):
            return False
        dom.create()
        return True

    @staticmethod
    def _clean_shutdown(dom: libvirt.virDomain, timeout: float) -> bool:
        """Ask the guest OS to shut down (ACPI) and wait up to ``timeout`` seconds;
        whether it is off.

        The request is repeated every few seconds: a guest still booting may
        not listen to its power button yet, and one press is then lost.
        """
        try:
            dom.shutdown()
        except libvirt.libvirtError as exc:  # stopped meanwhile, or no ACPI to ask
            LOG.info("ACPI shutdown of %s refused: %s", dom.UUIDString(), exc)
            return dom.state(0)[0] == libvirt.VIR_DOMAIN_SHUTOFF
        pressed = time.monotonic()
        deadline = pressed + timeout
        while True:
            if dom.state(0)[0] == libvirt.VIR_DOMAIN_SHUTOFF:
                return True
            now = time.monotonic()
            if now >= deadline:
                return False
            if now - pressed >= SHUTDOWN_RETRY_INTERVAL:
                with contextlib.suppress(libvirt.libvirtError):  # it may just have stopped
                    dom.shutdown()
                pressed = now
            time.sleep(0.5)

    @staticmethod
    def _hard_reboot(dom: libvirt.virDomain) -> None:
        if dom.isActive():
            dom.destroy()
        if dom.hasManagedSaveImage(0):
            dom.managedSaveRemove(0)
        dom.create()

    def _refuse_existing(self, instance: Any, action: str) -> None:
        """InstanceInvalidState when the server already has a domain on this host."""
        with contextlib.suppress(exception.InstanceNotFound):
            self._host.get_domain(instance.uuid)
            raise exception.InstanceInvalidState(
                action=action, instance_uuid=instance.uuid, attr="guest", state="existing")

    def _undefine(self, dom: libvirt.virDomain) -> None:
        with contextlib.suppress(libvirt.libvirtError):
            if dom.isActive():
                dom.destroy()
        try:
            dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                raise

    def _reuse_resized_disks(self, instance: Any, instance_dir: pathlib.Path) -> bool:
        """In a resize or its revert, boot from the disks the source kept (see
        :mod:`kumo.virt.libvirt.resize`); True for a revert."""
        task = _attr(instance, "task_state")
        kept = vresize.kept_dir(self.instances_path, instance.uuid)
        if task in (task_states.RESIZE_MIGRATED, task_states.RESIZE_FINISH):
            root_gb = int(_attr(instance, "root_gb", 0))
            ephemeral_gb = int(_attr(instance, "ephemeral_gb", 0))
            if vresize.use_for_resize(kept, instance_dir, root_gb, ephemeral_gb):
                return False  # this host kept them (or shares the source's path)
            source = vresize.source_of(_attr(instance, "system_metadata"))
            if source is not None:
                vresize.copy_from_source(source, instance_dir, root_gb, ephemeral_gb)
        elif task == task_states.RESIZE_REVERTING:
            return vresize.use_for_resize(kept, instance_dir, 0, 0)
        return False

    @staticmethod
    def _complete_image_meta(ctxt: Any, image_meta: dict[str, Any]) -> dict[str, Any]:
        """The image meta with what booting needs from the image service.

        * The image's properties (kernel_id, ramdisk_id, hw_*) when the caller
          only knew its id: a resize, unshelve or migration spawns from
          ``{"id": ...}``.
        * For a snapshot of a guest booted from a kernel (AKI/ARI/AMI), the
          kernel, ramdisk and command line of the image it was taken from
          (its ``base_image_ref``, followed through snapshots of snapshots):
          the snapshot holds only the disk.
        """
        images = image_api.ImageAPI()

        def fetch(image_id: str) -> Any:
            try:
                return images.get(ctxt, image_id)
            except exception.ImageNotFound:
                raise
            except Exception as exc:
                LOG.warning("Could not read image %s: %s; booting without its "
                            "properties", image_id, exc)
                return None

        image_meta = dict(image_meta)
        if "properties" not in image_meta and image_meta.get("id"):
            image = fetch(image_meta["id"])
            if image is not None:
                image_meta["properties"] = dict(image.get("properties") or {})
                image_meta.setdefault("checksum", image.get("checksum"))
        properties = dict(image_meta.get("properties") or {})
        base_ref = properties.get("base_image_ref")
        seen = {image_meta.get("id")}
        while base_ref and "kernel_id" not in properties and base_ref not in seen:
            seen.add(base_ref)
            try:
                base = fetch(base_ref)
            except exception.ImageNotFound:
                LOG.warning("Base image %s of image %s is gone", base_ref, image_meta.get("id"))
                break
            if base is None:
                break
            base_properties = dict(base.get("properties") or {})
            for key in KERNEL_BOOT_PROPERTIES:
                if key in base_properties:
                    properties.setdefault(key, base_properties[key])
            base_ref = base_properties.get("base_image_ref")
        if properties:
            image_meta["properties"] = properties
        return image_meta

    def _plan_disks(self, instance: Any, image_meta: dict[str, Any],
                    instance_dir: pathlib.Path) -> vdisk.DiskPlan:
        properties = image_meta.get("properties") or {}
        image_id = image_meta.get("id") or _attr(instance, "image_ref")
        kernel_id = _attr(instance, "kernel_id") or properties.get("kernel_id")
        ramdisk_id = _attr(instance, "ramdisk_id") or properties.get("ramdisk_id")
        cache = self.image_cache
        # The fetcher (ImageAPI.fetch_verified) checks the bytes as they arrive;
        # no second read of the whole image here.
        base = cache.get(image_id) if image_id else None
        kernel = cache.get(kernel_id) if kernel_id else None
        ramdisk = cache.get(ramdisk_id) if ramdisk_id else None
        return vdisk.plan(instance_dir, base, root_gb=int(_attr(instance, "root_gb", 0)),
                          ephemeral_gb=int(_attr(instance, "ephemeral_gb", 0)),
                          kernel=kernel, ramdisk=ramdisk)

    def _guest_config(self, instance: Any, image_meta: dict[str, Any],
                      network_info: list[Any], plan: vdisk.DiskPlan) -> vconfig.GuestConfig:
        bus = vconfig.image_property(image_meta, "hw_disk_bus", "virtio", vconfig.DISK_BUSES)
        prefix = "vd" if bus == "virtio" else "sd" if bus in ("scsi", "sata") else "hd"
        disks = []
        if plan.base is not None:
            disks.append(vconfig.Disk(str(plan.root), f"{prefix}a", "qcow2", bus))
        if plan.ephemeral is not None:
            disks.append(vconfig.Disk(str(plan.ephemeral), f"{prefix}b", "qcow2", bus))
        vif_model = vconfig.image_property(image_meta, "hw_vif_model", "virtio",
                                           vconfig.VIF_MODELS)
        flavor = _attr(instance, "flavor")
        return vconfig.GuestConfig(
            uuid=instance.uuid,
            name=_attr(instance, "display_name", instance.uuid),
            virt_type=self.virt_type,
            vcpus=int(_attr(instance, "vcpus", 1)),
            memory_mb=int(_attr(instance, "memory_mb", 512)),
            disks=disks,
            console_log=str(plan.console_log),
            machine_type=vconfig.image_property(image_meta, "hw_machine_type"),
            kernel=str(plan.kernel) if plan.kernel else None,
            ramdisk=str(plan.ramdisk) if plan.ramdisk else None,
            cmdline=vconfig.image_property(image_meta, "os_command_line"),
            vifs=vconfig.vifs_from_network_info(network_info, vif_model),
            vnc_listen=CONF.libvirt.vnc_listen if CONF.libvirt.vnc_enabled else None,
            spice_listen=CONF.libvirt.spice_listen if CONF.libvirt.spice_enabled else None,
            video_model=vconfig.image_property(image_meta, "hw_video_model", "vga",
                                               vconfig.VIDEO_MODELS),
            metadata={k: str(v) for k, v in (
                ("image", image_meta.get("id")),
                ("flavor", getattr(flavor, "name", None) if flavor is not None else None),
                ("project", _attr(instance, "project_id")),
            ) if v},
        )
