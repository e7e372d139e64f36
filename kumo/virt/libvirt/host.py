"""One managed libvirt connection per kumo-compute: reopened when it breaks, with events.

:class:`Host` opens the connection lazily, reopens it when libvirtd went
away (the close callback, or a call failing with a connection error, marks
it dead) and turns libvirt's domain lifecycle events into kumo power
states for whoever listens (the power-state sync).
"""

from __future__ import annotations

import json
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import libvirt
from oslo_log import log as logging

from kumo import exception
from kumo.compute import power_state
from kumo.virt.libvirt import config

LOG = logging.getLogger(__name__)



class HypervisorUnavailable(exception.KumoException):
    msg_fmt = "The hypervisor at %(uri)s is unavailable: %(reason)s"


# (instance uuid, kumo power state)
LifecycleListener = Callable[[str, int], None]

_event_loop_lock = threading.Lock()
_event_loop_started = False

# libvirt errors that mean the connection is gone, not the call wrong.
_CONNECTION_ERRORS = (libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_ERR_INTERNAL_ERROR,
                      libvirt.VIR_ERR_NO_CONNECT, libvirt.VIR_ERR_INVALID_CONN,
                      libvirt.VIR_ERR_RPC)
_CONNECTION_DOMAINS = (libvirt.VIR_FROM_REMOTE, libvirt.VIR_FROM_RPC)

_EVENT_POWER_STATES = {
    libvirt.VIR_DOMAIN_EVENT_STARTED: power_state.RUNNING,
    libvirt.VIR_DOMAIN_EVENT_RESUMED: power_state.RUNNING,
    libvirt.VIR_DOMAIN_EVENT_SUSPENDED: power_state.PAUSED,
    libvirt.VIR_DOMAIN_EVENT_STOPPED: power_state.SHUTDOWN,
    libvirt.VIR_DOMAIN_EVENT_CRASHED: power_state.CRASHED,
    libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED: power_state.SUSPENDED,
}


def start_event_loop() -> None:
    """Register libvirt's default event loop and run it in a daemon thread (once)."""
    global _event_loop_started
    with _event_loop_lock:
        if _event_loop_started:
            return
        libvirt.virEventRegisterDefaultImpl()
        # libvirt prints every error on stderr by default; kumo raises and logs them.
        libvirt.registerErrorHandler(lambda ctx, error: None, None)

        def run() -> None:
            while True:
                try:
                    libvirt.virEventRunDefaultImpl()
                except Exception:  # keep the loop alive whatever a callback did
                    LOG.exception("libvirt event loop iteration failed")

        threading.Thread(target=run, name="libvirt-events", daemon=True).start()
        _event_loop_started = True


def is_connection_error(error: libvirt.libvirtError) -> bool:
    return (error.get_error_code() in _CONNECTION_ERRORS
            and error.get_error_domain() in _CONNECTION_DOMAINS) or \
        error.get_error_code() in (libvirt.VIR_ERR_NO_CONNECT, libvirt.VIR_ERR_INVALID_CONN)


