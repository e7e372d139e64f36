"""JSON for the bytes kumo itself writes and reads on its hot paths, with orjson.

A ``GET /servers/detail?limit=1000`` crosses JSON three times: the conductor
encodes the rows for the direct answer, kumo-api decodes them and encodes the
response. With the standard library those three were about a third of the
listing's time (1.36 MB of response: encoding 20 ms, decoding 16 ms); orjson
does the same in 1.5 ms and 11 ms (bench/README.md, "JSON").

The text is the same JSON, only compact (no blank after ``,`` and ``:``) and
UTF-8 (no ``\\uXXXX`` escapes), which every JSON reader takes alike.

* :func:`dumps` stands for ``oslo_serialization.jsonutils.dumps``: what JSON
  has no type for goes through :func:`jsonutils.to_primitive
  <oslo_serialization.jsonutils.to_primitive>` as there — datetimes included,
  so they read as they did (orjson's own format would drop zero microseconds).
* :func:`dumps_strict` stands for ``json.dumps`` without ``default``: a value of
  another type is an error (an API response is built of JSON types only).
"""

from __future__ import annotations

from typing import Any

import orjson
from oslo_serialization import jsonutils

# Keys that are not strings (ints, None...) are written as json.dumps writes them.
_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def dumps(value: Any) -> bytes:
    """``value`` as JSON (UTF-8), other types as jsonutils.to_primitive makes them."""
    return orjson.dumps(value, default=jsonutils.to_primitive, option=_OPTIONS)


def dumps_strict(value: Any) -> bytes:
    """``value`` as JSON (UTF-8). :raises TypeError: it holds a value of a type
    JSON has none for."""
    return orjson.dumps(value, option=_OPTIONS)


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """The value of a JSON text. :raises ValueError: it is not JSON."""
    return orjson.loads(data)
