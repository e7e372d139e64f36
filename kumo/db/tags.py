"""Server tags (microversion 2.26): read, add, replace, remove, and the list filters.

Each change first touches the instance row (``updated_at``), which locks it for
the transaction: concurrent changes of one server's tags apply one after the
other, so the per-server limit holds and none is lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy import orm

from kumo import exception
from kumo.db import models
from kumo.db.api import session, touch_instance

# Nova's per-server limit.
MAX_TAGS = 50

_tags = models.Tag.__table__


def _current(db_session: orm.Session, instance_uuid: str) -> list[str]:
    return list(db_session.execute(sa.select(_tags.c.tag).where(
        _tags.c.resource_id == instance_uuid).order_by(_tags.c.tag)).scalars())


def tags_get(instance_uuid: str) -> list[str]:
    """The server's tags, sorted."""
    with session() as db_session:
        return _current(db_session, instance_uuid)


def tags_get_by_uuids(instance_uuids: Sequence[str]) -> dict[str, list[str]]:
    """uuid -> sorted tags, for every uuid given (one query for a whole listing)."""
    found: dict[str, list[str]] = {uuid: [] for uuid in instance_uuids}
    if not found:
        return found
    with session() as db_session:
        for uuid, tag in db_session.execute(
                sa.select(_tags.c.resource_id, _tags.c.tag).where(
                    _tags.c.resource_id.in_(list(found))).order_by(_tags.c.tag)):
            found[uuid].append(tag)
    return found


def tag_add(instance_uuid: str, tag: str) -> bool:
    """Add ``tag``; False when the server already had it.

    :raises TooManyInstanceTags: the server would have more than MAX_TAGS.
    :raises InstanceNotFound: no live server has this uuid.
    """
    with session() as db_session:
        touch_instance(db_session, instance_uuid)
        current = _current(db_session, instance_uuid)
        if tag in current:
            return False
        if len(current) >= MAX_TAGS:
            raise exception.TooManyInstanceTags(limit=MAX_TAGS)
        db_session.execute(sa.insert(_tags).values(resource_id=instance_uuid, tag=tag))
        return True


def tags_set(instance_uuid: str, tags: Iterable[str]) -> list[str]:
    """Replace the server's tags with ``tags`` (duplicates collapse); the tags after.

    :raises TooManyInstanceTags: more than MAX_TAGS distinct tags.
    :raises InstanceNotFound: no live server has this uuid.
    """
    wanted = sorted(set(tags))
    if len(wanted) > MAX_TAGS:
        raise exception.TooManyInstanceTags(limit=MAX_TAGS)
    with session() as db_session:
        touch_instance(db_session, instance_uuid)
        db_session.execute(sa.delete(_tags).where(_tags.c.resource_id == instance_uuid))
        if wanted:
            db_session.execute(sa.insert(_tags), [
                {"resource_id": instance_uuid, "tag": tag} for tag in wanted])
        return wanted


def tag_delete(instance_uuid: str, tag: str) -> None:
    """Remove ``tag``.

    :raises InstanceTagNotFound: the server has no such tag.
    :raises InstanceNotFound: no live server has this uuid.
    """
    with session() as db_session:
        touch_instance(db_session, instance_uuid)
        result = db_session.execute(sa.delete(_tags).where(
            _tags.c.resource_id == instance_uuid, _tags.c.tag == tag))
        if result.rowcount == 0:
            raise exception.InstanceTagNotFound(instance_id=instance_uuid, tag=tag)


def tags_delete_all(instance_uuid: str) -> None:
    """Remove every tag of the server.

    :raises InstanceNotFound: no live server has this uuid.
    """
    with session() as db_session:
        touch_instance(db_session, instance_uuid)
        db_session.execute(sa.delete(_tags).where(_tags.c.resource_id == instance_uuid))


def delete_in(db_session: orm.Session, instance_uuid: str) -> None:
    """Remove a destroyed server's tags, in the destroying transaction."""
    db_session.execute(sa.delete(_tags).where(_tags.c.resource_id == instance_uuid))


def filter_clause(name: str, tags: Sequence[str],
                  uuid_column: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    """The WHERE clause of a server-list tag filter on ``uuid_column``:
    ``tags`` (has all), ``tags_any`` (has one), ``not_tags`` (lacks at least one),
    ``not_tags_any`` (has none)."""
    wanted = sorted(set(tags))

    def having(count: int) -> sa.Select:
        return (sa.select(_tags.c.resource_id).where(_tags.c.tag.in_(wanted))
                .group_by(_tags.c.resource_id)
                .having(sa.func.count(_tags.c.tag) >= count))

    if name == "tags":
        return uuid_column.in_(having(len(wanted)))
    if name == "tags_any":
        return uuid_column.in_(having(1))
    if name == "not_tags":
        return uuid_column.not_in(having(len(wanted)))
    if name == "not_tags_any":
        return uuid_column.not_in(having(1))
    raise exception.Invalid(reason=f"cannot filter servers by {name}")
