"""Instance queries: servers, their user metadata and faults.

An instance comes back as a plain dict of its columns, with ``flavor`` and
``system_metadata`` decoded from JSON, ``metadata`` (a dict, from
instance_metadata), ``fault`` (the newest fault as a dict, or None) and
``deleted`` as a bool.

Every task-state transition other processes race on goes through
:func:`instance_update` with ``expected_task_state``: one guarded UPDATE, so of
two callers expecting the same state exactly one wins.
"""

from __future__ import annotations

import datetime
import json
import re
import uuid as uuid_lib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from oslo_utils import timeutils
from sqlalchemy import orm

from kumo import exception
from kumo.compute import task_states, vm_states
from kumo.db import models, tags
from kumo.db.api import session
from kumo.db.clock import utcnow

_instances = models.Instance.__table__
_metadata = models.InstanceMetadata.__table__
_faults = models.InstanceFault.__table__
_flavors = models.Flavor.__table__

# system_metadata keys of the resource claim an instance holds on a compute node.
CLAIMED_NODE = "claimed_node"
CLAIMED_RESOURCES = "claimed_resources"

_JSON_COLUMNS = ("flavor", "system_metadata")
_DATETIME_COLUMNS = frozenset(
    c.name for c in _instances.columns if isinstance(c.type, sa.DateTime))
_WRITABLE = frozenset(c.name for c in _instances.columns) - {"id", "deleted"}
_SORTABLE = frozenset(c.name for c in _instances.columns
                      if not isinstance(c.type, sa.Text))
_FAULT_MESSAGE_MAX = models.NAME


# --- encoding ----------------------------------------------------------------------------


def encode_json(value: Any) -> str | None:
    # sort_keys and the default separators make the text predictable, which
    # compute_nodes relies on to find an instance's claim with LIKE.
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def decode_json(text: str | None) -> dict[str, Any]:
    return json.loads(text) if text else {}


def _as_datetime(value: Any) -> Any:
    """Naive UTC from a datetime or the ISO string a datetime becomes on the bus."""
    if isinstance(value, str):
        value = timeutils.parse_isotime(value)
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        value = timeutils.normalize_time(value)
    return value


def _columns(values: Mapping[str, Any]) -> dict[str, Any]:
    """Column values for an INSERT/UPDATE: JSON encoded, datetimes normalised."""
    unknown = set(values) - _WRITABLE
    if unknown:
        raise exception.Invalid(reason=f"unknown instance fields {sorted(unknown)}")
    columns = dict(values)
    for name in _JSON_COLUMNS:
        if name in columns and not isinstance(columns[name], str):
            columns[name] = encode_json(columns[name])
    for name in _DATETIME_COLUMNS & set(columns):
        columns[name] = _as_datetime(columns[name])
    return columns


def _decode(row: Mapping[str, Any], flavors: dict[str, Any] | None = None,
            system_metadata_text: bool = False, owned: bool = False) -> dict[str, Any]:
    """A row as a dict with its JSON decoded; with ``flavors`` (JSON text -> decoded),
    rows of the same flavor share one decoded dict (for read-only callers). With
    ``system_metadata_text`` the system_metadata stays the stored JSON text (a caller
    that reads a key or two of it decodes it only when they are there); with
    ``owned`` the row is a dict of the caller's to change in place rather than copy."""
    instance = row if owned and type(row) is dict else dict(row)
    text = instance.get("flavor")
    if flavors is None or not text:
        instance["flavor"] = decode_json(text) or None
    else:
        flavor = flavors.get(text)
        if flavor is None:
            flavor = flavors[text] = decode_json(text) or None
        instance["flavor"] = flavor
    if not system_metadata_text:
        instance["system_metadata"] = decode_json(instance.get("system_metadata"))
    instance["deleted"] = bool(instance.get("deleted"))
    return instance


# The children of instances read (their live metadata; their faults, newest first so
# the first seen per instance is the one shown), built once, the uuids bound.
_METADATA_OF = sa.select(_metadata.c.instance_uuid, _metadata.c.key, _metadata.c.value).where(
    _metadata.c.instance_uuid.in_(sa.bindparam("p_uuids", expanding=True)),
    _metadata.c.deleted == 0)
_FAULTS_OF = sa.select(_faults).where(
    _faults.c.instance_uuid.in_(sa.bindparam("p_uuids", expanding=True)),
    _faults.c.deleted == 0).order_by(_faults.c.created_at.desc(), _faults.c.id.desc())


