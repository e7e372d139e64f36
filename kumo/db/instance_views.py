"""The one query behind ``GET /servers/{id}`` (kumo.conductor.server_views).

:func:`kumo.db.instances.instance_get` reads a server in an ORM session with
three statements (the row, its metadata, its faults), each built anew: the
building and the session cost a show more than SQLite's own work
(bench/README.md, "API read path"). Here the statement is built once per
process, with bound parameters (SQLAlchemy compiles it once and caches it),
and it brings the row, its live metadata and its newest fault in one
round trip on a plain connection: one result row per metadata item (one
with NULLs when there is none). Read-only.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kumo import exception
from kumo.db import instances, models
from kumo.db.api import get_engine

_instances = models.Instance.__table__
_metadata = models.InstanceMetadata.__table__
_faults = models.InstanceFault.__table__

_KEY, _VALUE = "kumo_metadata_key", "kumo_metadata_value"
_FAULT_PREFIX = "kumo_fault_"


def _statement(by_project: bool) -> sa.Select:
    newest_fault = (
        sa.select(_faults.c.id)
        .where(_faults.c.instance_uuid == _instances.c.uuid, _faults.c.deleted == 0)
        .order_by(_faults.c.created_at.desc(), _faults.c.id.desc())
        .limit(1)
        .correlate(_instances)
        .scalar_subquery())
    joined = _instances.outerjoin(
        _metadata, sa.and_(_metadata.c.instance_uuid == _instances.c.uuid,
                           _metadata.c.deleted == 0),
    ).outerjoin(_faults, _faults.c.id == newest_fault)
    statement = sa.select(
        _instances, _metadata.c.key.label(_KEY), _metadata.c.value.label(_VALUE),
        *[column.label(_FAULT_PREFIX + column.name) for column in _faults.c],
    ).select_from(joined).where(
        _instances.c.uuid == sa.bindparam("uuid"), _instances.c.deleted == 0)
    if by_project:
        statement = statement.where(_instances.c.project_id == sa.bindparam("project_id"))
    return statement


_BY_UUID = _statement(by_project=False)
_BY_UUID_AND_PROJECT = _statement(by_project=True)
_INSTANCE_COLUMNS = tuple(column.name for column in _instances.c)
_FAULT_COLUMNS = tuple(column.name for column in _faults.c)


def instance_get(instance_uuid: str, project_id: str | None = None) -> dict[str, Any]:
    """The live instance as :func:`kumo.db.instances.instance_get` answers it (its
    columns, ``flavor`` and ``system_metadata`` decoded, ``metadata``, ``fault``,
    ``deleted``), limited to ``project_id`` when given.

    :raises InstanceNotFound: there is none, or it belongs to another project.
    """
    if project_id is None:
        statement, parameters = _BY_UUID, {"uuid": instance_uuid}
    else:
        statement = _BY_UUID_AND_PROJECT
        parameters = {"uuid": instance_uuid, "project_id": project_id}
    with get_engine().connect() as connection:
        rows = connection.execute(statement, parameters).all()
    if not rows:
        raise exception.InstanceNotFound(instance_id=instance_uuid)
    width = len(_INSTANCE_COLUMNS)
    first = rows[0]
    instance = instances._decode(dict(zip(_INSTANCE_COLUMNS, first[:width], strict=True)))
    instance["metadata"] = {row[width]: row[width + 1] for row in rows
                            if row[width] is not None}
    fault = dict(zip(_FAULT_COLUMNS, first[width + 2:], strict=True))
    instance["fault"] = fault if fault["id"] is not None else None
    return instance
