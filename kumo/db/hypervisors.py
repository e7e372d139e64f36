"""Hypervisor queries for ``/os-hypervisors``: compute nodes as operators see them.

Rows are plain dicts without their timestamps (they travel over RPC as plain
data), ``stats`` and ``cpu_info`` decoded from JSON.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from kumo.db import models
from kumo.db.api import session

_nodes = models.ComputeNode.__table__
_HIDDEN = ("created_at", "updated_at", "deleted_at", "deleted", "mapped")


def _decode(text: str | None) -> Any:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {}


def hypervisor_get_all(hostname_pattern: str | None = None) -> list[dict[str, Any]]:
    """Live compute nodes ordered by id; with ``hostname_pattern``, only those whose
    hypervisor_hostname contains it (Nova's SQL ``LIKE %pattern%``)."""
    statement = sa.select(_nodes).where(_nodes.c.deleted == 0).order_by(_nodes.c.id)
    if hostname_pattern is not None:
        statement = statement.where(
            _nodes.c.hypervisor_hostname.like(f"%{hostname_pattern}%"))
    with session() as db_session:
        rows = [dict(row) for row in db_session.execute(statement).mappings()]
    for row in rows:
        for name in _HIDDEN:
            row.pop(name, None)
        row["stats"] = _decode(row.get("stats"))
        row["cpu_info"] = _decode(row.get("cpu_info"))
    return rows
