"""The compare-and-swap merge of system_metadata in guarded instance updates.

A write that changes system_metadata is one UPDATE guarded by the text read
before it; when that text changed meanwhile (or the guard fails) the update
falls back to the locked two-step merge, so no change is ever lost.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from kumo import exception
from kumo.compute import task_states
from kumo.db import api, instances


def _instance(**values: Any) -> dict[str, Any]:
    base = {"project_id": "p", "user_id": "u", "vcpus": 1, "memory_mb": 512,
            "root_gb": 1, "ephemeral_gb": 0, "image_ref": "img", "display_name": "vm"}
    return instances.instance_create([{**base, **values}])[0]


@pytest.fixture
def statements(db: str) -> Iterator[list[str]]:
    """The SQL statements the engine runs from now on."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.lstrip().split()[0].upper())

    engine = api.get_engine()
    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


def test_a_merge_is_one_read_and_one_update(statements: list[str]) -> None:
    uuid = _instance(system_metadata={"a": "1"})["uuid"]
    statements.clear()

    with api.session() as db_session:
        instances.instance_update_in(db_session, uuid, {
            "task_state": task_states.SPAWNING, "system_metadata": {"b": "2", "a": None}},
            expected_task_state=task_states.SCHEDULING)

    assert statements == ["SELECT", "UPDATE"]
    stored = instances.instance_get(uuid)
    assert stored["system_metadata"] == {"b": "2"}
    assert stored["task_state"] == task_states.SPAWNING


def test_a_known_text_needs_no_read(statements: list[str]) -> None:
    uuid = _instance(system_metadata={"a": "1"})["uuid"]
    with api.session() as db_session:
        text = instances.read_system_metadata(db_session, uuid)
    statements.clear()

    with api.session() as db_session:
        instances.instance_update_known_in(db_session, uuid, {"system_metadata": {"c": "3"}},
                                           text)

    assert statements == ["UPDATE"]
    assert instances.instance_get(uuid)["system_metadata"] == {"a": "1", "c": "3"}


def test_a_stale_text_loses_no_concurrent_change(db: str) -> None:
    uuid = _instance(system_metadata={"a": "1"})["uuid"]
    with api.session() as db_session:
        text = instances.read_system_metadata(db_session, uuid)
    # Another writer changes the system_metadata after our read.
    instances.instance_update(uuid, {"system_metadata": {"other": "x"}})

    with api.session() as db_session:
        instances.instance_update_known_in(db_session, uuid, {"system_metadata": {"c": "3"}},
                                           text)

    assert instances.instance_get(uuid)["system_metadata"] == {"a": "1", "other": "x",
                                                                "c": "3"}


def test_a_null_system_metadata_is_merged(db: str) -> None:
    uuid = _instance()["uuid"]
    with api.session() as db_session:
        db_session.execute(sa.update(instances._instances).where(
            instances._instances.c.uuid == uuid).values(system_metadata=None))

    instances.instance_update(uuid, {"system_metadata": {"a": "1"}})

    assert instances.instance_get(uuid)["system_metadata"] == {"a": "1"}


def test_a_failed_guard_still_raises_and_changes_nothing(db: str) -> None:
    uuid = _instance(system_metadata={"a": "1"})["uuid"]

    with pytest.raises(exception.UnexpectedTaskStateError):
        instances.instance_update(uuid, {"system_metadata": {"a": "2"}},
                                  expected_task_state=task_states.SPAWNING)
    with pytest.raises(exception.InstanceNotFound):
        instances.instance_update("no-such-server", {"system_metadata": {"a": "2"}})

    assert instances.instance_get(uuid)["system_metadata"] == {"a": "1"}


def test_concurrent_merges_of_different_keys_all_land(
        db: str, at_once: Callable[..., None]) -> None:
    uuid = _instance(system_metadata={"base": "0"})["uuid"]

    at_once(lambda key: instances.instance_update(uuid, {"system_metadata": {key: "1"}}),
            [f"k{index}" for index in range(8)])

    expected = {"base": "0", **{f"k{index}": "1" for index in range(8)}}
    assert instances.instance_get(uuid)["system_metadata"] == expected


def test_on_mysql_the_stored_text_is_compared_byte_for_byte() -> None:
    # MySQL compares text by its collation, case-blind by default: a concurrent change
    # of case alone would pass for "unchanged" and be overwritten. (No MySQL server
    # here: the statement is compiled for its dialect.)
    from sqlalchemy.dialects import mysql

    seen: list[Any] = []

    class MySQLSession:
        def get_bind(self) -> Any:
            return types.SimpleNamespace(dialect=mysql.dialect())

        def execute(self, statement: Any, params: Any = None) -> Any:
            seen.append((statement, params))
            return types.SimpleNamespace(rowcount=1)

    assert instances._update_merging(MySQLSession(), "uuid", instances._Guard("uuid", {}),
                                     {}, {"b": "2"}, '{"a": "A"}')
    statement, params = seen[0]
    compiled = statement.compile(dialect=mysql.dialect())
    assert "CAST(instances.system_metadata AS BINARY) = " in str(compiled)
    assert params["g_stored"] == b'{"a": "A"}'
