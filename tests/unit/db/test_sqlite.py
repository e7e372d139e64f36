"""SQLite, the embedded default: WAL, busy timeout, foreign keys, shared in-memory databases."""

from __future__ import annotations

import pathlib
import threading
import uuid
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from kumo.db import api, migration, models


@pytest.fixture(autouse=True)
def conductor(as_binary: Callable[[str | None], None]) -> None:
    as_binary("kumo-conductor")


def _pragma(name: str) -> object:
    with api.get_engine().connect() as connection:
        return connection.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_file_database_is_in_wal_mode_with_the_configured_pragmas(
    tmp_path: pathlib.Path, db_config: Callable[..., None]
) -> None:
    path = tmp_path / "state" / "not-yet-there" / "kumo.sqlite"
    db_config(connection=f"sqlite:///{path}", sqlite_busy_timeout=1234)

    assert _pragma("journal_mode") == "wal"
    assert _pragma("busy_timeout") == 1234
    assert _pragma("foreign_keys") == 1
    assert _pragma("synchronous") == 1  # NORMAL
    assert path.exists()


def test_wal_can_be_turned_off(tmp_path: pathlib.Path, db_config: Callable[..., None]) -> None:
    db_config(connection=f"sqlite:///{tmp_path}/kumo.sqlite", sqlite_wal=False)

    assert _pragma("journal_mode") == "delete"


def test_foreign_keys_are_enforced(tmp_path: pathlib.Path, db_config: Callable[..., None]) -> None:
    db_config(connection=f"sqlite:///{tmp_path}/kumo.sqlite")
    migration.db_sync()

    with pytest.raises(sa.exc.IntegrityError), api.session() as session:
        session.execute(
            sa.insert(models.InstanceFault.__table__).values(
                instance_uuid=str(uuid.uuid4()), code=500
            )
        )


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_database_is_shared_by_threads(db_config: Callable[..., None], url: str) -> None:
    db_config(connection=url)
    migration.db_sync()
    api.service_create({"host": "host1", "binary": "kumo-compute"})
    seen: list[int] = []

    thread = threading.Thread(target=lambda: seen.append(len(api.service_get_all())))
    thread.start()
    thread.join()

    assert seen == [1]
