"""The one interface every hypervisor driver implements.

Each method is documented here once; drivers implement, never extend it.
Drivers take :class:`kumo.objects.instance.Instance` objects and name guests
by the instance uuid; every guest operation takes the request context first.
Errors are the typed errors of :mod:`kumo.exception`: an operation on a
guest the hypervisor does not have raises ``InstanceNotFound`` (except
:meth:`ComputeDriver.destroy`, for which a missing guest is already the
goal), and an operation the guest's power state does not allow raises
``InstanceInvalidState``.

Drivers are called from several RPC worker threads at once and must be
thread-safe.
"""

from __future__ import annotations

import abc
from typing import Any

from kumo import exception
from kumo.compute import power_state

# Keys of the dict :meth:`ComputeDriver.get_node_resources` returns: exactly
# what kumo-compute reports to the conductor (``compute_nodes_report``).
NODE_RESOURCE_KEYS = (
    "hypervisor_hostname",
    "hypervisor_type",
    "hypervisor_version",
    "vcpus",
    "memory_mb",
    "local_gb",
    "cpu_info",
    "host_ip",
)

# Reboot types of :meth:`ComputeDriver.reboot`, as in the Compute API.
REBOOT_SOFT = "SOFT"
REBOOT_HARD = "HARD"

# The power states each guarded power operation may start from; from any
# other the driver raises InstanceInvalidState (see check_power_state).
POWER_OPERATION_STATES: dict[str, tuple[int, ...]] = {
    "power_on": (power_state.SHUTDOWN, power_state.CRASHED, power_state.RUNNING),
    "pause": (power_state.RUNNING,),
    "unpause": (power_state.PAUSED,),
    "suspend": (power_state.RUNNING, power_state.PAUSED),
    "resume": (power_state.SUSPENDED,),
}


def check_power_state(instance: Any, action: str, state: int,
                      allowed: tuple[int, ...] | None = None) -> None:
    """Refuse ``action`` on a guest in power ``state``.

    ``allowed`` defaults to the action's :data:`POWER_OPERATION_STATES`.
    :raises InstanceInvalidState: ``state`` is not one ``action`` may start from.
    """
    if allowed is None:
        allowed = POWER_OPERATION_STATES[action]
    if state not in allowed:
        raise exception.InstanceInvalidState(
            action=action, instance_uuid=instance.uuid, attr="power_state",
            state=power_state.NAMES.get(state, state))


def console_address(host: str, port: int, tls_port: int | None = None,
                    internal_access_path: str | None = None) -> dict[str, Any]:
    """What :meth:`ComputeDriver.get_vnc_console` and ``get_spice_console`` return:
    a plain dict, so it crosses RPC and lands in a console token as it is."""
    return {"host": host, "port": int(port),
            "tls_port": None if tls_port is None else int(tls_port),
            "internal_access_path": internal_access_path}


