"""``/servers/{id}/tags`` (microversion 2.26): list, replace and clear a server's
tags, and check, add or remove one.

Tags change only while the server is idle in a stable state (Nova's rule: 409
otherwise); the conductor keeps at most 50 per server.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import jsonschema
import webob

from kumo import exception
from kumo.api import validation
from kumo.api.openstack import api_version, common
from kumo.api.openstack.compute.servers import authorize
from kumo.compute import vm_states

SINCE = "2.26"
_RULE = "os_compute_api:os-server-tags:%s"

# One tag: what Nova's ``tag`` parameter type allows.
TAG: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 60,
                       "pattern": "^[^,/]*$"}
UPDATE_ALL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"tags": {"type": "array", "items": TAG}},
    "required": ["tags"],
    "additionalProperties": False,
}
_WRITABLE_VM_STATES = (vm_states.ACTIVE, vm_states.PAUSED, vm_states.SUSPENDED,
                       vm_states.STOPPED, vm_states.SHELVED, vm_states.SHELVED_OFFLOADED)


def check_tag(tag: str) -> None:
    """400 with Nova's message unless ``tag`` is a valid tag."""
    try:
        jsonschema.validate(tag, TAG)
    except jsonschema.ValidationError as error:
        raise common.BadRequest(reason=(
            f"Tag '{tag}' is invalid. It must be a non empty string without characters "
            f"'/' and ','. Validation error message: {error.message}")) from None


class ServerTagsController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def _server(self, req: webob.Request, server_id: str, rule: str,
                writing: str | None = None) -> tuple[Any, Any]:
        """(context, server) for who passes ``rule``; 404 before 2.26; 409 when
        ``writing`` (Nova's action name) is not allowed in the server's state."""
        if not api_version.at_least(req, SINCE):
            raise exception.NotFound("The resource could not be found.")
        context = common.context_of(req)
        instance = common.server_get(self.clients, context, server_id)
        authorize(context, _RULE % rule, instance)
        if writing and instance.vm_state not in _WRITABLE_VM_STATES:
            raise exception.InstanceInvalidState(
                action=writing, instance_uuid=server_id, attr="vm_state",
                state=instance.vm_state)
        return context, instance

    def index(self, req: webob.Request, server_id: str) -> webob.Response:
        context, _ = self._server(req, server_id, "index")
        tags = self.clients.conductor.instance_tags_get(context, instance_uuid=server_id)
        return common.json_response({"tags": tags})

    def update_all(self, req: webob.Request, server_id: str) -> webob.Response:
        """PUT: replace every tag (200 with the tags)."""
        body = common.json_body(req)
        context, _ = self._server(req, server_id, "update_all", writing="update tags")
        validation.validate(UPDATE_ALL_SCHEMA, body)
        tags = self.clients.conductor.instance_tags_set(
            context, instance_uuid=server_id, tags=body["tags"])
        return common.json_response({"tags": tags})

    def delete_all(self, req: webob.Request, server_id: str) -> webob.Response:
        context, _ = self._server(req, server_id, "delete_all", writing="delete tags")
        self.clients.conductor.instance_tags_delete_all(context, instance_uuid=server_id)
        return common.empty_response(204)

    def show(self, req: webob.Request, server_id: str, tag: str) -> webob.Response:
        """204 when the server has ``tag``, 404 otherwise."""
        context, _ = self._server(req, server_id, "show")
        if tag not in self.clients.conductor.instance_tags_get(context,
                                                               instance_uuid=server_id):
            raise exception.InstanceTagNotFound(instance_id=server_id, tag=tag)
        return common.empty_response(204)

    def update(self, req: webob.Request, server_id: str, tag: str) -> webob.Response:
        """PUT one tag: 201 with its Location when added, 204 when already there."""
        context, _ = self._server(req, server_id, "update", writing="update tag")
        check_tag(tag)
        added = self.clients.conductor.instance_tag_add(context, instance_uuid=server_id,
                                                        tag=tag)
        if not added:
            return common.empty_response(204)
        response = common.empty_response(201)
        response.headers["Location"] = common.self_href(
            req, "servers", f"{server_id}/tags/{urllib.parse.quote(tag)}")
        return response

    def delete(self, req: webob.Request, server_id: str, tag: str) -> webob.Response:
        context, _ = self._server(req, server_id, "delete", writing="delete tag")
        self.clients.conductor.instance_tag_delete(context, instance_uuid=server_id, tag=tag)
        return common.empty_response(204)
