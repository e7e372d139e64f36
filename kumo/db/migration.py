"""Schema migrations: ``kumo-manage db sync`` and ``db version`` run alembic from here."""

from __future__ import annotations

import pathlib

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from kumo.db import api

MIGRATIONS_DIR = pathlib.Path(__file__).resolve().parent / "migrations"


def get_alembic_config(connection: Connection | None = None) -> Config:
    """An alembic Config for kumo's migrations, built in code (no alembic.ini needed).

    With ``connection`` the migrations run on it (and in its transaction);
    otherwise env.py opens one from :func:`kumo.db.api.get_engine`.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def db_sync(version: str | None = None) -> None:
    """Upgrade the schema to ``version`` (a revision id), or to the newest one.

    Running it again on an up-to-date database does nothing.

    :raises DBAccessForbidden: this process may not open the database.
    """
    command.upgrade(get_alembic_config(), version or "head")


def db_version() -> str | None:
    """The revision the database is at, or None before the first ``db sync``.

    :raises DBAccessForbidden: this process may not open the database.
    """
    with api.get_engine().connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
