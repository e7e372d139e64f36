"""Flavor queries: server sizes, their extra specs and who may use a private one.

Rows come back as plain dicts with ``extra_specs`` (a dict) added.
"""

from __future__ import annotations

import uuid as uuid_lib
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc, orm

from kumo import exception
from kumo.db import instance_views, models
from kumo.db.api import is_duplicate_entry, session, with_key_values

_flavors = models.Flavor.__table__
_extra_specs = models.FlavorExtraSpec.__table__
_projects = models.FlavorProject.__table__

_FLAVOR_COLUMNS = frozenset(c.name for c in _flavors.columns) - {"id", "created_at", "updated_at"}


def _with_extra_specs(db_session: orm.Session, rows: Iterable[Mapping[str, Any]]
                      ) -> list[dict[str, Any]]:
    return with_key_values(db_session, rows, "extra_specs", _extra_specs.c.flavor_id,
                           _extra_specs.c.key, _extra_specs.c.value)


def _visible_to(project: str | sa.BindParameter[str] | None) -> sa.ColumnElement[bool]:
    """Public flavors, and private ones the project (an id, or :data:`_PROJECT` for a
    prepared read) was given access to; every flavor for None."""
    if project is None:
        return sa.true()
    granted = sa.select(_projects.c.flavor_id).where(_projects.c.project_id == project)
    return sa.or_(_flavors.c.is_public == sa.true(), _flavors.c.id.in_(granted))


# The project of a prepared read, bound at execution (kumo.db.instance_views.fetch).
_PROJECT = sa.bindparam("project_id", type_=sa.String)


def flavor_create(values: Mapping[str, Any]) -> dict[str, Any]:
    """Insert a flavor with its ``extra_specs`` (and ``projects`` for a private one).

    ``flavorid`` defaults to a new uuid4.

    :raises FlavorExists: the name or flavorid is taken.
    """
    values = dict(values)
    extra_specs = dict(values.pop("extra_specs", None) or {})
    projects = list(values.pop("projects", None) or [])
    if not values.get("flavorid"):
        values["flavorid"] = str(uuid_lib.uuid4())
    values["flavorid"] = str(values["flavorid"])
    unknown = set(values) - _FLAVOR_COLUMNS
    if unknown:
        raise exception.Invalid(reason=f"unknown flavor fields {sorted(unknown)}")
    try:
        with session() as db_session:
            flavor_id = db_session.execute(
                sa.insert(_flavors).values(**values)).inserted_primary_key[0]
            for key, value in extra_specs.items():
                db_session.execute(sa.insert(_extra_specs).values(
                    flavor_id=flavor_id, key=key, value=value))
            for project_id in projects:
                db_session.execute(sa.insert(_projects).values(
                    flavor_id=flavor_id, project_id=project_id))
            row = db_session.execute(
                sa.select(_flavors).where(_flavors.c.id == flavor_id)).mappings().one()
            return _with_extra_specs(db_session, [row])[0]
    except exc.IntegrityError as error:
        if not is_duplicate_entry(error):
            raise
        with session() as db_session:
            taken = db_session.execute(sa.select(_flavors.c.id).where(
                _flavors.c.name == values.get("name"))).first()
        if taken is not None:
            raise exception.FlavorExists(what="name", value=values.get("name")) from error
        raise exception.FlavorExists(what="ID", value=values["flavorid"]) from error


_FLAVOR_NAMES = tuple(column.name for column in _flavors.c)
_ID = _FLAVOR_NAMES.index("id")


def _listing(is_public: bool | None, min_memory_mb: bool, min_disk: bool,
             by_project: bool) -> sa.Select:
    """The listing's one statement for one shape of filters (their values bound): the
    flavors with their extra specs joined, one row per extra spec (one with NULLs when
    there is none), in flavorid order and each flavor's specs in the order they were
    written (the id order the separate read of the specs had on SQLite)."""
    where: list[sa.ColumnElement[bool]] = []
    if by_project:
        where.append(_visible_to(_PROJECT))
    if is_public is not None:
        where.append(_flavors.c.is_public == is_public)
    if min_memory_mb:
        where.append(_flavors.c.memory_mb >= sa.bindparam("min_memory_mb"))
    if min_disk:
        where.append(_flavors.c.root_gb >= sa.bindparam("min_disk"))
    return sa.select(_flavors, _extra_specs.c.key, _extra_specs.c.value).select_from(
        _flavors.outerjoin(_extra_specs, _extra_specs.c.flavor_id == _flavors.c.id),
    ).where(*where).order_by(_flavors.c.flavorid, _flavors.c.id, _extra_specs.c.id)


