"""Compute node queries: inventory reports, the scheduler's view, resource claims.

A claim is what keeps two schedulers (or two members of one multi-create) from
over-committing a node: :func:`compute_node_claim` is a single guarded UPDATE
that adds the resources only if the sums stay within the limits. The instance
records the claim in its system_metadata (``claimed_node``, and the claimed
amounts in ``claimed_resources``), so it can be given back exactly once and so
that :func:`compute_nodes_report` can recompute every node's usage from the
live instances that hold a claim on it.
"""

from __future__ import annotations

import datetime
import json
import re
import uuid as uuid_lib
from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import orm

from kumo import exception
from kumo.db import instances as instance_db
from kumo.db import models
from kumo.db.api import session
from kumo.db.clock import utcnow

_nodes = models.ComputeNode.__table__
_instances = models.Instance.__table__

_INVENTORY = ("hypervisor_type", "hypervisor_version", "vcpus", "memory_mb", "local_gb",
              "cpu_info", "host_ip", "cpu_allocation_ratio", "ram_allocation_ratio",
              "disk_allocation_ratio", "disk_available_least", "stats")
# Resource name in a claim -> usage column it adds to.
_USAGE = {"vcpus": "vcpus_used", "memory_mb": "memory_mb_used", "disk_gb": "local_gb_used"}
# The destination claim of a move (kumo.db.migration_claims, which imports this module).
_MIGRATION_CLAIM_NODE = "migration_claim_node"
_MIGRATION_CLAIM_RESOURCES = "migration_claim_resources"


def _decode(row: Mapping[str, Any]) -> dict[str, Any]:
    node = dict(row)
    node["stats"] = instance_db.decode_json(node.get("stats"))
    return node


def _get_by_uuid(db_session: orm.Session, node_uuid: str) -> dict[str, Any]:
    row = db_session.execute(sa.select(_nodes).where(
        _nodes.c.uuid == node_uuid, _nodes.c.deleted == 0)).mappings().one_or_none()
    if row is None:
        raise exception.ComputeNodeNotFound(node=node_uuid)
    return _decode(row)


def compute_node_get(node_uuid: str) -> dict[str, Any]:
    """:raises ComputeNodeNotFound: no live node has this uuid."""
    with session() as db_session:
        return _get_by_uuid(db_session, node_uuid)


def compute_node_get_by_host_and_nodename(host: str, nodename: str) -> dict[str, Any]:
    """:raises ComputeNodeNotFound: ``host`` has no live node called ``nodename``."""
    with session() as db_session:
        row = db_session.execute(sa.select(_nodes).where(
            _nodes.c.host == host, _nodes.c.hypervisor_hostname == nodename,
            _nodes.c.deleted == 0)).mappings().one_or_none()
    if row is None:
        raise exception.ComputeNodeNotFound(node=f"{host}/{nodename}")
    return _decode(row)


def compute_node_get_all(changed_since: datetime.datetime | str | None = None
                         ) -> list[dict[str, Any]]:
    """Live nodes ordered by id; with ``changed_since``, only those created or updated since."""
    statement = sa.select(_nodes).where(_nodes.c.deleted == 0).order_by(_nodes.c.id)
    if changed_since is not None:
        since = instance_db._as_datetime(changed_since)
        statement = statement.where(sa.or_(_nodes.c.updated_at >= since,
                                           _nodes.c.created_at >= since))
    with session() as db_session:
        return [_decode(row) for row in db_session.execute(statement).mappings()]


# --- reports -----------------------------------------------------------------------------


# A claim as encode_json writes it: the narrowing of _claims_by_node (the decoded
# value decides).
_CLAIM_TEXT = re.compile(
    f'"(?:{instance_db.CLAIMED_NODE}|{_MIGRATION_CLAIM_NODE})": "([^"]*)"')
_CLAIMS = sa.select(
    _instances.c.vcpus, _instances.c.memory_mb, _instances.c.root_gb,
    _instances.c.ephemeral_gb, _instances.c.system_metadata,
).where(_instances.c.deleted == 0, sa.or_(
    _instances.c.system_metadata.like(f'%"{instance_db.CLAIMED_NODE}": "%'),
    _instances.c.system_metadata.like(f'%"{_MIGRATION_CLAIM_NODE}": "%')))


