"""The runtime guard: only kumo-conductor and kumo-manage may open the database."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from kumo import exception
from kumo.db import api, migration


@pytest.fixture
def memory_db(db_config: Callable[..., None]) -> None:
    db_config(connection="sqlite://")


@pytest.mark.parametrize("binary", ["kumo-compute", "kumo-api", None])
def test_get_engine_refuses_other_binaries(
    memory_db: None, as_binary: Callable[[str | None], None], binary: str | None
) -> None:
    as_binary(binary)

    with pytest.raises(exception.DBAccessForbidden) as raised:
        api.get_engine()

    assert str(binary) in str(raised.value)


@pytest.mark.parametrize("binary", sorted(api.ALLOWED_BINARIES))
def test_get_engine_works_for_conductor_and_manage(
    memory_db: None, as_binary: Callable[[str | None], None], binary: str
) -> None:
    as_binary(binary)

    with api.get_engine().connect() as connection:
        assert connection.execute(sa.text("SELECT 1")).scalar() == 1


def test_a_cached_engine_is_refused_too(
    memory_db: None, as_binary: Callable[[str | None], None]
) -> None:
    as_binary("kumo-conductor")
    api.get_engine()

    as_binary("kumo-compute")

    with pytest.raises(exception.DBAccessForbidden):
        api.get_engine()
    with pytest.raises(exception.DBAccessForbidden):
        api.service_get_all()
    with pytest.raises(exception.DBAccessForbidden):
        migration.db_sync()


def test_one_engine_per_process_until_reset(
    memory_db: None, as_binary: Callable[[str | None], None]
) -> None:
    as_binary("kumo-conductor")
    engines: list[sa.Engine] = []
    workers = [threading.Thread(target=lambda: engines.append(api.get_engine())) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert len({id(engine) for engine in engines}) == 1

    api.reset_engine()

    assert api.get_engine() is not engines[0]
