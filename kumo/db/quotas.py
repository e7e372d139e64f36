"""Quota queries: limits (config defaults, quota classes, projects, users), usage counted
from the live rows, and the checks that keep a project within its limits.

kumo counts usage, like current Nova, instead of keeping usage counters: servers,
vCPUs and RAM are summed over the project's live instances, key pairs over the
user's, server groups over the project's. Deleting a row therefore gives its
quota back by itself, and no crash can leak usage.

A check and the insert it allows must be one transaction, or two concurrent
requests could both pass a check that only one of them fits. :func:`lock` takes
a per-project (or per-user) lock inside the caller's transaction before it
counts: on SQLite a no-op UPDATE that takes the database's write lock, on
PostgreSQL a transaction-scoped advisory lock, elsewhere a ``SELECT … FOR UPDATE``
of the project's quota rows.

Limits resolve as Nova's do: ``[quota]`` options, overridden by quota class
``default`` rows, overridden by the project's rows; a user's limit is the
project's unless a project-user row says otherwise. -1 means unlimited.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from kumo import exception
from kumo.compute.system_metadata import NEW_FLAVOR, OLD_FLAVOR
from kumo.conf import CONF
from kumo.db import models
from kumo.db.api import session

DEFAULT_CLASS = "default"
UNLIMITED = -1

# Every resource the API shows, in its order; the [quota] option of each.
RESOURCES = (
    "instances", "cores", "ram", "metadata_items", "injected_files",
    "injected_file_content_bytes", "injected_file_path_bytes", "key_pairs",
    "server_groups", "server_group_members", "floating_ips", "fixed_ips",
    "security_groups", "security_group_rules",
)
_OPTION = {"injected_file_path_bytes": "injected_file_path_length"}
# The resources whose usage is counted from rows (the others are per request).
COUNTED = ("instances", "cores", "ram", "key_pairs", "server_groups")
PER_USER = ("key_pairs",)

_quotas = models.Quota.__table__
_user_quotas = models.ProjectUserQuota.__table__
_classes = models.QuotaClass.__table__
_instances = models.Instance.__table__
_key_pairs = models.KeyPair.__table__
_groups = models.InstanceGroup.__table__


def _check_resources(values: Iterable[str]) -> None:
    unknown = sorted(set(values) - set(RESOURCES))
    if unknown:
        raise exception.Invalid(reason=f"unknown quota resources {unknown}")


# --- locking -----------------------------------------------------------------------------


# A write that changes nothing: SQLite's (and kumo's in-process) write lock, built once.
_SQLITE_WRITE_LOCK = sa.update(_classes).where(sa.false()).values(
    hard_limit=_classes.c.hard_limit)


def lock(db_session: orm.Session, scope: str) -> None:
    """Serialise quota checks of ``scope`` (``project:<id>`` or ``user:<id>``) until the
    caller's transaction ends. Call it first in the transaction, before any read."""
    dialect = db_session.get_bind().dialect.name
    if dialect == "sqlite":
        # SQLite locks the whole database for writing: the first write of the
        # transaction takes it, and the reads after it see every committed row.
        db_session.execute(_SQLITE_WRITE_LOCK)
    elif dialect == "postgresql":
        key = zlib.crc32(scope.encode()) - 2 ** 31
        db_session.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
    else:
        # Best effort: only a project with quota rows of its own has something to lock.
        db_session.execute(sa.select(_quotas.c.id).where(
            _quotas.c.project_id == scope.partition(":")[2]).with_for_update())


# --- limits ------------------------------------------------------------------------------


def defaults() -> dict[str, int]:
    """The ``[quota]`` options, by API resource name."""
    return {name: getattr(CONF.quota, _OPTION.get(name, name)) for name in RESOURCES}


def _rows(db_session: orm.Session, table: sa.Table, *where: Any) -> dict[str, int]:
    return {resource: limit for resource, limit in db_session.execute(
        sa.select(table.c.resource, table.c.hard_limit).where(*where))
        if resource in RESOURCES and limit is not None}


