"""Host aggregate queries: aggregates, their hosts and metadata, and the zones they make.

An aggregate's availability zone is its ``availability_zone`` metadata key
(as in Nova), so the scheduler and the API read zones and other metadata the
same way. A host is in at most one zone: every change that could put it in
two (adding it, renaming a zone, setting the key) is checked in the
transaction that makes it. Rows come back as plain dicts with ``hosts`` (a
sorted list), ``metadata`` (a dict) and ``availability_zone`` added.
"""

from __future__ import annotations

import uuid as uuid_lib
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc, orm

from kumo import exception
from kumo.db import instance_views, models
from kumo.db.api import is_duplicate_entry, key_values, session
from kumo.db.clock import utcnow

AZ_KEY = "availability_zone"
COMPUTE_BINARY = "kumo-compute"

_aggregates = models.Aggregate.__table__
_hosts = models.AggregateHost.__table__
_metadata = models.AggregateMetadata.__table__
_services = models.Service.__table__


def _complete(db_session: orm.Session, rows: Iterable[Mapping[str, Any]]
              ) -> list[dict[str, Any]]:
    aggregates = [dict(row) for row in rows]
    ids = [aggregate["id"] for aggregate in aggregates]
    metadata = key_values(db_session, ids, _metadata.c.aggregate_id, _metadata.c.key,
                          _metadata.c.value)
    hosts: dict[int, list[str]] = {aggregate_id: [] for aggregate_id in ids}
    if ids:
        for aggregate_id, host in db_session.execute(
                sa.select(_hosts.c.aggregate_id, _hosts.c.host)
                .where(_hosts.c.aggregate_id.in_(ids)).order_by(_hosts.c.host)):
            hosts[aggregate_id].append(host)
    for aggregate in aggregates:
        aggregate["metadata"] = metadata[aggregate["id"]]
        aggregate["hosts"] = hosts[aggregate["id"]]
        aggregate["availability_zone"] = aggregate["metadata"].get(AZ_KEY)
    return aggregates


def _get(db_session: orm.Session, aggregate_id: int) -> dict[str, Any]:
    row = db_session.execute(
        sa.select(_aggregates).where(_aggregates.c.id == aggregate_id)).mappings().one_or_none()
    if row is None:
        raise exception.AggregateNotFound(aggregate_id=aggregate_id)
    return _complete(db_session, [row])[0]


def _zones_of_hosts(db_session: orm.Session, hosts: Iterable[str], exclude_id: int
                    ) -> dict[str, set[str]]:
    """``{host: zones}`` from the aggregates other than ``exclude_id`` the hosts are in."""
    hosts = list(hosts)
    zones: dict[str, set[str]] = {host: set() for host in hosts}
    if not hosts:
        return zones
    statement = (sa.select(_hosts.c.host, _metadata.c.value)
                 .join(_metadata, _metadata.c.aggregate_id == _hosts.c.aggregate_id)
                 .where(_hosts.c.host.in_(hosts), _metadata.c.key == AZ_KEY,
                        _hosts.c.aggregate_id != exclude_id))
    for host, zone in db_session.execute(statement):
        zones[host].add(zone)
    return zones


def _zone_conflicts(db_session: orm.Session, hosts: Iterable[str], zone: str | None,
                    exclude_id: int) -> list[str]:
    """The other zones the hosts are in, when putting them in ``zone`` would
    make them members of two zones (empty when it would not)."""
    if zone is None:
        return []
    found = _zones_of_hosts(db_session, hosts, exclude_id)
    return sorted({other for zones in found.values() for other in zones if other != zone})


def _set_metadata(db_session: orm.Session, aggregate_id: int,
                  metadata: Mapping[str, Any]) -> None:
    now = utcnow()
    for key, value in metadata.items():
        db_session.execute(sa.delete(_metadata).where(
            _metadata.c.aggregate_id == aggregate_id, _metadata.c.key == key))
        if value is not None:
            db_session.execute(sa.insert(_metadata).values(
                aggregate_id=aggregate_id, key=key, value=str(value), created_at=now))


