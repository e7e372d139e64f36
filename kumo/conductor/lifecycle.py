"""kumo-conductor's endpoint for the server lifecycle's loose ends (RPC API 1.7): the
reconciliation of servers whose task nobody runs any more; and (1.11) the start
of a delete in one call (``instance_start_delete``).

Mixed into :class:`kumo.conductor.manager.ConductorManager`; the work is
:mod:`kumo.conductor.tasks.reconcile`. It runs once when the conductor has
started (its RPC server is up, so the scheduler can call back during a
re-driven task) and then every ``[conductor] reconcile_interval`` seconds.
"""

from __future__ import annotations

import threading
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging
from oslo_service import periodic_task

from kumo import context as kumo_context
from kumo.conductor import rows
from kumo.conductor.boot import action_record
from kumo.conductor.task_pool import TaskPool
from kumo.conductor.tasks import reconcile
from kumo.db import instance_writes

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

_TASK = "reconcile_abandoned_tasks"


# A PeriodicTasks subclass so that its periodic task is collected (oslo.service
# only looks at the classes of the PeriodicTasks hierarchy).
class LifecycleMixin(periodic_task.PeriodicTasks):
    """RPC API 1.7: ``reconcile_instances``; the start-up and periodic reconciliation."""

    tasks: TaskPool  # set by ConductorManager

    def post_start_hook(self) -> None:
        """Reconcile once, on a thread of its own: a re-driven task may wait on the
        scheduler, which must not hold up the start."""
        interval = CONF.conductor.reconcile_interval
        if interval > 0:
            self._periodic_spacing = {**self._periodic_spacing, _TASK: interval}
        threading.Thread(target=self._reconcile_at_start, name="conductor-reconcile",
                         daemon=True).start()

    def _reconcile_at_start(self) -> None:
        try:
            self.reconcile_instances(kumo_context.get_admin_context())
        except Exception:
            LOG.exception("The start-up reconciliation failed; the periodic one retries")

    @periodic_task.periodic_task(spacing=60, run_immediately=False)
    def reconcile_abandoned_tasks(self, context: Any) -> None:
        """Re-drive or give up servers whose task nobody runs (every
        [conductor] reconcile_interval seconds; 0: only at start-up)."""
        if CONF.conductor.reconcile_interval > 0:
            self.reconcile_instances(context)

    # -- RPC API 1.7 ------------------------------------------------------------------

    def reconcile_instances(self, context: Any) -> dict[str, int]:
        """One reconciliation pass now; how many servers were re-driven, failed,
        aborted, deleted or skipped."""
        return reconcile.reconcile(context, working_on=self.tasks.working_on)

    # -- RPC API 1.11 -----------------------------------------------------------------

    def instance_start_delete(self, context: Any, instance_uuid: str,
                              project_id: str | None, owner: dict[str, Any],
                              allow_locked: bool, action: str,
                              expected_task_state: Any) -> dict[str, Any]:
        """``DELETE /servers/{id}``'s read and its guarded move to ``deleting`` (with
        the start of the request's instance action ``action``) in one call and one
        transaction: ``{"instance": Instance, "started": bool}``; see
        :func:`kumo.db.instance_writes.start_delete` for the guard and the errors."""
        found = instance_writes.start_delete(
            instance_uuid, project_id, owner, bool(allow_locked),
            action_record(context, action), expected_task_state)
        return {"instance": rows.instance(found["instance"]), "started": found["started"]}
