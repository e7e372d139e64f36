"""kumo-compute's move actions: resize/migrate (both ends), revert, rebuild, snapshot.

Mixed into :class:`kumo.compute.manager.ComputeManager`, whose helpers
(``conductor``, ``driver``, ``_set_error``, ``_destroy_quietly``) it uses.
Every path ends with a guarded update that clears the task, or ERROR with a
fault; a move that fails gives its destination claim back.
"""

from __future__ import annotations

import functools
import json
import threading
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import timeutils

from kumo import exception
from kumo.compute import faults, power_state, task_states, vm_states
from kumo.compute import rpcapi as compute_rpcapi
from kumo.compute.faults import fault_from_exception
from kumo.compute.power import shutdown_timeout
from kumo.compute.system_metadata import (
    MOVE_KEYS,
    OLD_FLAVOR,
    OLD_HOST,
    OLD_NODE,
    OLD_VM_STATE,
    RESIZE_SOURCE_DISKS,
    SHELVED_IMAGE_ID,
)

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

# Task states of a snapshot (createImage).
SNAPSHOT_TASK_STATES = (task_states.IMAGE_SNAPSHOT, task_states.IMAGE_SNAPSHOT_PENDING,
                        task_states.IMAGE_UPLOADING)
# Task states in which kumo-compute works on a move action; a restart interrupts them.
# (resize_prep, resize_confirming and unshelving are the conductor's.)
INTERRUPTIBLE_TASK_STATES = (
    task_states.RESIZE_MIGRATING, task_states.RESIZE_MIGRATED, task_states.RESIZE_FINISH,
    task_states.RESIZE_REVERTING, task_states.MIGRATING, task_states.REBUILDING,
    task_states.REBUILD_SPAWNING, task_states.SHELVING, task_states.SHELVING_OFFLOADING,
    task_states.SOFT_DELETING, task_states.RESTORING, *SNAPSHOT_TASK_STATES)

_SIZES = ("vcpus", "memory_mb", "root_gb", "ephemeral_gb", "swap")

_Method = TypeVar("_Method", bound=Callable[..., Any])
# The failures noted while an RPC method runs (one list per method call, innermost
# last): a method that handles its own failure still records its event as Error.
_failures = threading.local()


def note_failure(message: str) -> None:
    """Mark the running recorded RPC method as failed (its event's result Error)."""
    stack = getattr(_failures, "stack", None)
    if stack:
        stack[-1].append(message)


# Noted by a method that finished its own event with its last update (one call).
_EVENT_FINISHED = object()


def note_event_finished() -> None:
    """The running recorded RPC method finished its event itself, as a success, in
    the same conductor call as its last update: the decorator records nothing more."""
    stack = getattr(_failures, "stack", None)
    if stack:
        stack[-1].append(_EVENT_FINISHED)