def aggregate_create(name: str, availability_zone: str | None = None,
                     metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A new empty aggregate; raises AggregateNameExists."""
    values = dict(metadata or {})
    if availability_zone is not None:
        values[AZ_KEY] = availability_zone
    try:
        with session() as db_session:
            result = db_session.execute(sa.insert(_aggregates).values(
                uuid=str(uuid_lib.uuid4()), name=name, created_at=utcnow()))
            aggregate_id = result.inserted_primary_key[0]
            _set_metadata(db_session, aggregate_id, values)
            return _get(db_session, aggregate_id)
    except exc.IntegrityError as error:
        if is_duplicate_entry(error):
            raise exception.AggregateNameExists(aggregate_name=name) from None
        raise


def aggregate_get(aggregate_id: int) -> dict[str, Any]:
    """The aggregate; raises AggregateNotFound."""
    with session() as db_session:
        return _get(db_session, aggregate_id)


def aggregate_get_all() -> list[dict[str, Any]]:
    """Every aggregate, by id."""
    with session() as db_session:
        return _complete(db_session, db_session.execute(
            sa.select(_aggregates).order_by(_aggregates.c.id)).mappings())


def aggregate_update(aggregate_id: int, values: Mapping[str, Any]) -> dict[str, Any]:
    """Rename it (``name``) and/or move it to another zone (``availability_zone``).

    :raises AggregateNotFound, AggregateNameExists, InvalidAggregateActionUpdate:
        the new zone would put one of its hosts in two zones.
    """
    try:
        with session() as db_session:
            aggregate = _get(db_session, aggregate_id)
            if values.get("name") is not None:
                db_session.execute(sa.update(_aggregates)
                                   .where(_aggregates.c.id == aggregate_id)
                                   .values(name=values["name"], updated_at=utcnow()))
            if "availability_zone" in values:
                zone = values["availability_zone"]
                conflicts = _zone_conflicts(db_session, aggregate["hosts"], zone, aggregate_id)
                if conflicts:
                    raise exception.InvalidAggregateActionUpdate(
                        aggregate_id=aggregate_id,
                        reason=f"One or more hosts already in availability zone(s) "
                               f"{conflicts}")
                _set_metadata(db_session, aggregate_id, {AZ_KEY: zone})
                db_session.execute(sa.update(_aggregates)
                                   .where(_aggregates.c.id == aggregate_id)
                                   .values(updated_at=utcnow()))
            return _get(db_session, aggregate_id)
    except exc.IntegrityError as error:
        if is_duplicate_entry(error):
            raise exception.AggregateNameExists(aggregate_name=values.get("name")) from None
        raise


def aggregate_delete(aggregate_id: int) -> None:
    """Delete an empty aggregate; raises AggregateNotFound, InvalidAggregateActionDelete."""
    with session() as db_session:
        aggregate = _get(db_session, aggregate_id)
        if aggregate["hosts"]:
            raise exception.InvalidAggregateActionDelete(
                aggregate_id=aggregate_id, reason="Host aggregate is not empty")
        db_session.execute(sa.delete(_metadata).where(_metadata.c.aggregate_id == aggregate_id))
        db_session.execute(sa.delete(_aggregates).where(_aggregates.c.id == aggregate_id))


def compute_host_exists(db_session: orm.Session, host: str) -> bool:
    return db_session.execute(
        sa.select(_services.c.id).where(_services.c.host == host,
                                        _services.c.binary == COMPUTE_BINARY,
                                        _services.c.deleted == 0)).first() is not None


def aggregate_host_add(aggregate_id: int, host: str) -> dict[str, Any]:
    """Put a compute host in the aggregate; the aggregate.

    :raises AggregateNotFound, ComputeHostNotFound, AggregateHostExists,
        InvalidAggregateActionAdd: the host is in another zone already.
    """
    try:
        with session() as db_session:
            aggregate = _get(db_session, aggregate_id)
            if not compute_host_exists(db_session, host):
                raise exception.ComputeHostNotFound(host=host)
            if host in aggregate["hosts"]:
                raise exception.AggregateHostExists(aggregate_id=aggregate_id, host=host)
            conflicts = _zone_conflicts(db_session, [host], aggregate["availability_zone"],
                                        aggregate_id)
            if conflicts:
                raise exception.InvalidAggregateActionAdd(
                    aggregate_id=aggregate_id,
                    reason=f"One or more hosts already in availability zone(s) {conflicts}")
            db_session.execute(sa.insert(_hosts).values(
                aggregate_id=aggregate_id, host=host, created_at=utcnow()))
            return _get(db_session, aggregate_id)
    except exc.IntegrityError as error:
        if is_duplicate_entry(error):
            raise exception.AggregateHostExists(aggregate_id=aggregate_id, host=host) from None
        raise


def aggregate_host_delete(aggregate_id: int, host: str) -> dict[str, Any]:
    """Take the host out of the aggregate; raises AggregateNotFound, AggregateHostNotFound."""
    with session() as db_session:
        _get(db_session, aggregate_id)
        result = db_session.execute(sa.delete(_hosts).where(
            _hosts.c.aggregate_id == aggregate_id, _hosts.c.host == host))
        if result.rowcount == 0:
            raise exception.AggregateHostNotFound(aggregate_id=aggregate_id, host=host)
        return _get(db_session, aggregate_id)


def aggregate_metadata_set(aggregate_id: int, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Set keys (a None value deletes the key); the aggregate.

    :raises AggregateNotFound, InvalidAggregateActionUpdateMeta: the zone key
        would put one of its hosts in two zones.
    """
    with session() as db_session:
        aggregate = _get(db_session, aggregate_id)
        if AZ_KEY in metadata:
            conflicts = _zone_conflicts(db_session, aggregate["hosts"], metadata[AZ_KEY],
                                        aggregate_id)
            if conflicts:
                raise exception.InvalidAggregateActionUpdateMeta(
                    aggregate_id=aggregate_id,
                    reason=f"One or more hosts already in availability zone(s) {conflicts}")
        _set_metadata(db_session, aggregate_id, metadata)
        db_session.execute(sa.update(_aggregates).where(_aggregates.c.id == aggregate_id)
                           .values(updated_at=utcnow()))
        return _get(db_session, aggregate_id)


def _zone_of_host() -> sa.Select:
    return (sa.select(_metadata.c.value)
            .join(_hosts, _hosts.c.aggregate_id == _metadata.c.aggregate_id)
            .where(_hosts.c.host == sa.bindparam("host"), _metadata.c.key == AZ_KEY)
            .order_by(_metadata.c.aggregate_id)
            .limit(1))


def host_availability_zone(host: str) -> str | None:
    """The zone of ``host``'s aggregates, or None when none of them makes a zone.

    Every build reads it (for the zone it records), so it is a prepared statement on
    the pool's DBAPI connection (:func:`kumo.db.instance_views.fetch`): in an ORM
    session it was 6% of kumo-conductor's GIL time in a boot burst.
    """
    rows = instance_views.fetch("host_availability_zone", _zone_of_host, {"host": host})
    return rows[0][0] if rows else None
