"""``/servers/{id}/os-server-password``: the password a guest stored, encrypted
with its key pair's public key, through the metadata service (``POST
/openstack/latest/password``; ``nova get-password`` decrypts it with the
private key), and clearing it so the guest may store a new one. Every
microversion.
"""

from __future__ import annotations

import webob

from kumo.api.openstack import common
from kumo.api.openstack.compute.servers import authorize
from kumo.policies.server_password import SERVER_PASSWORD

# system_metadata password_0..3 (kumo.db.metadata.PASSWORD_CHUNKS; the API reads no DB module).
PASSWORD_CHUNKS = 4


def stored_password(system_metadata: dict[str, str | None]) -> str:
    """The encrypted password kept in system_metadata ``password_0..3`` ('' if none)."""
    return "".join(system_metadata.get(f"password_{i}") or "" for i in range(PASSWORD_CHUNKS))


class ServerPasswordController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def show(self, req: webob.Request, server_id: str) -> webob.Response:
        context = common.context_of(req)
        instance = common.server_get(self.clients, context, server_id)
        authorize(context, SERVER_PASSWORD % "show", instance)
        system = (instance.system_metadata or {}) \
            if instance.obj_attr_is_set("system_metadata") else {}
        return common.json_response({"password": stored_password(system)})

    def clear(self, req: webob.Request, server_id: str) -> webob.Response:
        context = common.context_of(req)
        instance = common.server_get(self.clients, context, server_id)
        authorize(context, SERVER_PASSWORD % "clear", instance)
        self.clients.conductor.instance_password_clear(context, instance_uuid=instance.uuid)
        return common.empty_response(204)