def _with_children(db_session: orm.Session, rows: Iterable[Mapping[str, Any]],
                   flavors: dict[str, Any] | None = None,
                   system_metadata_text: bool = False, owned: bool = False
                   ) -> list[dict[str, Any]]:
    instances = [_decode(row, flavors, system_metadata_text, owned) for row in rows]
    if not instances:
        return instances
    by_uuid = {instance["uuid"]: instance for instance in instances}
    for instance in instances:
        instance["metadata"] = {}
        instance["fault"] = None
    params = {"p_uuids": list(by_uuid)}
    for instance_uuid, key, value in db_session.execute(_METADATA_OF, params):
        by_uuid[instance_uuid]["metadata"][key] = value
    for fault in db_session.execute(_FAULTS_OF, params).mappings():
        instance = by_uuid[fault["instance_uuid"]]
        if instance["fault"] is None:
            instance["fault"] = dict(fault)
    return instances


def _get_statement(of_project: bool, read_deleted: bool) -> sa.Select:
    statement = sa.select(_instances).where(
        _instances.c.uuid == sa.bindparam("p_uuid", type_=sa.String))
    if not read_deleted:
        statement = statement.where(_instances.c.deleted == 0)
    if of_project:
        statement = statement.where(
            _instances.c.project_id == sa.bindparam("p_project_id", type_=sa.String))
    return statement


# _get's read of one row, built once per shape (of a project?, deleted ones too?).
_GET = {(of_project, read_deleted): _get_statement(of_project, read_deleted)
        for of_project in (False, True) for read_deleted in (False, True)}


def _get(db_session: orm.Session, instance_uuid: str, project_id: str | None = None,
         read_deleted: bool = False) -> dict[str, Any]:
    row = db_session.execute(_GET[project_id is not None, bool(read_deleted)], {
        "p_uuid": instance_uuid, "p_project_id": project_id}).mappings().one_or_none()
    if row is None:
        raise exception.InstanceNotFound(instance_id=instance_uuid)
    return _with_children(db_session, [row])[0]


def _set_metadata(db_session: orm.Session, instance_uuid: str,
                  metadata: Mapping[str, Any]) -> None:
    db_session.execute(sa.delete(_metadata).where(
        _metadata.c.instance_uuid == instance_uuid, _metadata.c.deleted == 0))
    for key, value in metadata.items():
        db_session.execute(sa.insert(_metadata).values(
            instance_uuid=instance_uuid, key=key,
            value=None if value is None else str(value), deleted=0))


# --- create and read ---------------------------------------------------------------------


def instance_create(values_list: Sequence[Mapping[str, Any]],
                    min_count: int | None = None) -> list[dict[str, Any]]:
    """Insert the instances of one request in one transaction.

    Each ``values`` may carry ``metadata`` (a dict, stored as instance_metadata
    rows); ``uuid`` defaults to a uuid4, vm_state to building, task_state to
    scheduling, ``flavor``/``system_metadata`` (dicts) are stored as JSON.

    With ``min_count`` the quota is enforced in the same transaction: only as
    many of ``values_list`` as the project's quota allows are created (at least
    ``min_count``, or :class:`~kumo.exception.TooManyInstances`).
    """
    with session() as db_session:
        uuids = _insert(db_session, values_list, min_count)
        created = {instance["uuid"]: instance for instance in _with_children(
            db_session, db_session.execute(
                sa.select(_instances).where(_instances.c.uuid.in_(uuids))).mappings())}
        return [created[uuid] for uuid in uuids]


def instance_create_uuids(values_list: Sequence[Mapping[str, Any]],
                          min_count: int | None = None) -> list[str]:
    """:func:`instance_create` answering only the new instances' uuids, in order: no
    rows read back (the boot's hot path needs none)."""
    with session() as db_session:
        return _insert(db_session, values_list, min_count)


# The INSERT of a new instance, its values bound at execution (the compiled form is
# cached per set of columns) rather than built into a statement per server.
_INSERT = sa.insert(_instances)


