"""``/servers/{id}/os-instance-actions``: what was asked of a server, and its steps.

As the Compute API at microversion 2.1: anyone who may see the server lists
its actions; the events of one action (with their tracebacks) show to admins
only.
"""

from __future__ import annotations

from typing import Any

import webob
from oslo_utils import timeutils

from kumo import exception
from kumo.api.openstack import common

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


class InstanceActionsController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def index(self, req: webob.Request, server_id: str) -> webob.Response:
        context = common.context_of(req)
        common.server_get(self.clients, context, server_id)
        actions = self.clients.conductor.instance_action_get_all(
            context, instance_uuid=server_id)
        return common.json_response(
            {"instanceActions": [_format(action, ACTION_KEYS) for action in actions]})

    def show(self, req: webob.Request, server_id: str, request_id: str) -> webob.Response:
        context = common.context_of(req)
        common.server_get(self.clients, context, server_id)
        action = self.clients.conductor.instance_action_get_by_request_id(
            context, instance_uuid=server_id, request_id=request_id)
        if action is None:
            raise exception.NotFound(f"Action {request_id} not found")
        body = _format(action, ACTION_KEYS)
        if context.is_admin:
            body["events"] = [_format(event, EVENT_KEYS)
                              for event in action.get("events") or []]
        return common.json_response({"instanceAction": body})
