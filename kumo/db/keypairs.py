"""Key pair queries: a user's SSH keys and X.509 certificates, by name.

Key pairs belong to a user (not a project) and are soft-deleted, so a name is
free again once its key pair is deleted. Creating one checks the user's
``key_pairs`` quota in the same transaction (:mod:`kumo.db.quotas`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc

from kumo import exception
from kumo.db import models, quotas
from kumo.db.api import is_duplicate_entry, session
from kumo.db.clock import utcnow

_key_pairs = models.KeyPair.__table__


def _live(user_id: str) -> sa.Select:
    return sa.select(_key_pairs).where(_key_pairs.c.user_id == user_id,
                                       _key_pairs.c.deleted == 0)


def _decode(row: Mapping[str, Any]) -> dict[str, Any]:
    key_pair = dict(row)
    key_pair["deleted"] = bool(key_pair["deleted"])
    return key_pair


def key_pair_create(values: Mapping[str, Any], project_id: str) -> dict[str, Any]:
    """Insert a key pair (name, user_id, fingerprint, public_key, type) if the user's
    ``key_pairs`` quota in ``project_id`` allows one more.

    :raises KeypairLimitExceeded: the user has as many as the quota allows.
    :raises KeyPairExists: the user has a live key pair of that name.
    """
    values = dict(values)
    try:
        with session() as db_session:
            quotas.lock(db_session, f"user:{values['user_id']}")
            quotas.key_pair_check(db_session, project_id, values["user_id"])
            key_id = db_session.execute(sa.insert(_key_pairs).values(
                **values, deleted=0)).inserted_primary_key[0]
            return _decode(db_session.execute(
                sa.select(_key_pairs).where(_key_pairs.c.id == key_id)).mappings().one())
    except exc.IntegrityError as error:
        if is_duplicate_entry(error):
            raise exception.KeyPairExists(key_name=values.get("name")) from error
        raise


def key_pair_get(user_id: str, name: str) -> dict[str, Any]:
    """The user's live key pair ``name``.

    :raises KeypairNotFound: there is none.
    """
    with session() as db_session:
        row = db_session.execute(
            _live(user_id).where(_key_pairs.c.name == name)).mappings().one_or_none()
    if row is None:
        raise exception.KeypairNotFound(user_id=user_id, name=name)
    return _decode(row)


def key_pair_get_all(user_id: str, limit: int | None = None,
                     marker: str | None = None) -> list[dict[str, Any]]:
    """The user's live key pairs ordered by name; ``marker`` is the name of the last
    one of the previous page.

    :raises MarkerNotFound: the user has no key pair named ``marker``.
    """
    statement = _live(user_id).order_by(_key_pairs.c.name, _key_pairs.c.id)
    with session() as db_session:
        if marker is not None:
            found = db_session.execute(
                _live(user_id).where(_key_pairs.c.name == marker)).first()
            if found is None:
                raise exception.MarkerNotFound(marker=marker)
            statement = statement.where(_key_pairs.c.name > marker)
        if limit is not None:
            statement = statement.limit(int(limit))
        return [_decode(row) for row in db_session.execute(statement).mappings()]


def key_pair_destroy(user_id: str, name: str) -> None:
    """Soft-delete the user's key pair ``name``.

    :raises KeypairNotFound: there is none.
    """
    with session() as db_session:
        result = db_session.execute(
            sa.update(_key_pairs)
            .where(_key_pairs.c.user_id == user_id, _key_pairs.c.name == name,
                   _key_pairs.c.deleted == 0)
            .values(deleted=_key_pairs.c.id, deleted_at=utcnow()))
    if result.rowcount == 0:
        raise exception.KeypairNotFound(user_id=user_id, name=name)
