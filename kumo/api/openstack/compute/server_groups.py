"""``/os-server-groups``: server groups and their placement policy.

Microversions: 2.13 shows ``project_id`` and ``user_id``; 2.15 accepts the
soft policies (``soft-affinity``, ``soft-anti-affinity``); 2.64 replaces the
``policies`` list (and the always empty ``metadata``) by one ``policy`` and
its ``rules`` (``max_server_per_host`` for anti-affinity); 2.75 refuses
unknown query parameters of the list.
"""

from __future__ import annotations

from typing import Any

import webob
from oslo_utils import strutils

from kumo import exception, policy
from kumo.api import validation
from kumo.api.openstack import api_version, common
from kumo.policies import server_groups as group_policies

_HARD = ["anti-affinity", "affinity"]
_ALL = [*_HARD, "soft-anti-affinity", "soft-affinity"]
_QUERY = frozenset({"all_projects", "limit", "offset"})


def _policies_schema(allowed: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"server_group": {
            "type": "object",
            "properties": {
                "name": validation.NAME,
                "policies": {"type": "array", "minItems": 1, "maxItems": 1,
                             "uniqueItems": True,
                             "items": {"type": "string", "enum": allowed}},
            },
            "required": ["name", "policies"],
            "additionalProperties": False,
        }},
        "required": ["server_group"],
        "additionalProperties": False,
    }


CREATE_V21 = _policies_schema(_HARD)
CREATE_V215 = _policies_schema(_ALL)
CREATE_V264: dict[str, Any] = {
    "type": "object",
    "properties": {"server_group": {
        "type": "object",
        "properties": {
            "name": validation.NAME,
            "policy": {"type": "string", "enum": _ALL},
            "rules": {
                "type": "object",
                "properties": {"max_server_per_host": validation.POSITIVE_INTEGER},
                "additionalProperties": False,
            },
        },
        "required": ["name", "policy"],
        "additionalProperties": False,
    }},
    "required": ["server_group"],
    "additionalProperties": False,
}


def view(req: webob.Request, group: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"id": group["uuid"], "name": group["name"],
                            "members": list(group["members"])}
    if api_version.at_least(req, "2.64"):
        body["policy"] = group["policy"]
        body["rules"] = dict(group["rules"] or {})
    else:
        body["policies"] = [group["policy"]]
        body["metadata"] = {}
    if api_version.at_least(req, "2.13"):
        body["project_id"] = group["project_id"]
        body["user_id"] = group["user_id"]
    return body


def _non_negative(req: webob.Request, name: str) -> int | None:
    raw = req.params.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise common.BadRequest(reason=(
            f"Invalid input for query parameters {name}. Value: {raw}. "
            f"'{raw}' does not match '^[0-9]*$'"))
    return value