class Host:
    def __init__(self, uri: str, events: bool = True) -> None:
        self.uri = uri
        self._events = events
        self._lock = threading.Lock()
        self._conn: libvirt.virConnect | None = None
        self._listeners: list[LifecycleListener] = []
        self.connects = 0  # how many times a connection was opened (tests, logs)

    # -- the connection --------------------------------------------------------

    def get_connection(self) -> libvirt.virConnect:
        with self._lock:
            conn = self._conn
            if conn is not None:
                try:
                    if conn.isAlive():
                        return conn
                except libvirt.libvirtError:
                    pass
                LOG.warning("libvirt connection to %s is dead; reconnecting", self.uri)
                self._conn = None
            self._conn = self._open()
            return self._conn

    def _open(self) -> libvirt.virConnect:
        if self._events:
            start_event_loop()
        try:
            conn = libvirt.open(self.uri)
        except libvirt.libvirtError as exc:
            raise HypervisorUnavailable(uri=self.uri, reason=str(exc)) from exc
        self.connects += 1
        LOG.info("Connected to libvirt at %s", self.uri)
        try:
            conn.registerCloseCallback(self._closed, None)
        except libvirt.libvirtError:
            LOG.debug("libvirt %s offers no close callback", self.uri)
        if self._events:
            try:
                conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                            self._lifecycle_event, None)
            except libvirt.libvirtError as exc:
                LOG.warning("No lifecycle events from %s: %s", self.uri, exc)
        return conn

    def _closed(self, conn: Any, reason: int, opaque: Any) -> None:
        LOG.warning("libvirt closed the connection to %s (reason %s)", self.uri, reason)
        with self._lock:
            if self._conn is conn:
                self._conn = None

    def mark_dead(self) -> None:
        """Forget the connection: the next call opens a new one."""
        with self._lock:
            self._conn = None

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except libvirt.libvirtError:
                pass

    def call(self, function: Callable[[libvirt.virConnect], Any]) -> Any:
        """``function(connection)``, retried once on a fresh connection if it broke."""
        try:
            return function(self.get_connection())
        except libvirt.libvirtError as exc:
            if not is_connection_error(exc):
                raise
            LOG.warning("libvirt call failed on a broken connection (%s); retrying", exc)
            self.mark_dead()
            return function(self.get_connection())

    # -- lifecycle events ------------------------------------------------------

    def add_lifecycle_listener(self, listener: LifecycleListener) -> None:
        self._listeners.append(listener)

    def _lifecycle_event(self, conn: Any, dom: Any, event: int, detail: int,
                         opaque: Any) -> None:
        state = _EVENT_POWER_STATES.get(event)
        if state is None:
            return
        if event == libvirt.VIR_DOMAIN_EVENT_STOPPED and \
                detail == libvirt.VIR_DOMAIN_EVENT_STOPPED_SAVED:
            state = power_state.SUSPENDED
        try:
            name = dom.name()
            uuid = dom.UUIDString()
        except libvirt.libvirtError:
            return
        if not name.startswith(config.DOMAIN_NAME_PREFIX):
            return
        for listener in list(self._listeners):
            try:
                listener(uuid, state)
            except Exception:
                LOG.exception("Lifecycle listener failed for %s", uuid)

    # -- domains ---------------------------------------------------------------

    def get_domain(self, instance_uuid: str) -> libvirt.virDomain:
        try:
            return self.call(lambda conn: conn.lookupByUUIDString(instance_uuid))
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                raise exception.InstanceNotFound(instance_id=instance_uuid) from None
            raise

    def kumo_domains(self) -> list[libvirt.virDomain]:
        """The domains kumo made (named ``kumo-<uuid>``), running or not."""
        return [dom for dom in self.call(lambda conn: conn.listAllDomains(0))
                if dom.name().startswith(config.DOMAIN_NAME_PREFIX)]

    # -- the host's resources --------------------------------------------------

    def node_info(self) -> dict[str, Any]:
        """virNodeGetInfo, the libvirt/hypervisor versions and the host CPU."""
        conn = self.get_connection()
        model, memory_mb, cpus, mhz, nodes, sockets, cores, threads = conn.getInfo()
        caps = ET.fromstring(conn.getCapabilities())
        cpu = caps.find("host/cpu")
        cpu_info = {
            "arch": (cpu.findtext("arch") if cpu is not None else None) or model,
            "model": (cpu.findtext("model") if cpu is not None else None) or model,
            "vendor": (cpu.findtext("vendor") if cpu is not None else None) or "unknown",
            "topology": {"sockets": sockets * nodes, "cores": cores, "threads": threads},
            "features": sorted(f.get("name") for f in cpu.findall("feature"))
            if cpu is not None else [],
        }
        return {
            "hostname": conn.getHostname(),
            "type": conn.getType(),
            "version": conn.getVersion(),
            "libvirt_version": conn.getLibVersion(),
            "vcpus": cpus,
            "memory_mb": memory_mb,
            "mhz": mhz,
            "cpu_info": json.dumps(cpu_info, sort_keys=True),
        }
