"""kumo.fast_json writes what jsonutils.dumps / json.dumps would mean, and reads it back."""

from __future__ import annotations

import datetime
import json
import uuid

import pytest
from oslo_serialization import jsonutils

from kumo import fast_json


def test_dumps_reads_back_as_jsonutils_wrote_it() -> None:
    value = {
        "at": datetime.datetime(2026, 11, 27, 9, 30),  # zero microseconds kept
        "day": datetime.date(2026, 11, 27),
        "set": {3},
        "uuid": uuid.UUID("0b4e8b8e-7a5e-4b8c-9f6a-3c1f6e2d9a10"),
        1: "int key", None: "none key",
        "text": "ünïcode ☁",
        "nested": [{"a": (1, 2.5, None, True)}],
    }
    assert json.loads(fast_json.dumps(value)) == json.loads(jsonutils.dumps(value))
    assert fast_json.loads(fast_json.dumps(value))["at"] == "2026-11-27T09:30:00.000000"


def test_dumps_strict_refuses_what_json_has_no_type_for() -> None:
    assert fast_json.loads(fast_json.dumps_strict({"servers": [{"id": 1}]})) == {
        "servers": [{"id": 1}]}
    with pytest.raises(TypeError):
        fast_json.dumps_strict({"at": datetime.datetime(2026, 11, 27)})
    with pytest.raises(TypeError):
        fast_json.dumps_strict({"thing": object()})


def test_loads_refuses_what_is_not_json() -> None:
    assert fast_json.loads(b'{"a": [1, "b"]}') == {"a": [1, "b"]}
    assert fast_json.loads('"text"') == "text"
    with pytest.raises(ValueError):
        fast_json.loads(b"{not json")
