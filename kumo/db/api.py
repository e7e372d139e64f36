"""Engine and session handling, and the service queries.

Only kumo-conductor and kumo-manage may open the database; :func:`get_engine`
refuses every other binary. Query functions return plain dicts (column name to
value, DateTime columns as naive UTC datetimes), never ORM objects, so nothing
outside ``kumo.db`` holds a live database handle. Other query families live in
their own modules next to this one and use :func:`session` from here.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid as uuid_lib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from oslo_config import cfg
from sqlalchemy import event, exc, orm, pool
from sqlalchemy.engine import URL, Engine, make_url

from kumo import exception, process
from kumo.conf import CONF
from kumo.db import models
from kumo.db.clock import utcnow

__all__ = [
    "ALLOWED_BINARIES",
    "get_engine",
    "is_duplicate_entry",
    "key_values",
    "reset_engine",
    "service_create",
    "service_delete",
    "service_destroy",
    "service_get",
    "service_get_all",
    "service_get_by_host_and_binary",
    "service_get_by_uuid",
    "service_heartbeat",
    "service_update",
    "session",
    "utcnow",
]

ALLOWED_BINARIES = frozenset({"kumo-conductor", "kumo-manage"})

_engine: Engine | None = None
_engine_lock = threading.Lock()


# --- engine ------------------------------------------------------------------------------


def get_engine() -> Engine:
    """The process-wide engine for ``[database] connection``, built on first use.

    :raises DBAccessForbidden: this process is not kumo-conductor or kumo-manage.
    """
    # Checked on every call, not just the first, so a cached engine never leaks
    # to a process that should not have it.
    if process.binary() not in ALLOWED_BINARIES:
        raise exception.DBAccessForbidden(binary=process.binary())
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = _create_engine(CONF.database.connection)
    return _engine


def reset_engine() -> None:
    """Dispose of the engine and forget it; the next get_engine() reads the config again."""
    global _engine
    with _engine_lock:
        if _engine is not None:
            _engine.dispose()
        _engine = None


def _create_engine(connection: str) -> Engine:
    url = make_url(connection)
    if url.get_backend_name() == "sqlite":
        return _create_sqlite_engine(url)
    return sa.create_engine(
        url,
        pool_size=CONF.database.max_pool_size,
        max_overflow=CONF.database.max_overflow,
        # Drop connections the server closed while they sat in the pool (restarts,
        # MySQL's wait_timeout) instead of failing the next request with them.
        pool_pre_ping=True,
        pool_recycle=3600,
        echo=CONF.database.connection_debug,
    )


def _is_sqlite_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:")


# oslo.messaging's default [DEFAULT] executor_thread_pool_size, for a process that has
# not registered the option (it is registered when the RPC server is built).
_RPC_EXECUTOR_THREADS = 64


# Bytes of heap all SQLite connections of a process should stay under (see the pragma).
SQLITE_SOFT_HEAP_LIMIT = 24 * 1024 * 1024


def _conductor_threads() -> int:
    """The threads of kumo-conductor that may use the database at once: its RPC
    executor's ([DEFAULT] executor_thread_pool_size) and its task pool's
    ([conductor] task_workers)."""
    try:
        rpc_threads = int(CONF.executor_thread_pool_size)
    except cfg.NoSuchOptError:
        rpc_threads = _RPC_EXECUTOR_THREADS
    try:
        task_threads = int(CONF.conductor.task_workers)
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        task_threads = 0
    return rpc_threads + task_threads


def _create_sqlite_engine(url: URL) -> Engine:
    in_memory = _is_sqlite_memory(url)
    if in_memory:
        # One connection shared by every thread, or each would see its own empty database.
        engine = sa.create_engine(
            url,
            poolclass=pool.StaticPool,
            connect_args={"check_same_thread": False},
            echo=CONF.database.connection_debug,
        )
    else:
        directory = os.path.dirname(os.path.abspath(url.database))
        os.makedirs(directory, exist_ok=True)
        # A connection for every conductor thread that may hold one: with fewer, the
        # threads beyond the pool open (and PRAGMA) a new connection each time, and
        # wait for one once the overflow is used up too.
        engine = sa.create_engine(
            url, pool_size=max(CONF.database.max_pool_size, _conductor_threads()),
            max_overflow=CONF.database.max_overflow, echo=CONF.database.connection_debug)

    wal = CONF.database.sqlite_wal and not in_memory
    busy_timeout = int(CONF.database.sqlite_busy_timeout)

    @event.listens_for(engine, "connect")
    def _set_sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={busy_timeout}")
            cursor.execute("PRAGMA foreign_keys=ON")
            # Safe with WAL (a power cut may lose the last commits, never corrupt).
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Process-wide: past it, each connection reuses its page cache instead of
            # growing it (80 pooled connections x 2 MB held 60-100 MB after a burst).
            cursor.execute(f"PRAGMA soft_heap_limit={SQLITE_SOFT_HEAP_LIMIT}")
        finally:
            cursor.close()

    if not in_memory:
        # One writer at a time, queued in Python rather than in SQLite's busy handler.
        from kumo.db import sqlite_writer

        sqlite_writer.install(engine, busy_timeout / 1000.0,
                              sqlite_writer.lock_path(url.database))
    return engine


# --- sessions and helpers ----------------------------------------------------------------


@contextlib.contextmanager
def session() -> Iterator[orm.Session]:
    """A Session in a transaction: committed when the block ends, rolled back if it raises."""
    with orm.Session(bind=get_engine(), expire_on_commit=False) as db_session:
        with db_session.begin():
            yield db_session


def is_duplicate_entry(error: exc.IntegrityError) -> bool:
    """Whether an IntegrityError is a unique-constraint violation (on any backend)."""
    orig = error.orig
    if getattr(orig, "pgcode", None) == "23505":  # PostgreSQL unique_violation
        return True
    args = getattr(orig, "args", ())
    if args and args[0] == 1062:  # MySQL ER_DUP_ENTRY
        return True
    return "UNIQUE constraint failed" in str(orig)  # SQLite


def key_values(db_session: orm.Session, parent_ids: Iterable[Any], parent: sa.Column,
               key: sa.Column, value: sa.Column, *criteria: sa.ColumnElement[bool]
               ) -> dict[Any, dict[str, Any]]:
    """``{parent id: {key: value}}`` of a key/value child table (a flavor's extra
    specs, an image's properties, a server's metadata) in one query; every parent
    id has a dict, empty when it has no rows."""
    children: dict[Any, dict[str, Any]] = {parent_id: {} for parent_id in parent_ids}
    if children:
        for parent_id, name, item in db_session.execute(
                sa.select(parent, key, value).where(parent.in_(list(children)), *criteria)):
            children[parent_id][name] = item
    return children


def with_key_values(db_session: orm.Session, rows: Iterable[Mapping[str, Any]], field: str,
                    parent: sa.Column, key: sa.Column, value: sa.Column
                    ) -> list[dict[str, Any]]:
    """``rows`` as dicts, each with ``field`` set to its ``{key: value}`` children
    (read by :func:`key_values` in one query, keyed by the row's ``id``)."""
    items = [dict(row) for row in rows]
    children = key_values(db_session, [item["id"] for item in items], parent, key, value)
    for item in items:
        item[field] = children[item["id"]]
    return items


def touch_instance(db_session: orm.Session, instance_uuid: str) -> None:
    """Bump the live instance's ``updated_at``, which takes its row lock for the
    transaction (a server's tags and metadata change one writer at a time).

    :raises InstanceNotFound: no live instance has this uuid.
    """
    instances = models.Instance.__table__
    result = db_session.execute(sa.update(instances).where(
        instances.c.uuid == instance_uuid, instances.c.deleted == 0).values(
        updated_at=utcnow()))
    if result.rowcount == 0:
        raise exception.InstanceNotFound(instance_id=instance_uuid)


def _row(db_session: orm.Session, statement: sa.Select) -> dict[str, Any] | None:
    row = db_session.execute(statement).mappings().one_or_none()
    return None if row is None else dict(row)


# --- services ----------------------------------------------------------------------------

_services = models.Service.__table__


def _live_services() -> sa.Select:
    return sa.select(_services).where(_services.c.deleted == 0)


def _service_get(db_session: orm.Session, service_id: int) -> dict[str, Any]:
    row = _row(db_session, _live_services().where(_services.c.id == service_id))
    if row is None:
        raise exception.ServiceNotFound(service_id=service_id)
    return row


def _update_live_service(
    db_session: orm.Session, service_id: int, values: Mapping[str, Any]
) -> None:
    result = db_session.execute(
        sa.update(_services)
        .where(_services.c.id == service_id, _services.c.deleted == 0)
        .values(**values)
    )
    if result.rowcount == 0:
        raise exception.ServiceNotFound(service_id=service_id)


@contextlib.contextmanager
def _unique_host_and_binary(values: Mapping[str, Any]) -> Iterator[None]:
    """Turn a duplicate host and binary (the commit's IntegrityError) into ServiceExists."""
    try:
        yield
    except exc.IntegrityError as error:
        if is_duplicate_entry(error):
            raise exception.ServiceExists(
                host=values.get("host"), binary=values.get("binary")
            ) from error
        raise


def service_create(values: Mapping[str, Any]) -> dict[str, Any]:
    """Insert a service row; ``uuid`` is generated when not given.

    :raises ServiceExists: a live service with the same host and binary exists.
    """
    values = dict(values)
    values.setdefault("uuid", str(uuid_lib.uuid4()))
    with _unique_host_and_binary(values), session() as db_session:
        result = db_session.execute(sa.insert(_services).values(**values))
        return _service_get(db_session, result.inserted_primary_key[0])


def service_get(service_id: int) -> dict[str, Any]:
    """The live service with this id.

    :raises ServiceNotFound: there is none.
    """
    with session() as db_session:
        return _service_get(db_session, service_id)


def service_get_by_uuid(uuid: str) -> dict[str, Any]:
    """The live service with this uuid.

    :raises ServiceNotFound: there is none.
    """
    with session() as db_session:
        row = _row(db_session, _live_services().where(_services.c.uuid == uuid))
    if row is None:
        raise exception.ServiceNotFound(service_id=uuid)
    return row


def service_get_by_host_and_binary(host: str, binary: str) -> dict[str, Any]:
    """The live service ``binary`` on ``host``.

    :raises HostBinaryNotFound: there is none.
    """
    with session() as db_session:
        row = _row(
            db_session,
            _live_services().where(_services.c.host == host, _services.c.binary == binary),
        )
    if row is None:
        raise exception.HostBinaryNotFound(host=host, binary=binary)
    return row


def service_get_all(
    binary: str | None = None, host: str | None = None, include_disabled: bool = True
) -> list[dict[str, Any]]:
    """Live services, optionally only of one binary and/or host, ordered by id."""
    statement = _live_services().order_by(_services.c.id)
    if binary is not None:
        statement = statement.where(_services.c.binary == binary)
    if host is not None:
        statement = statement.where(_services.c.host == host)
    if not include_disabled:
        statement = statement.where(_services.c.disabled == sa.false())
    with session() as db_session:
        return [dict(row) for row in db_session.execute(statement).mappings()]


def service_update(service_id: int, values: Mapping[str, Any]) -> dict[str, Any]:
    """Change columns of a live service and return the updated row.

    :raises ServiceNotFound: there is no live service with this id.
    :raises ServiceExists: the change would duplicate another service's host and binary.
    """
    with _unique_host_and_binary(values), session() as db_session:
        _update_live_service(db_session, service_id, values)
        return _service_get(db_session, service_id)


def service_heartbeat(service_id: int) -> dict[str, Any]:
    """Record that the service reported in: last_seen_up = now, report_count + 1.

    One UPDATE, so concurrent heartbeats never lose a count. The time is this
    process's clock (the conductor's), so all services are judged by one clock.

    :raises ServiceNotFound: there is no live service with this id.
    """
    now = utcnow()
    with session() as db_session:
        _update_live_service(
            db_session,
            service_id,
            {
                "last_seen_up": now,
                "report_count": _services.c.report_count + 1,
                "updated_at": now,
            },
        )
        return _service_get(db_session, service_id)


def service_destroy(service_id: int) -> None:
    """Soft-delete a service and the compute nodes it manages.

    The host and binary are then free for a new service row.

    :raises ServiceNotFound: there is no live service with this id.
    """
    now = utcnow()
    compute_nodes = models.ComputeNode.__table__
    with session() as db_session:
        _update_live_service(
            db_session, service_id, {"deleted": _services.c.id, "deleted_at": now}
        )
        db_session.execute(
            sa.update(compute_nodes)
            .where(compute_nodes.c.service_id == service_id, compute_nodes.c.deleted == 0)
            .values(deleted=compute_nodes.c.id, deleted_at=now)
        )


def service_delete(service_id: int, compute_binary: str = "kumo-compute") -> None:
    """Soft-delete a service as an operator asked (``DELETE /os-services/{id}``),
    refusing a compute service whose host still has live instances.

    One guarded UPDATE, so a server placed on the host at the same moment either
    blocks the delete or finds the service gone. Its compute nodes go with it.

    :raises ServiceNotFound: there is no live service with this id.
    :raises ServiceHasInstances: a compute service whose host has live instances.
    """
    instances = models.Instance.__table__
    compute_nodes = models.ComputeNode.__table__
    hosting = sa.exists().where(instances.c.host == _services.c.host, instances.c.deleted == 0)
    now = utcnow()
    with session() as db_session:
        result = db_session.execute(
            sa.update(_services)
            .where(_services.c.id == service_id, _services.c.deleted == 0,
                   sa.or_(_services.c.binary != compute_binary, ~hosting))
            .values(deleted=_services.c.id, deleted_at=now))
        if result.rowcount == 0:
            _service_get(db_session, service_id)  # raises ServiceNotFound
            raise exception.ServiceHasInstances()
        service = db_session.execute(sa.select(_services.c.host, _services.c.binary).where(
            _services.c.id == service_id)).one()
        # A node reported before its service registered names no service: its host does.
        owned = compute_nodes.c.service_id == service_id
        if service.binary == compute_binary:
            owned = sa.or_(owned, sa.and_(compute_nodes.c.service_id.is_(None),
                                          compute_nodes.c.host == service.host))
        db_session.execute(
            sa.update(compute_nodes).where(owned, compute_nodes.c.deleted == 0)
            .values(deleted=compute_nodes.c.id, deleted_at=now))
