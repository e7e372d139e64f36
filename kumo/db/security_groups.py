"""Security group queries: groups, their ingress rules, and the instances in them.

Groups come back as dicts with ``rules`` (each with ``group_name`` for a
source-group rule). :func:`instance_firewalls` is what kumo-network turns
into per-instance iptables chains.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc

from kumo import exception
from kumo.db import models, network_quotas, quotas
from kumo.db.api import is_duplicate_entry, session

_groups = models.SecurityGroup.__table__
_rules = models.SecurityGroupRule.__table__
_members = models.SecurityGroupInstanceAssociation.__table__
_fixed = models.FixedIp.__table__
_networks = models.Network.__table__
_instances = models.Instance.__table__


def _row(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


def _with_rules(db_session: Any, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = [g["id"] for g in groups]
    names = dict(db_session.execute(sa.select(_groups.c.id, _groups.c.name)).all())
    rules: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        for row in db_session.execute(sa.select(_rules).where(
                _rules.c.parent_group_id.in_(ids)).order_by(_rules.c.id)):
            rule = _row(row)
            rule["group_name"] = names.get(rule["group_id"])
            rules[rule["parent_group_id"]].append(rule)
    for group in groups:
        group["rules"] = rules[group["id"]]
    return groups


def security_group_create(project_id: str, name: str, description: str | None = None,
                          user_id: str | None = None) -> dict[str, Any]:
    """:raises Conflict: the project has a group of that name.
    :raises OverQuota: the project has its ``security_groups`` already (its
        ``default`` group does not count)."""
    try:
        with session() as db_session:
            if name != "default":
                quotas.lock(db_session, f"project:{project_id}")
                network_quotas.check_security_group(db_session, project_id)
            group_id = db_session.execute(sa.insert(_groups).values(
                project_id=project_id, name=name, description=description, user_id=user_id
            ).returning(_groups.c.id)).scalar_one()
    except exc.IntegrityError as error:
        if is_duplicate_entry(error):
            raise exception.Conflict(f"Security group {name} already exists") from error
        raise
    return security_group_get(group_id)


def security_group_ensure_default(project_id: str,
                                  user_id: str | None = None) -> dict[str, Any]:
    """The project's ``default`` group, created on first use."""
    for group in security_group_get_all(project_id):
        if group["name"] == "default":
            return group
    try:
        return security_group_create(project_id, "default", "default", user_id)
    except exception.Conflict:
        return next(g for g in security_group_get_all(project_id) if g["name"] == "default")


def security_group_get(group_id: int, project_id: str | None = None) -> dict[str, Any]:
    """:raises NotFound:"""
    query = sa.select(_groups).where(_groups.c.id == int(group_id))
    if project_id is not None:
        query = query.where(_groups.c.project_id == project_id)
    with session() as db_session:
        row = db_session.execute(query).first()
        if row is None:
            raise exception.NotFound(f"Security group {group_id} not found.")
        return _with_rules(db_session, [_row(row)])[0]


def security_group_get_all(project_id: str | None = None) -> list[dict[str, Any]]:
    query = sa.select(_groups).order_by(_groups.c.id)
    if project_id is not None:
        query = query.where(_groups.c.project_id == project_id)
    with session() as db_session:
        return _with_rules(db_session, [_row(r) for r in db_session.execute(query)])


def security_group_update(group_id: int, values: dict[str, Any],
                          project_id: str | None = None) -> dict[str, Any]:
    """Rename or redescribe a group. :raises NotFound: :raises Conflict: the
    name is taken, or the group is ``default`` (which cannot be renamed)."""
    group = security_group_get(group_id, project_id)
    columns = {k: values[k] for k in ("name", "description") if k in values}
    if group["name"] == "default" and columns.get("name", "default") != "default":
        raise exception.Conflict("Unable to update system group 'default'")
    try:
        with session() as db_session:
            db_session.execute(sa.update(_groups).where(_groups.c.id == group["id"])
                               .values(**columns))
    except exc.IntegrityError as error:
        if is_duplicate_entry(error):
            raise exception.Conflict(f"Security group {columns.get('name')} already "
                                     "exists") from error
        raise
    return security_group_get(group_id)


def security_group_delete(group_id: int, project_id: str | None = None) -> None:
    """:raises Conflict: instances are still in the group (a deleted server's
    membership, left behind when it was never built, does not count).
    :raises NotFound:"""
    security_group_get(group_id, project_id)
    with session() as db_session:
        deleted = sa.select(_instances.c.uuid).where(_instances.c.deleted != 0)
        used = db_session.execute(
            sa.select(sa.func.count()).select_from(_members)
            .where(_members.c.security_group_id == int(group_id),
                   _members.c.instance_uuid.not_in(deleted))).scalar_one()
        if used:
            raise exception.Conflict("Security group is still in use")
        db_session.execute(sa.delete(_rules).where(sa.or_(
            _rules.c.parent_group_id == int(group_id), _rules.c.group_id == int(group_id))))
        db_session.execute(sa.delete(_groups).where(_groups.c.id == int(group_id)))