def _claims_by_node(db_session: orm.Session, node_uuids: Collection[str]
                    ) -> dict[str, list[dict[str, int]]]:
    """The resources claimed on each of the nodes by live instances, in one read.

    A server holds a claim on its node (``claimed_node``) and, while it is resized
    or migrated, one on its destination (``migration_claim_node``, see
    kumo.db.migration_claims). The JSON text is written with predictable
    separators (instances.encode_json): LIKE keeps the rows with a claim, a
    regular expression those with one on these nodes, and only those are decoded.
    """
    claims: dict[str, list[dict[str, int]]] = {node_uuid: [] for node_uuid in node_uuids}
    for instance in db_session.execute(_CLAIMS).mappings():
        text = instance["system_metadata"]
        if not any(node_uuid in claims for node_uuid in _CLAIM_TEXT.findall(text)):
            continue
        system_metadata = instance_db.decode_json(text)
        node_uuid = system_metadata.get(instance_db.CLAIMED_NODE)
        if node_uuid in claims:
            claims[node_uuid].append(claimed_resources(instance, system_metadata))
        node_uuid = system_metadata.get(_MIGRATION_CLAIM_NODE)
        if node_uuid in claims:
            claims[node_uuid].append(usage(json.loads(
                system_metadata.get(_MIGRATION_CLAIM_RESOURCES) or "{}")))
    return claims


def usage(resources: Mapping[str, Any]) -> dict[str, int]:
    """A claim's resources as integers: {"vcpus", "memory_mb", "disk_gb"}, 0 when absent."""
    return {name: int(resources.get(name) or 0) for name in _USAGE}


def claimed_resources(instance: Mapping[str, Any],
                      system_metadata: Mapping[str, Any]) -> dict[str, int]:
    """What the instance claims on a node: what it recorded, else its flavor's sizes."""
    recorded = system_metadata.get(instance_db.CLAIMED_RESOURCES)
    if recorded:
        return usage(json.loads(recorded))
    return {"vcpus": instance["vcpus"], "memory_mb": instance["memory_mb"],
            "disk_gb": (instance["root_gb"] or 0) + (instance["ephemeral_gb"] or 0)}


