"""Second claims of servers being moved: what a resize or migration holds on its destination.

While a server is resized or migrated it holds two claims: its usual one on
the source node (``claimed_node``/``claimed_resources``, see
:mod:`kumo.db.compute_nodes`) and a *migration claim* on the destination,
recorded in ``system_metadata["migration_claim_node"]`` and
``["migration_claim_resources"]``. Confirming the move gives back the source
claim and turns the migration claim into the server's claim; reverting it
gives back the migration claim. The node usage recomputed by
``compute_nodes_report`` counts both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from kumo import exception
from kumo.db import compute_nodes
from kumo.db import instances as instance_db
from kumo.db.api import session
from kumo.db.clock import utcnow

MIGRATION_CLAIM_NODE = "migration_claim_node"
MIGRATION_CLAIM_RESOURCES = "migration_claim_resources"

_nodes = compute_nodes._nodes
_instances = compute_nodes._instances


def _system_metadata(db_session: orm.Session, instance_uuid: str) -> dict[str, Any] | None:
    text = db_session.execute(sa.select(_instances.c.system_metadata).where(
        _instances.c.uuid == instance_uuid)).scalar_one_or_none()
    return None if text is None else instance_db.decode_json(text)


def migration_claim(node_uuid: str, instance_uuid: str, resources: Mapping[str, Any],
                    limits: Mapping[str, Any] | None) -> dict[str, Any]:
    """Claim ``resources`` on the destination node of a move, beside the server's own claim.

    One guarded UPDATE, as :func:`compute_nodes.compute_node_claim`; a migration
    claim the server held before is given back.

    :raises ComputeResourcesUnavailable: the resources do not fit.
    :raises ComputeNodeNotFound: no live node has this uuid.
    :raises InstanceNotFound: no live instance has this uuid.
    """
    resources = compute_nodes.usage(resources)
    limits = dict(limits or {})
    guard = [_nodes.c.uuid == node_uuid, _nodes.c.deleted == 0]
    for name, column in compute_nodes._USAGE.items():
        if limits.get(name) is not None:
            guard.append(_nodes.c[column] + resources[name] <= limits[name])
    with session() as db_session:
        compute_nodes._lock_instance(db_session, instance_uuid, live_only=True)
        result = db_session.execute(sa.update(_nodes).where(*guard).values(
            updated_at=utcnow(), **compute_nodes._usage_change(resources, +1)))
        if result.rowcount == 0:
            node = compute_nodes._get_by_uuid(db_session, node_uuid)
            raise exception.ComputeResourcesUnavailable(
                node=node["hypervisor_hostname"],
                reason=f"need {resources}, limits {limits}")
        release_migration_claim_in(db_session, instance_uuid)
        instance_db._merge_system_metadata(db_session, instance_uuid, {
            MIGRATION_CLAIM_NODE: node_uuid,
            MIGRATION_CLAIM_RESOURCES: json.dumps(resources, sort_keys=True)})
        return compute_nodes._get_by_uuid(db_session, node_uuid)


def release_migration_claim_in(db_session: orm.Session, instance_uuid: str) -> None:
    """Give back the server's migration claim in the caller's transaction (none: nothing)."""
    system_metadata = _system_metadata(db_session, instance_uuid)
    if system_metadata and give_back_in(db_session, system_metadata):
        compute_nodes._write_system_metadata(db_session, instance_uuid, system_metadata)


def give_back_in(db_session: orm.Session, system_metadata: dict[str, Any]) -> bool:
    """Give back the migration claim ``system_metadata`` (a server's, decoded) records
    and drop it from that dict; False when there was none. The caller writes the dict
    back (one write with its other changes)."""
    if not system_metadata.get(MIGRATION_CLAIM_NODE):
        return False
    resources = compute_nodes.usage(
        json.loads(system_metadata.get(MIGRATION_CLAIM_RESOURCES) or "{}"))
    db_session.execute(sa.update(_nodes).where(
        _nodes.c.uuid == system_metadata[MIGRATION_CLAIM_NODE]).values(
        updated_at=utcnow(), **compute_nodes._usage_change(resources, -1)))
    system_metadata.pop(MIGRATION_CLAIM_NODE, None)
    system_metadata.pop(MIGRATION_CLAIM_RESOURCES, None)
    return True


def migration_claim_release(instance_uuid: str) -> None:
    """Give back the server's migration claim (a reverted or failed move); idempotent."""
    with session() as db_session:
        compute_nodes._lock_instance(db_session, instance_uuid, live_only=False)
        release_migration_claim_in(db_session, instance_uuid)


def migration_claim_confirm(instance_uuid: str) -> None:
    """Give back the source claim and make the migration claim the server's claim; idempotent.

    :raises InstanceNotFound: no live instance has this uuid.
    """
    with session() as db_session:
        compute_nodes._lock_instance(db_session, instance_uuid, live_only=True)
        system_metadata = _system_metadata(db_session, instance_uuid) or {}
        node_uuid = system_metadata.get(MIGRATION_CLAIM_NODE)
        if not node_uuid:
            return
        compute_nodes.release_claim(db_session, instance_uuid)
        instance_db._merge_system_metadata(db_session, instance_uuid, {
            instance_db.CLAIMED_NODE: node_uuid,
            instance_db.CLAIMED_RESOURCES: system_metadata.get(MIGRATION_CLAIM_RESOURCES),
            MIGRATION_CLAIM_NODE: None, MIGRATION_CLAIM_RESOURCES: None})
