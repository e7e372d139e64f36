"""Quotas of kumo-network's resources: floating IPs, security groups and rules.

The limits are the project's ``floating_ips``, ``security_groups`` and
``security_group_rules`` quotas (kumo.db.quotas: [quota] defaults, classes,
per-project rows). Usage is counted from the rows, inside the caller's
transaction after :func:`kumo.db.quotas.lock` of the project, so that two
concurrent requests cannot both take the last unit — the same pattern as key
pairs. ``security_group_rules`` is per group, as in nova-network.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kumo import exception
from kumo.db import models, quotas
from kumo.db.api import session

_floating = models.FloatingIp.__table__
_groups = models.SecurityGroup.__table__
_rules = models.SecurityGroupRule.__table__


def _limit(db_session: Any, project_id: str, resource: str) -> int:
    # The project's limit of one resource (class default, then the project's row).
    return quotas._project_limits(db_session, project_id)[resource]


def _check(db_session: Any, project_id: str, resource: str, used: int) -> None:
    limit = _limit(db_session, project_id, resource)
    if 0 <= limit < used + 1:
        raise exception.OverQuota(
            f"Quota exceeded for {resource}: Requested 1, but already used {used} of "
            f"{limit} {resource}", overs=[resource])


def check_floating_ip(db_session: Any, project_id: str) -> None:
    """OverQuota unless the project may hold one more floating IP (after lock())."""
    used = db_session.execute(sa.select(sa.func.count()).select_from(_floating).where(
        _floating.c.project_id == project_id,
        _floating.c.auto_assigned.is_not(True))).scalar_one()
    _check(db_session, project_id, "floating_ips", int(used))


def check_security_group(db_session: Any, project_id: str) -> None:
    """OverQuota unless the project may have one more security group (its
    ``default`` group, made on first use, does not count)."""
    used = db_session.execute(sa.select(sa.func.count()).select_from(_groups).where(
        _groups.c.project_id == project_id, _groups.c.name != "default")).scalar_one()
    _check(db_session, project_id, "security_groups", int(used))


def check_security_group_rule(db_session: Any, project_id: str, group_id: int) -> None:
    """OverQuota unless the group may have one more rule."""
    used = db_session.execute(sa.select(sa.func.count()).select_from(_rules).where(
        _rules.c.parent_group_id == int(group_id))).scalar_one()
    _check(db_session, project_id, "security_group_rules", int(used))


def usage(project_id: str, user_id: str | None = None) -> dict[str, int]:
    """What os-quota-sets shows ``in_use`` for the three, counted as the checks
    count them: the project's floating IPs, its groups (``default`` aside; only
    the user's with ``user_id``) and the rules of its fullest group (the limit
    is per group)."""
    groups = [_groups.c.project_id == project_id, _groups.c.name != "default"]
    if user_id is not None:
        groups.append(_groups.c.user_id == user_id)
    per_group = (sa.select(sa.func.count().label("rules"))
                 .select_from(_rules.join(_groups, _groups.c.id == _rules.c.parent_group_id))
                 .where(_groups.c.project_id == project_id)
                 .group_by(_rules.c.parent_group_id).subquery())
    with session() as db_session:
        floating = db_session.execute(sa.select(sa.func.count()).select_from(_floating).where(
            _floating.c.project_id == project_id,
            _floating.c.auto_assigned.is_not(True))).scalar_one()
        group_count = db_session.execute(
            sa.select(sa.func.count()).select_from(_groups).where(*groups)).scalar_one()
        rules = db_session.execute(
            sa.select(sa.func.coalesce(sa.func.max(per_group.c.rules), 0))).scalar_one()
    return {"floating_ips": int(floating), "security_groups": int(group_count),
            "security_group_rules": int(rules)}