def _class_limits(db_session: orm.Session, class_name: str) -> dict[str, int]:
    limits = defaults()
    limits.update(_rows(db_session, _classes, _classes.c.class_name == DEFAULT_CLASS))
    if class_name != DEFAULT_CLASS:
        limits.update(_rows(db_session, _classes, _classes.c.class_name == class_name))
    return limits


def _project_limits(db_session: orm.Session, project_id: str) -> dict[str, int]:
    return scope_limits(db_session, project_id, None)[0]


def _user_limits(db_session: orm.Session, project_id: str, user_id: str) -> dict[str, int]:
    """The user's limits over the project's."""
    return scope_limits(db_session, project_id, user_id)[1]


# --- usage -------------------------------------------------------------------------------


def _extra_of(current_vcpus: int, current_ram: int, text: str | None) -> tuple[int, int]:
    """Extra vCPUs and RAM of one server in a resize: it counts at the larger of its
    current, old and new flavor until the resize is confirmed or reverted."""
    system_metadata = json.loads(text or "{}")
    flavors = []
    for key in (OLD_FLAVOR, NEW_FLAVOR):
        try:
            flavors.append(json.loads(system_metadata.get(key) or "{}"))
        except (TypeError, ValueError):
            continue
    vcpus = max([current_vcpus] + [int(f.get("vcpus") or 0) for f in flavors]) - current_vcpus
    memory_mb = max([current_ram] + [int(f.get("memory_mb") or 0) for f in flavors]) \
        - current_ram
    return vcpus, memory_mb


def _usage(db_session: orm.Session, project_id: str,
           user_id: str | None = None) -> dict[str, int]:
    """Counted usage of the project (or of one user in it)."""
    project, user = _scope_usage(db_session, project_id, user_id, COUNTED)
    return project if user_id is None else user


def _key_pair_count(db_session: orm.Session, user_id: str) -> int:
    return int(db_session.execute(sa.select(sa.func.count(_key_pairs.c.id)).where(
        _key_pairs.c.user_id == user_id, _key_pairs.c.deleted == 0)).scalar())


# --- checks (inside the caller's transaction, after lock()) ------------------------------


# The checks' reads, built once (statement building is a good part of a boot's DB
# CPU): every limit tier in one query, and each scope's usage counted for the
# project and the user at once (conditional sums), not one query per scope.
_LIMIT_TIERS = sa.union_all(
    sa.select(sa.literal_column("0").label("tier"), _classes.c.resource,
              _classes.c.hard_limit).where(_classes.c.class_name == DEFAULT_CLASS),
    sa.select(sa.literal_column("1"), _quotas.c.resource, _quotas.c.hard_limit)
    .where(_quotas.c.project_id == sa.bindparam("project_id")),
    sa.select(sa.literal_column("2"), _user_quotas.c.resource, _user_quotas.c.hard_limit)
    .where(_user_quotas.c.project_id == sa.bindparam("project_id"),
           _user_quotas.c.user_id == sa.bindparam("user_id")))
_live_of_project = (_instances.c.deleted == 0,
                    _instances.c.project_id == sa.bindparam("project_id"))
_of_user = _instances.c.user_id == sa.bindparam("user_id")


def _sum(column: Any) -> Any:
    return sa.func.coalesce(sa.func.sum(column), 0)


_INSTANCE_USAGE = sa.select(
    sa.func.count(_instances.c.id), _sum(_instances.c.vcpus), _sum(_instances.c.memory_mb),
    _sum(sa.case((_of_user, 1), else_=0)),
    _sum(sa.case((_of_user, _instances.c.vcpus), else_=0)),
    _sum(sa.case((_of_user, _instances.c.memory_mb), else_=0))).where(*_live_of_project)
_MOVING = sa.select(_instances.c.vcpus, _instances.c.memory_mb, _instances.c.system_metadata,
                    _of_user).where(*_live_of_project,
                                    _instances.c.system_metadata.like(f'%"{NEW_FLAVOR}"%'))
