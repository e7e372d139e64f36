"""The one query behind ``GET /servers/{id}`` (kumo.conductor.server_views).

:func:`kumo.db.instances.instance_get` reads a server in an ORM session with
three statements (the row, its metadata, its faults), each built anew: the
building and the session cost a show more than SQLite's own work
(bench/README.md, "API read path"). Here one statement brings the row, its
live metadata and its newest fault in one round trip: one result row per
metadata item (one with NULLs when there is none). Read-only.

The statement is compiled once per process and dialect (:class:`_Prepared`)
and run on the pool's DBAPI connection: even a cached statement cost
SQLAlchemy's Connection about twice SQLite's own work per show (its cache key
walks the statement's tree, plus the execution context, events and result
object; py-spy: a fifth of the conductor's GIL time under 8 clients). The
column types' result processors (SQLite's datetime parsing) are applied as
SQLAlchemy would, so the answer is the same. Being below the Connection, this
read is not seen by ``before_cursor_execute`` listeners nor echoed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

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


_INSTANCE_COLUMNS = tuple(column.name for column in _instances.c)
_FAULT_COLUMNS = tuple(column.name for column in _faults.c)


class _Prepared:
    """One statement compiled for one dialect: its SQL text, how to lay out its
    parameters for the DBAPI (a tuple in ``positiontup`` order, or a dict; the
    statement's own literals, such as ``deleted = 0``, are bound parameters too), and
    the result processor of each selected column, by its type (None where the DBAPI's
    value is kept)."""

    def __init__(self, statement: sa.Select, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.literals = {name: bind.effective_value for name, bind in compiled.binds.items()
                         if not bind.required}
        self.positions: Sequence[str] | None = (
            tuple(compiled.positiontup or ()) if dialect.positional else None)
        self.dialect = dialect
        self.types = tuple(column.type.dialect_impl(dialect)
                           for column in statement.selected_columns)
        # Made on the first read, from the cursor's column type codes (PostgreSQL's
        # numeric processors depend on them), as SQLAlchemy's result does.
        self.processed: tuple[tuple[int, Callable[[Any], Any]], ...] | None = None

    def _processors(self, description: Sequence[Any]) -> tuple[
            tuple[int, Callable[[Any], Any]], ...]:
        processors = [type_.result_processor(self.dialect, column[1])
                      for type_, column in zip(self.types, description, strict=True)]
        self.processed = tuple((index, processor) for index, processor in
                               enumerate(processors) if processor is not None)
        return self.processed

    def parameters(self, values: dict[str, Any]) -> Any:
        values = {**self.literals, **values}
        if self.positions is None:
            return values
        return tuple(values[name] for name in self.positions)

    def rows(self, fetched: list[Any], description: Sequence[Any]) -> list[list[Any]]:
        processed = self.processed
        if processed is None:
            processed = self._processors(description)
        rows = []
        for fetched_row in fetched:
            row = list(fetched_row)
            for index, processor in processed:
                row[index] = processor(row[index])
            rows.append(row)
        return rows


_STATEMENTS = {False: _statement(by_project=False), True: _statement(by_project=True)}
_prepared: dict[tuple[Any, ...], _Prepared] = {}
_prepared_lock = threading.Lock()


def prepare(dialect: Dialect, name: Any, statement: Callable[[], sa.Select]) -> _Prepared:
    """The statement ``name`` (built by ``statement()`` on first use) compiled for
    ``dialect``, once per process: for other fixed reads (kumo.db.flavors) too."""
    key = (type(dialect), dialect.paramstyle, name)
    prepared = _prepared.get(key)
    if prepared is None:
        with _prepared_lock:
            prepared = _prepared.get(key)
            if prepared is None:
                prepared = _prepared[key] = _Prepared(statement(), dialect)
    return prepared


def fetch(name: Any, statement: Callable[[], sa.Select],
          parameters: dict[str, Any]) -> list[list[Any]]:
    """The rows of the prepared statement ``name`` (see :func:`prepare`) with these
    bound values, read on a pooled DBAPI connection, each a list of the selected
    columns' values as SQLAlchemy's result processors make them."""
    engine = get_engine()
    prepared = prepare(engine.dialect, name, statement)
    connection = engine.raw_connection()  # given back (and rolled back) by close()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(prepared.sql, prepared.parameters(parameters))
            fetched = cursor.fetchall()
            description = cursor.description
        finally:
            cursor.close()
    finally:
        connection.close()
    return prepared.rows(fetched, description)


def _fetch(parameters: dict[str, Any], by_project: bool) -> list[list[Any]]:
    return fetch(("instance_get", by_project), lambda: _STATEMENTS[by_project], parameters)


def instance_get(instance_uuid: str, project_id: str | None = None) -> dict[str, Any]:
    """The live instance as :func:`kumo.db.instances.instance_get` answers it (its
    columns, ``flavor`` and ``system_metadata`` decoded, ``metadata``, ``fault``,
    ``deleted``), limited to ``project_id`` when given.

    :raises InstanceNotFound: there is none, or it belongs to another project.
    """
    if project_id is None:
        rows = _fetch({"uuid": instance_uuid}, by_project=False)
    else:
        rows = _fetch({"uuid": instance_uuid, "project_id": project_id}, by_project=True)
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
