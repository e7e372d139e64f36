"""``/os-quota-sets``: a project's (or a user's) limits, with usage, defaults, changes.

Microversions: 2.36 drops the network quotas (fixed_ips, floating_ips,
security_groups, security_group_rules) from answers and bodies; 2.57 drops the
personality quotas (injected_files, injected_file_content_bytes,
injected_file_path_bytes). ``user_id`` selects one user's limits in the project.
"""

from __future__ import annotations

from typing import Any

import webob

from kumo import policy
from kumo.api import validation
from kumo.api.openstack import api_version, common
from kumo.policies.quota_sets import QUOTA_SETS

# Every resource in the order of the API reference (kumo.db.quotas.RESOURCES).
RESOURCES = (
    "instances", "cores", "ram", "metadata_items", "injected_files",
    "injected_file_content_bytes", "injected_file_path_bytes", "key_pairs",
    "server_groups", "server_group_members", "floating_ips", "fixed_ips",
    "security_groups", "security_group_rules",
)
NETWORK_QUOTAS = ("fixed_ips", "floating_ips", "security_groups", "security_group_rules")
PERSONALITY_QUOTAS = ("injected_files", "injected_file_content_bytes",
                      "injected_file_path_bytes")
_LIMIT = {"type": ["integer", "string"], "pattern": "^-?[0-9]+$", "minimum": -1,
          "maximum": 2 ** 31 - 1}


def visible(req: webob.Request, network_until: str = "2.36") -> tuple[str, ...]:
    """The resources the request's microversion shows (network ones until
    ``network_until``, personality ones until 2.57)."""
    hidden: set[str] = set()
    if api_version.at_least(req, network_until):
        hidden.update(NETWORK_QUOTAS)
    if api_version.at_least(req, "2.57"):
        hidden.update(PERSONALITY_QUOTAS)
    return tuple(name for name in RESOURCES if name not in hidden)


def update_schema(wrapper: str, resources: tuple[str, ...], force: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {name: _LIMIT for name in resources}
    if force:
        properties["force"] = validation.BOOLEAN
    return {
        "type": "object",
        "properties": {wrapper: {"type": "object", "properties": properties,
                                 "additionalProperties": False}},
        "required": [wrapper], "additionalProperties": False,
    }


def add_network_usage(clients: common.Clients, context: Any, quotas: dict[str, Any],
                      project_id: str, user_id: str | None = None) -> None:
    """Fill ``in_use`` of kumo-network's resources into a detailed quota answer.

    They are counted by their own query (their limits are checked where they
    are allocated, kumo.db.network_quotas), not by the conductor's quota_get.
    """
    usage = clients.conductor.network_quota_usage(context, project_id=project_id,
                                                  user_id=user_id)
    for name, used in usage.items():
        quotas[name] = {**quotas[name], "in_use": used}


class QuotaSetsController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def _authorize(self, req: webob.Request, action: str, tenant_id: str) -> str | None:
        user_id = req.params.get("user_id") or None
        context = common.context_of(req)
        policy.authorize(context, QUOTA_SETS % action,
                         {"project_id": tenant_id, "user_id": user_id or context.user_id})
        return user_id

    def _answer(self, req: webob.Request, quotas: dict[str, Any],
                tenant_id: str | None) -> webob.Response:
        shown: dict[str, Any] = {"id": tenant_id} if tenant_id is not None else {}
        shown.update({name: quotas[name] for name in visible(req)})
        return common.json_response({"quota_set": shown})

    def show(self, req: webob.Request, tenant_id: str) -> webob.Response:
        user_id = self._authorize(req, "show", tenant_id)
        return self._answer(req, self.clients.conductor.quota_get(
            common.context_of(req), project_id=tenant_id, user_id=user_id), tenant_id)

    def detail(self, req: webob.Request, tenant_id: str) -> webob.Response:
        user_id = self._authorize(req, "detail", tenant_id)
        context = common.context_of(req)
        quotas = self.clients.conductor.quota_get(
            context, project_id=tenant_id, user_id=user_id, detail=True)
        if "floating_ips" in visible(req):
            add_network_usage(self.clients, context, quotas, tenant_id, user_id)
        return self._answer(req, quotas, tenant_id)

    def defaults(self, req: webob.Request, tenant_id: str) -> webob.Response:
        self._authorize(req, "defaults", tenant_id)
        return self._answer(req, self.clients.conductor.quota_class_get(
            common.context_of(req), class_name="default"), tenant_id)

    def update(self, req: webob.Request, tenant_id: str) -> webob.Response:
        user_id = self._authorize(req, "update", tenant_id)
        body = common.json_body(req)
        validation.validate(update_schema("quota_set", visible(req), force=True), body)
        values = dict(body["quota_set"])
        force = str(values.pop("force", False)).lower() in ("true", "1", "on", "yes")
        quotas = self.clients.conductor.quota_update(
            common.context_of(req), project_id=tenant_id,
            values={name: int(limit) for name, limit in values.items()},
            user_id=user_id, force=force)
        return self._answer(req, quotas, None)

    def delete(self, req: webob.Request, tenant_id: str) -> webob.Response:
        user_id = self._authorize(req, "delete", tenant_id)
        self.clients.conductor.quota_delete(common.context_of(req), project_id=tenant_id,
                                            user_id=user_id)
        return common.empty_response(202)