_GROUP_USAGE = sa.select(
    sa.func.count(_groups.c.id),
    _sum(sa.case((_groups.c.user_id == sa.bindparam("user_id"), 1), else_=0))).where(
    _groups.c.project_id == sa.bindparam("project_id"))


def scope_limits(db_session: orm.Session, project_id: str, user_id: str | None
                 ) -> tuple[dict[str, int], dict[str, int]]:
    """The project's limits and the user's (the project's, when ``user_id`` is None),
    in one query."""
    tiers: list[dict[str, int]] = [{}, {}, {}]
    for tier, resource, limit in db_session.execute(
            _LIMIT_TIERS, {"project_id": project_id, "user_id": user_id}):
        if resource in RESOURCES and limit is not None:
            tiers[int(tier)][resource] = limit
    project_limits = defaults()
    project_limits.update(tiers[0])
    project_limits.update(tiers[1])
    return project_limits, {**project_limits, **tiers[2]}


def limits_before_lock(db_session: orm.Session, project_id: str, user_id: str | None
                       ) -> tuple[dict[str, int], dict[str, int]] | None:
    """:func:`scope_limits`, for a caller about to :func:`lock`: read before the lock
    (on SQLite the database's write lock, which every writer waits for). A limit
    changed meanwhile only orders the change after the check (a change does not look
    at usage either). None on MySQL, where this read would take the transaction's
    REPEATABLE READ snapshot before the lock, and the usage counted after it could
    miss servers created meanwhile."""
    if db_session.get_bind().dialect.name == "mysql":
        return None
    return scope_limits(db_session, project_id, user_id)


def _scope_usage(db_session: orm.Session, project_id: str, user_id: str | None,
                 resources: Iterable[str]) -> tuple[dict[str, int], dict[str, int]]:
    """Counted usage of the project and of the user in it, counting only ``resources``
    (the others stay 0; key pairs are the user's only)."""
    wanted = set(resources)
    params = {"project_id": project_id, "user_id": user_id}
    project = dict.fromkeys(RESOURCES, 0)
    user = dict.fromkeys(RESOURCES, 0)
    if wanted & {"instances", "cores", "ram"}:
        (project["instances"], project["cores"], project["ram"], user["instances"],
         user["cores"], user["ram"]) = (int(value) for value in db_session.execute(
             _INSTANCE_USAGE, params).one())
        if wanted & {"cores", "ram"}:
            for vcpus, memory_mb, text, mine in db_session.execute(_MOVING, params):
                extra_vcpus, extra_ram = _extra_of(vcpus, memory_mb, text)
                for usage in (project, user) if mine else (project,):
                    usage["cores"] += extra_vcpus
                    usage["ram"] += extra_ram
    if "server_groups" in wanted:
        project["server_groups"], user["server_groups"] = (
            int(value) for value in db_session.execute(_GROUP_USAGE, params).one())
    if "key_pairs" in wanted and user_id is not None:
        user["key_pairs"] = _key_pair_count(db_session, user_id)
    return project, user


def _scopes(db_session: orm.Session, project_id: str, user_id: str | None,
            resources: Iterable[str] = COUNTED,
            limits: tuple[dict[str, int], dict[str, int]] | None = None
            ) -> list[tuple[dict[str, int], dict[str, int]]]:
    """(limits, usage) of the project and, with ``user_id``, of the user in it, usage
    counted for ``resources`` only; limits in one query (unless given: ``limits`` of
    :func:`scope_limits`), usage in one per kind."""
    project_limits, user_limits = limits or scope_limits(db_session, project_id, user_id)
    project_usage, user_usage = _scope_usage(db_session, project_id, user_id, resources)
    scopes = [(project_limits, project_usage)]
    if user_id is not None:
        scopes.append((user_limits, user_usage))
    return scopes


def _headroom(limit: int, used: int, each: int) -> int | None:
    """How many more of ``each`` fit (None: any number)."""
    if limit < 0 or each <= 0:
        return None
    return max(limit - used, 0) // each