def recorded(method: _Method) -> _Method:
    """Record the RPC method as the event ``compute_<name>`` of the request's instance
    action (os-instance-actions): start, then finish Success or Error."""
    event = f"compute_{method.__name__}"

    @functools.wraps(method)
    def wrapper(self: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
        instance = kwargs["instance"] if "instance" in kwargs else args[0]
        self._event(context, instance, "start", event)
        stack = _failures.__dict__.setdefault("stack", [])
        stack.append([])
        try:
            result = method(self, context, *args, **kwargs)
        except Exception as exc:
            stack.pop()
            self._event(context, instance, "finish", event, result="Error",
                        traceback="".join(traceback.format_exception(exc)))
            raise
        failures = stack.pop()
        if _EVENT_FINISHED in failures:
            return result
        if failures:
            self._event(context, instance, "finish", event, result="Error",
                        traceback="\n".join(failures))
        else:
            self._event(context, instance, "finish", event, result="Success")
        return result

    return wrapper  # type: ignore[return-value]


def _flavor_columns(flavor: dict[str, Any]) -> dict[str, Any]:
    columns = {name: flavor.get(name, 0) or 0 for name in _SIZES}
    columns.update({"flavor": dict(flavor), "flavor_id": flavor.get("id")})
    return columns


def _with_sizes(instance: Any, flavor: dict[str, Any]) -> Any:
    """The instance object with the flavor's sizes, for the driver's spawn."""
    for name in _SIZES:
        if name in instance.fields:
            setattr(instance, name, flavor.get(name, 0) or 0)
    return instance


def _image_of(instance: Any) -> dict[str, Any]:
    """The image the server was built from, for a driver's spawn on another host."""
    return {"id": instance.image_ref if instance.obj_attr_is_set("image_ref") else None}


def _system_metadata(instance: Any) -> dict[str, Any]:
    if instance.obj_attr_is_set("system_metadata"):
        return dict(instance.system_metadata or {})
    return {}


class MoveActionsMixin:
    """RPC API 1.3 of kumo-compute: the move actions (docs/compute-flow.md)."""

    conductor: Any
    driver: Any
    host: str
    _event: Callable[..., None]  # PowerActionsMixin's
    # ComputeManager's:
    terminate_instance: Callable[..., None]
    _destroy_quietly: Callable[..., None]
    _set_error: Callable[..., None]

    def _compute_rpc(self) -> compute_rpcapi.ComputeAPI:
        return compute_rpcapi.ComputeAPI()

    # -- resize and cold migration -------------------------------------------------------

    @recorded
    def resize_instance(self, context: Any, instance: Any, dest_host: str, dest_node: str,
                        flavor: dict[str, Any]) -> None:
        """Source side: take the guest down, hand the server to the destination host."""
        LOG.info("Moving server %s away from %s to %s/%s", instance.uuid, instance.node,
                 dest_host, dest_node)
        try:
            self.driver.destroy(context, instance)
            values: dict[str, Any] = {"task_state": task_states.RESIZE_MIGRATED}
            source = self.driver.migration_source(instance)
            if source is not None:
                # Where the destination's driver finds the disks kept here.
                values["system_metadata"] = {RESIZE_SOURCE_DISKS: json.dumps(source)}
            instance = self.conductor.instance_update(
                context, instance_uuid=instance.uuid, values=values,
                expected_task_state=task_states.RESIZE_MIGRATING)
        except (exception.InstanceNotFound, exception.UnexpectedTaskStateError) as exc:
            LOG.info("Server %s changed while it was moved: %s", instance.uuid, exc)
            self._release_migration_claim(context, instance)
            self.cleanup_move_source(context, instance)  # the disks kept for it
            return
        except Exception as exc:
            self._move_failed(context, instance, exc, task_states.RESIZE_MIGRATING)
            return
        self._compute_rpc().finish_resize(context, instance=instance, node=dest_node,
                                          flavor=flavor, host=dest_host)

    @recorded
    def finish_resize(self, context: Any, instance: Any, node: str,
                      flavor: dict[str, Any]) -> None:
        """Destination side: start the guest on ``node`` with the new flavor: VERIFY_RESIZE."""
        uuid = instance.uuid
        old_vm_state = _system_metadata(instance).get(OLD_VM_STATE) or vm_states.ACTIVE
        try:
            state = self._spawn_moved(context, instance, flavor, node, old_vm_state)
        except Exception as exc:
            self._destroy_quietly(context, instance)
            self._move_failed(context, instance, exc, task_states.RESIZE_MIGRATED)
            return
        values = {"host": self.host, "node": node, "vm_state": vm_states.RESIZED,
                  "task_state": None, "power_state": state, **_flavor_columns(flavor)}
        if not self._finish_move(context, instance, values, task_states.RESIZE_MIGRATED):
            return
        LOG.info("Server %s moved to %s/%s, waiting for confirmation", uuid, self.host, node)

    @recorded
    def confirm_resize(self, context: Any, instance: Any) -> None:
        """Source side of a confirmed resize (1.4): drop the disks kept for a revert."""
        self.driver.confirm_migration(context, instance)
        self.drop_console_tokens(context, instance)  # the server left this host

    @recorded
    def revert_resize(self, context: Any, instance: Any) -> None:
        """Destination side of a revert: take the guest down, hand back to the source."""
        source = _system_metadata(instance).get(OLD_HOST)
        try:
            self.driver.destroy(context, instance)
        except Exception as exc:
            self._move_failed(context, instance, exc, task_states.RESIZE_REVERTING)
            return
        if not source:
            self._move_failed(context, instance, exception.KumoException(
                "the source host of the resize is not recorded"),
                task_states.RESIZE_REVERTING)
            return
        self._compute_rpc().finish_revert_resize(context, instance=instance, host=source)

    @recorded
    def finish_revert_resize(self, context: Any, instance: Any) -> None:
        """Source side of a revert: start the guest with the old flavor on the old node."""
        system_metadata = _system_metadata(instance)
        old_flavor = json.loads(system_metadata.get(OLD_FLAVOR) or "{}")
        node = system_metadata.get(OLD_NODE) or instance.node
        old_vm_state = system_metadata.get(OLD_VM_STATE) or vm_states.ACTIVE
        values: dict[str, Any] = {"host": self.host, "node": node}
        try:
            state = self._spawn_moved(context, instance, old_flavor, node, old_vm_state)
        except Exception as exc:
            self._destroy_quietly(context, instance)
            self._move_failed(context, instance, exc, task_states.RESIZE_REVERTING,
                              values={**values, **_flavor_columns(old_flavor)})
            return
        values.update({"vm_state": old_vm_state, "task_state": None, "power_state": state,
                       "system_metadata": dict.fromkeys(MOVE_KEYS),
                       **_flavor_columns(old_flavor)})
        if self._finish_move(context, instance, values, task_states.RESIZE_REVERTING):
            LOG.info("Resize of server %s reverted", instance.uuid)

    def _spawn_moved(self, context: Any, instance: Any, flavor: dict[str, Any], node: str,
                     old_vm_state: str) -> int:
        """Spawn the guest of a moved server with ``flavor`` on ``node``, powered off
        if it was STOPPED before the move; returns the guest's power state."""
        self.driver.spawn(context, _with_sizes(instance, flavor), _image_of(instance),
                          network_info=[], node=node)
        if old_vm_state == vm_states.STOPPED:
            self.driver.power_off(context, instance)
            return power_state.SHUTDOWN
        return power_state.RUNNING

    # -- rebuild ---------------------------------------------------------------------------

    @recorded
    def rebuild_instance(self, context: Any, instance: Any, image: dict[str, Any]) -> None:
        """Replace the guest with one booted from ``image``: ACTIVE (or ERROR with a fault)."""
        LOG.info("Rebuilding server %s from image %s", instance.uuid, image.get("id"))
        values: dict[str, Any] = {"vm_state": vm_states.ACTIVE, "task_state": None,
                                  "power_state": power_state.RUNNING,
                                  "image_ref": image.get("id")}

        def rebuild() -> None:
            self.driver.destroy(context, instance)
            self.driver.spawn(context, instance, image, network_info=[], node=instance.node)
            values["launched_at"] = timeutils.utcnow().isoformat()

        self._driver_step(context, instance, rebuild, "Rebuilding the server failed",
                          "rebuilt", values, task_states.REBUILDING)

    # -- snapshot ----------------------------------------------------------------------------

    @recorded
    def snapshot_instance(self, context: Any, instance: Any, image_id: str) -> None:
        """Capture the guest into the queued image ``image_id``; the image goes active,
        or is deleted when the snapshot fails. The server's task is cleared either way."""
        LOG.info("Snapshotting server %s into image %s", instance.uuid, image_id)
        try:
            self._snapshot_into(context, instance, image_id)
        except Exception as exc:
            LOG.exception("Snapshot of server %s failed", instance.uuid)
            self._delete_image_quietly(context, image_id)
            self._fault(context, instance, exc, f"Snapshot failed: {exc}")
        self._update_unless_changed(context, instance, "snapshotted", {"task_state": None},
                                    list(SNAPSHOT_TASK_STATES))

    # -- shelve -------------------------------------------------------------------------------

    @recorded
    def shelve_instance(self, context: Any, instance: Any, image_id: str) -> None:
        """Power off, snapshot into ``image_id``: SHELVED; with [DEFAULT]
        shelved_offload_time 0, offloaded at once: SHELVED_OFFLOADED."""
        LOG.info("Shelving server %s into image %s", instance.uuid, image_id)
        try:
            self.driver.power_off(context, instance, timeout=shutdown_timeout(instance))
            self._snapshot_into(context, instance, image_id)
        except Exception as exc:
            self._delete_image_quietly(context, image_id)
            self._set_error(context, instance, exc, f"Shelving the server failed: {exc}",
                            expected_task_state=task_states.SHELVING)
            return
        shelved = self._update_unless_changed(
            context, instance, "shelved",
            {"vm_state": vm_states.SHELVED, "task_state": None,
             "power_state": power_state.SHUTDOWN,
             "system_metadata": {SHELVED_IMAGE_ID: image_id,
                                 "shelved_at": timeutils.utcnow().isoformat(),
                                 "shelved_host": self.host}},
            task_states.SHELVING)
        if shelved is None:
            self._delete_image_quietly(context, image_id)
            return
        instance = shelved
        if CONF.shelved_offload_time == 0:
            self.shelve_offload_instance(context, instance)

    @recorded
    def shelve_offload_instance(self, context: Any, instance: Any) -> None:
        """Destroy a SHELVED server's guest, give back its claim, forget its host.

        The API's shelveOffload set the task already; the shelve itself and the
        periodic offload take it here.
        """
        try:
            if instance.task_state != task_states.SHELVING_OFFLOADING:
                instance = self.conductor.instance_update(
                    context, instance_uuid=instance.uuid,
                    values={"task_state": task_states.SHELVING_OFFLOADING},
                    expected_task_state=[None], expected_vm_state=[vm_states.SHELVED])
            self.driver.destroy(context, instance)
            self.drop_console_tokens(context, instance)  # the server leaves this host
            claimed = _system_metadata(instance).get("claimed_node")
            self.conductor.instance_update(
                context, instance_uuid=instance.uuid,
                values={"vm_state": vm_states.SHELVED_OFFLOADED, "task_state": None,
                        "power_state": power_state.NOSTATE, "host": None, "node": None},
                expected_task_state=task_states.SHELVING_OFFLOADING)
        except (exception.InstanceNotFound, exception.UnexpectedTaskStateError) as exc:
            LOG.info("Server %s changed while it was offloaded: %s", instance.uuid, exc)
            return
        except Exception as exc:
            self._set_error(context, instance, exc, f"Offloading the server failed: {exc}",
                            expected_task_state=task_states.SHELVING_OFFLOADING)
            return
        if claimed:
            self.conductor.compute_node_release(context, node_uuid=claimed,
                                                instance_uuid=instance.uuid)
        LOG.info("Server %s shelved and offloaded", instance.uuid)

    @recorded
    def unshelve_instance(self, context: Any, instance: Any, node: str | None) -> None:
        """Start a shelved server again: on ``node`` from its shelved image (offloaded,
        the node already claimed by the conductor) or, ``node`` None, power its guest on."""
        system_metadata = _system_metadata(instance)
        image_id = system_metadata.get(SHELVED_IMAGE_ID)
        try:
            if node is None:
                self.driver.power_on(context, instance)
            else:
                self.driver.spawn(context, instance, {"id": image_id}, network_info=[],
                                  node=node)
        except Exception as exc:
            LOG.warning("Unshelving server %s failed: %s", instance.uuid, exc)
            self._unshelve_failed(context, instance, node, exc)
            return
        if self._update_unless_changed(
                context, instance, "unshelved",
                {"vm_state": vm_states.ACTIVE, "task_state": None,
                 "power_state": power_state.RUNNING,
                 "system_metadata": dict.fromkeys(
                     (SHELVED_IMAGE_ID, "shelved_at", "shelved_host"))},
                task_states.UNSHELVING) is None:
            return
        if image_id:
            self._delete_image_quietly(context, image_id)
        LOG.info("Server %s unshelved", instance.uuid)

    def _unshelve_failed(self, context: Any, instance: Any, node: str | None,
                         exc: BaseException) -> None:
        if node is None:
            self._fault(context, instance, exc, f"Unshelving the server failed: {exc}")
            values = {"task_state": None}
        else:
            # Back to offloaded: no guest, no host, no claim.
            self._destroy_quietly(context, instance)
            self._fault(context, instance, exc, f"Unshelving the server failed: {exc}")
            values = {"task_state": None, "host": None, "node": None}
        try:
            updated = self.conductor.instance_update(
                context, instance_uuid=instance.uuid, values=values,
                expected_task_state=task_states.UNSHELVING)
        except (exception.InstanceNotFound, exception.UnexpectedTaskStateError):
            return
        claimed = _system_metadata(updated).get("claimed_node")
        if node is not None and claimed:
            self.conductor.compute_node_release(context, node_uuid=claimed,
                                                instance_uuid=instance.uuid)

    def _images(self) -> Any:
        """The configured image service (local store or Glance), through ImageAPI."""
        from kumo.image import api as image_api

        return image_api.ImageAPI(conductor=self.conductor)

    def _snapshot_into(self, context: Any, instance: Any, image_id: str) -> None:
        """The driver's snapshot into the queued image ``image_id`` of the configured
        image service; the image goes active.

        A driver that uploads the flattened disk itself says so (``uploaded``);
        for one that only describes its disk (fake: ``data``, its bytes) the
        bytes are uploaded here.
        """
        images = self._images()
        data = self.driver.snapshot(context, instance, image_id)
        if data.get("uploaded"):
            uploaded = data
        else:
            uploaded = images.upload(context, image_id, bytes(data.get("data") or b""),
                                     data.get("disk_format") or "raw",
                                     data.get("container_format") or "bare")
        images.activate(context, image_id, uploaded)

    def _delete_image_quietly(self, context: Any, image_id: str) -> None:
        try:
            self._images().delete(context, image_id)
        except exception.ImageNotFound:
            LOG.info("Image %s is gone already", image_id)
        except Exception:
            LOG.exception("Could not delete image %s", image_id)

    # -- live migration ------------------------------------------------------------------------

    @recorded
    def live_migrate_instance(self, context: Any, instance: Any, dest_host: str,
                              dest_node: str) -> None:
        """Source side: stop the guest keeping its disk and memory (the driver's
        handoff) and have the destination run it on; the source keeps its copy
        until the destination succeeded (a rollback restores it here)."""
        try:
            handoff = self.driver.live_migration_out(context, instance, dest_host)
        except Exception as exc:
            LOG.warning("Live migration of %s failed on the source: %s", instance.uuid, exc)
            self._release_migration_claim(context, instance)
            self._fault(context, instance, exc, f"Live migration failed: {exc}")
            self._clear_task(context, instance, task_states.MIGRATING)
            return
        self._compute_rpc().finish_live_migration(
            context, instance=instance, node=dest_node, source_host=self.host,
            power=handoff.get("power", power_state.RUNNING), host=dest_host, handoff=handoff)

    @recorded
    def finish_live_migration(self, context: Any, instance: Any, node: str,
                              source_host: str, power: int,
                              handoff: dict[str, Any] | None = None) -> None:
        """Destination side: run the guest on ``node`` from the source's ``handoff``;
        the server's claim moves here and the source drops its copy."""
        handoff = handoff if handoff is not None else {"power": power}
        try:
            power = self.driver.live_migration_in(context, instance, handoff, node)
        except Exception as exc:
            LOG.warning("Live migration of %s failed on the destination: %s",
                        instance.uuid, exc)
            note_failure(f"Live migration failed: {exc}")
            self._destroy_quietly(context, instance)
            self._compute_rpc().rollback_live_migration(
                context, instance=instance, power=power,
                fault=fault_from_exception(exc, f"Live migration failed: {exc}"),
                host=source_host, handoff=handoff)
            return
        values = {"host": self.host, "node": node, "task_state": None,
                  "power_state": power}
        finished = self._finish_move(context, instance, values, task_states.MIGRATING)
        # Either way the source's copy is no longer needed.
        self._cleanup_move_source(context, instance, source_host)
        if not finished:
            return
        try:
            self.conductor.compute_node_confirm_migration(context, instance_uuid=instance.uuid)
        except exception.InstanceNotFound:
            return
        LOG.info("Server %s live-migrated to %s/%s", instance.uuid, self.host, node)

    @recorded
    def rollback_live_migration(self, context: Any, instance: Any, power: int,
                                fault: dict[str, Any],
                                handoff: dict[str, Any] | None = None) -> None:
        """Source side: the destination failed; run the guest here again from what this
        host kept (its disk and memory), with a fault."""
        self._release_migration_claim(context, instance)
        handoff = handoff if handoff is not None else {"power": power}
        try:
            self.driver.live_migration_rollback(context, instance, handoff, instance.node)
        except Exception as exc:
            self._set_error(context, instance, exc,
                            f"{fault.get('message')}; rolling back failed too: {exc}",
                            expected_task_state=task_states.MIGRATING)
            return
        note_failure(str(fault.get("message")))
        faults.record(self.conductor, context, instance.uuid, fault, self.host)
        self._clear_task(context, instance, task_states.MIGRATING)

    def cleanup_move_source(self, context: Any, instance: Any) -> None:
        """This host was the source of a move that is over (1.5): drop what it kept."""
        try:
            self.driver.confirm_migration(context, instance)
        except Exception:
            LOG.exception("Could not drop what this host kept of server %s", instance.uuid)
        self.drop_console_tokens(context, instance)  # the server left this host

    def _cleanup_move_source(self, context: Any, instance: Any, source: str | None) -> None:
        """Have ``source`` drop what it kept of the server (a cast; here: a call)."""
        if not source:
            return
        if source == self.host:
            self.cleanup_move_source(context, instance)
            return
        try:
            self._compute_rpc().cleanup_move_source(context, instance=instance, host=source)
        except Exception:
            LOG.exception("Could not ask %s to drop what it kept of server %s", source,
                          instance.uuid)

    def _cleanup_deleted_move(self, context: Any, instance: Any) -> None:
        """A server deleted mid-resize (or waiting for its confirmation): the source
        host of the resize drops the disks it kept (terminate_instance's part)."""
        source = _system_metadata(instance).get(OLD_HOST)
        if source and source != self.host:
            self._cleanup_move_source(context, instance, source)

    def _clear_task(self, context: Any, instance: Any, expected_task_state: str) -> None:
        self._update_unless_changed(context, instance, expected_task_state,
                                    {"task_state": None}, expected_task_state)

    # -- soft delete ---------------------------------------------------------------------------

    @recorded
    def soft_delete_instance(self, context: Any, instance: Any) -> None:
        """Power the guest off and keep the server (SOFT_DELETED) with its claim."""

        def power_off() -> None:
            try:
                self.driver.power_off(context, instance, timeout=shutdown_timeout(instance))
            except exception.InstanceNotFound:
                LOG.info("Server %s has no guest to power off", instance.uuid)

        self._driver_step(
            context, instance, power_off, "Deleting the server failed", "soft-deleted",
            {"vm_state": vm_states.SOFT_DELETED, "task_state": None,
             "power_state": power_state.SHUTDOWN},
            task_states.SOFT_DELETING)

    @recorded
    def restore_instance(self, context: Any, instance: Any) -> None:
        """Power a SOFT_DELETED server's guest on again: ACTIVE."""
        self._driver_step(
            context, instance, lambda: self.driver.power_on(context, instance),
            "Restoring the server failed", "restored",
            {"vm_state": vm_states.ACTIVE, "task_state": None,
             "power_state": power_state.RUNNING, "deleted_at": None},
            task_states.RESTORING)

    def reclaim_queued_deletes(self, context: Any) -> None:
        """Delete this host's SOFT_DELETED servers older than [DEFAULT]
        reclaim_instance_interval (the periodic task's work)."""
        interval = CONF.reclaim_instance_interval
        if interval <= 0:
            return
        instances = self.conductor.instance_get_all(context, filters={
            "host": self.host, "vm_state": [vm_states.SOFT_DELETED],
            "task_state": [None]})
        for instance in instances:
            if instance.vm_state != vm_states.SOFT_DELETED or instance.task_state:
                continue
            # deleted_at: when the API soft-deleted it.
            deleted_at = instance.deleted_at if instance.obj_attr_is_set("deleted_at") else None
            if deleted_at is not None and not timeutils.is_older_than(deleted_at, interval):
                continue
            LOG.info("Reclaiming soft-deleted server %s", instance.uuid)
            try:
                instance = self.conductor.instance_update(
                    context, instance_uuid=instance.uuid,
                    values={"task_state": task_states.DELETING},
                    expected_task_state=[None], expected_vm_state=[vm_states.SOFT_DELETED])
            except (exception.InstanceNotFound, exception.UnexpectedTaskStateError):
                continue
            self.terminate_instance(context, instance)

    def offload_shelved(self, context: Any) -> None:
        """Offload this host's SHELVED servers shelved longer than [DEFAULT]
        shelved_offload_time seconds (> 0; the periodic task's work)."""
        offload_time = CONF.shelved_offload_time
        if offload_time <= 0:
            return
        instances = self.conductor.instance_get_all(context, filters={
            "host": self.host, "vm_state": [vm_states.SHELVED], "task_state": [None]})
        for instance in instances:
            if instance.vm_state != vm_states.SHELVED or instance.task_state:
                continue
            shelved_at = _system_metadata(instance).get("shelved_at")
            if shelved_at and not timeutils.is_older_than(shelved_at, offload_time):
                continue
            self.shelve_offload_instance(context, instance)

    # -- restart ----------------------------------------------------------------------------

    def reconcile_move(self, context: Any, instance: Any) -> bool:
        """At start: finish a move action this host was running when it stopped.

        A snapshot's task is cleared with a fault; any other move step cannot be
        resumed, so the server goes to ERROR with a fault and without its migration
        claim (a hard reboot or delete recovers it). Returns whether it handled the
        server (False: not one of the move actions' task states).
        """
        task = instance.task_state
        if task not in INTERRUPTIBLE_TASK_STATES:
            return False
        error = exception.KumoException(f"kumo-compute restarted during {task}")
        LOG.warning("Server %s was in %s when kumo-compute stopped", instance.uuid, task)
        if task in SNAPSHOT_TASK_STATES:
            self._fault(context, instance, error, str(error))
            self._clear_task(context, instance, task)
            return True
        self._move_failed(context, instance, error, task)
        return True

    # -- helpers ----------------------------------------------------------------------------

    def _finish_move(self, context: Any, instance: Any, values: dict[str, Any],
                     expected_task_state: str) -> bool:
        """The guarded update that ends a move step; a server deleted meanwhile is cleaned."""
        if self._update_unless_changed(context, instance, "moved", values,
                                       expected_task_state) is None:
            LOG.info("Destroying the guest of server %s", instance.uuid)
            self._destroy_quietly(context, instance)
            self._release_migration_claim(context, instance)
            if expected_task_state == task_states.RESIZE_MIGRATED:
                self._cleanup_deleted_move(context, instance)  # the source's kept disks
            return False
        if expected_task_state == task_states.RESIZE_REVERTING:
            self._release_migration_claim(context, instance)
        return True

    def _driver_step(self, context: Any, instance: Any, operation: Callable[[], None],
                     failure: str, done: str, values: dict[str, Any],
                     expected_task_state: str) -> None:
        """Run the driver's part of an action, then report ``values`` guarded on
        ``expected_task_state``; a driver failure puts the server in ERROR with a fault."""
        try:
            operation()
        except Exception as exc:
            self._set_error(context, instance, exc, f"{failure}: {exc}",
                            expected_task_state=expected_task_state)
            return
        if self._update_unless_changed(context, instance, done, values,
                                       expected_task_state) is not None:
            LOG.info("Server %s %s", instance.uuid, done)

    def _update_unless_changed(self, context: Any, instance: Any, doing: str,
                               values: dict[str, Any], expected_task_state: Any) -> Any:
        """The guarded update that ends a step: the updated instance, or None (logged)
        when a delete or another task took the server meanwhile."""
        try:
            return self.conductor.instance_update(context, instance_uuid=instance.uuid,
                                                  values=values,
                                                  expected_task_state=expected_task_state)
        except (exception.InstanceNotFound, exception.UnexpectedTaskStateError) as exc:
            LOG.info("Server %s changed while it was %s: %s", instance.uuid, doing, exc)
            return None

    def _move_failed(self, context: Any, instance: Any, exc: BaseException,
                     expected_task_state: str, values: dict[str, Any] | None = None) -> None:
        """ERROR with a fault; the destination claim given back, the move forgotten."""
        LOG.warning("Moving server %s failed: %s", instance.uuid, exc)
        self._release_migration_claim(context, instance)
        try:
            if values:
                self.conductor.instance_update(context, instance_uuid=instance.uuid,
                                               values=values)
            self.conductor.instance_update(
                context, instance_uuid=instance.uuid,
                values={"system_metadata": dict.fromkeys(MOVE_KEYS)})
        except exception.InstanceNotFound:
            return
        self._set_error(context, instance, exc, f"Moving the server failed: {exc}",
                        expected_task_state=expected_task_state)

    def _release_migration_claim(self, context: Any, instance: Any) -> None:
        try:
            self.conductor.compute_node_release_migration(context, instance_uuid=instance.uuid)
        except Exception:
            # The next resource report recomputes the nodes' usage from live servers.
            LOG.exception("Could not give back the destination claim of %s", instance.uuid)

    def _fault(self, context: Any, instance: Any, exc: BaseException, message: str) -> None:
        note_failure(message)
        faults.record(self.conductor, context, instance.uuid,
                      fault_from_exception(exc, message), self.host)
