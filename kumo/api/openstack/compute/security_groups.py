"""``/os-security-groups``, ``/os-security-group-rules`` (microversions up to
2.35), a server's ``/servers/{id}/os-security-groups``, the server actions
``addSecurityGroup``/``removeSecurityGroup`` and the groups a new server joins
(``security_groups`` of ``POST /servers``), over kumo-network's security
groups (iptables chains per instance)."""

from __future__ import annotations

import ipaddress
from typing import Any

import webob

from kumo import exception, policy
from kumo.api.openstack import common
from kumo.api.openstack.compute import network_proxy, views
from kumo.conf import CONF
from kumo.policies import networks as network_policies

_PROTOCOLS = ("tcp", "udp", "icmp")


def _rule_view(rule: dict[str, Any], project_id: str) -> dict[str, Any]:
    return {"id": rule["id"], "parent_group_id": rule["parent_group_id"],
            "ip_protocol": rule["protocol"], "from_port": rule["from_port"],
            "to_port": rule["to_port"],
            "ip_range": {"cidr": rule["cidr"]} if rule.get("cidr") else {},
            "group": ({"name": rule.get("group_name"), "tenant_id": project_id}
                      if rule.get("group_id") else {})}


def _group_view(group: dict[str, Any]) -> dict[str, Any]:
    return {"id": group["id"], "name": group["name"], "description": group["description"],
            "tenant_id": group["project_id"],
            "rules": [_rule_view(r, group["project_id"]) for r in group.get("rules", [])]}


def _authorize(req: webob.Request, action: str) -> Any:
    network_proxy.check_microversion(req)
    context = common.context_of(req)
    policy.authorize(context, network_policies.SECURITY_GROUPS % action)
    return context


