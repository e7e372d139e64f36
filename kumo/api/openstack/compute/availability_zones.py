"""``/os-availability-zone`` (+ ``/detail``): the zones a user may boot into.

Zones come from the host aggregates' ``availability_zone``; a compute host in
none is in ``[scheduler] default_availability_zone``. The detailed list
(administrators) also shows each host's services, the non-compute ones in the
``internal`` zone.
"""

from __future__ import annotations

from typing import Any

import webob

from kumo import policy
from kumo.api.openstack import common
from kumo.policies import availability_zones as zone_policies


def available_zone_names(clients: common.Clients, context: Any) -> set[str]:
    """The zones a server may be booted into now (at least one enabled compute host)."""
    return {zone["zone"] for zone in clients.conductor.availability_zone_get_all(context)
            if zone["available"]}


class AvailabilityZonesController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def index(self, req: webob.Request) -> webob.Response:
        context = common.context_of(req)
        policy.authorize(context, zone_policies.ROOT % "list")
        zones = self.clients.conductor.availability_zone_get_all(context)
        return common.json_response({"availabilityZoneInfo": [
            {"zoneName": zone["zone"], "zoneState": {"available": zone["available"]},
             "hosts": None} for zone in zones]})

    def detail(self, req: webob.Request) -> webob.Response:
        context = common.context_of(req)
        policy.authorize(context, zone_policies.ROOT % "detail")
        zones = self.clients.conductor.availability_zone_get_all(context, with_internal=True)
        return common.json_response({"availabilityZoneInfo": [
            {"zoneName": zone["zone"], "zoneState": {"available": zone["available"]},
             "hosts": zone["hosts"] or None} for zone in zones]})


def boot_zone(clients: common.Clients, context: Any, requested: str | None) -> str | None:
    """The zone a boot asks for, checked against the available ones (400 otherwise).

    ``zone:host[:node]`` (an administrator's forced host) is checked by its zone.
    """
    if not requested:
        return None
    zone = requested.split(":", 1)[0]
    if zone and zone not in available_zone_names(clients, context):
        raise common.BadRequest(reason="The requested availability zone is not available")
    return zone or None
