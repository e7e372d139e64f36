"""Whether a service is up: its last heartbeat against service_down_time, and forced_down."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest

from kumo import servicegroup
from kumo.conf import CONF
from kumo.db import api as db
from kumo.objects import service as service_obj

NOW = datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=datetime.UTC)
DOWN_TIME = 30


@pytest.fixture(autouse=True)
def service_down_time() -> Iterator[None]:
    CONF.set_override("service_down_time", DOWN_TIME)
    yield
    CONF.clear_override("service_down_time")


def _seen(seconds_ago: float, **values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "forced_down": False,
        "last_seen_up": NOW - datetime.timedelta(seconds=seconds_ago),
        "created_at": NOW - datetime.timedelta(days=1),
        "updated_at": None,
    }
    row.update(values)
    return row


def test_service_with_a_fresh_heartbeat_is_up() -> None:
    assert servicegroup.is_up(_seen(1), now=NOW)


def test_service_is_up_until_service_down_time_has_passed() -> None:
    assert servicegroup.is_up(_seen(DOWN_TIME), now=NOW)
    assert not servicegroup.is_up(_seen(DOWN_TIME + 1), now=NOW)


def test_service_down_time_is_read_when_judging() -> None:
    row = _seen(45)
    assert not servicegroup.is_up(row, now=NOW)
    CONF.set_override("service_down_time", 60)
    assert servicegroup.is_up(row, now=NOW)


def test_forced_down_service_is_down_despite_a_fresh_heartbeat() -> None:
    assert not servicegroup.is_up(_seen(0, forced_down=True), now=NOW)


def test_service_without_any_timestamp_is_down() -> None:
    row = _seen(0, last_seen_up=None, created_at=None, updated_at=None)
    assert servicegroup.last_heartbeat(row) is None
    assert not servicegroup.is_up(row, now=NOW)


def test_service_that_never_heartbeated_is_judged_by_its_registration() -> None:
    registered = NOW - datetime.timedelta(seconds=5)
    row = _seen(0, last_seen_up=None, created_at=registered)
    assert servicegroup.last_heartbeat(row) == registered
    assert servicegroup.is_up(row, now=NOW)
    assert not servicegroup.is_up(row, now=registered + datetime.timedelta(
        seconds=DOWN_TIME + 1))


def test_last_heartbeat_wins_over_an_older_registration() -> None:
    row = _seen(DOWN_TIME + 1, created_at=NOW)
    assert not servicegroup.is_up(row, now=NOW)


def test_naive_timestamps_are_taken_as_utc() -> None:
    naive_now = NOW.replace(tzinfo=None)
    row = _seen(0, last_seen_up=naive_now - datetime.timedelta(seconds=DOWN_TIME + 1))
    assert not servicegroup.is_up(row, now=NOW)
    assert servicegroup.is_up(_seen(1), now=naive_now)


@pytest.mark.usefixtures("conductor_db")
def test_row_heartbeated_by_the_database_is_up_until_service_down_time() -> None:
    row = db.service_create({"host": "h1", "binary": "kumo-scheduler", "topic": "scheduler"})
    row = db.service_heartbeat(row["id"])
    service = service_obj.Service.from_row(row)
    seen = servicegroup.last_heartbeat(service)
    assert seen is not None
    assert servicegroup.is_up(service)
    assert servicegroup.is_up(service, now=seen + datetime.timedelta(seconds=DOWN_TIME))
    assert not servicegroup.is_up(
        service, now=seen + datetime.timedelta(seconds=DOWN_TIME + 1))


@pytest.mark.usefixtures("conductor_db")
def test_row_forced_down_in_the_database_is_down() -> None:
    row = db.service_create({"host": "h1", "binary": "kumo-scheduler", "topic": "scheduler"})
    db.service_heartbeat(row["id"])
    row = db.service_update(row["id"], {"forced_down": True})
    assert not servicegroup.is_up(service_obj.Service.from_row(row))


@pytest.mark.usefixtures("conductor_db")
def test_operator_change_to_a_service_that_never_heartbeated_does_not_make_it_up() -> None:
    registered = datetime.datetime.now(datetime.UTC) - datetime.timedelta(
        seconds=DOWN_TIME + 60)
    row = db.service_create({"host": "h1", "binary": "kumo-scheduler", "topic": "scheduler",
                             "created_at": registered.replace(tzinfo=None)})
    row = db.service_update(row["id"], {"disabled": True, "disabled_reason": "maintenance"})
    assert row["last_seen_up"] is None
    assert row["updated_at"] is not None
    assert not servicegroup.is_up(service_obj.Service.from_row(row))
