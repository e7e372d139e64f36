"""``/os-services``: the cloud's daemons, whether they are up, and switching
compute services off for scheduling.

Microversions: 2.11 adds ``forced_down`` (shown, and the ``force-down``
action); 2.53 names services by uuid and replaces the ``enable``/``disable``/
``disable-log-reason``/``force-down`` actions by ``PUT /os-services/{uuid}``.
"""

from __future__ import annotations

from typing import Any

import webob
from oslo_config import cfg
from oslo_utils import strutils, uuidutils

from kumo import exception, policy, servicegroup
from kumo.api import validation
from kumo.api.openstack import api_version, common
from kumo.policies import services as service_policies

CONF = cfg.CONF

COMPUTE_BINARY = "kumo-compute"
# The zone every non-compute service is listed in (Nova's internal zone).
INTERNAL_ZONE = "internal"
# API daemons do not heartbeat; like Nova's API services they are not listed.
_UNLISTED_BINARIES = frozenset({"kumo-api", "kumo-api-metadata"})

_REASON = {"type": "string", "minLength": 1, "maxLength": 255}
_LEGACY_UPDATE = {
    "type": "object",
    "properties": {"host": {"type": "string", "minLength": 1, "maxLength": 255},
                   "binary": {"type": "string", "minLength": 1, "maxLength": 255},
                   "disabled_reason": _REASON,
                   "forced_down": validation.BOOLEAN},
    "required": ["host", "binary"],
    "additionalProperties": False,
}
_UPDATE = {
    "type": "object",
    "properties": {"status": {"type": "string", "enum": ["enabled", "disabled"]},
                   "disabled_reason": _REASON,
                   "forced_down": validation.BOOLEAN},
    "additionalProperties": False,
}


def host_zones(conductor: Any, context: Any) -> dict[str, str]:
    """``{host: zone}`` of hosts in a zoned aggregate (the others are in
    ``[scheduler] default_availability_zone``). The hook to the aggregates of
    :mod:`kumo.conductor.groups`."""
    zones: dict[str, str] = {}
    for aggregate in conductor.aggregate_get_all(context):
        zone = aggregate.get("availability_zone")
        if zone:
            for host in aggregate.get("hosts") or []:
                zones.setdefault(host, zone)
    return zones


def service_zone(service: Any, zones: dict[str, str]) -> str:
    if service["binary"] != COMPUTE_BINARY:
        return INTERNAL_ZONE
    return zones.get(service["host"], CONF.scheduler.default_availability_zone)


def updated_at(service: Any) -> Any:
    """When the service last reported (its heartbeat), in Nova's timestamp format."""
    return common.usage_time(servicegroup.last_heartbeat(service)
                             or service.get("updated_at"))


def show(req: webob.Request, service: Any, zones: dict[str, str]) -> dict[str, Any]:
    shown = {
        "id": service["uuid"] if api_version.at_least(req, "2.53") else service["id"],
        "binary": service["binary"],
        "host": service["host"],
        "zone": service_zone(service, zones),
        "status": "disabled" if service["disabled"] else "enabled",
        "state": "up" if servicegroup.is_up(service) else "down",
        "updated_at": updated_at(service),
        "disabled_reason": service["disabled_reason"],
    }
    if api_version.at_least(req, "2.11"):
        shown["forced_down"] = service["forced_down"]
    return shown


def parse_id(req: webob.Request, service_id: str) -> dict[str, Any]:
    """The conductor's lookup arguments for a URL's service id: a uuid from 2.53,
    an integer before."""
    if api_version.at_least(req, "2.53"):
        if not uuidutils.is_uuid_like(service_id):
            raise common.BadRequest(reason=f"Invalid uuid {service_id}")
        return {"uuid": service_id}
    try:
        return {"service_id": int(service_id)}
    except ValueError:
        raise common.BadRequest(
            reason=f"Invalid input received: id must be an integer: {service_id}") from None


