"""Server group queries: groups, their members, and the guarded placement of a member.

Rows come back as plain dicts with ``rules`` (a dict) and ``members`` (the
uuids of live servers, oldest first). Groups are deleted for real; a member
goes when its server is destroyed.

A member's host is the server's own ``host`` once it has one, else the host
recorded on the member row by :func:`member_claim_host` while the build was
starting: that is what lets two builds racing into one anti-affinity group
see each other.
"""

from __future__ import annotations

import json
import uuid as uuid_lib
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from kumo import exception
from kumo.db import models
from kumo.db import quotas as quota_db
from kumo.db.api import session
from kumo.db.clock import utcnow

_groups = models.InstanceGroup.__table__
_members = models.InstanceGroupMember.__table__
_instances = models.Instance.__table__

# Policies of a group (2.15 added the soft ones).
HARD_POLICIES = ("affinity", "anti-affinity")
SOFT_POLICIES = ("soft-affinity", "soft-anti-affinity")


def _rules(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _live_members(db_session: orm.Session, group_ids: Iterable[int]
                  ) -> dict[int, list[str]]:
    """``{group id: [member uuid]}``: only members whose server is not deleted."""
    found: dict[int, list[str]] = {group_id: [] for group_id in group_ids}
    if not found:
        return found
    live = sa.select(_instances.c.uuid).where(_instances.c.deleted == 0)
    statement = (sa.select(_members.c.group_id, _members.c.instance_uuid)
                 .where(_members.c.group_id.in_(list(found)),
                        _members.c.instance_uuid.in_(live))
                 .order_by(_members.c.id))
    for group_id, instance_uuid in db_session.execute(statement):
        found[group_id].append(instance_uuid)
    return found


def _with_members(db_session: orm.Session, rows: Iterable[Mapping[str, Any]]
                  ) -> list[dict[str, Any]]:
    groups = [dict(row) for row in rows]
    members = _live_members(db_session, [group["id"] for group in groups])
    for group in groups:
        group["rules"] = _rules(group["rules"])
        group["members"] = members[group["id"]]
    return groups


def _group_row(db_session: orm.Session, group_uuid: str) -> dict[str, Any]:
    row = db_session.execute(
        sa.select(_groups).where(_groups.c.uuid == group_uuid)).mappings().one_or_none()
    if row is None:
        raise exception.InstanceGroupNotFound(group_uuid=group_uuid)
    return dict(row)


def group_create(values: Mapping[str, Any]) -> dict[str, Any]:
    """Insert a group: ``name``, ``project_id``, ``user_id``, ``policy``, ``rules`` (dict).

    ``uuid`` defaults to a new uuid4.
    """
    row = {
        "uuid": str(values.get("uuid") or uuid_lib.uuid4()),
        "name": values.get("name"),
        "project_id": values["project_id"],
        "user_id": values["user_id"],
        "policy": values["policy"],
        "rules": json.dumps(dict(values.get("rules") or {})),
        "created_at": utcnow(),
    }
    with session() as db_session:
        # The server_groups quota, counted and the row inserted in one transaction.
        quota_db.lock(db_session, f"project:{row['project_id']}")
        quota_db.server_group_check(db_session, row["project_id"], row["user_id"])
        db_session.execute(sa.insert(_groups).values(**row))
        return _with_members(db_session, [_group_row(db_session, row["uuid"])])[0]


def group_get(group_uuid: str) -> dict[str, Any]:
    """The group; raises InstanceGroupNotFound."""
    with session() as db_session:
        return _with_members(db_session, [_group_row(db_session, group_uuid)])[0]


def group_get_all(project_id: str | None = None, limit: int | None = None,
                  offset: int | None = None) -> list[dict[str, Any]]:
    """Groups oldest first, of one project (None: every project's), paged by offset."""
    statement = sa.select(_groups).order_by(_groups.c.id)
    if project_id is not None:
        statement = statement.where(_groups.c.project_id == project_id)
    if offset:
        statement = statement.offset(offset)
    if limit is not None:
        statement = statement.limit(limit)
    with session() as db_session:
        return _with_members(db_session, db_session.execute(statement).mappings())


def group_delete(group_uuid: str) -> None:
    """Delete the group and its member rows; raises InstanceGroupNotFound."""
    with session() as db_session:
        group = _group_row(db_session, group_uuid)
        db_session.execute(sa.delete(_members).where(_members.c.group_id == group["id"]))
        db_session.execute(sa.delete(_groups).where(_groups.c.id == group["id"]))


def members_add(group_uuid: str, instance_uuids: Iterable[str],
                limit: int | None = None) -> dict[str, Any]:
    """Make the servers members of the group (members already in it stay); the group.

    With ``limit`` (the caller's server_group_members quota; -1 or None: none)
    the live members are counted and the new ones added in one transaction,
    serialised per group: two boots racing into one group cannot both pass.
    Raises OverQuota (nothing added) when the new members do not fit.
    """
    limited = limit is not None and limit >= 0
    with session() as db_session:
        if limited:
            # Written first, the group row makes concurrent adds take turns (a row
            # lock on PostgreSQL/MySQL, the write lock on SQLite) and each count
            # see the members the others added, as in member_claim_host.
            db_session.execute(sa.update(_groups).where(_groups.c.uuid == group_uuid)
                               .values(updated_at=utcnow()))
        group = _group_row(db_session, group_uuid)
        present = set(db_session.scalars(
            sa.select(_members.c.instance_uuid).where(_members.c.group_id == group["id"])))
        wanted = [uuid for uuid in dict.fromkeys(instance_uuids) if uuid not in present]
        if limited and wanted:
            live = len(_live_members(db_session, [group["id"]])[group["id"]])
            if live + len(wanted) > limit:
                raise exception.OverQuota(
                    f"Quota exceeded for server_group_members: Requested {len(wanted)}, "
                    f"but already used {live} of {limit} server_group_members",
                    overs=["server_group_members"])
        now = utcnow()
        new = [{"group_id": group["id"], "instance_uuid": uuid, "created_at": now}
               for uuid in wanted]
        if new:
            db_session.execute(sa.insert(_members), new)
        return _with_members(db_session, [group])[0]


def members_delete_by_instance(instance_uuid: str) -> None:
    """The server leaves every group it is in (it is being destroyed)."""
    with session() as db_session:
        members_delete_by_instance_in(db_session, instance_uuid)


def members_delete_by_instance_in(db_session: orm.Session, instance_uuid: str) -> None:
    """:func:`members_delete_by_instance` in the caller's transaction."""
    db_session.execute(sa.delete(_members).where(_members.c.instance_uuid == instance_uuid))


def group_get_by_instance(instance_uuid: str) -> dict[str, Any] | None:
    """The group the server is a member of, or None."""
    with session() as db_session:
        row = db_session.execute(
            sa.select(_groups).join(_members, _members.c.group_id == _groups.c.id)
            .where(_members.c.instance_uuid == instance_uuid)).mappings().first()
        return None if row is None else _with_members(db_session, [row])[0]


def _member_hosts(db_session: orm.Session, group_id: int,
                  exclude: str | None = None) -> list[str]:
    """One host per placed live member (repeated for members sharing a host)."""
    statement = (
        sa.select(sa.func.coalesce(_instances.c.host, _members.c.host))
        .select_from(_members.join(_instances, _instances.c.uuid == _members.c.instance_uuid))
        .where(_members.c.group_id == group_id, _instances.c.deleted == 0))
    if exclude is not None:
        statement = statement.where(_members.c.instance_uuid != exclude)
    return [host for host in db_session.scalars(statement) if host]


def group_hosts(group_uuid: str, exclude: str | None = None) -> list[str]:
    """The hosts of the group's placed members, one entry per member."""
    with session() as db_session:
        group = _group_row(db_session, group_uuid)
        return _member_hosts(db_session, group["id"], exclude=exclude)


def max_server_per_host(group: Mapping[str, Any]) -> int:
    """How many members of an anti-affinity group one host may hold (rule of 2.64)."""
    try:
        return max(1, int(_rules_of(group).get("max_server_per_host", 1)))
    except (TypeError, ValueError):
        return 1


def _rules_of(group: Mapping[str, Any]) -> dict[str, Any]:
    rules = group.get("rules")
    return rules if isinstance(rules, dict) else _rules(rules)


def violation(group: Mapping[str, Any], hosts: list[str], host: str) -> str | None:
    """Why placing one more member on ``host`` breaks the group's policy, or None."""
    policy = group.get("policy")
    if policy == "anti-affinity":
        allowed = max_server_per_host(group)
        on_host = Counter(hosts)[host]
        if on_host >= allowed:
            return (f"Anti-affinity instance group policy was violated: host {host} "
                    f"already has {on_host} member(s) of server group {group['uuid']} "
                    f"(at most {allowed} per host).")
    elif policy == "affinity":
        others = sorted(set(hosts) - {host})
        if others:
            return (f"Affinity instance group policy was violated: the members of server "
                    f"group {group['uuid']} are on {', '.join(others)}, not {host}.")
    return None


def member_claim_host(group_uuid: str, instance_uuid: str, host: str) -> None:
    """Record that member ``instance_uuid`` goes to ``host``, if the policy allows it.

    One transaction that first writes the group row, so concurrent claims on
    the same group take turns (a row lock on PostgreSQL/MySQL, the write lock
    on SQLite) and each sees the hosts the others recorded.

    :raises InstanceGroupPolicyViolation: the host would break the group's policy.
    :raises InstanceGroupNotFound: the group is gone.
    """
    with session() as db_session:
        group = _group_row(db_session, group_uuid)
        db_session.execute(sa.update(_groups).where(_groups.c.id == group["id"])
                           .values(updated_at=utcnow()))
        reason = violation(group, _member_hosts(db_session, group["id"],
                                                exclude=instance_uuid), host)
        if reason is not None:
            raise exception.InstanceGroupPolicyViolation(reason=reason)
        result = db_session.execute(
            sa.update(_members)
            .where(_members.c.group_id == group["id"],
                   _members.c.instance_uuid == instance_uuid)
            .values(host=host, updated_at=utcnow()))
        if result.rowcount == 0:
            db_session.execute(sa.insert(_members).values(
                group_id=group["id"], instance_uuid=instance_uuid, host=host,
                created_at=utcnow()))
