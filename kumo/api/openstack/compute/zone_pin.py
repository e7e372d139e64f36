"""Microversion 2.104: ``PUT /servers/{id}`` sets or unsets ``pinned_availability_zone``.

A server is pinned to the zone asked for at boot (or unshelve); moves stay in
it. 2.104 lets its owner unpin it (null) or pin it again, but only to the zone
it is in now. The pin lives in the recorded request spec (system_metadata),
where views.pinned_zone (2.96) and the move tasks read it.
"""

from __future__ import annotations

import json
from typing import Any

from kumo.api.openstack import common
from kumo.api.openstack.compute import views

FIELD = "pinned_availability_zone"
SCHEMA = {"type": ["string", "null"], "minLength": 1, "maxLength": 255}


def request_spec_with_pin(instance: Any, zone: str | None) -> str:
    """The recorded request spec (JSON) with the pin set to ``zone`` or removed;
    400 when ``zone`` is not the zone the server is in."""
    current = instance.get("availability_zone") if hasattr(instance, "get") else \
        getattr(instance, "availability_zone", None)
    if zone is not None and zone != current:
        raise common.BadRequest(reason=(
            f"The server can only be pinned to the availability zone it is in "
            f"({current or 'none'}), not {zone}."))
    spec = views.recorded_request_spec(instance)
    if zone is None:
        spec.pop("availability_zone", None)
    else:
        spec["availability_zone"] = zone
    return json.dumps(spec)