class ComputeDriver(abc.ABC):
    """A hypervisor as kumo-compute sees it: one or more nodes on one host."""

    # -- the host ------------------------------------------------------------

    def init_host(self, host: str) -> None:  # noqa: B027  (optional hook)
        """Connect to the hypervisor; called once before the service takes work."""

    def cleanup_host(self, host: str) -> None:  # noqa: B027  (optional hook)
        """Release what init_host took; called once when the service stops."""

    @abc.abstractmethod
    def get_available_nodes(self) -> list[str]:
        """Names of the hypervisor nodes this driver manages (hypervisor_hostname)."""

    @abc.abstractmethod
    def get_node_resources(self, nodename: str) -> dict[str, Any]:
        """Inventory of one node, with the keys of :data:`NODE_RESOURCE_KEYS`.

        ``cpu_info`` is a JSON string (arch, model, vendor, topology, features);
        ``hypervisor_version`` an integer (e.g. 8002000 for 8.2.0).
        Raises ``ComputeNodeNotFound`` for a node this driver does not manage.
        """

    # -- guests --------------------------------------------------------------

    @abc.abstractmethod
    def list_instance_uuids(self, node: str | None = None) -> list[str]:
        """Uuids of the guests the hypervisor has (on ``node``, or on all nodes)."""

    @abc.abstractmethod
    def get_info(self, instance: Any) -> int:
        """The guest's power state (a :mod:`kumo.compute.power_state` constant).

        Raises ``InstanceNotFound`` when the hypervisor has no such guest.
        """

    @abc.abstractmethod
    def spawn(self, ctxt: Any, instance: Any, image_meta: dict[str, Any],
              network_info: list[Any], node: str) -> None:
        """Create and start the guest of ``instance`` on ``node``; returns once it runs.

        ``image_meta`` is the request spec's image dict (id, properties,
        min_ram, min_disk, size); ``network_info`` the guest's network
        interfaces (empty until kumo-network joins the build). On failure the
        driver leaves no guest behind and raises; kumo-compute then reschedules.
        """

    @abc.abstractmethod
    def destroy(self, ctxt: Any, instance: Any) -> None:
        """Power the guest off and delete it with its disks; a missing guest is fine."""

    @abc.abstractmethod
    def reboot(self, ctxt: Any, instance: Any, reboot_type: str) -> None:
        """Restart the guest: ``SOFT`` asks the guest OS, ``HARD`` resets it.

        Afterwards the guest runs, whatever its power state was before.
        """

    @abc.abstractmethod
    def power_off(self, ctxt: Any, instance: Any, timeout: float = 0) -> None:
        """Stop the guest (power state SHUTDOWN); stopping a stopped guest is fine.

        ``timeout`` > 0 asks for a clean shutdown first: the guest OS is asked
        to shut down (ACPI power button) and given up to ``timeout`` seconds
        before it is powered off forcibly; 0 powers it off at once.
        """

    @abc.abstractmethod
    def power_on(self, ctxt: Any, instance: Any) -> None:
        """Start a stopped guest (power state RUNNING); starting a running one is fine."""

    @abc.abstractmethod
    def pause(self, ctxt: Any, instance: Any) -> None:
        """Freeze a running guest in memory (power state PAUSED)."""

    @abc.abstractmethod
    def unpause(self, ctxt: Any, instance: Any) -> None:
        """Let a paused guest run again."""

    @abc.abstractmethod
    def suspend(self, ctxt: Any, instance: Any) -> None:
        """Save a running or paused guest's memory to disk and stop it (SUSPENDED)."""

    @abc.abstractmethod
    def resume(self, ctxt: Any, instance: Any) -> None:
        """Restore a suspended guest from disk; it runs again."""

    @abc.abstractmethod
    def get_console_output(self, ctxt: Any, instance: Any) -> str:
        """What the guest wrote to its serial console so far."""

    def get_vnc_console(self, ctxt: Any, instance: Any) -> dict[str, Any]:
        """Where the console proxies reach the running guest's VNC display.

        Returns :func:`console_address` (host, port, tls_port,
        internal_access_path). Raises ``InstanceNotFound`` without a guest,
        ``ConsoleTypeUnavailable`` when the guest has no VNC display (or is not
        running), ``ConsoleNotImplemented`` for a driver without VNC (this default).
        """
        raise exception.ConsoleNotImplemented(protocol="vnc")

    def get_spice_console(self, ctxt: Any, instance: Any) -> dict[str, Any]:
        """As :meth:`get_vnc_console`, for the guest's SPICE display."""
        raise exception.ConsoleNotImplemented(protocol="spice")

    @abc.abstractmethod
    def snapshot(self, ctxt: Any, instance: Any, image_id: str) -> dict[str, Any]:
        """Capture the guest's root disk as the queued image ``image_id``.

        Returns the image's data description: ``disk_format``,
        ``container_format`` and ``size`` (bytes), and either ``uploaded``
        True (the driver sent the bytes itself with
        :meth:`kumo.image.api.ImageAPI.upload`, which knows the backend: the
        local store or Glance) or ``data``, the bytes, which kumo-compute
        uploads the same way.
        """

    # -- moves (resize and cold migration) ----------------------------------------

    def migration_source(self, instance: Any) -> dict[str, str] | None:
        """After :meth:`destroy` on a resize's source (task ``resize_migrating``):
        where the destination finds the disks this host kept, ``{"host", "path"}``,
        recorded in the server's system_metadata for the destination's spawn.
        None (this default): the driver keeps nothing, the guest starts afresh."""
        return None

    def confirm_migration(self, ctxt: Any, instance: Any) -> None:  # noqa: B027
        """On the source of a confirmed resize, a finished live migration, or a server
        deleted while it was moved away: drop what it kept for a revert or rollback."""

    # -- live migration -------------------------------------------------------------------

    def live_migration_out(self, ctxt: Any, instance: Any, dest_host: str) -> dict[str, Any]:
        """Source side of a live migration: stop the guest, keeping what the
        destination needs to run it on, and return the handoff for
        :meth:`live_migration_in` (a JSON-able dict with at least ``power``, the
        guest's power state). On failure the guest still runs here.

        This default keeps nothing: the guest is destroyed and the destination
        starts it afresh from its image (a driver without state worth carrying).
        """
        power = self.get_info(instance)
        self.destroy(ctxt, instance)
        return {"power": power}

    def live_migration_in(self, ctxt: Any, instance: Any, handoff: dict[str, Any],
                          node: str) -> int:
        """Destination side: run the guest on ``node`` from ``handoff``; its power
        state. On failure nothing is left here and the source rolls back.

        This default spawns the guest from its image (paused again if it was).
        """
        return self._start_afresh(ctxt, instance, handoff, node)

    def live_migration_rollback(self, ctxt: Any, instance: Any, handoff: dict[str, Any],
                                node: str) -> int:
        """Source side after the destination failed: run the guest here again
        from what :meth:`live_migration_out` kept; its power state. After
        success the source is told :meth:`confirm_migration` instead."""
        return self._start_afresh(ctxt, instance, handoff, node)

    def _start_afresh(self, ctxt: Any, instance: Any, handoff: dict[str, Any],
                      node: str) -> int:
        image_ref = instance.image_ref if instance.obj_attr_is_set("image_ref") else None
        self.spawn(ctxt, instance, {"id": image_ref}, network_info=[], node=node)
        if handoff.get("power") == power_state.PAUSED:
            self.pause(ctxt, instance)
            return power_state.PAUSED
        return power_state.RUNNING
