"""Network tests share kumo.db's fixtures: a migrated database on SQLite (and PostgreSQL)."""

from tests.unit.db.conftest import as_binary, db, db_config, empty_db  # noqa: F401
