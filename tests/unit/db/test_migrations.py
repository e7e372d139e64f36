"""The alembic migrations: they upgrade, downgrade, and build exactly models.py's schema."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from kumo.db import api, migration, models


def _head() -> str:
    return ScriptDirectory.from_config(migration.get_alembic_config()).get_current_head()


def _tables() -> set[str]:
    return set(sa.inspect(api.get_engine()).get_table_names())


def test_migrations_have_a_single_head() -> None:
    heads = ScriptDirectory.from_config(migration.get_alembic_config()).get_heads()
    assert len(heads) == 1


def test_db_version_is_none_before_the_first_sync(empty_db: str) -> None:
    assert migration.db_version() is None


def test_db_sync_upgrades_an_empty_database_to_head(empty_db: str) -> None:
    migration.db_sync()

    assert migration.db_version() == _head()
    assert _tables() == set(models.Base.metadata.tables) | {"alembic_version"}


def test_db_sync_twice_is_harmless(empty_db: str) -> None:
    migration.db_sync()
    api.service_create({"host": "host1", "binary": "kumo-compute"})

    migration.db_sync()

    assert migration.db_version() == _head()
    assert [s["host"] for s in api.service_get_all()] == ["host1"]


def test_db_sync_to_a_named_revision(empty_db: str) -> None:
    migration.db_sync("0001")

    assert migration.db_version() == "0001"


def test_migrated_schema_matches_the_models(db: str) -> None:
    with api.get_engine().connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, models.Base.metadata)

    assert differences == []


def test_downgrade_to_base_drops_every_table(db: str) -> None:
    with api.get_engine().begin() as connection:
        command.downgrade(migration.get_alembic_config(connection), "base")

    assert _tables() == {"alembic_version"}
    assert migration.db_version() is None
