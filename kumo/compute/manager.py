"""kumo-compute's RPC endpoint: builds and deletes servers through the virt driver.

Every path ends in a conductor update or a reschedule, with a fault when
something failed, so no server is left in a task state nobody will finish:

* a build that spawned reports ACTIVE with a guarded update
  (``expected_task_state=spawning``); if the server was deleted meanwhile
  the guest is destroyed instead;
* a build that failed is handed back to the conductor (``reschedule_instance``);
* a delete destroys the guest, then the row; a guest that cannot be
  destroyed puts the server in ERROR (a second delete may retry);
* at start (``init_host``) the servers this host was working on when it went
  down are finished: builds without a guest are rescheduled, deletes completed.
* a task of this host that nothing here runs for ``[compute] task_timeout`` (its
  cast was lost) is handled the same way; resized servers are confirmed after
  ``[DEFAULT] resize_confirm_window`` (both in :mod:`kumo.compute.expiry`).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log as logging
from oslo_service import periodic_task
from oslo_utils import timeutils

from kumo import context as kumo_context
from kumo import exception, manager, virt
from kumo.compute import (
    build_guard,
    expiry,
    faults,
    power_state,
    power_sync,
    resource_tracker,
    task_states,
    vm_states,
)
from kumo.compute.consoles import ConsolesMixin
from kumo.compute.faults import fault_from_exception
from kumo.compute.move_actions import (
    MoveActionsMixin,
    note_event_finished,
    note_failure,
    recorded,
)
from kumo.compute.power import PowerActionsMixin
from kumo.network import api as network_api  # kumo-network (H5)
from kumo.virt import driver as virt_driver

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

RESTARTED_DURING_BUILD = "kumo-compute restarted during the build"

# Task states of a build that a restart of kumo-compute interrupts.
BUILD_TASK_STATES = (task_states.SCHEDULING, task_states.SPAWNING)
# The instance-action event of build_and_run_instance (its @recorded name).
BUILD_EVENT = "compute_build_and_run_instance"
TERMINATE_EVENT = "compute_terminate_instance"


class ComputeManager(PowerActionsMixin, MoveActionsMixin, ConsolesMixin, manager.Manager):
    """RPC API 1.1: build_and_run_instance, terminate_instance; 1.2: the power actions
    of :class:`PowerActionsMixin`; 1.3: the move actions
    of :class:`MoveActionsMixin`; 1.4: the remote consoles of :class:`ConsolesMixin`
    (see docs/compute-flow.md, docs/consoles.md)."""

    target = messaging.Target(version="1.5")

    def __init__(self, host: str | None = None, binary: str | None = None,
                 driver: virt_driver.ComputeDriver | None = None,
                 conductor: Any = None) -> None:
        """``driver`` and ``conductor`` (a conductor RPC client) are for tests;
        by default the configured driver is loaded and the client made on first use.
        """
        super().__init__(host=host, binary=binary or "kumo-compute")
        self.driver = driver or virt.load_driver(CONF.compute.compute_driver)
        self._conductor = conductor
        # Builds running in this process; reconciliation leaves them alone.
        self._building: set[str] = set()
        self._building_lock = threading.Lock()
        # init_host's reconciliation failed (conductor away): retried periodically.
        self._reconcile_pending = False
        # The spacings of the periodic tasks come from the configuration, read
        # now rather than when the class was defined.
        self._periodic_spacing = dict(self._periodic_spacing)
        self._periodic_spacing["report_resources"] = CONF.compute.resource_report_interval
        self._periodic_spacing["sync_power_states"] = CONF.compute.sync_power_state_interval

    @property
    def conductor(self) -> Any:
        if self._conductor is None:
            from kumo.conductor import rpcapi as conductor_rpcapi

            self._conductor = conductor_rpcapi.ConductorAPI()
        return self._conductor

    @functools.cached_property
    def resource_tracker(self) -> resource_tracker.ResourceTracker:
        # Made on first use, as the conductor client it reports to.
        return resource_tracker.ResourceTracker(self.host, self.driver, self.conductor,
                                                binary=self.binary)

    # -- lifecycle -----------------------------------------------------------

    def init_host(self) -> None:
        """Connect the driver, report the nodes, finish what a previous run left."""
        self.driver.init_host(self.host)
        # libvirt (H6): guests' lifecycle events sync their power state at once.
        getattr(self.driver, "register_power_sync", lambda manager: None)(self)
        LOG.info("Compute driver %s serves nodes %s", CONF.compute.compute_driver,
                 ", ".join(self.driver.get_available_nodes()))
        ctxt = kumo_context.get_admin_context()
        try:
            self.resource_tracker.report(ctxt)
        except Exception as exc:
            LOG.warning("Could not report the nodes of %s (retried every %ss): %s",
                        self.host, CONF.compute.resource_report_interval, exc)
        try:
            self.reconcile(ctxt)
        except Exception as exc:
            LOG.warning("Could not reconcile the servers of %s (retried periodically): %s",
                        self.host, exc)
            self._reconcile_pending = True

    def cleanup_host(self) -> None:
        self.driver.cleanup_host(self.host)

    # -- RPC API ---------------------------------------------------------------

    @build_guard.one_at_a_time
    @recorded
    def build_and_run_instance(self, context: Any, instance: Any, node: str,
                               request_spec: dict[str, Any]) -> None:
        """Spawn the server's guest on ``node`` and report it ACTIVE, or reschedule.

        A request that comes twice (or after the build moved on) spawns nothing
        (:mod:`kumo.compute.build_guard`).
        """
        try:
            taken = build_guard.take(self, context, instance, node)
        except Exception as exc:
            LOG.warning("Could not take the build of server %s: %s", instance.uuid, exc)
            self._reschedule(context, instance, node, fault_from_exception(
                exc, f"kumo-compute on {self.host} could not start the build: {exc}"))
            return
        if taken:
            self._build(context, instance, node, request_spec or {})

    @recorded
    def terminate_instance(self, context: Any, instance: Any) -> None:
        """Destroy the server's guest (a missing one is fine), then its row."""
        LOG.info("Deleting server %s", instance.uuid)
        # The event's start goes with the destroy's finish (one call, conductor 1.10).
        started_at = timeutils.utcnow().isoformat()
        try:
            self.driver.destroy(context, instance)
            # Resized here from another host: that host drops the disks it kept (H2).
            self._cleanup_deleted_move(context, instance)
            # kumo-network (H5): release the addresses once the guest is gone.
            network_api.deallocate_for_instance(context, instance, self.host)
        except Exception as exc:
            LOG.exception("Could not destroy the guest of server %s", instance.uuid)
            self._set_error(context, instance, exc, "Deleting the server failed: "
                            f"{exc}", expected_task_state=task_states.DELETING)
            return
        request_id = getattr(context, "request_id", None)
        try:
            if request_id:
                # The row and this request's terminate event end in one call.
                self.conductor.instance_destroy_finishing_event(
                    context, instance_uuid=instance.uuid,
                    event={"request_id": request_id, "event": TERMINATE_EVENT,
                           "host": self.host, "result": "Success",
                           "start_time": started_at})
                note_event_finished()
            else:
                self.conductor.instance_destroy(context, instance_uuid=instance.uuid)
        except exception.InstanceNotFound:
            LOG.info("Server %s had no row left to delete", instance.uuid)
            return
        self.drop_console_tokens(context, instance)  # remote consoles
        LOG.info("Server %s deleted", instance.uuid)

    def _event(self, context: Any, instance: Any, phase: str, event: str,
               **kwargs: Any) -> None:
        """As :meth:`PowerActionsMixin._event`, except that with a conductor of 1.10 the
        start of a build's event is left to :func:`build_guard.take` (recorded with the
        take in one call) and a delete's to the destroy's finish (which records the
        whole step); a finish whose start was never recorded records both."""
        if (phase == "start" and event in (BUILD_EVENT, TERMINATE_EVENT)
                and build_guard.takes_in_one_call(self.conductor)):
            return
        super()._event(context, instance, phase, event, **kwargs)

    # -- build -----------------------------------------------------------------

    def _build(self, context: Any, instance: Any, node: str,
               request_spec: dict[str, Any]) -> None:
        uuid = instance.uuid
        LOG.info("Building server %s on node %s", uuid, node)
        try:
            # kumo-network (H5): addresses first, so the driver plugs the VIFs.
            network_info = network_api.allocate_for_instance(context, instance, self.host,
                                                             request_spec)
            self.driver.spawn(context, instance, request_spec.get("image") or {},
                              network_info=network_info, node=node)
        except Exception as exc:
            LOG.warning("Spawning server %s on node %s failed: %s", uuid, node, exc)
            self._destroy_quietly(context, instance)
            self._deallocate_network_quietly(context, instance)
            self._reschedule(context, instance, node, fault_from_exception(exc))
            return
        try:
            # The ACTIVE report also ends this request's build event: one call.
            self._report_active(context, instance, task_states.SPAWNING,
                                finish_event=BUILD_EVENT)
        except Exception:
            LOG.exception("Server %s runs but could not be reported active; the power "
                          "state sync reports it again", uuid)

    def _report_active(self, context: Any, instance: Any, expected_task_state: Any,
                       finish_event: str | None = None) -> None:
        """Mark a server whose guest runs ACTIVE; if it was deleted meanwhile, clean up.

        ``finish_event``: the running recorded method's event, ended as a success
        in the same conductor call (see ``note_event_finished``).
        """
        uuid = instance.uuid
        values = {"vm_state": vm_states.ACTIVE, "task_state": None,
                  "power_state": power_state.RUNNING,
                  # ISO 8601: what a datetime becomes on the wire anyway.
                  "launched_at": timeutils.utcnow().isoformat()}
        request_id = getattr(context, "request_id", None)
        try:
            if finish_event and request_id:
                self.conductor.instance_update_finishing_event(
                    context, instance_uuid=uuid, values=values,
                    event={"request_id": request_id, "event": finish_event,
                           "host": self.host, "result": "Success"},
                    expected_task_state=expected_task_state)
                note_event_finished()
            else:
                self.conductor.instance_update(context, instance_uuid=uuid, values=values,
                                               expected_task_state=expected_task_state)
        except (exception.UnexpectedDeletingTaskStateError, exception.InstanceNotFound):
            self._finish_delete_after_build(context, instance)
            return
        except exception.UnexpectedTaskStateError as exc:
            current = self._instance_or_none(context, uuid)
            if current is None or _is_being_deleted(current):
                self._finish_delete_after_build(context, instance)
            else:
                LOG.warning("Server %s built, but its task changed meanwhile; "
                            "left as it is: %s", uuid, exc)
            return
        LOG.info("Server %s is active", uuid)

    def _finish_delete_after_build(self, context: Any, instance: Any) -> None:
        LOG.info("Server %s was deleted while it was built; destroying its guest",
                 instance.uuid)
        self._destroy_quietly(context, instance)
        self._deallocate_network_quietly(context, instance)
        # The delete's own terminate_instance may be behind us or done
        # already; instance_destroy is idempotent, so finish it here too.
        try:
            self.conductor.instance_destroy(context, instance_uuid=instance.uuid)
        except exception.InstanceNotFound:
            pass

    def _reschedule(self, context: Any, instance: Any, node: str | None,
                    fault: dict[str, Any]) -> None:
        LOG.info("Handing server %s back to the conductor to try another host",
                 instance.uuid)
        note_failure(str(fault.get("message")))
        try:
            self.conductor.reschedule_instance(
                context, instance_uuid=instance.uuid, host=self.host, node=node,
                fault=fault)
        except Exception:
            # The bus is away: the next start of this service reconciles it.
            LOG.exception("Could not reschedule server %s", instance.uuid)

    # -- helpers -----------------------------------------------------------------

    def _destroy_quietly(self, context: Any, instance: Any) -> None:
        """Destroy a guest on a path that already failed or lost; log what fails."""
        try:
            self.driver.destroy(context, instance)
        except Exception:
            LOG.exception("Could not destroy the guest of server %s", instance.uuid)

    def _deallocate_network_quietly(self, context: Any, instance: Any) -> None:
        """kumo-network (H5): release addresses on a path that already failed or
        lost (another host allocates again; deleting retries the release)."""
        try:
            network_api.deallocate_for_instance(context, instance, self.host)
        except Exception:
            LOG.exception("Could not release the addresses of server %s", instance.uuid)

    def _instance_or_none(self, context: Any, uuid: str) -> Any:
        try:
            return self.conductor.instance_get(context, instance_uuid=uuid)
        except exception.InstanceNotFound:
            return None

    def _set_error(self, context: Any, instance: Any, exc: BaseException, message: str,
                   expected_task_state: Any) -> None:
        note_failure(message)
        if not faults.record(self.conductor, context, instance.uuid,
                             fault_from_exception(exc, message), self.host):
            return
        try:
            self.conductor.instance_update(
                context, instance_uuid=instance.uuid,
                values={"vm_state": vm_states.ERROR, "task_state": None},
                expected_task_state=expected_task_state)
        except (exception.UnexpectedTaskStateError, exception.InstanceNotFound) as lost:
            LOG.warning("Server %s changed meanwhile; not set to ERROR: %s",
                        instance.uuid, lost)

    def _is_building_here(self, uuid: str) -> bool:
        with self._building_lock:
            return uuid in self._building

    # -- reconciliation at start -------------------------------------------------

    def reconcile(self, context: Any) -> None:
        """Finish the work on this host's servers that a previous run left undone."""
        instances = self.conductor.instance_get_all(context, filters={"host": self.host})
        guests = set(self.driver.list_instance_uuids())
        known = set()
        for instance in instances:
            known.add(instance.uuid)
            if _is_deleted(instance):
                continue
            if self._is_building_here(instance.uuid):
                continue
            try:
                self._reconcile_one(context, instance, instance.uuid in guests)
            except Exception:
                LOG.exception("Could not reconcile server %s", instance.uuid)
        for uuid in sorted(guests - known):
            LOG.warning("Guest %s on %s is unknown to the database; left alone",
                        uuid, self.host)
        self._reconcile_pending = False

    def _reconcile_one(self, context: Any, instance: Any, has_guest: bool,
                       reason: str = RESTARTED_DURING_BUILD) -> None:
        if self.reconcile_move(context, instance):
            return
        if instance.task_state == task_states.DELETING:
            LOG.info("Finishing the delete of server %s", instance.uuid)
            self.terminate_instance(context, instance)
        elif instance.task_state in self.POWER_TASK_STATES:
            self.finish_power_action(context, instance)
        elif instance.task_state in BUILD_TASK_STATES:
            running = has_guest and self._current_power_state(instance) == power_state.RUNNING
            if running:
                LOG.info("Server %s was built before the restart; marking it active",
                         instance.uuid)
                self._report_active(context, instance, instance.task_state)
                return
            if has_guest:
                self._destroy_quietly(context, instance)
            LOG.info("Server %s was being built when kumo-compute stopped; rescheduling",
                     instance.uuid)
            self._reschedule(context, instance, instance.node, {
                "code": 500, "message": reason,
                "details": f"host {self.host}, node {instance.node}, "
                           f"task_state {instance.task_state}"})

    # -- periodic tasks ------------------------------------------------------------

    @periodic_task.periodic_task(spacing=10, run_immediately=False)
    def report_resources(self, context: Any) -> None:
        """Send this host's node inventories (every [compute] resource_report_interval)."""
        self.resource_tracker.report(context)
        if self._reconcile_pending:
            self.reconcile(context)

    @periodic_task.periodic_task(spacing=10, run_immediately=False)
    def reclaim_soft_deleted(self, context: Any) -> None:
        """Delete SOFT_DELETED servers older than [DEFAULT] reclaim_instance_interval;
        offload SHELVED ones older than [DEFAULT] shelved_offload_time."""
        self.reclaim_queued_deletes(context)
        self.offload_shelved(context)

    @periodic_task.periodic_task(spacing=10, run_immediately=False)
    def confirm_resizes(self, context: Any) -> None:
        """Confirm resizes waiting longer than [DEFAULT] resize_confirm_window."""
        expiry.confirm_resizes(self, context)

    @periodic_task.periodic_task(spacing=60, run_immediately=False)
    def expire_stuck_tasks(self, context: Any) -> None:
        """Handle tasks idle longer than [compute] task_timeout as interrupted."""
        expiry.expire_stuck_tasks(self, context)

    @periodic_task.periodic_task(spacing=60, run_immediately=False)
    def sync_power_states(self, context: Any) -> None:
        """Record the power states the driver reports for this host's idle servers.

        A guest that shut down (or crashed) on its own turns an ACTIVE server
        STOPPED. Only servers without a task are touched, with a guarded
        update, so an operation in flight always wins. A build whose guest
        runs but whose ACTIVE report was lost is reported again.
        """
        power_sync.sync_power_states(self, context)  # reads 4 columns per server (1.12)

    def _sync_idle_power_state(self, context: Any, instance: Any) -> None:
        """Sync the power state of a server no operation owns: one with a task, deleted,
        building or in ERROR is left alone; a failure is logged (also libvirt's
        lifecycle events, :mod:`kumo.virt.libvirt.power_sync`)."""
        if (_is_deleted(instance) or instance.task_state is not None
                or instance.vm_state in (vm_states.BUILDING, vm_states.ERROR)):
            return
        try:
            self._sync_power_state(context, instance)
        except exception.UnexpectedTaskStateError:
            LOG.debug("Server %s got a task while its power state was synced", instance.uuid)
        except Exception:
            LOG.exception("Could not sync the power state of server %s", instance.uuid)

    def _finish_lost_build_report(self, context: Any, instance: Any) -> None:
        # A build whose guest runs but whose ACTIVE report was lost (the
        # conductor did not answer) would stay in BUILD; report it again. A
        # build still in progress here is in _building until it reported.
        if self._is_building_here(instance.uuid):
            return
        if self._current_power_state(instance) != power_state.RUNNING:
            expiry.reschedule_lost_build(self, context, instance)
            return
        LOG.info("Server %s runs but was never reported active; reporting it now",
                 instance.uuid)
        try:
            self._report_active(context, instance, task_states.SPAWNING)
        except Exception:
            LOG.exception("Could not report server %s active", instance.uuid)

    def _sync_power_state(self, context: Any, instance: Any) -> None:
        actual = self._current_power_state(instance)
        values: dict[str, Any] = {}
        if actual != instance.power_state:
            values["power_state"] = actual
        if instance.vm_state == vm_states.ACTIVE:
            if actual in (power_state.SHUTDOWN, power_state.CRASHED):
                LOG.warning("Server %s is ACTIVE but its guest is %s; marking it stopped",
                            instance.uuid, power_state.NAMES[actual])
                values["vm_state"] = vm_states.STOPPED
            elif actual == power_state.NOSTATE:
                LOG.warning("Server %s is ACTIVE but the hypervisor has no guest for it",
                            instance.uuid)
        if values:
            self.conductor.instance_update(context, instance_uuid=instance.uuid,
                                           values=values, expected_task_state=[None])


def _is_deleted(instance: Any) -> bool:
    deleted = instance.obj_attr_is_set("deleted") and instance.deleted
    return bool(deleted) or instance.vm_state == vm_states.DELETED


def _is_being_deleted(instance: Any) -> bool:
    return _is_deleted(instance) or instance.task_state == task_states.DELETING

