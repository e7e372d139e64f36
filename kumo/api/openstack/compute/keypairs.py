"""``/os-keypairs``: a user's SSH keys and X.509 certificates, imported or generated.

Microversions: 2.2 adds ``type`` (ssh, x509), answers a create with 201 and a
delete with 204; 2.10 lets admins act for another user (``user_id``); 2.35 pages
the list (``limit``, ``marker``, ``keypairs_links``); 2.92 stops generating keys
(``public_key`` is required) and allows ``@`` and ``.`` in names.
"""

from __future__ import annotations

import string
from typing import Any

import webob

from kumo import crypto, exception, policy
from kumo.api import validation
from kumo.api.openstack import api_version, common
from kumo.policies.keypairs import KEYPAIRS

SSH = "ssh"
X509 = "x509"
_NAME_CHARS = "_- " + string.digits + string.ascii_letters
_NAME_CHARS_292 = "@._- " + string.digits + string.ascii_letters


def _create_schema(req: webob.Request) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "name": {"type": "string", "minLength": 1, "maxLength": 255},
        "public_key": {"type": "string"},
    }
    if api_version.at_least(req, "2.2"):
        properties["type"] = {"type": "string", "enum": [SSH, X509]}
    if api_version.at_least(req, "2.10"):
        properties["user_id"] = {"type": "string"}
    required = ["name", "public_key"] if api_version.at_least(req, "2.92") else ["name"]
    return {
        "type": "object",
        "properties": {"keypair": {"type": "object", "properties": properties,
                                   "required": required, "additionalProperties": False}},
        "required": ["keypair"], "additionalProperties": False,
    }


def _check_name(req: webob.Request, name: str) -> None:
    allowed = _NAME_CHARS_292 if api_version.at_least(req, "2.92") else _NAME_CHARS
    if name.strip() != name or any(char not in allowed for char in name):
        raise common.BadRequest(reason=(
            "Invalid input for field/attribute name. Value: "
            f"{name}. An invalid 'name' value was provided. Only expected characters: "
            f"[{allowed}] and no whitespace at either end."))


class KeypairsController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def _owner(self, req: webob.Request, action: str, user_id: str | None = None) -> str:
        """The user whose key pairs the request is about, after the policy check."""
        context = common.context_of(req)
        if user_id is None and api_version.at_least(req, "2.10"):
            user_id = req.params.get("user_id")
        owner = user_id or context.user_id
        policy.authorize(context, KEYPAIRS % action, {"user_id": owner})
        return owner

    def _view(self, req: webob.Request, key_pair: dict[str, Any],
              fields: tuple[str, ...]) -> dict[str, Any]:
        shown = {name: key_pair.get(name) for name in fields}
        if api_version.at_least(req, "2.2"):
            shown["type"] = key_pair.get("type") or SSH
        return shown

    def index(self, req: webob.Request) -> webob.Response:
        owner = self._owner(req, "index")
        limit = marker = None
        if api_version.at_least(req, "2.35"):
            if "limit" in req.params or "marker" in req.params:
                limit, marker = common.limit_and_marker(req)
        try:
            key_pairs = self.clients.conductor.key_pair_get_all(
                common.context_of(req), user_id=owner, limit=limit, marker=marker)
        except exception.MarkerNotFound:
            raise common.BadRequest(reason=f"marker [{marker}] not found") from None
        body: dict[str, Any] = {"keypairs": [
            {"keypair": self._view(req, kp, ("name", "public_key", "fingerprint"))}
            for kp in key_pairs]}
        if limit is not None:
            links = common.collection_links(req, [{"id": kp["name"]} for kp in key_pairs],
                                            "os-keypairs", limit)
            if links:
                body["keypairs_links"] = links
        return common.json_response(body)

    def show(self, req: webob.Request, keypair_name: str) -> webob.Response:
        owner = self._owner(req, "show")
        key_pair = self.clients.conductor.key_pair_get(
            common.context_of(req), user_id=owner, name=keypair_name)
        shown = self._view(req, key_pair, ("public_key", "name", "fingerprint", "user_id",
                                           "created_at", "updated_at", "deleted_at", "id"))
        shown["deleted"] = False
        return common.json_response({"keypair": shown})

    def create(self, req: webob.Request) -> webob.Response:
        context = common.context_of(req)
        body = common.json_body(req)
        validation.validate(_create_schema(req), body)
        params = body["keypair"]
        owner = self._owner(req, "create", params.get("user_id"))
        name = params["name"]
        _check_name(req, name)
        key_type = params.get("type", SSH)
        private_key = None
        public_key = params.get("public_key")
        if public_key is not None:
            fingerprint = crypto.fingerprint(key_type, public_key)
        elif key_type == X509:
            private_key, public_key, fingerprint = crypto.generate_x509_certificate(owner)
        else:
            private_key, public_key, fingerprint = crypto.generate_ssh_key_pair()
        key_pair = self.clients.conductor.key_pair_create(context, values={
            "name": name, "user_id": owner, "fingerprint": fingerprint,
            "public_key": public_key, "type": key_type}, project_id=context.project_id)
        shown = self._view(req, key_pair, ("name", "public_key", "fingerprint", "user_id"))
        if private_key is not None:
            shown["private_key"] = private_key
        status = 201 if api_version.at_least(req, "2.2") else 200
        return common.json_response({"keypair": shown}, status=status)

    def delete(self, req: webob.Request, keypair_name: str) -> webob.Response:
        owner = self._owner(req, "delete")
        self.clients.conductor.key_pair_destroy(
            common.context_of(req), user_id=owner, name=keypair_name)
        return common.empty_response(204 if api_version.at_least(req, "2.2") else 202)
