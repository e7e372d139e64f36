"""The server views print a row's ISO 8601 datetimes without parsing them: the same
text as formatting the datetime the row stood for (kumo.api.openstack.common)."""

from __future__ import annotations

import datetime

import pytest

from kumo.api.openstack import common
from kumo.api.openstack.compute import server_rows

_MOMENTS = [
    datetime.datetime(2026, 11, 26, 12, 57, 28, 723112),
    datetime.datetime(2026, 11, 26, 12, 57, 28),  # isoformat() leaves out microseconds
    datetime.datetime(2026, 1, 2, 3, 4, 5, 6),
    datetime.datetime(1999, 12, 31, 23, 59, 59, 999999),
]


@pytest.mark.parametrize("moment", _MOMENTS)
def test_row_strings_print_as_their_datetimes(moment: datetime.datetime) -> None:
    text = moment.isoformat()  # as kumo.conductor.rows sends it
    as_object = server_rows.as_datetime(text)
    assert as_object.tzinfo is datetime.UTC
    assert common.isotime(text) == common.isotime(as_object)
    assert common.usage_time(text) == common.usage_time(as_object)


@pytest.mark.parametrize("value", [
    datetime.datetime(2026, 11, 26, 12, 57, 28, 5, tzinfo=datetime.UTC),
    "2026-11-26T12:57:28.000005+00:00",  # not the bus's form: parsed, same answer
    "2026-11-26 12:57:28.000005",
    None,
])
def test_other_values_take_the_formatting_path(value: object) -> None:
    expected = server_rows.as_datetime(value)
    assert common.isotime(value) == common.isotime(expected)
    assert common.usage_time(value) == common.usage_time(expected)
