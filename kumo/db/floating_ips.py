"""Floating IP queries: pools, allocation to projects, association to fixed IPs.

Allocation is a guarded single-row UPDATE like fixed IPs' (see
:mod:`kumo.db.networks`): ``SET project_id=:p WHERE id = (first free of the
pool) AND project_id IS NULL``, retried when another project won the row.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc

from kumo import exception
from kumo.db import models, network_quotas, networks, quotas
from kumo.db.api import is_duplicate_entry, session

_floating = models.FloatingIp.__table__
_fixed = models.FixedIp.__table__
_ATTEMPTS = 100


def _row(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


def _select() -> sa.Select:
    return (sa.select(_floating, _fixed.c.address.label("fixed_ip"),
                      _fixed.c.instance_uuid)
            .outerjoin(_fixed, _fixed.c.id == _floating.c.fixed_ip_id)
            .order_by(_floating.c.id))


def floating_ip_bulk_create(pool: str, ip_range: str,
                            interface: str | None = None) -> list[dict[str, Any]]:
    """Add every host address of ``ip_range`` (a CIDR) to ``pool``.

    :raises Conflict: an address is already a floating IP.
    :raises CidrConflict: the range overlaps a network's fixed range.
    """
    try:
        net = ipaddress.IPv4Network(ip_range, strict=False)
    except ValueError as error:
        raise exception.Invalid(reason=f"invalid IPv4 range: {error}") from error
    addresses = [str(a) for a in (net.hosts() if net.num_addresses > 2 else net)]
    try:
        with session() as db_session:
            networks.lock_ranges_and_check_floating(db_session, net)
            db_session.execute(sa.insert(_floating), [
                {"address": address, "pool": pool, "interface": interface,
                 "auto_assigned": False} for address in addresses])
    except exc.IntegrityError as error:
        if is_duplicate_entry(error):
            raise exception.Conflict(f"Floating IPs of {net} already exist") from error
        raise
    return [ip for ip in floating_ip_get_all() if ip["address"] in set(addresses)]


def floating_ip_get_all(project_id: str | None = None) -> list[dict[str, Any]]:
    """Every floating IP (with ``fixed_ip`` and ``instance_uuid`` when associated),
    or a project's."""
    query = _select()
    if project_id is not None:
        query = query.where(_floating.c.project_id == project_id)
    with session() as db_session:
        return [_row(row) for row in db_session.execute(query)]


def floating_ip_get(address: str, project_id: str | None = None) -> dict[str, Any]:
    """:raises NotFound: no such floating IP (of that project)."""
    query = _select().where(_floating.c.address == address)
    if project_id is not None:
        query = query.where(_floating.c.project_id == project_id)
    with session() as db_session:
        row = db_session.execute(query).first()
    if row is None:
        raise exception.NotFound(f"Floating IP {address} not found")
    return _row(row)


def floating_ip_bulk_destroy(ip_range: str) -> int:
    """Remove the unallocated floating IPs of ``ip_range``; how many went."""
    net = ipaddress.IPv4Network(ip_range, strict=False)
    with session() as db_session:
        rows = db_session.execute(sa.select(_floating.c.id, _floating.c.address).where(
            _floating.c.project_id.is_(None))).all()
        ids = [r.id for r in rows if ipaddress.IPv4Address(r.address) in net]
        if ids:
            db_session.execute(sa.delete(_floating).where(_floating.c.id.in_(ids)))
    return len(ids)


def floating_ip_allocate(project_id: str, pool: str) -> dict[str, Any]:
    """Give the project a free address of ``pool``.

    :raises NotFound: no free address left in the pool.
    :raises OverQuota: the project holds its ``floating_ips`` already.
    """
    free = (sa.select(_floating.c.id)
            .where(_floating.c.pool == pool, _floating.c.project_id.is_(None))
            .order_by(_floating.c.id).limit(1).scalar_subquery())
    for _ in range(_ATTEMPTS):
        with session() as db_session:
            quotas.lock(db_session, f"project:{project_id}")
            network_quotas.check_floating_ip(db_session, project_id)
            taken = db_session.execute(
                sa.update(_floating).where(_floating.c.id == free,
                                           _floating.c.project_id.is_(None))
                .values(project_id=project_id).returning(_floating.c.address)
            ).scalar_one_or_none()
            if taken is not None:
                return floating_ip_get(taken)
            left = db_session.execute(sa.select(sa.func.count()).select_from(_floating).where(
                _floating.c.pool == pool, _floating.c.project_id.is_(None))).scalar_one()
        if not left:
            raise exception.NotFound(f"No more floating IPs in pool {pool}.")
    raise exception.NotFound(f"No more floating IPs in pool {pool}.")


def floating_ip_associate(address: str, project_id: str, instance_uuid: str,
                          fixed_address: str | None = None,
                          host: str | None = None) -> dict[str, Any]:
    """Point the project's floating IP at the instance's (first, or given) fixed IP.

    :raises NotFound: the floating IP is not the project's, or the instance
        has no (such) fixed IP.
    """
    floating_ip_get(address, project_id)
    query = sa.select(_fixed.c.id).where(_fixed.c.instance_uuid == instance_uuid,
                                         _fixed.c.allocated.is_(True))
    if fixed_address:
        query = query.where(_fixed.c.address == fixed_address)
    with session() as db_session:
        fixed_id = db_session.execute(query.order_by(_fixed.c.id).limit(1)).scalar()
        if fixed_id is None:
            raise exception.NotFound(f"Server {instance_uuid} has no fixed IP "
                                     f"{fixed_address or ''}".rstrip())
        db_session.execute(sa.update(_floating).where(
            _floating.c.address == address, _floating.c.project_id == project_id)
            .values(fixed_ip_id=fixed_id, host=host))
    return floating_ip_get(address)


def floating_ip_disassociate(address: str, project_id: str | None = None) -> dict[str, Any]:
    floating_ip_get(address, project_id)
    with session() as db_session:
        db_session.execute(sa.update(_floating).where(_floating.c.address == address)
                           .values(fixed_ip_id=None, host=None))
    return floating_ip_get(address)


def floating_ip_deallocate(address: str, project_id: str | None = None) -> None:
    """Give the address back to its pool (disassociating it first)."""
    floating_ip_get(address, project_id)
    with session() as db_session:
        db_session.execute(sa.update(_floating).where(_floating.c.address == address)
                           .values(project_id=None, fixed_ip_id=None, host=None,
                                   auto_assigned=False))


def floating_ip_pools() -> list[str]:
    with session() as db_session:
        return list(db_session.execute(
            sa.select(_floating.c.pool).distinct().order_by(_floating.c.pool)).scalars())
