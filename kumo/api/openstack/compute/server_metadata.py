"""``/servers/{id}/metadata``: a server's user metadata, as a whole and key by key.

Reads need only a visible server; changes need an unlocked server (or an
admin) in active, paused, suspended or stopped (409 otherwise, Nova's rule)
and go through the conductor's ``instance_metadata_update`` /
``instance_metadata_delete``, which apply concurrent changes one after another.
"""

from __future__ import annotations

import copy
from typing import Any

import webob

from kumo import exception
from kumo.api import validation
from kumo.api.openstack import common
from kumo.api.openstack.compute.servers import authorize, check_lock
from kumo.compute import states

METADATA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"metadata": validation.METADATA},
    "required": ["metadata"],
    "additionalProperties": False,
}
_ONE_ITEM = copy.deepcopy(validation.METADATA)
_ONE_ITEM.update({"minProperties": 1, "maxProperties": 1})
ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"meta": _ONE_ITEM},
    "required": ["meta"],
    "additionalProperties": False,
}


class ItemNotFound(exception.NotFound):
    msg_fmt = "Metadata item was not found"


_RULE = "os_compute_api:server-metadata:%s"


class ServerMetadataController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def _readable(self, context: Any, server_id: str, rule: str) -> Any:
        """The server, for who passes ``os_compute_api:server-metadata:<rule>``."""
        instance = common.server_get(self.clients, context, server_id)
        authorize(context, _RULE % rule, instance)
        return instance

    def _writable(self, context: Any, server_id: str, action: str, rule: str) -> Any:
        instance = self._readable(context, server_id, rule)
        check_lock(context, instance)
        states.check(action, instance)
        return instance

    def _update(self, context: Any, instance: Any, metadata: dict[str, str],
                delete: bool) -> dict[str, Any]:
        merged = dict(metadata) if delete else {**(instance.metadata or {}), **metadata}
        # The project's metadata_items quota (kumo.db.quotas): 403 when exceeded.
        self.clients.conductor.quota_check_metadata(
            context, project_id=instance.project_id, count=len(merged))
        return self.clients.conductor.instance_metadata_update(
            context, instance_uuid=instance.uuid, metadata=metadata, delete=delete)

    # --- the whole set -------------------------------------------------------------------

    def index(self, req: webob.Request, server_id: str) -> webob.Response:
        instance = self._readable(common.context_of(req), server_id, "index")
        return common.json_response({"metadata": dict(instance.metadata or {})})

    def create(self, req: webob.Request, server_id: str) -> webob.Response:
        """POST: merge the given keys into the metadata (200, as Nova)."""
        return self._set_all(req, server_id, delete=False)

    def update_all(self, req: webob.Request, server_id: str) -> webob.Response:
        """PUT: replace the whole metadata."""
        return self._set_all(req, server_id, delete=True)

    def _set_all(self, req: webob.Request, server_id: str, delete: bool) -> webob.Response:
        context = common.context_of(req)
        body = common.json_body(req)
        validation.validate(METADATA_SCHEMA, body)
        instance = self._writable(context, server_id, "update metadata",
                                  "update_all" if delete else "create")
        return common.json_response(
            {"metadata": self._update(context, instance, body["metadata"], delete=delete)})

    # --- one key -------------------------------------------------------------------------

    def show(self, req: webob.Request, server_id: str, key: str) -> webob.Response:
        instance = self._readable(common.context_of(req), server_id, "show")
        metadata = instance.metadata or {}
        if key not in metadata:
            raise ItemNotFound()
        return common.json_response({"meta": {key: metadata[key]}})

    def update(self, req: webob.Request, server_id: str, key: str) -> webob.Response:
        context = common.context_of(req)
        body = common.json_body(req)
        validation.validate(ITEM_SCHEMA, body)
        if key not in body["meta"]:
            raise common.BadRequest(reason="Request body and URI mismatch")
        instance = self._writable(context, server_id, "update metadata", "update")
        self._update(context, instance, body["meta"], delete=False)
        return common.json_response({"meta": body["meta"]})

    def delete(self, req: webob.Request, server_id: str, key: str) -> webob.Response:
        context = common.context_of(req)
        instance = self._readable(context, server_id, "delete")
        if key not in (instance.metadata or {}):
            raise ItemNotFound()
        check_lock(context, instance)
        states.check("delete metadata", instance)
        self.clients.conductor.instance_metadata_delete(
            context, instance_uuid=server_id, key=key)
        return common.empty_response(204)
