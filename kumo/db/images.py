"""Image queries: the local image store's metadata (its bytes live on disk, see kumo.image.local).

Rows come back as plain dicts with ``properties`` (a dict) added. An image is
visible to a project when it is public or community, or the project owns it;
``project_id=None`` (an admin or a service) sees every image.
"""

from __future__ import annotations

import uuid as uuid_lib
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc, orm

from kumo import exception
from kumo.db import instance_views, models
from kumo.db.api import is_duplicate_entry, session, with_key_values
from kumo.db.clock import utcnow

_images = models.Image.__table__
_properties = models.ImageProperty.__table__

_IMAGE_COLUMNS = frozenset(c.name for c in _images.columns) - {"created_at", "updated_at"}
_FILTERS = ("name", "status", "visibility", "owner", "disk_format", "container_format")


def _with_properties(db_session: orm.Session, rows: Iterable[Mapping[str, Any]]
                     ) -> list[dict[str, Any]]:
    return with_key_values(db_session, rows, "properties", _properties.c.image_id,
                           _properties.c.name, _properties.c.value)


def _visible_to(project: str | sa.BindParameter[str] | None) -> sa.ColumnElement[bool]:
    """Public and community images, and the project's own (``project``: an id, or a
    bound parameter for a prepared read); every image for None."""
    if project is None:
        return sa.true()
    # Equalities, not an IN list: a prepared statement cannot expand one.
    return sa.or_(_images.c.visibility == "public", _images.c.visibility == "community",
                  _images.c.owner == project)


def _get(db_session: orm.Session, image_id: str, project_id: str | None = None
         ) -> dict[str, Any]:
    row = db_session.execute(sa.select(_images).where(
        _images.c.id == image_id, _visible_to(project_id))).mappings().one_or_none()
    if row is None:
        raise exception.ImageNotFound(image_id=image_id)
    return _with_properties(db_session, [row])[0]


def _set_properties(db_session: orm.Session, image_id: str, properties: Mapping[str, Any]
                    ) -> None:
    db_session.execute(sa.delete(_properties).where(_properties.c.image_id == image_id))
    for name, value in properties.items():
        db_session.execute(sa.insert(_properties).values(
            image_id=image_id, name=name, value=None if value is None else str(value)))


def _split(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    values = dict(values)
    properties = values.pop("properties", None)
    unknown = set(values) - _IMAGE_COLUMNS
    if unknown:
        raise exception.Invalid(reason=f"unknown image fields {sorted(unknown)}")
    return values, None if properties is None else dict(properties)


def image_create(values: Mapping[str, Any]) -> dict[str, Any]:
    """Insert an image (``id`` defaults to a uuid4, ``status`` to queued) and its properties.

    :raises Invalid: unknown fields, or the id is taken.
    """
    columns, properties = _split(values)
    columns.setdefault("id", str(uuid_lib.uuid4()))
    columns.setdefault("status", "queued")
    try:
        with session() as db_session:
            db_session.execute(sa.insert(_images).values(**columns))
            _set_properties(db_session, columns["id"], properties or {})
            return _get(db_session, columns["id"])
    except exc.IntegrityError as error:
        if is_duplicate_entry(error):
            raise exception.Invalid(reason=f"image {columns['id']} exists") from error
        raise


def image_update(image_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Change an image's columns; ``properties``, when given, replaces the whole set.

    :raises ImageNotFound: there is no such image.
    """
    columns, properties = _split(values)
    columns.pop("id", None)
    columns["updated_at"] = utcnow()
    with session() as db_session:
        result = db_session.execute(
            sa.update(_images).where(_images.c.id == image_id).values(**columns))
        if result.rowcount == 0:
            raise exception.ImageNotFound(image_id=image_id)
        if properties is not None:
            _set_properties(db_session, image_id, properties)
        return _get(db_session, image_id)


def image_delete(image_id: str) -> None:
    """Delete an image's row and properties (not its bytes: see kumo.image.local).

    :raises ImageNotFound: there is no such image.
    :raises Forbidden: the image is protected.
    """
    with session() as db_session:
        protected = db_session.execute(
            sa.select(_images.c.protected).where(_images.c.id == image_id)).first()
        if protected is None:
            raise exception.ImageNotFound(image_id=image_id)
        if protected[0]:
            raise exception.Forbidden(reason=f"image {image_id} is protected")
        db_session.execute(sa.delete(_properties).where(_properties.c.image_id == image_id))
        db_session.execute(sa.delete(_images).where(_images.c.id == image_id))


_IMAGE_NAMES = tuple(column.name for column in _images.c)


def _by_id(by_project: bool) -> sa.Select:
    """One image with its properties joined, one row per property (one with NULLs
    when it has none), in the order they were written; ``project_id`` bound."""
    where = [_images.c.id == sa.bindparam("image_id", type_=sa.String)]
    if by_project:
        where.append(_visible_to(sa.bindparam("project_id", type_=sa.String)))
    return sa.select(_images, _properties.c.name, _properties.c.value).select_from(
        _images.outerjoin(_properties, _properties.c.image_id == _images.c.id),
    ).where(*where).order_by(_properties.c.id)


def image_get(image_id: str, project_id: str | None = None) -> dict[str, Any]:
    """The image, if ``project_id`` may see it.

    One prepared statement on the pool's DBAPI connection
    (:func:`kumo.db.instance_views.fetch`): every boot reads its image.

    :raises ImageNotFound: there is none, or it is private to another project.
    """
    by_project = project_id is not None
    parameters = {"image_id": str(image_id)}
    if by_project:
        parameters["project_id"] = str(project_id)
    rows = instance_views.fetch(("image_get", by_project), lambda: _by_id(by_project),
                                parameters)
    if not rows:
        raise exception.ImageNotFound(image_id=image_id)
    width = len(_IMAGE_NAMES)
    image = dict(zip(_IMAGE_NAMES, rows[0][:width], strict=True))
    image["properties"] = {row[width]: row[width + 1] for row in rows
                           if row[width] is not None}
    return image


def image_get_all(project_id: str | None = None, filters: Mapping[str, Any] | None = None
                  ) -> list[dict[str, Any]]:
    """Images the project may see, oldest first; ``filters`` match columns exactly
    (name, status, visibility, owner, disk_format, container_format)."""
    statement = sa.select(_images).where(_visible_to(project_id)).order_by(
        _images.c.created_at, _images.c.id)
    for name, value in (filters or {}).items():
        if name not in _FILTERS:
            raise exception.Invalid(reason=f"cannot filter images by {name}")
        statement = statement.where(_images.c[name] == value)
    with session() as db_session:
        return _with_properties(db_session, db_session.execute(statement).mappings())
