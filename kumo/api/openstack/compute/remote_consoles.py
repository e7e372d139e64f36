"""Remote consoles: ``POST /servers/{id}/remote-consoles`` (2.6+), the legacy
``os-getVNCConsole``/``os-getSPICEConsole``/``os-getSerialConsole``/``os-getRDPConsole``
actions (2.1–2.5), and ``GET /os-console-auth-tokens/{token}``.

A console request reads top to bottom: the server (404), policy, a host
(409 "is not ready"), the protocol kumo serves (vnc and spice; serial, rdp and
mks have no proxy here: 400 "Unavailable console type", as Nova with those
consoles disabled), kumo-compute makes the token and the connection info (409
when the guest does not run), kumo-consoleauth registers it, then the URL.
Microversions: 2.6 the unified API (the actions are gone: 404); 2.8 protocol
``mks``/type ``webmks``; 2.31 the token lookup for every console type; 2.99
type ``spice-direct`` and the lookup's ``tls_port``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import webob

from kumo import exception, policy
from kumo.api import validation
from kumo.api.openstack import api_version, common
from kumo.api.openstack.compute import views
from kumo.compute import consoles as compute_consoles
from kumo.policies import remote_consoles as console_policies

_PROTOCOLS_2_6 = ["vnc", "spice", "rdp", "serial"]
_TYPES_2_6 = ["novnc", "xvpvnc", "rdp-html5", "spice-html5", "serial"]


def _create_schema(protocols: list[str], types: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"remote_console": {
            "type": "object",
            "properties": {"protocol": {"enum": protocols}, "type": {"enum": types}},
            "required": ["protocol", "type"], "additionalProperties": False}},
        "required": ["remote_console"], "additionalProperties": False,
    }


CREATE_SCHEMA_2_6 = _create_schema(_PROTOCOLS_2_6, _TYPES_2_6)
CREATE_SCHEMA_2_8 = _create_schema([*_PROTOCOLS_2_6, "mks"], [*_TYPES_2_6, "webmks"])
CREATE_SCHEMA_2_99 = _create_schema([*_PROTOCOLS_2_6, "mks"],
                                    [*_TYPES_2_6, "webmks", "spice-direct"])


def _action_schema(action: str, types: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {action: {
            "type": "object", "properties": {"type": {"enum": types}},
            "required": ["type"], "additionalProperties": False}},
        "required": [action], "additionalProperties": False,
    }


# Legacy action -> (its protocol, its console types).
LEGACY_ACTIONS: dict[str, tuple[str, list[str]]] = {
    "os-getVNCConsole": ("vnc", ["novnc", "xvpvnc"]),
    "os-getSPICEConsole": ("spice", ["spice-html5"]),
    "os-getRDPConsole": ("rdp", ["rdp-html5"]),
    "os-getSerialConsole": ("serial", ["serial"]),
}
# Protocols a console proxy of kumo serves.
_SERVED = ("vnc", "spice")


class ConsoleDetailsNotAccessible(exception.KumoException):
    """Nova's answer to a token lookup before 2.31 for a console other than RDP."""

    msg_fmt = "The requested console type details are not accessible"
    code = 401


def _not_found() -> exception.NotFound:
    return exception.NotFound("The resource could not be found.")


