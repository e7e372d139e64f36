"""Lifecycle events from libvirt turned into an immediate power-state sync.

A guest that powers itself off (or crashes) would otherwise stay ACTIVE
until the periodic ``sync_power_states`` runs ([compute]
sync_power_state_interval, 60 s). libvirt tells kumo-compute at once (see
:meth:`kumo.virt.libvirt.host.Host.add_lifecycle_listener`); this listener
runs the manager's own one-server sync for the guest, off libvirt's event
thread, with the same rules: only idle servers of this host are touched,
through the guarded update (an operation in flight always wins), and the
state recorded is what the driver reports now, not what the event said.
"""

from __future__ import annotations

import concurrent.futures
from typing import Any

from oslo_log import log as logging

from kumo import context as kumo_context
from kumo import exception

LOG = logging.getLogger(__name__)


class LifecycleSync:
    """A lifecycle listener ``(instance_uuid, power_state)`` for a compute manager."""

    def __init__(self, manager: Any) -> None:
        self._manager = manager
        # One worker: events are handled in order, and never on libvirt's
        # event-loop thread (an RPC call there would stall every event).
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="kumo-lifecycle")

    def __call__(self, instance_uuid: str, state: int) -> None:
        LOG.debug("Lifecycle event of %s: power state %s", instance_uuid, state)
        self._executor.submit(self._sync, instance_uuid)

    def _sync(self, instance_uuid: str) -> None:
        manager = self._manager
        ctxt = kumo_context.get_admin_context()
        try:
            instance = manager.conductor.instance_get(ctxt, instance_uuid=instance_uuid)
        except exception.InstanceNotFound:
            return
        except Exception:
            LOG.exception("Could not read server %s after its lifecycle event", instance_uuid)
            return
        if instance.host == manager.host:
            manager._sync_idle_power_state(ctxt, instance)

    def stop(self) -> None:
        """Drop the events not handled yet (kumo-compute is stopping)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    def stop_and_wait(self) -> None:
        """Handle the events already received, then stop."""
        self._executor.shutdown(wait=True)
