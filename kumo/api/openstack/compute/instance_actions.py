"""``/servers/{id}/os-instance-actions``: what was asked of a server, and its steps.

At microversion 2.1 anyone who may see the server lists its actions; the
events of one action (with their tracebacks) show to admins only.
Microversions: 2.21 shows the actions of deleted servers; 2.51 shows events to
everyone (tracebacks still to admins only); 2.58 pages the list
(``limit``/``marker``, a request id), filters it by ``changes-since`` and
shows ``updated_at``; 2.62 shows each event's ``hostId`` (and ``host`` to
admins); 2.66 adds ``changes-before``; 2.84 shows each event's ``details``.
"""

from __future__ import annotations

from typing import Any

import webob
from oslo_utils import timeutils

from kumo import exception, policy
from kumo.api.openstack import api_version, common
from kumo.api.openstack.compute import views

ACTION_KEYS = ("action", "instance_uuid", "request_id", "user_id", "project_id",
               "start_time", "message")
EVENT_KEYS = ("event", "start_time", "finish_time", "result", "traceback")


def _time(value: Any) -> str | None:
    """``2018-04-25T01:26:29.000000`` (how Nova's JSON shows these times)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = timeutils.parse_isotime(value)
    return common.usage_time(value)


def _format(raw: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: _time(raw.get(key)) if key.endswith("_time") else raw.get(key)
            for key in keys}


def _updated_at(action: dict[str, Any]) -> Any:
    """When the action last changed (its last event), or began."""
    return action.get("updated_at") or action.get("finish_time") or action.get("start_time")


def _show_action(req: webob.Request, action: dict[str, Any]) -> dict[str, Any]:
    shown = _format(action, ACTION_KEYS)
    if api_version.at_least(req, "2.58"):
        shown["updated_at"] = _time(_updated_at(action))
    return shown


def _show_event(req: webob.Request, event: dict[str, Any], project_id: str | None,
                admin_view: bool) -> dict[str, Any]:
    """An event; the traceback and the host are for those who may see events in full."""
    shown = _format(event, EVENT_KEYS)
    if not admin_view:
        shown.pop("traceback")
    if api_version.at_least(req, "2.62"):
        shown["hostId"] = views.host_id(project_id, event.get("host"))
        if admin_view:
            shown["host"] = event.get("host")
    if api_version.at_least(req, "2.84"):
        shown["details"] = event.get("details")
    return shown


_LIST_PARAMS = frozenset({"limit", "marker", "changes-since"})


def _query_time(req: webob.Request, name: str) -> Any:
    raw = req.params.get(name)
    if raw is None:
        return None
    try:
        return timeutils.normalize_time(timeutils.parse_isotime(raw))
    except ValueError:
        raise common.BadRequest(reason=(
            f"Invalid input for query parameters {name}. Value: {raw}. "
            f"'{raw}' is not a 'date-time'")) from None


def _filtered_page(req: webob.Request, actions: list[dict[str, Any]]
                   ) -> tuple[list[dict[str, Any]], int | None]:
    """The actions of the list's page (2.58: changes-since/-before, limit, marker)."""
    if not api_version.at_least(req, "2.58"):
        return actions, None
    allowed = _LIST_PARAMS | ({"changes-before"} if api_version.at_least(req, "2.66")
                              else set())
    unknown = sorted(set(req.params) - allowed)
    if unknown:
        raise common.BadRequest(
            reason=f"Additional properties are not allowed ('{unknown[0]}' was unexpected)")
    since = _query_time(req, "changes-since")
    before = _query_time(req, "changes-before")
    if since is not None and before is not None and since > before:
        raise common.BadRequest(reason=(
            "The value of changes-since must be less than or equal to changes-before."))

    def changed(action: dict[str, Any]) -> Any:
        moment = _updated_at(action)
        if isinstance(moment, str):
            moment = timeutils.parse_isotime(moment)
        return timeutils.normalize_time(moment) if moment is not None else None

    if since is not None:
        actions = [a for a in actions if changed(a) is not None and changed(a) >= since]
    if before is not None:
        actions = [a for a in actions if changed(a) is not None and changed(a) <= before]
    limit, marker = common.limit_and_marker(req)
    if marker is not None and marker not in {a["request_id"] for a in actions}:
        raise exception.MarkerNotFound(marker=marker)
    return common.page(actions, limit, marker, "request_id"), limit


_RULE = "os_compute_api:os-instance-actions:%s"

class InstanceActionsController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def _server(self, req: webob.Request, context: Any, server_id: str) -> Any:
        """The server the caller may see; from 2.21 a deleted one too."""
        try:
            return common.server_get(self.clients, context, server_id)
        except exception.InstanceNotFound:
            if not api_version.at_least(req, "2.21"):
                raise
        filters: dict[str, Any] = {"uuid": server_id, "deleted": True}
        scope = common.project_scope(context)
        if scope is not None:
            filters["project_id"] = scope
        found = self.clients.conductor.instance_get_all(context, filters=filters, limit=1)
        if not found:
            raise exception.InstanceNotFound(instance_id=server_id)
        return found[0]

    def index(self, req: webob.Request, server_id: str) -> webob.Response:
        context = common.context_of(req)
        instance = self._server(req, context, server_id)
        policy.authorize(context, _RULE % "list", views.server_target(instance))
        actions = self.clients.conductor.instance_action_get_all(
            context, instance_uuid=server_id)
        actions, limit = _filtered_page(req, actions)
        body: dict[str, Any] = {
            "instanceActions": [_show_action(req, action) for action in actions]}
        if limit is not None:
            links = common.collection_links(
                req, [{"id": action["request_id"]} for action in actions],
                f"servers/{server_id}/os-instance-actions", limit)
            if links:
                body["links"] = links
        return common.json_response(body)

    def show(self, req: webob.Request, server_id: str, request_id: str) -> webob.Response:
        context = common.context_of(req)
        instance = self._server(req, context, server_id)
        target = views.server_target(instance)
        policy.authorize(context, _RULE % "show", target)
        action = self.clients.conductor.instance_action_get_by_request_id(
            context, instance_uuid=server_id, request_id=request_id)
        if action is None:
            raise exception.NotFound(f"Action {request_id} not found")
        body = _show_action(req, action)
        admin_view = policy.can(context, _RULE % "events", target)
        if admin_view or api_version.at_least(req, "2.51"):
            body["events"] = [
                _show_event(req, event, instance.project_id, admin_view)
                for event in action.get("events") or []]
        return common.json_response({"instanceAction": body})
