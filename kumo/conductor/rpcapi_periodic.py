"""Conductor client calls of kumo-compute's periodic tasks (1.12).

Mixed into :class:`kumo.conductor.rpcapi.ConductorAPI`.
"""

from __future__ import annotations

from typing import Any

VERSION_1_12 = "1.12"


class PeriodicAPIMixin:
    call: Any
    can_send_version: Any

    def instance_power_states(self, ctxt: Any, host: str) -> list[list[Any]] | None:
        """``[uuid, vm_state, task_state, power_state]`` of ``host``'s live servers
        that are idle (no task; not building, in ERROR or deleted) or spawning,
        oldest first (see :mod:`kumo.db.power_states`). None from a conductor older
        than 1.12: the caller then reads the servers with instance_get_all."""
        if not self.can_send_version(VERSION_1_12):
            return None
        return self.call(ctxt, "instance_power_states", {"host": host},
                         version=VERSION_1_12)