def security_group_rule_create(values: dict[str, Any]) -> dict[str, Any]:
    """Add an ingress rule (``parent_group_id``, ``protocol``, ``from_port``,
    ``to_port`` and ``cidr`` or ``group_id``).

    :raises OverQuota: the group has its ``security_group_rules`` already.
    """
    allowed = {"parent_group_id", "protocol", "from_port", "to_port", "cidr", "group_id"}
    columns = {key: value for key, value in values.items() if key in allowed}
    project_id = security_group_get(columns["parent_group_id"])["project_id"]
    with session() as db_session:
        quotas.lock(db_session, f"project:{project_id}")
        network_quotas.check_security_group_rule(db_session, project_id,
                                                 columns["parent_group_id"])
        rule_id = db_session.execute(sa.insert(_rules).values(**columns)
                                     .returning(_rules.c.id)).scalar_one()
        row = db_session.execute(sa.select(_rules).where(_rules.c.id == rule_id)).one()
    return _row(row)


def security_group_rule_get(rule_id: int) -> dict[str, Any]:
    with session() as db_session:
        row = db_session.execute(sa.select(_rules).where(_rules.c.id == int(rule_id))).first()
    if row is None:
        raise exception.NotFound(f"Rule ({rule_id}) not found")
    return _row(row)


def security_group_rule_delete(rule_id: int) -> None:
    security_group_rule_get(rule_id)
    with session() as db_session:
        db_session.execute(sa.delete(_rules).where(_rules.c.id == int(rule_id)))


def security_group_add_instance(group_id: int, instance_uuid: str) -> None:
    """Idempotent."""
    try:
        with session() as db_session:
            db_session.execute(sa.insert(_members).values(security_group_id=int(group_id),
                                                          instance_uuid=instance_uuid))
    except exc.IntegrityError as error:
        if not is_duplicate_entry(error):
            raise


def security_groups_by_name(project_id: str, names: list[str],
                            user_id: str | None = None) -> list[dict[str, Any]]:
    """The project's groups named ``names`` (``default`` made on first use), in
    that order, each once.

    :raises NotFound: no group of the project has one of the names.
    """
    if "default" in names:
        security_group_ensure_default(project_id, user_id)
    by_name = {g["name"]: g for g in security_group_get_all(project_id)}
    found: list[dict[str, Any]] = []
    for name in dict.fromkeys(names):
        if name not in by_name:
            raise exception.NotFound(f"Security group {name} not found for project "
                                     f"{project_id}.")
        found.append(by_name[name])
    return found


def security_group_add_instances(group_ids: list[int], instance_uuids: list[str]) -> None:
    """Put every instance in every group (one transaction; members already in a
    group stay as they are)."""
    wanted = {(int(g), u) for g in group_ids for u in instance_uuids}
    if not wanted:
        return
    with session() as db_session:
        present = set(db_session.execute(sa.select(
            _members.c.security_group_id, _members.c.instance_uuid).where(
            _members.c.instance_uuid.in_(list(instance_uuids)))).all())
        rows = [{"security_group_id": g, "instance_uuid": u}
                for g, u in sorted(wanted - present)]
        if rows:
            db_session.execute(sa.insert(_members), rows)


def security_group_remove_instance(group_id: int, instance_uuid: str) -> None:
    """Idempotent."""
    with session() as db_session:
        db_session.execute(sa.delete(_members).where(
            _members.c.security_group_id == int(group_id),
            _members.c.instance_uuid == instance_uuid))


def security_groups_of_instance(instance_uuid: str) -> list[dict[str, Any]]:
    with session() as db_session:
        ids = list(db_session.execute(sa.select(_members.c.security_group_id).where(
            _members.c.instance_uuid == instance_uuid)).scalars())
    return [security_group_get(i) for i in ids]


def instance_firewalls() -> list[dict[str, Any]]:
    """One entry per fixed IP of an instance in at least one group: ``instance_uuid``,
    ``ip``, ``gateway``, ``host`` and ``rules`` (``protocol``, ``from_port``,
    ``to_port``, ``cidr``, ``source_ips``: the member IPs of a source group)."""
    with session() as db_session:
        members = db_session.execute(sa.select(_members)).all()
        addresses = db_session.execute(
            sa.select(_fixed.c.instance_uuid, _fixed.c.address, _fixed.c.host,
                      _networks.c.gateway)
            .join(_networks, _networks.c.id == _fixed.c.network_id)
            .where(_fixed.c.instance_uuid.is_not(None), _fixed.c.allocated.is_(True))
            .order_by(_fixed.c.id)).all()
        rules = [_row(r) for r in db_session.execute(sa.select(_rules).order_by(_rules.c.id))]
    groups_of: dict[str, set[int]] = {}
    members_of: dict[int, set[str]] = {}
    for member in members:
        groups_of.setdefault(member.instance_uuid, set()).add(member.security_group_id)
        members_of.setdefault(member.security_group_id, set()).add(member.instance_uuid)
    ips_of: dict[str, list[str]] = {}
    for address in addresses:
        ips_of.setdefault(address.instance_uuid, []).append(address.address)
    firewalls = []
    for address in addresses:
        groups = groups_of.get(address.instance_uuid)
        if not groups:
            continue
        shown = []
        for rule in rules:
            if rule["parent_group_id"] not in groups:
                continue
            sources = sorted(ip for uuid in members_of.get(rule["group_id"], set())
                             for ip in ips_of.get(uuid, [])) if rule["group_id"] else []
            if rule["group_id"] and not sources:
                continue
            shown.append({"protocol": rule["protocol"], "from_port": rule["from_port"],
                          "to_port": rule["to_port"], "cidr": rule["cidr"],
                          "source_ips": sources})
        firewalls.append({"instance_uuid": address.instance_uuid, "ip": address.address,
                          "gateway": address.gateway, "host": address.host,
                          "rules": shown})
    return firewalls
