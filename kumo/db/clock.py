"""The clock database rows are stamped with: naive UTC, read in the calling process.

Only the conductor (and kumo-manage) write rows, so every timestamp in the
database, heartbeats included, comes from the same few clocks rather than from
each compute host's.
"""

from __future__ import annotations

import datetime


def utcnow() -> datetime.datetime:
    """The current time as a naive datetime in UTC, the form every DateTime column holds."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
