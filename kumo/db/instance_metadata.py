"""A server's user metadata changed key by key (``/servers/{id}/metadata``).

Each change first touches the instance row (``updated_at``), which locks it
for the transaction, so concurrent changes of one server's metadata apply one
after the other and none is lost.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy import orm

from kumo.db import models
from kumo.db.api import session, touch_instance

_metadata = models.InstanceMetadata.__table__


def _current(db_session: orm.Session, instance_uuid: str) -> dict[str, str | None]:
    return {key: value for key, value in db_session.execute(
        sa.select(_metadata.c.key, _metadata.c.value).where(
            _metadata.c.instance_uuid == instance_uuid, _metadata.c.deleted == 0))}


def instance_metadata_update(instance_uuid: str, metadata: Mapping[str, str | None],
                             delete: bool = False) -> dict[str, str | None]:
    """Set the keys of ``metadata`` (and, with ``delete``, remove every other key).

    Returns the server's metadata afterwards.

    :raises InstanceNotFound: no live instance has this uuid.
    """
    with session() as db_session:
        touch_instance(db_session, instance_uuid)
        current = _current(db_session, instance_uuid)
        doomed = [key for key in current if key not in metadata] if delete else []
        changed = [key for key in metadata if key in current]
        if doomed or changed:
            db_session.execute(sa.delete(_metadata).where(
                _metadata.c.instance_uuid == instance_uuid, _metadata.c.deleted == 0,
                _metadata.c.key.in_(doomed + changed)))
        for key, value in metadata.items():
            db_session.execute(sa.insert(_metadata).values(
                instance_uuid=instance_uuid, key=key,
                value=None if value is None else str(value), deleted=0))
        return _current(db_session, instance_uuid)


def instance_metadata_delete(instance_uuid: str, key: str) -> dict[str, str | None]:
    """Remove one key (a missing one is fine); returns the metadata afterwards.

    :raises InstanceNotFound: no live instance has this uuid.
    """
    with session() as db_session:
        touch_instance(db_session, instance_uuid)
        db_session.execute(sa.delete(_metadata).where(
            _metadata.c.instance_uuid == instance_uuid, _metadata.c.deleted == 0,
            _metadata.c.key == key))
        return _current(db_session, instance_uuid)