def instances_allowed(db_session: orm.Session, project_id: str, user_id: str, vcpus: int,
                      memory_mb: int, min_count: int, max_count: int,
                      limits: tuple[dict[str, int], dict[str, int]] | None = None) -> int:
    """How many servers of this size (between min_count and max_count) the project and
    the user may still boot; call it after :func:`lock` of ``project:<project_id>``.
    ``limits``: what :func:`limits_before_lock` answered (None: read here).

    :raises TooManyInstances: not even ``min_count`` fit; the message names the
        resources (``Quota exceeded for instances: Requested 3, but already used 9
        of 10 instances``).
    """
    each = {"instances": 1, "cores": vcpus, "ram": memory_mb}
    scopes = _scopes(db_session, project_id, user_id, each, limits)
    allowed = max_count
    overs: list[str] = []
    first: tuple[str, int, int] | None = None
    for limits, usage in scopes:
        for resource, amount in each.items():
            room = _headroom(limits[resource], usage[resource], amount)
            if room is None:
                continue
            allowed = min(allowed, room)
            if room < min_count:
                if resource not in overs:
                    overs.append(resource)
                if first is None:
                    first = (resource, usage[resource], limits[resource])
    if first is not None:
        resource, used, limit = first
        raise exception.TooManyInstances(overs=", ".join(overs), resource=resource,
                                         req=max_count * each[resource], used=used,
                                         allowed=limit)
    return allowed


def check_deltas(db_session: orm.Session, project_id: str, user_id: str | None,
                 deltas: Mapping[str, int]) -> None:
    """Raise OverQuota unless usage + ``deltas`` stays within the project's (and the
    user's) limits; call it after :func:`lock`."""
    _check_resources(deltas)
    for limits, usage in _scopes(db_session, project_id, user_id, deltas):
        overs = [resource for resource, delta in deltas.items()
                 if delta > 0 and 0 <= limits[resource] < usage[resource] + delta]
        if overs:
            resource = overs[0]
            raise exception.OverQuota(
                f"Quota exceeded for {', '.join(overs)}: Requested {deltas[resource]}, but "
                f"already used {usage[resource]} of {limits[resource]} {resource}",
                overs=overs)


def server_group_check(db_session: orm.Session, project_id: str, user_id: str) -> None:
    """OverQuota (naming server_groups) unless the project and the user may have one
    more server group; call it after :func:`lock`."""
    check_deltas(db_session, project_id, user_id, {"server_groups": 1})


def key_pair_check(db_session: orm.Session, project_id: str, user_id: str) -> None:
    """KeypairLimitExceeded unless the user may have one more key pair (after lock())."""
    limit = _user_limits(db_session, project_id, user_id)["key_pairs"]
    if 0 <= limit <= _key_pair_count(db_session, user_id):
        raise exception.KeypairLimitExceeded()


def resize_check(instance_uuid: str, vcpus: int, memory_mb: int) -> None:
    """Raise OverQuota unless the project and user of the server may grow it to
    ``vcpus``/``memory_mb`` (a downsize always passes). Servers already in a resize
    count at their larger flavor."""
    with session() as db_session:
        row = db_session.execute(sa.select(
            _instances.c.project_id, _instances.c.user_id, _instances.c.vcpus,
            _instances.c.memory_mb).where(_instances.c.uuid == instance_uuid,
                                          _instances.c.deleted == 0)).first()
        if row is None:
            raise exception.InstanceNotFound(instance_id=instance_uuid)
        lock(db_session, f"project:{row.project_id}")
        deltas = {"cores": max(int(vcpus) - row.vcpus, 0),
                  "ram": max(int(memory_mb) - row.memory_mb, 0)}
        check_deltas(db_session, row.project_id, row.user_id, deltas)


def metadata_check(project_id: str, count: int) -> None:
    """MetadataLimitExceeded when a server of the project would have ``count`` items."""
    with session() as db_session:
        limit = _project_limits(db_session, project_id)["metadata_items"]
    if 0 <= limit < count:
        raise exception.MetadataLimitExceeded(allowed=limit)


# --- reads and changes for the API ---------------------------------------------------------


