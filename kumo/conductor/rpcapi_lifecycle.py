"""Conductor client calls of the server lifecycle's loose ends (1.7): reconciliation.

Mixed into :class:`kumo.conductor.rpcapi.ConductorAPI`.
"""

from __future__ import annotations

from typing import Any

VERSION = "1.7"


class LifecycleAPIMixin:
    call: Any

    def reconcile_instances(self, ctxt: Any, timeout: float | None = None) -> dict[str, int]:
        """Run one reconciliation pass of servers whose task nobody runs any more
        (docs/compute-flow.md "Reconciliation"); returns how many were re-driven,
        failed, aborted, deleted or skipped."""
        return self.call(ctxt, "reconcile_instances", {}, version=VERSION, timeout=timeout)
