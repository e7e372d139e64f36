"""Alembic environment: runs kumo's migrations on the connection kumo.db.migration hands in.

Without one it opens the database through kumo.db.api.get_engine(), so the
access guard applies to migrations too. Offline mode (``--sql``) renders the
SQL for ``[database] connection`` without connecting.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from kumo.conf import CONF
from kumo.db import api, models

config = context.config


def _run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=models.Base.metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    with api.get_engine().connect() as connection:
        _run_on(connection)


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url") or CONF.database.connection
    context.configure(
        url=url,
        target_metadata=models.Base.metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