def quota_class_get(class_name: str) -> dict[str, int]:
    """The limits of a quota class (any name: the defaults plus its own rows)."""
    with session() as db_session:
        return _class_limits(db_session, class_name)


def quota_class_update(class_name: str, values: Mapping[str, int]) -> dict[str, int]:
    """Set limits of a quota class; returns the class's limits."""
    _check_resources(values)
    with session() as db_session:
        for resource, limit in values.items():
            _upsert(db_session, _classes, {"class_name": class_name, "resource": resource},
                    limit)
        return _class_limits(db_session, class_name)


def _upsert(db_session: orm.Session, table: sa.Table, key: Mapping[str, str],
            limit: int) -> None:
    where = [table.c[name] == value for name, value in key.items()]
    result = db_session.execute(sa.update(table).where(*where).values(hard_limit=int(limit)))
    if result.rowcount == 0:
        db_session.execute(sa.insert(table).values(**key, hard_limit=int(limit)))


def quota_get(project_id: str, user_id: str | None = None,
              detail: bool = False) -> dict[str, Any]:
    """The project's (or the user's) limits; with ``detail`` each resource is
    ``{"limit", "in_use", "reserved"}``."""
    with session() as db_session:
        limits = (_project_limits(db_session, project_id) if user_id is None
                  else _user_limits(db_session, project_id, user_id))
        if not detail:
            return limits
        usage = _usage(db_session, project_id, user_id)
        if user_id is None:
            usage["key_pairs"] = 0  # key pairs belong to users, not projects (Nova's answer)
    return {resource: {"limit": limits[resource], "in_use": usage[resource], "reserved": 0}
            for resource in RESOURCES}


def usage_get(project_id: str) -> dict[str, int]:
    """The project's counted usage (for ``/limits``)."""
    with session() as db_session:
        return _usage(db_session, project_id)


def quota_update(project_id: str, values: Mapping[str, int], user_id: str | None = None,
                 force: bool = False) -> dict[str, int]:
    """Set the project's (or a user's) limits; returns the limits after the change.

    Without ``force`` a limit below what is in use, or a user's limit above the
    project's, is refused (Invalid, 400, with Nova's message).
    """
    _check_resources(values)
    with session() as db_session:
        lock(db_session, f"project:{project_id}")
        if not force:
            usage = _usage(db_session, project_id, user_id)
            project = _project_limits(db_session, project_id)
            for resource, limit in values.items():
                if limit == UNLIMITED:
                    if user_id is not None and project[resource] != UNLIMITED:
                        raise exception.Invalid(
                            f"Quota limit {limit} for {resource} must be less than or "
                            f"equal to {project[resource]}.")
                    continue
                minimum = usage[resource] if resource in COUNTED else 0
                if limit < minimum:
                    raise exception.Invalid(
                        f"Quota limit {limit} for {resource} must be greater than or equal "
                        f"to already used and reserved {minimum}.")
                if user_id is not None and 0 <= project[resource] < limit:
                    raise exception.Invalid(
                        f"Quota limit {limit} for {resource} must be less than or equal to "
                        f"{project[resource]}.")
        for resource, limit in values.items():
            if user_id is None:
                _upsert(db_session, _quotas, {"project_id": project_id, "resource": resource},
                        limit)
            else:
                _upsert(db_session, _user_quotas, {"project_id": project_id,
                                                   "user_id": user_id,
                                                   "resource": resource}, limit)
        if user_id is None:
            return _project_limits(db_session, project_id)
        return _user_limits(db_session, project_id, user_id)


def quota_delete(project_id: str, user_id: str | None = None) -> None:
    """Forget the project's own limits (and its users'), or only one user's: they are
    back to the defaults."""
    with session() as db_session:
        if user_id is None:
            db_session.execute(sa.delete(_quotas).where(_quotas.c.project_id == project_id))
            db_session.execute(sa.delete(_user_quotas).where(
                _user_quotas.c.project_id == project_id))
        else:
            db_session.execute(sa.delete(_user_quotas).where(
                _user_quotas.c.project_id == project_id, _user_quotas.c.user_id == user_id))