def compute_nodes_report(host: str, service_id: int | None,
                         nodes: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Create or update the inventory of each of ``host``'s nodes; recompute their usage.

    Usage is never taken from the report: it is the sum of the claims of the
    live instances on the node, so a claim leaked by a crash lasts one report.
    One transaction for the host's nodes: the claims of all of them are read
    at once (the read scans every server with a claim; once per report, not
    once per node).
    """
    if not nodes:
        return []
    names = [report["hypervisor_hostname"] for report in nodes]
    now = utcnow()
    with session() as db_session:
        # Writing first takes the nodes' row locks (the database lock on SQLite),
        # so no claim can slip in between counting the claims and storing the sums.
        for report in nodes:
            _store_inventory(db_session, host, service_id, report, now)
        by_name = {row["hypervisor_hostname"]: row for row in db_session.execute(
            sa.select(_nodes).where(_nodes.c.host == host,
                                    _nodes.c.hypervisor_hostname.in_(list(dict.fromkeys(names))),
                                    _nodes.c.deleted == 0)).mappings()}
        claims = _claims_by_node(db_session, {row["uuid"] for row in by_name.values()})
        stored: dict[str, dict[str, Any]] = {}
        for nodename, node in by_name.items():
            node_claims = claims[node["uuid"]]
            used = {name: sum(claim[name] for claim in node_claims) for name in _USAGE}
            values = {"vcpus_used": used["vcpus"], "memory_mb_used": used["memory_mb"],
                      "local_gb_used": used["disk_gb"], "running_vms": len(node_claims),
                      "free_ram_mb": node["memory_mb"] - used["memory_mb"],
                      "free_disk_gb": node["local_gb"] - used["disk_gb"]}
            # Usage as stored (the usual case) needs no write: the inventory's set
            # updated_at already.
            if any(node[column] != value for column, value in values.items()):
                db_session.execute(sa.update(_nodes).where(_nodes.c.id == node["id"])
                                   .values(**values))
            stored[nodename] = _decode({**node, **values})
    return [stored[name] for name in names]


def _store_inventory(db_session: orm.Session, host: str, service_id: int | None,
                     report: Mapping[str, Any], now: datetime.datetime) -> None:
    """Update the reported node's inventory, or create the node."""
    nodename = report["hypervisor_hostname"]
    inventory = {name: report[name] for name in _INVENTORY if name in report}
    if isinstance(inventory.get("cpu_info"), (dict, list)):
        inventory["cpu_info"] = json.dumps(inventory["cpu_info"], sort_keys=True)
    if isinstance(inventory.get("stats"), dict):
        inventory["stats"] = json.dumps(inventory["stats"], sort_keys=True)
    if service_id is not None:
        inventory["service_id"] = service_id
    result = db_session.execute(
        sa.update(_nodes).where(_nodes.c.host == host,
                                _nodes.c.hypervisor_hostname == nodename,
                                _nodes.c.deleted == 0)
        .values(updated_at=now, **inventory))
    if result.rowcount == 0:
        inventory.setdefault("hypervisor_version", 0)
        inventory.setdefault("hypervisor_type", "fake")
        db_session.execute(sa.insert(_nodes).values(
            uuid=report.get("uuid") or str(uuid_lib.uuid4()), host=host,
            hypervisor_hostname=nodename, deleted=0, created_at=now, updated_at=now,
            **inventory))


# --- claims ------------------------------------------------------------------------------


def _usage_change(resources: Mapping[str, int], sign: int) -> dict[str, Any]:
    memory = sign * resources["memory_mb"]
    disk = sign * resources["disk_gb"]
    return {
        "vcpus_used": _nodes.c.vcpus_used + sign * resources["vcpus"],
        "memory_mb_used": _nodes.c.memory_mb_used + memory,
        "local_gb_used": _nodes.c.local_gb_used + disk,
        "free_ram_mb": _nodes.c.memory_mb - _nodes.c.memory_mb_used - memory,
        "free_disk_gb": _nodes.c.local_gb - _nodes.c.local_gb_used - disk,
        "running_vms": _nodes.c.running_vms + sign,
    }


def compute_node_claim(node_uuid: str, instance_uuid: str, resources: Mapping[str, Any],
                       limits: Mapping[str, Any] | None) -> dict[str, Any]:
    """Add ``resources`` to the node's usage if the sums stay within ``limits``.

    ``resources`` and ``limits``: {"vcpus", "memory_mb", "disk_gb"} (a limit
    that is None or absent is not checked). One guarded UPDATE. The instance
    records the claim; a claim it held before (on any node) is given back.

    :raises ComputeResourcesUnavailable: the resources do not fit (any more).
    :raises ComputeNodeNotFound: no live node has this uuid.
    :raises InstanceNotFound: no live instance has this uuid.
    """
    with session() as db_session:
        return compute_node_claim_in(db_session, node_uuid, instance_uuid, resources, limits)


def compute_node_claim_in(db_session: orm.Session, node_uuid: str, instance_uuid: str,
                          resources: Mapping[str, Any], limits: Mapping[str, Any] | None
                          ) -> dict[str, Any]:
    """:func:`compute_node_claim` in the caller's transaction (the first write of it:
    on other backends than SQLite it locks the instance's row, then the node's)."""
    claim = claim_node_in(db_session, node_uuid, instance_uuid, resources, limits)
    _write_system_metadata(db_session, instance_uuid, instance_db.merged_system_metadata(
        claim.stored_system_metadata, claim.system_metadata))
    return claim.node


class Claim(NamedTuple):
    """A node's usage claimed for an instance, the instance not yet told."""

    #: The node as claimed.
    node: dict[str, Any]
    #: The instance's system_metadata text as read in the claim's transaction.
    stored_system_metadata: str | None
    #: What the instance's system_metadata must be merged with to record the claim.
    system_metadata: dict[str, Any]


def claim_node_in(db_session: orm.Session, node_uuid: str, instance_uuid: str,
                  resources: Mapping[str, Any], limits: Mapping[str, Any] | None) -> Claim:
    """:func:`compute_node_claim_in` but for the instance's record of the claim, left
    to the caller (who writes it with other changes of the row, in one UPDATE). A
    claim the instance held before is given back, its node's usage lowered."""
    resources = usage(resources)
    limits = dict(limits or {})
    checked = tuple(name for name in _USAGE if limits.get(name) is not None)
    params: dict[str, Any] = {"c_node_uuid": node_uuid, "c_now": utcnow(),
                              **{f"c_{name}": resources[name] for name in _USAGE},
                              **{f"c_limit_{name}": limits[name] for name in checked}}
    dialect = db_session.get_bind().dialect
    # SQLite has one writer at a time: the node's UPDATE takes the write lock and
    # the instance read after it sees the row as no one else can change it. Other
    # backends lock rows: the instance's first, then the node's, here as in release
    # and destroy, so two of them never wait for each other (PostgreSQL deadlock).
    lock_first = dialect.name != "sqlite"
    instance = _claim_row(db_session, instance_uuid, lock=True) if lock_first else None
    # The node as claimed comes back with the UPDATE where the backend can say it
    # (SQLite, PostgreSQL): no read after.
    returning = dialect.update_returning
    result = db_session.execute(_claim_statement(checked, returning), params)
    claimed = result.mappings().first() if returning else None
    if not (claimed is not None if returning else result.rowcount > 0):
        if instance is None:
            _claim_row(db_session, instance_uuid)  # raises InstanceNotFound first
        node = _get_by_uuid(db_session, node_uuid)  # raises ComputeNodeNotFound
        raise exception.ComputeResourcesUnavailable(
            node=node["hypervisor_hostname"],
            reason=(f"need {resources}, limits {limits}, used vcpus "
                    f"{node['vcpus_used']} memory_mb {node['memory_mb_used']} "
                    f"disk_gb {node['local_gb_used']}"))
    if instance is None:
        instance = _claim_row(db_session, instance_uuid)
    # A claim given back (on this node perhaps) makes the returned row stale.
    gave_back = _give_back(db_session, instance,
                           instance_db.decode_json(instance["system_metadata"]))
    node = _decode(claimed) if returning and not gave_back else _get_by_uuid(
        db_session, node_uuid)
    return Claim(node, instance["system_metadata"], {
        instance_db.CLAIMED_NODE: node_uuid,
        instance_db.CLAIMED_RESOURCES: json.dumps(resources, sort_keys=True)})


_CLAIM_ROW = sa.select(
    _instances.c.vcpus, _instances.c.memory_mb, _instances.c.root_gb,
    _instances.c.ephemeral_gb, _instances.c.system_metadata).where(
    _instances.c.uuid == sa.bindparam("instance_uuid", type_=sa.String))
# The claim's read: live instances only.
_CLAIM_ROW_LIVE = _CLAIM_ROW.where(_instances.c.deleted == 0)
_CLAIM_ROW_LOCKED = _CLAIM_ROW_LIVE.with_for_update()


def _claim_row(db_session: orm.Session, instance_uuid: str,
               lock: bool = False) -> Mapping[str, Any]:
    """The live instance's sizes and system_metadata (``lock``: row-locked for the
    transaction, FOR UPDATE).

    :raises InstanceNotFound: no live instance has this uuid.
    """
    row = db_session.execute(_CLAIM_ROW_LOCKED if lock else _CLAIM_ROW_LIVE,
                             {"instance_uuid": instance_uuid}).mappings().one_or_none()
    if row is None:
        raise exception.InstanceNotFound(instance_id=instance_uuid)
    return row


# The claim's guarded UPDATE, one per set of limits checked and RETURNING or not; built
# once and bound per call (its construction cost more than its execution).
_CLAIM_STATEMENTS: dict[tuple[tuple[str, ...], bool], Any] = {}


def _claim_statement(checked: tuple[str, ...], returning: bool) -> Any:
    statement = _CLAIM_STATEMENTS.get((checked, returning))
    if statement is None:
        # Bind names prefixed: a column's own name is reserved in an UPDATE's SET.
        amount = {name: sa.bindparam(f"c_{name}", type_=sa.Integer) for name in _USAGE}
        guard = [_nodes.c.uuid == sa.bindparam("c_node_uuid", type_=sa.String),
                 _nodes.c.deleted == 0]
        guard += [_nodes.c[_USAGE[name]] + amount[name]
                  <= sa.bindparam(f"c_limit_{name}", type_=sa.Integer) for name in checked]
        statement = sa.update(_nodes).where(*guard).values(
            updated_at=sa.bindparam("c_now", type_=_nodes.c.updated_at.type),
            vcpus_used=_nodes.c.vcpus_used + amount["vcpus"],
            memory_mb_used=_nodes.c.memory_mb_used + amount["memory_mb"],
            local_gb_used=_nodes.c.local_gb_used + amount["disk_gb"],
            free_ram_mb=_nodes.c.memory_mb - _nodes.c.memory_mb_used - amount["memory_mb"],
            free_disk_gb=_nodes.c.local_gb - _nodes.c.local_gb_used - amount["disk_gb"],
            running_vms=_nodes.c.running_vms + 1)
        if returning:
            statement = statement.returning(*_nodes.c)
        _CLAIM_STATEMENTS[(checked, returning)] = statement
    return statement


def _give_back(db_session: orm.Session, instance: Mapping[str, Any],
               system_metadata: dict[str, Any], node_uuid: str | None = None) -> bool:
    """Give back the claim ``system_metadata`` (the instance's, decoded) records (only
    the one on ``node_uuid`` if given) and drop it from that dict; False when there
    was none. The caller writes the dict back."""
    claimed = system_metadata.get(instance_db.CLAIMED_NODE)
    if not claimed or (node_uuid is not None and claimed != node_uuid):
        return False
    resources = claimed_resources(instance, system_metadata)
    db_session.execute(sa.update(_nodes).where(_nodes.c.uuid == claimed).values(
        updated_at=utcnow(), **_usage_change(resources, -1)))
    system_metadata.pop(instance_db.CLAIMED_NODE, None)
    system_metadata.pop(instance_db.CLAIMED_RESOURCES, None)
    return True


_WRITE_SYSTEM_METADATA = sa.update(_instances).where(
    _instances.c.uuid == sa.bindparam("w_uuid", type_=sa.String)).values(
    system_metadata=sa.bindparam("w_system_metadata", type_=_instances.c.system_metadata.type))


def _write_system_metadata(db_session: orm.Session, instance_uuid: str,
                           system_metadata: Mapping[str, Any]) -> None:
    # The caller holds the row's lock (an UPDATE or FOR UPDATE read of it earlier in
    # the transaction, or SQLite's write lock).
    db_session.execute(_WRITE_SYSTEM_METADATA, {
        "w_uuid": instance_uuid,
        "w_system_metadata": instance_db.encode_json(system_metadata)})


def release_claim(db_session: orm.Session, instance_uuid: str,
                  node_uuid: str | None = None) -> None:
    """Give back the instance's claim (only the one on ``node_uuid`` if given), in
    the caller's transaction; nothing when it holds none."""
    _release_in(db_session, instance_uuid, node_uuid=node_uuid)


def release_all_in(db_session: orm.Session, instance_uuid: str) -> dict[str, Any] | None:
    """Give back the instance's claim and its migration claim in the caller's
    transaction (after an UPDATE of the instance: its lock is held), reading its row
    once and writing its system_metadata at most once; returns that system_metadata
    as it is now (decoded), None when no instance has this uuid."""
    return _release_in(db_session, instance_uuid, migration_claim=True)


def _release_in(db_session: orm.Session, instance_uuid: str, node_uuid: str | None = None,
                migration_claim: bool = False) -> dict[str, Any] | None:
    """The one way claims are given back: the instance's row read once, its claim
    (only the one on ``node_uuid`` if given) and, with ``migration_claim``, its
    migration claim given back, its system_metadata written once if that changed.
    Returns the system_metadata as it is now, None when no instance has this uuid."""
    instance = db_session.execute(_CLAIM_ROW, {"instance_uuid": instance_uuid}
                                  ).mappings().one_or_none()
    if instance is None:
        return None
    system_metadata = instance_db.decode_json(instance["system_metadata"])
    changed = _give_back(db_session, instance, system_metadata, node_uuid)
    if migration_claim:
        from kumo.db import migration_claims  # migration_claims imports this module

        if migration_claims.give_back_in(db_session, system_metadata):
            changed = True
    if changed:
        _write_system_metadata(db_session, instance_uuid, system_metadata)
    return system_metadata


def _lock_instance(db_session: orm.Session, instance_uuid: str, live_only: bool) -> None:
    """Take the instance's row lock (the write lock on SQLite) before reading its claim.

    :raises InstanceNotFound: with ``live_only``, when no live instance has this uuid.
    """
    where = [_instances.c.uuid == instance_uuid]
    if live_only:
        where.append(_instances.c.deleted == 0)
    result = db_session.execute(sa.update(_instances).where(*where)
                                .values(updated_at=_instances.c.updated_at))
    if live_only and result.rowcount == 0:
        raise exception.InstanceNotFound(instance_id=instance_uuid)


def compute_node_release(node_uuid: str, instance_uuid: str) -> dict[str, Any]:
    """Give back what the instance claimed on the node; idempotent.

    :raises ComputeNodeNotFound: no live node has this uuid.
    """
    with session() as db_session:
        _lock_instance(db_session, instance_uuid, live_only=False)
        release_claim(db_session, instance_uuid, node_uuid)
        return _get_by_uuid(db_session, node_uuid)


def compute_nodes_adopt(host: str, service_id: int) -> int:
    """Give ``host``'s nodes that name no service to ``service_id``; how many there were.

    kumo-compute reports its nodes before its first heartbeat registers the
    service, so those first rows carry no service_id until the registration
    links them here (instead of waiting for the next periodic report).
    """
    with session() as db_session:
        return db_session.execute(
            sa.update(_nodes).where(_nodes.c.host == host, _nodes.c.service_id.is_(None),
                                    _nodes.c.deleted == 0)
            .values(service_id=service_id)).rowcount