def _int(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as error:
        raise common.BadRequest(reason=f"{what} is not an integer") from error


class SecurityGroupsController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def index(self, req: webob.Request) -> webob.Response:
        context = _authorize(req, "get")
        conductor = self.clients.conductor
        conductor.security_group_ensure_default(context, project_id=context.project_id,
                                                user_id=context.user_id)
        groups = conductor.security_group_get_all(context, project_id=context.project_id)
        return common.json_response({"security_groups": [_group_view(g) for g in groups]})

    def show(self, req: webob.Request, security_group_id: str) -> webob.Response:
        context = _authorize(req, "show")
        group = self.clients.conductor.security_group_get(
            context, group_id=_int(security_group_id, "Security group id"),
            project_id=context.project_id)
        return common.json_response({"security_group": _group_view(group)})

    def create(self, req: webob.Request) -> webob.Response:
        context = _authorize(req, "create")
        body = common.json_body(req)
        group = body.get("security_group") if isinstance(body, dict) else None
        if not isinstance(group, dict) or not isinstance(group.get("name"), str) \
                or not group["name"].strip():
            raise common.BadRequest(reason="Security group name is required")
        made = self.clients.conductor.security_group_create(
            context, project_id=context.project_id, name=group["name"],
            description=group.get("description"), user_id=context.user_id)
        return common.json_response({"security_group": _group_view(made)})

    def update(self, req: webob.Request, security_group_id: str) -> webob.Response:
        context = _authorize(req, "update")
        body = common.json_body(req)
        group = body.get("security_group") if isinstance(body, dict) else None
        if not isinstance(group, dict) or not isinstance(group.get("name"), str) \
                or not group["name"].strip():
            raise common.BadRequest(reason="Security group name is required")
        if not isinstance(group.get("description"), str):
            raise common.BadRequest(reason="Security group description is required")
        made = self.clients.conductor.security_group_update(
            context, group_id=_int(security_group_id, "Security group id"),
            project_id=context.project_id,
            values={"name": group["name"], "description": group["description"]})
        return common.json_response({"security_group": _group_view(made)})

    def delete(self, req: webob.Request, security_group_id: str) -> webob.Response:
        context = _authorize(req, "delete")
        self.clients.conductor.security_group_delete(
            context, group_id=_int(security_group_id, "Security group id"),
            project_id=context.project_id)
        return common.empty_response(202)


class ServerSecurityGroupsController:
    """``GET /servers/{id}/os-security-groups`` (every microversion)."""

    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def index(self, req: webob.Request, server_id: str) -> webob.Response:
        context = common.context_of(req)
        instance = common.server_get(self.clients, context, server_id)
        policy.authorize(context, network_policies.SECURITY_GROUPS % "list",
                         views.server_target(instance))
        groups = self.clients.conductor.security_groups_of_instance(
            context, instance_uuid=instance.uuid)
        return common.json_response({"security_groups": [_group_view(g) for g in groups]})


class SecurityGroupRulesController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def create(self, req: webob.Request) -> webob.Response:
        context = _authorize(req, "rule:create")
        body = common.json_body(req)
        rule = body.get("security_group_rule") if isinstance(body, dict) else None
        if not isinstance(rule, dict):
            raise common.BadRequest(reason="security_group_rule is required")
        conductor = self.clients.conductor
        parent = conductor.security_group_get(
            context, group_id=_int(rule.get("parent_group_id"), "Parent group id"),
            project_id=context.project_id)
        values = _rule_values(rule, parent["id"])
        if values.get("group_id") is not None:
            conductor.security_group_get(context, group_id=values["group_id"],
                                         project_id=context.project_id)
        made = conductor.security_group_rule_create(context, values=values)
        made["group_name"] = None
        if made.get("group_id"):
            made["group_name"] = conductor.security_group_get(
                context, group_id=made["group_id"])["name"]
        network_proxy.refresh(context)
        return common.json_response({"security_group_rule": _rule_view(
            made, context.project_id)})

    def delete(self, req: webob.Request, security_group_rule_id: str) -> webob.Response:
        context = _authorize(req, "rule:delete")
        conductor = self.clients.conductor
        rule = conductor.security_group_rule_get(
            context, rule_id=_int(security_group_rule_id, "Rule id"))
        conductor.security_group_get(context, group_id=rule["parent_group_id"],
                                     project_id=context.project_id)
        conductor.security_group_rule_delete(context, rule_id=rule["id"])
        network_proxy.refresh(context)
        return common.empty_response(202)


def _rule_values(rule: dict[str, Any], parent_id: int) -> dict[str, Any]:
    """The columns of a new rule, validated as the Compute API does (400s)."""
    protocol = rule.get("ip_protocol")
    protocol = protocol.lower() if isinstance(protocol, str) else None
    if protocol not in _PROTOCOLS:
        raise common.BadRequest(reason=f"Invalid IP protocol {rule.get('ip_protocol')}.")
    from_port = _int(rule.get("from_port"), "Port")
    to_port = _int(rule.get("to_port"), "Port")
    if protocol in ("tcp", "udp"):
        if not (1 <= from_port <= 65535 and 1 <= to_port <= 65535) or from_port > to_port:
            raise common.BadRequest(reason="Invalid port range "
                                           f"{from_port}:{to_port}.")
    elif not (-1 <= from_port <= 255 and -1 <= to_port <= 255):
        raise common.BadRequest(reason="Invalid ICMP type or code.")
    values: dict[str, Any] = {"parent_group_id": parent_id, "protocol": protocol,
                              "from_port": from_port, "to_port": to_port}
    if rule.get("group_id") not in (None, ""):
        values["group_id"] = _int(rule["group_id"], "Group id")
    else:
        cidr = rule.get("cidr") or "0.0.0.0/0"
        try:
            values["cidr"] = str(ipaddress.IPv4Network(cidr, strict=False))
        except ValueError as error:
            raise common.BadRequest(reason=f"Invalid CIDR {cidr}.") from error
    return values


def _group_by_name(servers: Any, context: Any, body: dict[str, Any],
                   name: str) -> dict[str, Any]:
    args = body.get(name)
    if not isinstance(args, dict) or not isinstance(args.get("name"), str):
        raise common.BadRequest(reason="Security group name is required")
    conductor = servers.clients.conductor
    if args["name"] == "default":
        conductor.security_group_ensure_default(context, project_id=context.project_id,
                                                user_id=context.user_id)
    for group in conductor.security_group_get_all(context, project_id=context.project_id):
        if group["name"] == args["name"]:
            return group
    raise exception.NotFound(f"Security group {args['name']} not found for project "
                             f"{context.project_id}.")


def _server_action(servers: Any, req: webob.Request, server_id: str, body: dict[str, Any],
                   name: str, action: str) -> tuple[Any, Any, dict[str, Any]]:
    context = common.context_of(req)
    instance = common.server_get(servers.clients, context, server_id)
    policy.authorize(context, network_policies.SECURITY_GROUPS % action,
                     views.server_target(instance))
    return context, instance, _group_by_name(servers, context, body, name)


def add_security_group(servers: Any, req: webob.Request, server_id: str,
                       body: dict[str, Any]) -> webob.Response:
    context, instance, group = _server_action(servers, req, server_id, body,
                                              "addSecurityGroup", "add")
    servers.clients.conductor.security_group_add_instance(
        context, group_id=group["id"], instance_uuid=instance.uuid)
    network_proxy.refresh(context)
    return common.empty_response(202)


def remove_security_group(servers: Any, req: webob.Request, server_id: str,
                          body: dict[str, Any]) -> webob.Response:
    context, instance, group = _server_action(servers, req, server_id, body,
                                              "removeSecurityGroup", "remove")
    servers.clients.conductor.security_group_remove_instance(
        context, group_id=group["id"], instance_uuid=instance.uuid)
    network_proxy.refresh(context)
    return common.empty_response(202)


def boot_groups(clients: common.Clients, context: Any,
                server: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The groups a server booted with ``server`` joins: its ``security_groups``
    (``default`` when none is named). None when kumo-network is off
    (``[network] enabled``): the names are then only echoed back.

    :raises BadRequest: the project has no group of one of the names.
    """
    if not CONF.network.enabled:
        return None
    names = [g["name"] for g in server.get("security_groups") or [{"name": "default"}]]
    try:
        return clients.conductor.security_groups_by_name(
            context, project_id=context.project_id, names=names, user_id=context.user_id)
    except exception.NotFound as error:
        raise common.BadRequest(reason=error.message) from None


def join(clients: common.Clients, context: Any, groups: list[dict[str, Any]] | None,
         instances: list[Any]) -> None:
    """Put the new servers in their boot groups before they are built (so the
    first convergence of their addresses already guards them)."""
    if groups and instances:
        clients.conductor.security_group_add_instances(
            context, group_ids=[g["id"] for g in groups],
            instance_uuids=[i.uuid for i in instances])


ACTIONS = {"addSecurityGroup": add_security_group,
           "removeSecurityGroup": remove_security_group}