def _insert(db_session: orm.Session, values_list: Sequence[Mapping[str, Any]],
            min_count: int | None) -> list[str]:
    # --- quota (kumo.db.quotas): count and insert under one per-project lock ---
    if min_count is not None and values_list:
        from kumo.db import quotas

        first = values_list[0]
        limits = quotas.limits_before_lock(db_session, first["project_id"], first["user_id"])
        quotas.lock(db_session, f"project:{first['project_id']}")
        values_list = values_list[:quotas.instances_allowed(
            db_session, first["project_id"], first["user_id"], int(first["vcpus"]),
            int(first["memory_mb"]), min_count, len(values_list), limits)]
    # --- end quota ---
    uuids = []
    for values in values_list:
        values = dict(values)
        metadata = values.pop("metadata", None) or {}
        values.pop("fault", None)
        values.setdefault("uuid", str(uuid_lib.uuid4()))
        values.setdefault("vm_state", vm_states.BUILDING)
        values.setdefault("task_state", task_states.SCHEDULING)
        values.setdefault("system_metadata", {})
        columns = _columns(values)
        columns["deleted"] = 0
        db_session.execute(_INSERT, columns)
        if metadata:
            # A new uuid has no metadata rows to replace: only inserts.
            _set_metadata(db_session, columns["uuid"], metadata)
        uuids.append(columns["uuid"])
    return uuids


def instance_get(instance_uuid: str, project_id: str | None = None,
                 read_deleted: bool = False) -> dict[str, Any]:
    """A live instance (or a deleted one too with ``read_deleted``).

    :raises InstanceNotFound: there is none, or it belongs to another project.
    """
    with session() as db_session:
        return _get(db_session, instance_uuid, project_id, read_deleted)


def _one_or_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]


def _in(column: sa.Column, expected: Any) -> sa.ColumnElement[bool]:
    """column IN (expected…), where a None in ``expected`` means IS NULL."""
    values = _one_or_list(expected)
    present = [value for value in values if value is not None]
    clauses: list[sa.ColumnElement[bool]] = []
    if present:
        clauses.append(column.in_(present))
    if None in values:
        clauses.append(column.is_(None))
    return sa.or_(*clauses) if clauses else sa.false()


def _filtered(filters: Mapping[str, Any]) -> sa.Select:
    filters = dict(filters)
    statement = sa.select(_instances)
    changes_since = filters.pop("changes_since", None)
    changes_before = filters.pop("changes_before", None)
    deleted = filters.pop("deleted", None)
    if deleted is None:
        # A changes-since (or -before) listing shows what was deleted then, too.
        deleted = None if changes_since is not None or changes_before is not None else False
    if deleted is True:
        statement = statement.where(_instances.c.deleted != 0)
    elif deleted is False:
        statement = statement.where(_instances.c.deleted == 0)
    if changes_since is not None:
        since = _as_datetime(changes_since)
        statement = statement.where(sa.or_(
            _instances.c.updated_at >= since,
            sa.and_(_instances.c.updated_at.is_(None), _instances.c.created_at >= since)))
    if changes_before is not None:
        before = _as_datetime(changes_before)
        statement = statement.where(sa.or_(
            _instances.c.updated_at <= before,
            sa.and_(_instances.c.updated_at.is_(None), _instances.c.created_at <= before)))
    for name, value in filters.items():
        if value is None:
            continue
        if name == "name":
            try:
                re.compile(value)
            except re.error as error:
                raise exception.Invalid(reason=f"name is not a valid regex: {error}") from error
            statement = statement.where(_instances.c.display_name.regexp_match(value))
        elif name == "flavor_id":
            internal = sa.select(_flavors.c.id).where(_flavors.c.flavorid == str(value))
            statement = statement.where(_instances.c.flavor_id.in_(internal))
        elif name in ("vm_state", "task_state", "uuid", "project_id", "user_id", "image_ref",
                      "host", "node", "reservation_id", "availability_zone", "locked"):
            statement = statement.where(_in(_instances.c[name], value))
        elif name in ("tags", "tags_any", "not_tags", "not_tags_any"):
            statement = statement.where(tags.filter_clause(name, _one_or_list(value),
                                                           _instances.c.uuid))
        else:
            raise exception.Invalid(reason=f"cannot filter servers by {name}")
    return statement