class ServicesController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def index(self, req: webob.Request) -> webob.Response:
        context = common.context_of(req)
        policy.authorize(context, service_policies.SERVICES % "list")
        services = self.clients.conductor.service_get_all(
            context, binary=req.params.get("binary"), host=req.params.get("host"))
        services = [s for s in services if s["binary"] not in _UNLISTED_BINARIES]
        zones = host_zones(self.clients.conductor, context) if any(
            s["binary"] == COMPUTE_BINARY for s in services) else {}
        return common.json_response({"services": [show(req, s, zones) for s in services]})

    def update(self, req: webob.Request, service_id: str) -> webob.Response:
        context = common.context_of(req)
        if api_version.at_least(req, "2.53"):
            return self._update(req, context, service_id)
        return self._legacy_update(req, context, service_id)

    def _update(self, req: webob.Request, context: Any, service_id: str) -> webob.Response:
        """``PUT /os-services/{uuid}`` (2.53): status, disabled_reason, forced_down."""
        policy.authorize(context, service_policies.SERVICES % "update")
        lookup = parse_id(req, service_id)
        body = common.json_body(req)
        validation.validate(_UPDATE, body)
        service = self.clients.conductor.service_get(context, **lookup)
        if service["binary"] != COMPUTE_BINARY:
            raise common.BadRequest(reason=(
                f"Updating a {service['binary']} service is not supported. Only "
                f"{COMPUTE_BINARY} services can be updated."))
        values: dict[str, Any] = {}
        if "status" in body:
            values["disabled"] = body["status"] == "disabled"
            if values["disabled"]:
                values["disabled_reason"] = body.get("disabled_reason")
            elif "disabled_reason" in body:
                raise common.BadRequest(reason=(
                    "Specifying 'disabled_reason' with status 'enabled' is invalid."))
            else:
                values["disabled_reason"] = None
        elif "disabled_reason" in body:
            raise common.BadRequest(
                reason="Unable to set disabled_reason without disabled status")
        if "forced_down" in body:
            values["forced_down"] = strutils.bool_from_string(body["forced_down"], strict=True)
        if not values:
            raise common.BadRequest(reason=(
                "No updates were requested. Fields 'status' or 'forced_down' should be "
                "specified."))
        service = self.clients.conductor.service_update(
            context, service_id=service["id"], values=values)
        zones = host_zones(self.clients.conductor, context)
        return common.json_response({"service": show(req, service, zones)})

    def _legacy_update(self, req: webob.Request, context: Any,
                       action: str) -> webob.Response:
        """``PUT /os-services/{enable,disable,disable-log-reason,force-down}`` (< 2.53)."""
        actions = ["enable", "disable", "disable-log-reason"]
        if api_version.at_least(req, "2.11"):
            actions.append("force-down")
        if action not in actions:
            raise exception.NotFound("Unknown action")
        policy.authorize(context, service_policies.SERVICES % "update")
        body = common.json_body(req)
        validation.validate(_LEGACY_UPDATE, body)
        shown: dict[str, Any] = {"host": body["host"], "binary": body["binary"]}
        if action == "enable":
            values: dict[str, Any] = {"disabled": False, "disabled_reason": None}
            shown["status"] = "enabled"
        elif action == "disable":
            values = {"disabled": True}
            shown["status"] = "disabled"
        elif action == "disable-log-reason":
            if not body.get("disabled_reason"):
                raise common.BadRequest(reason="Missing disabled reason field")
            values = {"disabled": True, "disabled_reason": body["disabled_reason"]}
            shown.update(status="disabled", disabled_reason=body["disabled_reason"])
        else:
            if "forced_down" not in body:
                raise common.BadRequest(reason="Missing forced_down field")
            forced_down = strutils.bool_from_string(body["forced_down"], strict=True)
            values = {"forced_down": forced_down}
            shown["forced_down"] = forced_down
        service = self.clients.conductor.service_get_by_host_and_binary(
            context, host=body["host"], binary=body["binary"])
        self.clients.conductor.service_update(context, service_id=service["id"],
                                              values=values)
        return common.json_response({"service": shown})

    def delete(self, req: webob.Request, service_id: str) -> webob.Response:
        context = common.context_of(req)
        policy.authorize(context, service_policies.SERVICES % "delete")
        service = self.clients.conductor.service_get(context, **parse_id(req, service_id))
        # Hook: Nova also takes a deleted compute host out of its aggregates.
        self.clients.conductor.service_delete(context, service_id=service["id"])
        return common.empty_response(204)