def flavor_get_all(is_public: bool | None = None, min_memory_mb: int | None = None,
                   min_disk: int | None = None, project_id: str | None = None
                   ) -> list[dict[str, Any]]:
    """Flavors ordered by flavorid; private ones only for a project with access
    (or every one when ``project_id`` is None).

    One statement per shape of filters, compiled once and run on the pool's DBAPI
    connection (:func:`kumo.db.instance_views.fetch`): the two ORM reads it replaces
    cost more than the flavors' own bytes (``GET /flavors/detail`` read more CPU in
    the conductor than a server show)."""
    shape = (None if is_public is None else bool(is_public), min_memory_mb is not None,
             min_disk is not None, project_id is not None)
    parameters: dict[str, Any] = {}
    if min_memory_mb is not None:
        parameters["min_memory_mb"] = int(min_memory_mb)
    if min_disk is not None:
        parameters["min_disk"] = int(min_disk)
    if project_id is not None:
        parameters["project_id"] = project_id
    return _assembled(instance_views.fetch(("flavor_get_all", shape),
                                           lambda: _listing(*shape), parameters))


def _assembled(fetched: list[list[Any]]) -> list[dict[str, Any]]:
    """The flavors of rows of flavor columns + (key, value) of one extra spec each."""
    width = len(_FLAVOR_NAMES)
    flavors: dict[Any, dict[str, Any]] = {}
    for row in fetched:
        flavor = flavors.get(row[_ID])
        if flavor is None:
            flavor = flavors[row[_ID]] = dict(zip(_FLAVOR_NAMES, row[:width], strict=True))
            flavor["extra_specs"] = {}
        if row[width] is not None:
            flavor["extra_specs"][row[width]] = row[width + 1]
    return list(flavors.values())


def _by_flavorid(by_project: bool) -> sa.Select:
    """One flavor by its API id with its extra specs joined (as :func:`_listing`)."""
    where = [_flavors.c.flavorid == sa.bindparam("flavorid", type_=sa.String)]
    if by_project:
        where.append(_visible_to(_PROJECT))
    return sa.select(_flavors, _extra_specs.c.key, _extra_specs.c.value).select_from(
        _flavors.outerjoin(_extra_specs, _extra_specs.c.flavor_id == _flavors.c.id),
    ).where(*where).order_by(_extra_specs.c.id)


def flavor_get_by_flavor_id(flavor_id: str, project_id: str | None = None) -> dict[str, Any]:
    """The flavor whose API id is ``flavor_id``.

    One prepared statement on the pool's DBAPI connection, as :func:`flavor_get_all`
    (every boot reads its flavor).

    :raises FlavorNotFound: there is none, or it is private and the project has no access.
    """
    by_project = project_id is not None
    parameters = {"flavorid": str(flavor_id)}
    if by_project:
        parameters["project_id"] = str(project_id)
    flavors = _assembled(instance_views.fetch(("flavor_get_by_flavor_id", by_project),
                                              lambda: _by_flavorid(by_project), parameters))
    if not flavors:
        raise exception.FlavorNotFound(flavor_id=flavor_id)
    return flavors[0]


def flavor_access_add(flavor_id: str, project_id: str) -> None:
    """Let a project use the private flavor ``flavor_id`` (idempotent).

    :raises FlavorNotFound: there is no such flavor.
    """
    with session() as db_session:
        internal_id = db_session.execute(
            sa.select(_flavors.c.id).where(_flavors.c.flavorid == str(flavor_id))).scalar()
        if internal_id is None:
            raise exception.FlavorNotFound(flavor_id=flavor_id)
        exists = db_session.execute(sa.select(_projects.c.id).where(
            _projects.c.flavor_id == internal_id, _projects.c.project_id == project_id)).first()
        if exists is None:
            db_session.execute(sa.insert(_projects).values(
                flavor_id=internal_id, project_id=project_id))


# --- flavor management (conductor 1.8) ----------------------------------------------------


def _internal_id(db_session: orm.Session, flavor_id: str) -> int:
    internal_id = db_session.execute(
        sa.select(_flavors.c.id).where(_flavors.c.flavorid == str(flavor_id))).scalar()
    if internal_id is None:
        raise exception.FlavorNotFound(flavor_id=flavor_id)
    return internal_id


def _get(db_session: orm.Session, internal_id: int) -> dict[str, Any]:
    row = db_session.execute(
        sa.select(_flavors).where(_flavors.c.id == internal_id)).mappings().one()
    return _with_extra_specs(db_session, [row])[0]


