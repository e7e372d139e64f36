"""FakeDriver: nodes and guests that exist only in memory, sized by the [fake] options.

One kumo-compute process serves ``[fake] node_count`` nodes, named after the
host (``<host>`` when there is one, ``<host>-node<i>`` from 0 otherwise), so a
scale test fits hundreds of hypervisors on one machine. Guests behave as on a
hypervisor: they have a power state that the power operations change, an
operation on a missing guest raises ``InstanceNotFound``, and an operation the
power state does not allow raises ``InstanceInvalidState``. A spawn takes
``[fake] spawn_delay`` seconds (other operations a tenth of it) and fails
with ``InstanceFaultInjected`` on the nodes of ``[fake] fail_spawn_on_nodes``.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from kumo import exception
from kumo.compute import power_state
from kumo.virt import driver

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

HYPERVISOR_TYPE = "fake"
HYPERVISOR_VERSION = 1000
# The interface's power states each power operation may start from.
_ALLOWED = driver.POWER_OPERATION_STATES


@dataclasses.dataclass
class FakeGuest:
    """One guest of the fake hypervisor."""

    uuid: str
    node: str
    name: str
    vcpus: int
    memory_mb: int
    power_state: int = power_state.RUNNING
    console: list[str] = dataclasses.field(default_factory=list)
    # The VIFs kumo-network gave the server (its network_info), as plugged.
    network_info: list[Any] = dataclasses.field(default_factory=list)


def fake_disk(server_uuid: str, name: str = "") -> bytes:
    """The bytes of a fake guest's snapshot, naming the server: tests can tell whose
    snapshot an image is (and make a big one with a long server name)."""
    return f"kumo fake disk of server {server_uuid} ({name})\n".encode()


def node_names(host: str, count: int) -> list[str]:
    """The names of the ``count`` fake nodes of ``host``."""
    if count == 1:
        return [host]
    return [f"{host}-node{index}" for index in range(count)]


class FakeDriver(driver.ComputeDriver):
    def __init__(self) -> None:
        self.host = CONF.host
        self._lock = threading.Lock()
        self._guests: dict[str, FakeGuest] = {}
        # Snapshots taken: image id -> instance uuid (for tests).
        self.snapshots: dict[str, str] = {}

    def init_host(self, host: str) -> None:
        self.host = host

    # -- the host ------------------------------------------------------------

    def get_available_nodes(self) -> list[str]:
        return node_names(self.host, CONF.fake.node_count)

    def get_node_resources(self, nodename: str) -> dict[str, Any]:
        if nodename not in self.get_available_nodes():
            raise exception.ComputeNodeNotFound(node=nodename)
        vcpus = CONF.fake.vcpus
        return {
            "hypervisor_hostname": nodename,
            "hypervisor_type": HYPERVISOR_TYPE,
            "hypervisor_version": HYPERVISOR_VERSION,
            "vcpus": vcpus,
            "memory_mb": CONF.fake.memory_mb,
            "local_gb": CONF.fake.local_gb,
            "cpu_info": json.dumps({
                "arch": "x86_64", "model": "fake", "vendor": "kumo",
                "topology": {"sockets": 1, "cores": vcpus, "threads": 1},
                "features": [],
            }, sort_keys=True),
            "host_ip": CONF.compute.host_ip or "127.0.0.1",
        }

    # -- guests --------------------------------------------------------------

    def list_instance_uuids(self, node: str | None = None) -> list[str]:
        with self._lock:
            return [guest.uuid for guest in self._guests.values()
                    if node is None or guest.node == node]

    def get_info(self, instance: Any) -> int:
        with self._lock:
            return self._guest(instance).power_state

    def guest(self, instance_uuid: str) -> FakeGuest | None:
        """A copy of the guest of ``instance_uuid``, or None (for tests)."""
        with self._lock:
            guest = self._guests.get(instance_uuid)
            return dataclasses.replace(guest, console=list(guest.console)) if guest else None

    def spawn(self, ctxt: Any, instance: Any, image_meta: dict[str, Any],
              network_info: list[Any], node: str) -> None:
        if node not in self.get_available_nodes():
            raise exception.ComputeNodeNotFound(node=node)
        with self._lock:
            self._refuse_existing(instance)
        time.sleep(CONF.fake.spawn_delay)
        if node in CONF.fake.fail_spawn_on_nodes:
            raise exception.InstanceFaultInjected(operation="spawn", node=node)
        guest = FakeGuest(
            uuid=instance.uuid, node=node,
            name=instance.display_name if instance.obj_attr_is_set("display_name")
            and instance.display_name else instance.uuid,
            vcpus=instance.vcpus if instance.obj_attr_is_set("vcpus") else 1,
            memory_mb=instance.memory_mb if instance.obj_attr_is_set("memory_mb") else 512,
            network_info=list(network_info or []),
        )
        guest.console.append(f"fake guest {guest.name} booted on {node} "
                             f"from image {image_meta.get('id')}")
        with self._lock:
            # Checked again: another spawn of the same server may have won meanwhile.
            self._refuse_existing(instance)
            self._guests[instance.uuid] = guest
        LOG.debug("Fake guest %s runs on %s", instance.uuid, node)

    def destroy(self, ctxt: Any, instance: Any) -> None:
        self._operation_delay()
        with self._lock:
            self._guests.pop(instance.uuid, None)

    def reboot(self, ctxt: Any, instance: Any, reboot_type: str) -> None:
        self._change(instance, "reboot", None, power_state.RUNNING,
                     f"{reboot_type.lower()} reboot")

    def power_off(self, ctxt: Any, instance: Any, timeout: float = 0) -> None:
        # A fake guest honours the shutdown request at once: nothing to wait for.
        self._change(instance, "power_off",
                     (power_state.RUNNING, power_state.PAUSED, power_state.SUSPENDED,
                      power_state.SHUTDOWN, power_state.CRASHED),
                     power_state.SHUTDOWN, "powered off")

    def power_on(self, ctxt: Any, instance: Any) -> None:
        self._change(instance, "power_on", _ALLOWED["power_on"], power_state.RUNNING,
                     "powered on")

    def pause(self, ctxt: Any, instance: Any) -> None:
        self._change(instance, "pause", _ALLOWED["pause"], power_state.PAUSED, "paused")

    def unpause(self, ctxt: Any, instance: Any) -> None:
        self._change(instance, "unpause", _ALLOWED["unpause"], power_state.RUNNING,
                     "unpaused")

    def suspend(self, ctxt: Any, instance: Any) -> None:
        self._change(instance, "suspend", _ALLOWED["suspend"], power_state.SUSPENDED,
                     "suspended")

    def resume(self, ctxt: Any, instance: Any) -> None:
        self._change(instance, "resume", _ALLOWED["resume"], power_state.RUNNING, "resumed")

    def get_console_output(self, ctxt: Any, instance: Any) -> str:
        with self._lock:
            return "".join(line + "\n" for line in self._guest(instance).console)

    def get_vnc_console(self, ctxt: Any, instance: Any) -> dict[str, Any]:
        """The same ``[fake] console_host:vnc_port`` for every guest that runs."""
        self._check_display(instance, "vnc")
        return driver.console_address(CONF.fake.console_host, CONF.fake.vnc_port)

    def get_spice_console(self, ctxt: Any, instance: Any) -> dict[str, Any]:
        """``[fake] console_host:spice_port`` for every guest that runs (no TLS port)."""
        self._check_display(instance, "spice")
        return driver.console_address(CONF.fake.console_host, CONF.fake.spice_port)

    def _check_display(self, instance: Any, kind: str) -> None:
        # As on a hypervisor: a guest that does not run has no display to reach.
        with self._lock:
            if self._guest(instance).power_state not in (power_state.RUNNING,
                                                         power_state.PAUSED):
                raise exception.ConsoleTypeUnavailable(console_type=kind)

    def snapshot(self, ctxt: Any, instance: Any, image_id: str) -> dict[str, Any]:
        """The fake guest's "disk": a line naming the server (``data``), which the
        caller uploads to the image service."""
        self._operation_delay()
        with self._lock:
            guest = self._guest(instance)
            guest.console.append(f"snapshot {image_id} taken")
            self.snapshots[image_id] = guest.uuid
        data = fake_disk(guest.uuid, guest.name or "")
        return {"disk_format": "raw", "container_format": "bare", "size": len(data),
                "data": data}

    # -- live migration ------------------------------------------------------

    def live_migration_out(self, ctxt: Any, instance: Any, dest_host: str) -> dict[str, Any]:
        """Hand the guest itself over: its power state, console and VIFs travel in the
        handoff (JSON, as over RPC to another kumo-compute), nothing restarts."""
        self._operation_delay()
        with self._lock:
            guest = self._guests.pop(instance.uuid, None)
            if guest is None:
                raise exception.InstanceNotFound(instance_id=instance.uuid)
        carried = {field.name: getattr(guest, field.name)
                   for field in dataclasses.fields(FakeGuest) if field.name != "node"}
        return {"power": guest.power_state, "guest": json.loads(json.dumps(carried))}

    def live_migration_in(self, ctxt: Any, instance: Any, handoff: dict[str, Any],
                          node: str) -> int:
        if node not in self.get_available_nodes():
            raise exception.ComputeNodeNotFound(node=node)
        if node in CONF.fake.fail_spawn_on_nodes:
            raise exception.InstanceFaultInjected(operation="live migration", node=node)
        return self._carry_in(ctxt, instance, handoff, node, "migrated to")

    def live_migration_rollback(self, ctxt: Any, instance: Any, handoff: dict[str, Any],
                                node: str) -> int:
        return self._carry_in(ctxt, instance, handoff, node, "rolled back to")

    def _carry_in(self, ctxt: Any, instance: Any, handoff: dict[str, Any], node: str,
                  what: str) -> int:
        carried = handoff.get("guest")
        if not carried:
            return self._start_afresh(ctxt, instance, handoff, node)
        self._operation_delay()
        guest = FakeGuest(node=node, **carried)
        guest.console.append(f"fake guest {guest.name} {what} {node}")
        with self._lock:
            self._refuse_existing(instance)
            self._guests[instance.uuid] = guest
        return guest.power_state

    # -- helpers -------------------------------------------------------------

    def set_power_state(self, instance_uuid: str, state: int) -> None:
        """Change a guest's power state behind kumo's back, as a guest OS may (tests)."""
        with self._lock:
            guest = self._guests.get(instance_uuid)
            if guest is None:
                raise exception.InstanceNotFound(instance_id=instance_uuid)
            guest.power_state = state

    def _guest(self, instance: Any) -> FakeGuest:
        guest = self._guests.get(instance.uuid)
        if guest is None:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        return guest

    def _refuse_existing(self, instance: Any) -> None:
        if instance.uuid in self._guests:
            raise exception.InstanceInvalidState(
                action="spawn", instance_uuid=instance.uuid, attr="guest",
                state=f"existing on {self._guests[instance.uuid].node}")

    def _change(self, instance: Any, action: str, allowed: tuple[int, ...] | None,
                new_state: int, what: str) -> None:
        self._operation_delay()
        with self._lock:
            guest = self._guest(instance)
            if allowed is not None:
                driver.check_power_state(instance, action, guest.power_state, allowed)
            guest.power_state = new_state
            guest.console.append(f"fake guest {guest.name} {what}")

    @staticmethod
    def _operation_delay() -> None:
        if CONF.fake.spawn_delay:
            time.sleep(CONF.fake.spawn_delay / 10)