def _after_marker(keys: list[tuple[sa.Column, bool]], marker: Mapping[str, Any]
                  ) -> sa.ColumnElement[bool]:
    """Rows after ``marker`` in the order of ``keys`` (column, ascending).

    NULLs sort first ascending and last descending (made explicit in the ORDER BY,
    as backends differ).
    """
    def equal(column: sa.Column, value: Any) -> sa.ColumnElement[bool]:
        return column.is_(None) if value is None else column == value

    def after(column: sa.Column, ascending: bool, value: Any) -> sa.ColumnElement[bool]:
        if ascending:
            return column.is_not(None) if value is None else column > value
        return sa.false() if value is None else sa.or_(column < value, column.is_(None))

    branches = []
    for index, (column, ascending) in enumerate(keys):
        prefix = [equal(c, marker[c.name]) for c, _ in keys[:index]]
        branches.append(sa.and_(*prefix, after(column, ascending, marker[column.name])))
    return sa.or_(*branches)


def instance_get_all(filters: Mapping[str, Any] | None = None,
                     sort_keys: Sequence[str] | None = None,
                     sort_dirs: Sequence[str] | None = None, limit: int | None = None,
                     marker: str | None = None, shared_flavors: bool = False,
                     system_metadata_text: bool = False,
                     columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Instances matching ``filters``, sorted (default: newest first), paged.

    With ``shared_flavors`` the instances of one flavor share one ``flavor`` dict
    (decoded once): for callers that only read the rows (the API's views). With
    ``system_metadata_text`` each row's system_metadata is the stored JSON text, not
    decoded (a view that reads a key or two decodes it only when they are there).
    With ``columns`` only those columns are read (they must include ``uuid``; a
    ``flavor``, ``system_metadata`` or ``deleted`` left out reads as None, {} (None as
    text) or False).

    Filters: project_id, user_id, name (a regex on the display name), vm_state,
    task_state, uuid, image_ref, host, node, reservation_id, availability_zone
    (a value or a list each), flavor_id (the API's flavorid), changes_before
    (updated at or before; includes deleted instances), changes_since
    (updated since; includes deleted instances), deleted (True, False; default
    False unless changes_since is given);
    tags, tags_any, not_tags, not_tags_any (lists of tags: has all, has one,
    lacks one, has none).

    :raises MarkerNotFound: ``marker`` is not the uuid of an instance of this listing.
    :raises Invalid: an unknown filter or sort key.
    """
    filters = dict(filters or {})
    sort_keys = list(sort_keys or ["created_at"])
    sort_dirs = list(sort_dirs or [])
    default_dir = sort_dirs[-1] if sort_dirs else "desc"
    sort_dirs += [default_dir] * (len(sort_keys) - len(sort_dirs))
    if "id" not in sort_keys:
        sort_keys.append("id")
        sort_dirs.append(default_dir)
    keys: list[tuple[sa.Column, bool]] = []
    for key, direction in zip(sort_keys, sort_dirs, strict=True):
        if key not in _SORTABLE or direction not in ("asc", "desc"):
            raise exception.Invalid(reason=f"cannot sort servers by {key} {direction}")
        keys.append((_instances.c[key], direction == "asc"))

    statement = _filtered(filters)
    statement = statement.order_by(*[
        column.asc().nulls_first() if ascending else column.desc().nulls_last()
        for column, ascending in keys])
    with session() as db_session:
        if marker is not None:
            marker_statement = sa.select(_instances).where(_instances.c.uuid == marker)
            if filters.get("project_id") is not None:
                marker_statement = marker_statement.where(
                    _in(_instances.c.project_id, filters["project_id"]))
            marker_row = db_session.execute(marker_statement).mappings().first()
            if marker_row is None:
                raise exception.MarkerNotFound(marker=marker)
            statement = statement.where(_after_marker(keys, marker_row))
        if limit is not None:
            statement = statement.limit(int(limit))
        if columns is not None:
            statement = statement.with_only_columns(
                *[_instances.c[name] for name in columns], maintain_column_froms=True)
        result = db_session.execute(statement)
        # Plain tuples zipped with the column names once: a RowMapping per row costs
        # more than the rest of the row's decoding (1,000-server listings).
        names = list(result.keys())
        rows = [dict(zip(names, row, strict=True)) for row in result]
        return _with_children(db_session, rows, {} if shared_flavors else None,
                              system_metadata_text, owned=True)


# --- update and delete -------------------------------------------------------------------


def instance_update(instance_uuid: str, values: Mapping[str, Any], **expected: Any
                    ) -> dict[str, Any]:
    """Change a live instance, guarded by ``expected_task_state`` / ``expected_vm_state``.

    The guard is part of the single UPDATE's WHERE clause; each expected value is
    a value or a list, None in it meaning "no task". Without the keyword there is
    no guard. ``metadata`` (a dict) replaces the user metadata; ``system_metadata``
    is merged into the stored one (a key set to None is removed).

    :raises InstanceNotFound: there is no live instance with this uuid.
    :raises UnexpectedDeletingTaskStateError: the guard failed and the instance is being deleted.
    :raises UnexpectedTaskStateError: the guard failed otherwise.
    """
    with session() as db_session:
        instance_update_in(db_session, instance_uuid, values, **expected)
        return _get(db_session, instance_uuid)


def instance_update_in(db_session: orm.Session, instance_uuid: str,
                       values: Mapping[str, Any], **expected: Any) -> None:
    """:func:`instance_update` inside the caller's transaction, reading nothing back
    (for writes that do more in the same transaction, or whose caller needs no answer)."""
    instance_update_known_in(db_session, instance_uuid, values, UNREAD, **expected)


class _Unread:
    def __repr__(self) -> str:
        return "UNREAD"


#: "The caller has not read the stored system_metadata" (see instance_update_known_in).
UNREAD: Any = _Unread()


def instance_update_known_in(db_session: orm.Session, instance_uuid: str,
                             values: Mapping[str, Any], stored_system_metadata: Any,
                             **expected: Any) -> None:
    """:func:`instance_update_in` for a caller that has just read the instance's
    system_metadata text in this transaction (``stored_system_metadata``; UNREAD if
    not): a change of ``system_metadata`` is then one compare-and-swap UPDATE with
    no read of its own."""
    unknown = set(expected) - {"expected_task_state", "expected_vm_state"}
    if unknown:
        raise TypeError(f"unexpected arguments {sorted(unknown)}")
    values = dict(values)
    metadata = values.pop("metadata", None)
    system_metadata = values.pop("system_metadata", None)
    for name in ("fault", "uuid", "deleted", "id", "created_at"):
        values.pop(name, None)
    columns = _columns(values)
    columns["updated_at"] = utcnow()

    guard = _Guard(instance_uuid, expected)
    merged = system_metadata is not None and _update_merging(
        db_session, instance_uuid, guard, columns, system_metadata, stored_system_metadata)
    if not merged:
        result = guard.execute(db_session, columns)
        if result.rowcount == 0:
            _raise_guard_failure(db_session, instance_uuid, expected)
        if system_metadata is not None:
            _merge_system_metadata(db_session, instance_uuid, system_metadata)
    if metadata is not None:
        _set_metadata(db_session, instance_uuid, metadata)


# Guarded UPDATE statements, built once per shape (the columns set, the kinds of guard)
# and reused with bound values: building them per call was a large part of the
# conductor's CPU in a boot. A few dozen shapes exist; past _MAX_SHAPES they are
# built per call again rather than cached.
_UPDATES: dict[tuple[Any, ...], sa.Update] = {}
_MAX_SHAPES = 256


def _in_shape(expected: Any) -> tuple[tuple[Any, ...], bool]:
    """The values of an ``expected_*`` guard other than None, and whether None is in it."""
    values = _one_or_list(expected)
    return tuple(value for value in values if value is not None), None in values


def _bound_in(column: sa.Column, name: str, present: bool, none: bool
              ) -> sa.ColumnElement[bool]:
    """:func:`_in` with the values bound at execution (``name``, expanding)."""
    clauses: list[sa.ColumnElement[bool]] = []
    if present:
        clauses.append(column.in_(sa.bindparam(name, expanding=True)))
    if none:
        clauses.append(column.is_(None))
    return sa.or_(*clauses) if clauses else sa.false()


class _Guard:
    """The WHERE clause of a guarded instance UPDATE: the live row ``instance_uuid``,
    its task_state / vm_state in the ``expected_*`` values when given."""

    def __init__(self, instance_uuid: str, expected: Mapping[str, Any]) -> None:
        self.instance_uuid = instance_uuid
        self.params: dict[str, Any] = {"g_uuid": instance_uuid}
        shape: list[Any] = []
        for key, name in (("expected_task_state", "g_task"), ("expected_vm_state", "g_vm")):
            if key in expected:
                present, none = _in_shape(expected[key])
                shape.append((bool(present), none))
                if present:
                    self.params[name] = list(present)
            else:
                shape.append(None)
        self.shape = tuple(shape)

    def execute(self, db_session: orm.Session, columns: Mapping[str, Any],
                stored: Any = UNREAD) -> Any:
        """UPDATE the guarded row to ``columns``; with ``stored`` (the system_metadata
        text read before, None included) only if the row still holds it."""
        params = dict(self.params)
        cas = None
        if stored is not UNREAD:
            if stored is None:
                cas = "null"
            elif db_session.get_bind().dialect.name == "mysql":
                # MySQL compares text by its collation (case-blind by default): a
                # change of case alone would pass for no change and be lost. Bytes.
                cas, params["g_stored"] = "bytes", stored.encode("utf-8")
            else:
                cas, params["g_stored"] = "text", stored
        names = tuple(sorted(columns))
        params.update((f"v_{name}", columns[name]) for name in names)
        return db_session.execute(self._statement(names, cas), params)

    def _statement(self, names: tuple[str, ...], cas: str | None) -> sa.Update:
        key = (names, self.shape, cas)
        statement = _UPDATES.get(key)
        if statement is not None:
            return statement
        task, vm = self.shape
        where = [_instances.c.uuid == sa.bindparam("g_uuid"), _instances.c.deleted == 0]
        if task is not None:
            where.append(_bound_in(_instances.c.task_state, "g_task", *task))
        if vm is not None:
            where.append(_bound_in(_instances.c.vm_state, "g_vm", *vm))
        column = _instances.c.system_metadata
        if cas == "null":
            where.append(column.is_(None))
        elif cas == "bytes":
            where.append(sa.cast(column, sa.LargeBinary)
                         == sa.bindparam("g_stored", type_=sa.LargeBinary))
        elif cas == "text":
            where.append(column == sa.bindparam("g_stored", type_=column.type))
        statement = sa.update(_instances).where(*where).values({
            name: sa.bindparam(f"v_{name}", type_=_instances.c[name].type)
            for name in names})
        if len(_UPDATES) < _MAX_SHAPES:
            _UPDATES[key] = statement
        return statement


# The stored system_metadata of a live instance (the read of a compare-and-swap update).
_STORED_SYSTEM_METADATA = sa.select(_instances.c.system_metadata).where(
    _instances.c.uuid == sa.bindparam("instance_uuid"), _instances.c.deleted == 0)


def read_system_metadata(db_session: orm.Session, instance_uuid: str) -> Any:
    """The live instance's system_metadata as stored (JSON text, or None), or UNREAD
    when there is no live instance with this uuid."""
    row = db_session.execute(_STORED_SYSTEM_METADATA,
                             {"instance_uuid": instance_uuid}).first()
    return UNREAD if row is None else row[0]


def merged_system_metadata(stored: str | None, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The system_metadata text ``stored`` decoded with ``changes`` applied (a key
    set to None removed), as an update's merge makes it."""
    result = decode_json(stored)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def _update_merging(db_session: orm.Session, instance_uuid: str, guard: _Guard,
                    columns: dict[str, Any], changes: Mapping[str, Any], stored: Any
                    ) -> bool:
    """The guarded UPDATE and the merge of ``changes`` into the system_metadata as one
    compare-and-swap statement: the merge is computed from ``stored`` (the text read
    before, or UNREAD: read here) and applied only if the row still holds that text.
    False when it matched no row (gone, guard failed, or changed since the read): the
    caller then takes the two-statement path, which raises the guard's error or merges
    under the row lock. One statement fewer per such write, two when ``stored`` is known."""
    if stored is UNREAD:
        stored = read_system_metadata(db_session, instance_uuid)
        if stored is UNREAD:
            return False
    merged = merged_system_metadata(stored, changes)
    result = guard.execute(db_session, {**columns, "system_metadata": encode_json(merged)},
                           stored=stored)
    return result.rowcount == 1


def _merge_system_metadata(db_session: orm.Session, instance_uuid: str,
                           changes: Mapping[str, Any]) -> None:
    # Runs after this transaction's UPDATE of the same row, which holds its lock.
    stored = db_session.execute(
        sa.select(_instances.c.system_metadata).where(_instances.c.uuid == instance_uuid)
    ).scalar()
    merged = merged_system_metadata(stored, changes)
    db_session.execute(sa.update(_instances).where(_instances.c.uuid == instance_uuid)
                       .values(system_metadata=encode_json(merged)))


def task_state_error(instance_uuid: str, expected: Any, actual: Any
                     ) -> exception.UnexpectedTaskStateError | None:
    """Why a guard of ``expected_task_state`` ``expected`` refuses a server whose task is
    ``actual``: UnexpectedDeletingTaskStateError while it is being deleted (callers
    treat that as "the delete wins"), else UnexpectedTaskStateError; None when
    ``actual`` is expected."""
    if actual in _one_or_list(expected):
        return None
    error_class = (exception.UnexpectedDeletingTaskStateError
                   if actual == task_states.DELETING else exception.UnexpectedTaskStateError)
    return error_class(instance_uuid=instance_uuid, expected=expected, actual=actual)


def _raise_guard_failure(db_session: orm.Session, instance_uuid: str,
                         expected: Mapping[str, Any]) -> None:
    row = db_session.execute(sa.select(_instances.c.task_state, _instances.c.vm_state).where(
        _instances.c.uuid == instance_uuid, _instances.c.deleted == 0)).first()
    if row is None:
        raise exception.InstanceNotFound(instance_id=instance_uuid)
    task_state, vm_state = row
    if "expected_task_state" in expected:
        error = task_state_error(instance_uuid, expected["expected_task_state"], task_state)
        if error is not None:
            raise error
    raise exception.UnexpectedTaskStateError(
        instance_uuid=instance_uuid,
        expected=f"vm_state {expected.get('expected_vm_state')}",
        actual=f"vm_state {vm_state}")


def instance_destroy(instance_uuid: str) -> dict[str, Any]:
    """Soft-delete an instance and release the claim it holds on its node (idempotent).

    :raises InstanceNotFound: no instance, live or deleted, has this uuid.
    """
    with session() as db_session:
        _destroy_in(db_session, instance_uuid)
        return _get(db_session, instance_uuid, read_deleted=True)


def instance_destroy_in(db_session: orm.Session, instance_uuid: str) -> dict[str, Any]:
    """:func:`instance_destroy` in the caller's transaction, reading back only the
    (decoded) system_metadata rather than the whole instance.

    :raises InstanceNotFound: no instance, live or deleted, has this uuid.
    """
    system_metadata = _destroy_in(db_session, instance_uuid)
    if system_metadata is not None:
        return system_metadata
    row = db_session.execute(sa.select(_instances.c.system_metadata).where(
        _instances.c.uuid == instance_uuid)).first()
    if row is None:
        raise exception.InstanceNotFound(instance_id=instance_uuid)
    return decode_json(row[0])


def _destroy_in(db_session: orm.Session, instance_uuid: str) -> dict[str, Any] | None:
    """Soft-delete the live instance and give back its claims; its system_metadata
    after that (decoded), or None when there was no live instance to delete."""
    from kumo.db import compute_nodes  # compute_nodes imports this module

    now = utcnow()
    result = db_session.execute(
        sa.update(_instances)
        .where(_instances.c.uuid == instance_uuid, _instances.c.deleted == 0)
        .values(deleted=_instances.c.id, deleted_at=now, terminated_at=now,
                updated_at=now, vm_state=vm_states.DELETED, task_state=None))
    if not result.rowcount:
        return None
    # One read of the row for both claims (and for the caller).
    system_metadata = compute_nodes.release_all_in(db_session, instance_uuid)
    tags.delete_in(db_session, instance_uuid)
    return system_metadata


# --- faults ------------------------------------------------------------------------------


def instance_fault_create(instance_uuid: str, code: int, message: str | None,
                          details: str | None = None, host: str | None = None
                          ) -> dict[str, Any]:
    """Record why an instance failed; the newest fault is the one the API shows.

    :raises InstanceNotFound: no instance has this uuid.
    """
    if message is not None and len(message) > _FAULT_MESSAGE_MAX:
        message = message[:_FAULT_MESSAGE_MAX - 3] + "..."
    with session() as db_session:
        exists = db_session.execute(sa.select(_instances.c.id).where(
            _instances.c.uuid == instance_uuid)).first()
        if exists is None:
            raise exception.InstanceNotFound(instance_id=instance_uuid)
        fault_id = db_session.execute(sa.insert(_faults).values(
            instance_uuid=instance_uuid, code=int(code), message=message, details=details,
            host=host, deleted=0)).inserted_primary_key[0]
        return dict(db_session.execute(
            sa.select(_faults).where(_faults.c.id == fault_id)).mappings().one())
