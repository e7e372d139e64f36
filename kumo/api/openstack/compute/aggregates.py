"""``/os-aggregates``: host aggregates, their hosts, metadata and availability zone.

Administrators only. An aggregate's zone is its ``availability_zone``
metadata key; a host may be in one zone only (409 on add_host, 400 on an
update or metadata change that would break that). Microversions: 2.41 shows
``uuid``; 2.81 adds ``POST /os-aggregates/{id}/images`` (image pre-caching),
which kumo answers 501: its compute drivers have no image cache to warm.
"""

from __future__ import annotations

from typing import Any

import webob

from kumo import exception, policy
from kumo.api import validation
from kumo.api.openstack import api_version, common
from kumo.policies import aggregates as aggregate_policies

# No ':' in a zone name: "zone:host" is how a boot forces a host.
_ZONE = {"oneOf": [{**validation.NAME, "pattern": "^[^:]*$"}, {"type": "null"}]}
CREATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"aggregate": {
        "type": "object",
        "properties": {"name": validation.NAME, "availability_zone": _ZONE},
        "required": ["name"],
        "additionalProperties": False,
    }},
    "required": ["aggregate"],
    "additionalProperties": False,
}
UPDATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"aggregate": {
        "type": "object",
        "properties": {"name": validation.NAME, "availability_zone": _ZONE},
        "additionalProperties": False,
        "minProperties": 1,
    }},
    "required": ["aggregate"],
    "additionalProperties": False,
}
_HOST = {
    "type": "object",
    "properties": {"host": validation.NAME},
    "required": ["host"],
    "additionalProperties": False,
}
ACTION_SCHEMAS: dict[str, dict[str, Any]] = {
    "add_host": _HOST,
    "remove_host": _HOST,
    "set_metadata": {
        "type": "object",
        "properties": {"metadata": {
            "type": "object",
            "patternProperties": {"^[a-zA-Z0-9-_:. /]{1,255}$": {
                "oneOf": [{"type": "string", "maxLength": 255}, {"type": "null"}]}},
            "additionalProperties": False,
        }},
        "required": ["metadata"],
        "additionalProperties": False,
    },
}
IMAGES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"cache": {
        "type": "array", "minItems": 1,
        "items": {"type": "object", "properties": {"id": {"type": "string",
                                                            "format": "uuid"}},
                  "required": ["id"], "additionalProperties": False},
    }},
    "required": ["cache"],
    "additionalProperties": False,
}


class ImageCacheNotSupported(exception.KumoException):
    msg_fmt = ("Image pre-caching is not supported: kumo's compute drivers keep no "
               "image cache to warm.")
    code = 501


def view(req: webob.Request, aggregate: dict[str, Any], full: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": aggregate["id"], "name": aggregate["name"],
        "availability_zone": aggregate["availability_zone"],
        "created_at": aggregate["created_at"], "updated_at": aggregate["updated_at"],
        "deleted": False, "deleted_at": None,
    }
    if full:
        body["hosts"] = list(aggregate["hosts"])
        body["metadata"] = dict(aggregate["metadata"])
    if api_version.at_least(req, "2.41"):
        body["uuid"] = aggregate["uuid"]
    return body


def _aggregate_id(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise exception.AggregateNotFound(aggregate_id=raw) from None


class AggregatesController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    @staticmethod
    def _authorize(req: webob.Request, action: str) -> Any:
        context = common.context_of(req)
        policy.authorize(context, aggregate_policies.ROOT % action, {})
        return context

    def index(self, req: webob.Request) -> webob.Response:
        context = self._authorize(req, "index")
        aggregates = self.clients.conductor.aggregate_get_all(context)
        return common.json_response({"aggregates": [view(req, a) for a in aggregates]})

    def create(self, req: webob.Request) -> webob.Response:
        context = self._authorize(req, "create")
        body = common.json_body(req)
        validation.validate(CREATE_SCHEMA, body)
        values = body["aggregate"]
        aggregate = self.clients.conductor.aggregate_create(
            context, name=values["name"], availability_zone=values.get("availability_zone"))
        return common.json_response({"aggregate": view(req, aggregate, full=False)})

    def show(self, req: webob.Request, aggregate_id: str) -> webob.Response:
        context = self._authorize(req, "show")
        aggregate = self.clients.conductor.aggregate_get(
            context, aggregate_id=_aggregate_id(aggregate_id))
        return common.json_response({"aggregate": view(req, aggregate)})

    def update(self, req: webob.Request, aggregate_id: str) -> webob.Response:
        context = self._authorize(req, "update")
        body = common.json_body(req)
        validation.validate(UPDATE_SCHEMA, body)
        aggregate = self.clients.conductor.aggregate_update(
            context, aggregate_id=_aggregate_id(aggregate_id), values=body["aggregate"])
        return common.json_response({"aggregate": view(req, aggregate)})

    def delete(self, req: webob.Request, aggregate_id: str) -> webob.Response:
        context = self._authorize(req, "delete")
        self.clients.conductor.aggregate_delete(context,
                                                aggregate_id=_aggregate_id(aggregate_id))
        # Nova answers 200 with no body.
        return common.empty_response(200)

    def action(self, req: webob.Request, aggregate_id: str) -> webob.Response:
        body = common.json_body(req)
        if not isinstance(body, dict) or len(body) != 1 or next(iter(body)) not in \
                ACTION_SCHEMAS:
            raise common.BadRequest(reason=(
                "Invalid request body: expected exactly one of "
                + ", ".join(sorted(ACTION_SCHEMAS))))
        name, args = next(iter(body.items()))
        context = self._authorize(req, name)
        validation.validate(ACTION_SCHEMAS[name], args)
        conductor = self.clients.conductor
        number = _aggregate_id(aggregate_id)
        if name == "add_host":
            aggregate = conductor.aggregate_host_add(context, aggregate_id=number,
                                                     host=args["host"])
        elif name == "remove_host":
            aggregate = conductor.aggregate_host_delete(context, aggregate_id=number,
                                                        host=args["host"])
        else:
            aggregate = conductor.aggregate_metadata_set(context, aggregate_id=number,
                                                         metadata=args["metadata"])
        return common.json_response({"aggregate": view(req, aggregate)})

    def images(self, req: webob.Request, aggregate_id: str) -> webob.Response:
        if not api_version.at_least(req, "2.81"):
            raise exception.NotFound(f"The resource {req.path_info} could not be found.")
        context = self._authorize(req, "images")
        validation.validate(IMAGES_SCHEMA, common.json_body(req))
        self.clients.conductor.aggregate_get(context, aggregate_id=_aggregate_id(aggregate_id))
        raise ImageCacheNotSupported()
