"""Queries of the metadata service: which instance holds a fixed IP, its key pair's
type, and the password a guest stores."""

from __future__ import annotations

import sqlalchemy as sa

from kumo import exception
from kumo.db import instances, models
from kumo.db.api import session

_fixed_ips = models.FixedIp.__table__
_instances = models.Instance.__table__
_key_pairs = models.KeyPair.__table__


def instance_uuid_by_fixed_address(address: str) -> str:
    """The uuid of the live instance that holds fixed IP ``address``: allocated to
    it (a released address still associated with its old server is not), the
    server not deleted.

    :raises InstanceNotFound: no live instance holds it.
    """
    query = (sa.select(_fixed_ips.c.instance_uuid)
             .join(_instances, sa.and_(_instances.c.uuid == _fixed_ips.c.instance_uuid,
                                       _instances.c.deleted == 0))
             .where(_fixed_ips.c.address == address, _fixed_ips.c.allocated.is_(True))
             .order_by(_fixed_ips.c.id).limit(1))
    with session() as db_session:
        instance_uuid = db_session.execute(query).scalar_one_or_none()
    if instance_uuid is None:
        raise exception.InstanceNotFound(instance_id=address)
    return instance_uuid


def key_pair_type(user_id: str, name: str) -> str | None:
    """The type (``ssh``/``x509``) of the user's live key pair ``name``; None when gone."""
    with session() as db_session:
        return db_session.execute(
            sa.select(_key_pairs.c.type).where(
                _key_pairs.c.user_id == user_id, _key_pairs.c.name == name,
                _key_pairs.c.deleted == 0)).scalar_one_or_none()


# How Nova keeps a guest's encrypted password: up to 4 system_metadata values of 255.
PASSWORD_CHUNKS = 4
PASSWORD_CHUNK_LENGTH = 255


def instance_password_set(instance_uuid: str, password: str) -> None:
    """Store the (encrypted) password a guest posts, once.

    The row is locked by an UPDATE first, so of two guests' posts exactly one wins.

    :raises InstanceNotFound: :raises Conflict: a password is stored already.
    """
    chunks = {f"password_{i}": password[i * PASSWORD_CHUNK_LENGTH:
                                        (i + 1) * PASSWORD_CHUNK_LENGTH]
              for i in range(PASSWORD_CHUNKS)}
    with session() as db_session:
        instances.instance_update_in(db_session, instance_uuid, {})
        stored = instances.decode_json(db_session.execute(
            sa.select(_instances.c.system_metadata)
            .where(_instances.c.uuid == instance_uuid)).scalar())
        if any(stored.get(key) for key in chunks):
            raise exception.Conflict(f"Instance {instance_uuid} has a password already")
        instances.instance_update_in(db_session, instance_uuid, {"system_metadata": chunks})


def instance_password_clear(instance_uuid: str) -> None:
    """Empty the stored password's chunks (Nova keeps them, empty).

    :raises InstanceNotFound:
    """
    with session() as db_session:
        instances.instance_update_in(db_session, instance_uuid, {"system_metadata": {
            f"password_{i}": "" for i in range(PASSWORD_CHUNKS)}})
