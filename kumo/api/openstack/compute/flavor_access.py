"""``/flavors/{flavor_id}/os-flavor-access`` and the ``addTenantAccess`` /
``removeTenantAccess`` flavor actions: which projects may use a private flavor."""

from __future__ import annotations

from typing import Any

import webob

from kumo import exception, policy
from kumo.api import validation
from kumo.api.openstack import common
from kumo.policies import flavors as flavor_policies

_TENANT = {"type": "object",
           "properties": {"tenant": {"type": "string", "minLength": 1, "maxLength": 255}},
           "required": ["tenant"], "additionalProperties": False}
_ACTIONS = {"addTenantAccess": "add_tenant_access",
            "removeTenantAccess": "remove_tenant_access"}


class PublicFlavorAccess(exception.NotFound):
    msg_fmt = "Access list not available for public flavors."


class PublicFlavorAccessAdd(exception.Conflict):
    msg_fmt = "Can not add access to a public flavor."


def _access_list(flavor_id: str, project_ids: list[str]) -> dict[str, Any]:
    return {"flavor_access": [{"flavor_id": flavor_id, "tenant_id": project_id}
                              for project_id in project_ids]}


class FlavorAccessController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def index(self, req: webob.Request, flavor_id: str) -> webob.Response:
        context = common.context_of(req)
        policy.authorize(context, flavor_policies.ACCESS)
        flavor = self.clients.conductor.flavor_get_by_flavor_id(context, flavor_id=flavor_id)
        if flavor.is_public:
            raise PublicFlavorAccess()
        projects = self.clients.conductor.flavor_access_get_all(context, flavor_id=flavor_id)
        return common.json_response(_access_list(flavor_id, projects))

    def action(self, req: webob.Request, flavor_id: str) -> webob.Response:
        context = common.context_of(req)
        body = common.json_body(req)
        names = [name for name in _ACTIONS if isinstance(body, dict) and name in body]
        if len(names) != 1:
            found = next(iter(body), None) if isinstance(body, dict) else None
            raise common.BadRequest(reason=f"There is no such action: {found}")
        name = names[0]
        policy.authorize(context, f"{flavor_policies.ACCESS}:{_ACTIONS[name]}")
        validation.validate(_TENANT, body[name])
        project_id = body[name]["tenant"]
        flavor = self.clients.conductor.flavor_get_by_flavor_id(context, flavor_id=flavor_id)
        if name == "addTenantAccess":
            if flavor.is_public:
                raise PublicFlavorAccessAdd()
            projects = self.clients.conductor.flavor_access_add(
                context, flavor_id=flavor_id, project_id=project_id)
        else:
            projects = self.clients.conductor.flavor_access_remove(
                context, flavor_id=flavor_id, project_id=project_id)
        return common.json_response(_access_list(flavor_id, projects))
