"""The rows kumo-compute's power-state sync compares with its guests.

The sync runs every ``[compute] sync_power_state_interval`` seconds over every
server of a host; full Instance objects (system_metadata, flavor, metadata
and all) cost the conductor about half a millisecond each to read and
serialize. The sync only reads four columns, and only of the servers it may
touch: idle ones (no task) that are not building or in ERROR, and builds in
``spawning`` (a lost ACTIVE report is sent again).
"""

from __future__ import annotations

import sqlalchemy as sa

from kumo.compute import task_states, vm_states
from kumo.db import models
from kumo.db.api import session

_instances = models.Instance.__table__

#: The columns of a row, in order.
COLUMNS = ("uuid", "vm_state", "task_state", "power_state")

_STATEMENT = sa.select(
    _instances.c.uuid, _instances.c.vm_state, _instances.c.task_state,
    _instances.c.power_state,
).where(
    _instances.c.host == sa.bindparam("host", type_=sa.String),
    _instances.c.deleted == 0,
    sa.or_(
        _instances.c.task_state == task_states.SPAWNING,
        sa.and_(_instances.c.task_state.is_(None),
                _instances.c.vm_state.not_in([vm_states.BUILDING, vm_states.ERROR,
                                              vm_states.DELETED])),
    ),
).order_by(_instances.c.id)


def power_state_rows(host: str) -> list[list[object]]:
    """``[uuid, vm_state, task_state, power_state]`` of ``host``'s live servers that
    are idle (and not building, in ERROR or deleted) or spawning, oldest first."""
    with session() as db_session:
        return [list(row) for row in db_session.execute(_STATEMENT, {"host": host})]
