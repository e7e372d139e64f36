"""Usage queries for ``/os-simple-tenant-usage``: the servers that ran in a period."""

from __future__ import annotations

import datetime
from typing import Any

import sqlalchemy as sa

from kumo import exception
from kumo.db import instances as instance_db
from kumo.db import models
from kumo.db.api import session

_instances = models.Instance.__table__


def instance_get_active_by_window(start: datetime.datetime, end: datetime.datetime,
                                  project_id: str | None = None, limit: int | None = None,
                                  marker: str | None = None) -> list[dict[str, Any]]:
    """Instances, deleted ones too, that were not terminated before ``start`` and
    were launched before ``end`` (never-launched ones cost nothing), ordered by
    project and uuid.

    :raises MarkerNotFound: ``marker`` is not the uuid of an instance of this listing.
    """
    start = instance_db._as_datetime(start)
    end = instance_db._as_datetime(end)
    statement = sa.select(_instances).where(
        sa.or_(_instances.c.terminated_at.is_(None), _instances.c.terminated_at > start),
        _instances.c.launched_at < end)
    if project_id is not None:
        statement = statement.where(_instances.c.project_id == project_id)
    statement = statement.order_by(_instances.c.project_id, _instances.c.uuid)
    with session() as db_session:
        if marker is not None:
            marker_row = db_session.execute(
                sa.select(_instances.c.project_id, _instances.c.uuid)
                .where(_instances.c.uuid == marker)).first()
            if marker_row is None:
                raise exception.MarkerNotFound(marker=marker)
            statement = statement.where(sa.tuple_(_instances.c.project_id, _instances.c.uuid)
                                        > sa.tuple_(marker_row.project_id, marker_row.uuid))
        if limit is not None:
            statement = statement.limit(int(limit))
        return instance_db._with_children(db_session, db_session.execute(statement).mappings())
