"""kumo-compute's periodic power-state sync: the guests' power states compared with
the database's, every ``[compute] sync_power_state_interval`` seconds.

The sync reads every server of the host each time, so what it reads is kept
small: four columns per server (conductor 1.12 ``instance_power_states``)
rather than full Instance objects, and only the servers it may touch. A
server whose guest agrees with its row costs a driver look-up and nothing
else; the rare build that needs the whole server (a lost ACTIVE report) is
read on its own. A conductor older than 1.12 is asked for the host's
servers as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kumo import exception
from kumo.compute import task_states, vm_states


class PowerRow:
    """One server as the sync reads it: the fields of an Instance that
    ``ComputeManager._sync_idle_power_state`` and the drivers' ``get_info`` use."""

    __slots__ = ("uuid", "vm_state", "task_state", "power_state")

    deleted = False

    def __init__(self, uuid: str, vm_state: str | None, task_state: str | None,
                 power_state: int | None) -> None:
        self.uuid = uuid
        self.vm_state = vm_state
        self.task_state = task_state
        self.power_state = power_state

    def obj_attr_is_set(self, name: str) -> bool:
        """Instance's question; a row is always of a live server."""
        return name == "deleted"


def servers_to_sync(manager: Any, context: Any) -> Iterable[Any]:
    """The host's servers the sync looks at: PowerRows from a 1.12 conductor, else
    the Instances of ``instance_get_all``."""
    # A conductor client without the call (a test's stub) is one older than 1.12.
    read_rows = getattr(manager.conductor, "instance_power_states", None)
    rows = read_rows(context, host=manager.host) if read_rows is not None else None
    if rows is None:
        return manager.conductor.instance_get_all(context, filters={"host": manager.host})
    return (PowerRow(*row) for row in rows)


def sync_power_states(manager: Any, context: Any) -> None:
    """Record the power states the driver reports for the host's idle servers; report
    again the builds whose guest runs but whose ACTIVE report was lost."""
    for server in servers_to_sync(manager, context):
        if server.task_state == task_states.SPAWNING and not _is_deleted(server):
            if isinstance(server, PowerRow):
                if manager._is_building_here(server.uuid):
                    continue
                server = _full(manager, context, server.uuid)
                if server is None:
                    continue
            manager._finish_lost_build_report(context, server)
        else:
            manager._sync_idle_power_state(context, server)


def _is_deleted(server: Any) -> bool:
    deleted = server.obj_attr_is_set("deleted") and server.deleted
    return bool(deleted) or server.vm_state == vm_states.DELETED


def _full(manager: Any, context: Any, uuid: str) -> Any:
    """The whole server (None once it is gone): a lost build's report needs it."""
    try:
        return manager.conductor.instance_get(context, instance_uuid=uuid)
    except exception.InstanceNotFound:
        return None
