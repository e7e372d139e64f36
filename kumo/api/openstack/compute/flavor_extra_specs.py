"""``/flavors/{flavor_id}/os-extra_specs``: a flavor's key/value extra specs.

Everyone who may use a flavor may read them; admins change them. From 2.86 the
keys and values written are checked (extra_specs_validators).
"""

from __future__ import annotations

from typing import Any

import webob

from kumo import exception, policy
from kumo.api import validation
from kumo.api.openstack import api_version, common
from kumo.api.openstack.compute import extra_specs_validators
from kumo.policies import flavors as flavor_policies

_KEY = "^[a-zA-Z0-9-_:. /]{1,255}$"
_VALUE = {"type": ["string", "number", "boolean"], "maxLength": 255}
_SPECS = {"type": "object", "patternProperties": {_KEY: _VALUE},
          "additionalProperties": False}
_CREATE = {"type": "object", "properties": {"extra_specs": _SPECS},
           "required": ["extra_specs"], "additionalProperties": False}
_UPDATE = {"type": "object", "patternProperties": {_KEY: _VALUE},
           "additionalProperties": False, "minProperties": 1}


def _as_text(value: Any) -> str:
    """Numbers and booleans are stored as their text, as Nova does."""
    return value if isinstance(value, str) else str(value)


def _checked(req: webob.Request, specs: dict[str, str]) -> dict[str, str]:
    """``specs``, refused with 400 (from 2.86) when a known key has a bad value or an
    unknown key sits in a namespace kumo knows."""
    if api_version.at_least(req, "2.86"):
        try:
            extra_specs_validators.validate_all(specs)
        except ValueError as exc:
            raise common.BadRequest(reason=str(exc)) from None
    return specs


class FlavorExtraSpecsController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def _flavor(self, context: Any, flavor_id: str) -> Any:
        return self.clients.conductor.flavor_get_by_flavor_id(
            context, flavor_id=flavor_id, project_id=common.project_scope(context))

    def index(self, req: webob.Request, flavor_id: str) -> webob.Response:
        context = common.context_of(req)
        policy.authorize(context, flavor_policies.EXTRA_SPECS % "index")
        flavor = self._flavor(context, flavor_id)
        return common.json_response({"extra_specs": dict(flavor.extra_specs or {})})

    def show(self, req: webob.Request, flavor_id: str, key: str) -> webob.Response:
        context = common.context_of(req)
        policy.authorize(context, flavor_policies.EXTRA_SPECS % "show")
        specs = self._flavor(context, flavor_id).extra_specs or {}
        if key not in specs:
            raise exception.FlavorExtraSpecsNotFound(flavor_id=flavor_id, extra_specs_key=key)
        return common.json_response({key: specs[key]})

    def create(self, req: webob.Request, flavor_id: str) -> webob.Response:
        context = common.context_of(req)
        policy.authorize(context, flavor_policies.EXTRA_SPECS % "create")
        body = common.json_body(req)
        validation.validate(_CREATE, body)
        specs = _checked(req, {key: _as_text(value)
                               for key, value in body["extra_specs"].items()})
        self.clients.conductor.flavor_extra_specs_update(
            context, flavor_id=flavor_id, extra_specs=specs)
        return common.json_response({"extra_specs": specs})

    def update(self, req: webob.Request, flavor_id: str, key: str) -> webob.Response:
        context = common.context_of(req)
        policy.authorize(context, flavor_policies.EXTRA_SPECS % "update")
        body = common.json_body(req)
        validation.validate(_UPDATE, body)
        if key not in body:
            raise common.BadRequest(reason="Request body and URI mismatch")
        if len(body) > 1:
            raise common.BadRequest(reason="Request body contains too many items")
        specs = _checked(req, {key: _as_text(body[key])})
        self.clients.conductor.flavor_extra_specs_update(
            context, flavor_id=flavor_id, extra_specs=specs)
        return common.json_response(specs)

    def delete(self, req: webob.Request, flavor_id: str, key: str) -> webob.Response:
        context = common.context_of(req)
        policy.authorize(context, flavor_policies.EXTRA_SPECS % "delete")
        self.clients.conductor.flavor_extra_specs_delete(context, flavor_id=flavor_id, key=key)
        return common.empty_response(202)