def flavor_update(flavor_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Change a flavor's ``description`` (the one field the API may change, 2.55).

    :raises FlavorNotFound: there is no such flavor.
    :raises Invalid: another field was given.
    """
    unknown = set(values) - {"description"}
    if unknown:
        raise exception.Invalid(reason=f"cannot update flavor fields {sorted(unknown)}")
    with session() as db_session:
        internal_id = _internal_id(db_session, flavor_id)
        db_session.execute(sa.update(_flavors).where(_flavors.c.id == internal_id)
                           .values(**values))
        return _get(db_session, internal_id)


def flavor_destroy(flavor_id: str) -> None:
    """Delete a flavor with its extra specs and access list (servers keep their copy).

    :raises FlavorNotFound: there is no such flavor.
    """
    with session() as db_session:
        internal_id = _internal_id(db_session, flavor_id)
        # Children first: SQLite enforces ON DELETE CASCADE only with foreign keys on.
        db_session.execute(sa.delete(_extra_specs).where(_extra_specs.c.flavor_id == internal_id))
        db_session.execute(sa.delete(_projects).where(_projects.c.flavor_id == internal_id))
        db_session.execute(sa.delete(_flavors).where(_flavors.c.id == internal_id))


def flavor_extra_specs_update(flavor_id: str, extra_specs: Mapping[str, str]
                              ) -> dict[str, Any]:
    """Set these extra specs (others stay); returns all of the flavor's extra specs.

    :raises FlavorNotFound: there is no such flavor.
    """
    with session() as db_session:
        internal_id = _internal_id(db_session, flavor_id)
        for key, value in extra_specs.items():
            updated = db_session.execute(sa.update(_extra_specs).where(
                _extra_specs.c.flavor_id == internal_id, _extra_specs.c.key == key)
                .values(value=value))
            if updated.rowcount == 0:
                db_session.execute(sa.insert(_extra_specs).values(
                    flavor_id=internal_id, key=key, value=value))
        return _get(db_session, internal_id)["extra_specs"]


def flavor_extra_specs_delete(flavor_id: str, key: str) -> None:
    """Remove one extra spec.

    :raises FlavorNotFound: there is no such flavor.
    :raises FlavorExtraSpecsNotFound: the flavor has no such key.
    """
    with session() as db_session:
        internal_id = _internal_id(db_session, flavor_id)
        deleted = db_session.execute(sa.delete(_extra_specs).where(
            _extra_specs.c.flavor_id == internal_id, _extra_specs.c.key == key))
        if deleted.rowcount == 0:
            raise exception.FlavorExtraSpecsNotFound(flavor_id=flavor_id,
                                                     extra_specs_key=key)


def flavor_access_get_all(flavor_id: str) -> list[str]:
    """The projects that may use the flavor, sorted.

    :raises FlavorNotFound: there is no such flavor.
    """
    with session() as db_session:
        internal_id = _internal_id(db_session, flavor_id)
        return list(db_session.execute(sa.select(_projects.c.project_id).where(
            _projects.c.flavor_id == internal_id).order_by(_projects.c.project_id)).scalars())


def flavor_access_grant(flavor_id: str, project_id: str) -> list[str]:
    """Let a project use the flavor (``addTenantAccess``); returns the access list.

    :raises FlavorNotFound: there is no such flavor.
    :raises FlavorAccessExists: the project has access already.
    """
    try:
        with session() as db_session:
            internal_id = _internal_id(db_session, flavor_id)
            db_session.execute(sa.insert(_projects).values(
                flavor_id=internal_id, project_id=project_id))
    except exc.IntegrityError as error:
        if not is_duplicate_entry(error):
            raise
        raise exception.FlavorAccessExists(flavor_id=flavor_id,
                                           project_id=project_id) from error
    return flavor_access_get_all(flavor_id)


def flavor_access_revoke(flavor_id: str, project_id: str) -> list[str]:
    """Take a project's access away (``removeTenantAccess``); returns the access list.

    :raises FlavorNotFound: there is no such flavor.
    :raises FlavorAccessNotFound: the project had no access.
    """
    with session() as db_session:
        internal_id = _internal_id(db_session, flavor_id)
        deleted = db_session.execute(sa.delete(_projects).where(
            _projects.c.flavor_id == internal_id, _projects.c.project_id == project_id))
        if deleted.rowcount == 0:
            raise exception.FlavorAccessNotFound(flavor_id=flavor_id, project_id=project_id)
    return flavor_access_get_all(flavor_id)