class ServerGroupsController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def _get(self, context: Any, group_id: str) -> dict[str, Any]:
        return self.clients.conductor.instance_group_get(context, group_uuid=group_id)

    def index(self, req: webob.Request) -> webob.Response:
        context = common.context_of(req)
        policy.authorize(context, group_policies.ROOT % "index")
        if api_version.at_least(req, "2.75"):
            unknown = sorted(set(req.params) - _QUERY)
            if unknown:
                raise common.BadRequest(reason=(
                    "Additional properties are not allowed ("
                    + ", ".join(f"'{name}'" for name in unknown)
                    + (" were" if len(unknown) > 1 else " was") + " unexpected)"))
        project_id: str | None = context.project_id
        if "all_projects" in req.params:
            raw = req.params["all_projects"]
            wanted = strutils.bool_from_string(raw, default=True) if raw else True
            if wanted:
                try:
                    policy.authorize(context, group_policies.ROOT % "index:all_projects")
                    project_id = None
                except policy.PolicyNotAuthorized:
                    pass  # Nova's rule: a non-admin sees their own project's groups
        limit = _non_negative(req, "limit")
        offset = _non_negative(req, "offset")
        groups = self.clients.conductor.instance_group_get_all(
            context, project_id=project_id, limit=limit, offset=offset)
        return common.json_response({"server_groups": [view(req, g) for g in groups]})

    def show(self, req: webob.Request, group_id: str) -> webob.Response:
        context = common.context_of(req)
        group = self._get(context, group_id)
        policy.authorize(context, group_policies.ROOT % "show",
                         {"project_id": group["project_id"], "user_id": group["user_id"]})
        return common.json_response({"server_group": view(req, group)})

    def create(self, req: webob.Request) -> webob.Response:
        context = common.context_of(req)
        policy.authorize(context, group_policies.ROOT % "create")
        body = common.json_body(req)
        if api_version.at_least(req, "2.64"):
            validation.validate(CREATE_V264, body)
            values = body["server_group"]
            group_policy = values["policy"]
            rules = dict(values.get("rules") or {})
            if rules and group_policy != "anti-affinity":
                raise common.BadRequest(reason="Only anti-affinity policy supports rules.")
            if "max_server_per_host" in rules:
                rules["max_server_per_host"] = int(rules["max_server_per_host"])
        else:
            validation.validate(CREATE_V215 if api_version.at_least(req, "2.15")
                                else CREATE_V21, body)
            values = body["server_group"]
            group_policy = values["policies"][0]
            rules = {}
        group = self.clients.conductor.instance_group_create(context, values={
            "name": values["name"], "project_id": context.project_id,
            "user_id": context.user_id, "policy": group_policy, "rules": rules})
        return common.json_response({"server_group": view(req, group)})

    def delete(self, req: webob.Request, group_id: str) -> webob.Response:
        context = common.context_of(req)
        group = self._get(context, group_id)
        policy.authorize(context, group_policies.ROOT % "delete",
                         {"project_id": group["project_id"], "user_id": group["user_id"]})
        self.clients.conductor.instance_group_delete(context, group_uuid=group_id)
        return common.empty_response(204)


# --- booting into a group (POST /servers with scheduler_hints.group) ---------------------


def boot_group(clients: common.Clients, context: Any, hints: dict[str, Any]
               ) -> dict[str, Any] | None:
    """The group ``hints["group"]`` names, or None; 400 when the caller has no such group."""
    group_id = hints.get("group")
    if not group_id:
        return None
    if isinstance(group_id, list):  # novaclient may send a hint as a one-item list
        group_id = group_id[0]
    try:
        group = clients.conductor.instance_group_get(context, group_uuid=str(group_id))
    except exception.InstanceGroupNotFound as error:
        raise common.BadRequest(reason=error.message) from None
    if group["project_id"] != context.project_id and not context.is_admin:
        raise common.BadRequest(
            reason=exception.InstanceGroupNotFound(group_uuid=group_id).message)
    return group


def check_members_quota(clients: common.Clients, context: Any,
                        group: dict[str, Any] | None, count: int) -> int | None:
    """403 overLimit naming server_group_members when ``count`` more servers would take
    the group past the caller's limit (checked before any server row exists); the
    limit, for :func:`add_members` (None without a group)."""
    if group is None:
        return None
    limits = clients.conductor.quota_get(context, project_id=context.project_id,
                                         user_id=context.user_id)
    limit = int(limits.get("server_group_members", -1))
    members = len(group.get("members") or [])
    if 0 <= limit < members + count:
        raise exception.OverQuota(
            f"Quota exceeded for server_group_members: Requested {count}, but already "
            f"used {members} of {limit} server_group_members",
            overs=["server_group_members"])
    return limit


def boot_spec(group: dict[str, Any] | None) -> dict[str, Any] | None:
    """The request spec's ``instance_group`` (the conductor fills in the hosts)."""
    if group is None:
        return None
    return {"uuid": group["uuid"], "policy": group["policy"],
            "rules": dict(group["rules"] or {}), "hosts": []}


def add_members(clients: common.Clients, context: Any, group: dict[str, Any] | None,
                instances: list[Any], limit: int | None = None) -> None:
    """Record the booted servers as members of the group (before their build starts).

    The members quota is checked again as they are added (a concurrent boot into
    the same group may have taken the room :func:`check_members_quota` saw):
    when they no longer fit, the new servers, not yet built, are destroyed and
    the 403 goes to the caller, as Nova's quota recheck does.
    """
    if group is None:
        return
    try:
        clients.conductor.instance_group_members_add(
            context, group_uuid=group["uuid"], instance_uuids=[i.uuid for i in instances],
            limit=limit)
    except exception.OverQuota:
        for instance in instances:
            clients.conductor.instance_destroy(context, instance_uuid=instance.uuid)
        raise