class RemoteConsolesController:
    """``POST /servers/{id}/remote-consoles`` and the legacy console actions."""

    def __init__(self, clients: common.Clients, consoleauth: Any = None) -> None:
        """``consoleauth`` (a kumo-consoleauth RPC client) is for tests."""
        self.clients = clients
        self._consoleauth = consoleauth

    @property
    def consoleauth(self) -> Any:
        if self._consoleauth is None:
            from kumo.consoleauth import rpcapi as consoleauth_rpcapi

            self._consoleauth = consoleauth_rpcapi.ConsoleAuthAPI()
        return self._consoleauth

    def create(self, req: webob.Request, server_id: str) -> webob.Response:
        """2.6+: ``{"remote_console": {"protocol", "type"}}`` → the same with its ``url``."""
        if not api_version.at_least(req, "2.6"):
            raise _not_found()
        if api_version.at_least(req, "2.99"):
            schema = CREATE_SCHEMA_2_99
        elif api_version.at_least(req, "2.8"):
            schema = CREATE_SCHEMA_2_8
        else:
            schema = CREATE_SCHEMA_2_6
        body = common.json_body(req)
        validation.validate(schema, body)
        protocol = body["remote_console"]["protocol"]
        console_type = body["remote_console"]["type"]
        url = self.console_url(req, server_id, protocol, console_type)
        return common.json_response({"remote_console": {
            "protocol": protocol, "type": console_type, "url": url}})

    def actions(self) -> dict[str, Callable[..., webob.Response]]:
        """The legacy actions, for ``POST /servers/{id}/action``'s dispatcher."""
        return {name: self._legacy_action(name) for name in LEGACY_ACTIONS}

    def _legacy_action(self, name: str) -> Callable[..., webob.Response]:
        protocol, types = LEGACY_ACTIONS[name]
        schema = _action_schema(name, types)

        def handler(servers: Any, req: webob.Request, server_id: str,
                    body: dict[str, Any]) -> webob.Response:
            # Nova served these up to 2.5 only; 2.6's remote-consoles replaced them.
            if api_version.at_least(req, "2.6"):
                raise _not_found()
            validation.validate(schema, body)
            console_type = body[name]["type"]
            url = self.console_url(req, server_id, protocol, console_type)
            return common.json_response({"console": {"type": console_type, "url": url}})

        handler.__name__ = name
        return handler

    def console_url(self, req: webob.Request, server_id: str, protocol: str,
                    console_type: str) -> str:
        """A new console of the server, registered with kumo-consoleauth; its URL."""
        context = common.context_of(req)
        instance = common.server_get(self.clients, context, server_id)
        policy.authorize(context, console_policies.REMOTE_CONSOLES,
                         views.server_target(instance))
        host = instance.get("host", None)
        if not host:
            raise exception.InstanceNotReady(instance_id=instance.uuid)
        if protocol not in _SERVED:
            raise exception.ConsoleTypeUnavailable(console_type=console_type)
        if compute_consoles.protocol_of(console_type) != protocol:
            raise exception.ConsoleTypeInvalid(console_type=console_type)
        compute = self.clients.compute
        getter = compute.get_vnc_console if protocol == "vnc" else compute.get_spice_console
        info = getter(context, instance=instance, console_type=console_type, host=host)
        self.consoleauth.authorize_console(
            context, token=info["token"], console_type=console_type, host=info["host"],
            port=info["port"], internal_access_path=info.get("internal_access_path"),
            instance_uuid=instance.uuid, access_url=info["access_url"],
            tls_port=info.get("tls_port"))
        return info["access_url"]


class ConsoleAuthTokensController:
    """``GET /os-console-auth-tokens/{console_token}`` (admins): where a token leads."""

    def __init__(self, consoles: RemoteConsolesController) -> None:
        self.consoles = consoles

    def show(self, req: webob.Request, console_token: str) -> webob.Response:
        context = common.context_of(req)
        policy.authorize(context, console_policies.CONSOLE_AUTH_TOKENS, None)
        info = self.consoles.consoleauth.check_token(context, token=console_token)
        if not info:
            raise exception.ConsoleTokenNotFound()
        # Before 2.31 the lookup served RDP consoles only (which kumo has none of).
        if not api_version.at_least(req, "2.31") and info["console_type"] != "rdp-html5":
            raise ConsoleDetailsNotAccessible()
        console = {"instance_uuid": info["instance_uuid"], "host": info["host"],
                   "port": info["port"],
                   "internal_access_path": info.get("internal_access_path")}
        if api_version.at_least(req, "2.99"):
            console["tls_port"] = info.get("tls_port")
        return common.json_response({"console": console})
