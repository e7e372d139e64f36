"""Whether a service is up: judged from its last heartbeat and service_down_time."""

from __future__ import annotations

import datetime
from typing import Any

from oslo_config import cfg

CONF = cfg.CONF


def _aware(moment: datetime.datetime) -> datetime.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def last_heartbeat(service: Any) -> datetime.datetime | None:
    """The time of the service's last heartbeat (its registration if none yet)."""
    # Not updated_at: an operator's change (e.g. disabling) is no sign of life.
    for key in ("last_seen_up", "created_at"):
        moment = service.get(key)
        if moment:
            return _aware(moment)
    return None


def is_up(service: Any, now: datetime.datetime | None = None) -> bool:
    """True when ``service`` (a row dict or Service object) heartbeated recently.

    A service forced down by an operator is down whatever its heartbeat says.
    """
    if service.get("forced_down"):
        return False
    last = last_heartbeat(service)
    if last is None:
        return False
    now = _aware(now) if now else datetime.datetime.now(datetime.UTC)
    return abs((now - last).total_seconds()) <= CONF.service_down_time
