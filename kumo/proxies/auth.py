"""What every console proxy does before it connects: find the token in the request,
have kumo-consoleauth turn it into the guest's display, refuse foreign origins."""

from __future__ import annotations

import http.cookies
import urllib.parse
from collections.abc import Iterable
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from kumo import context as kumo_context

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


class Refused(Exception):
    """The request may not have a console (the proxy answers 403 with this message)."""


def token_from_request(path: str, headers: Any) -> str | None:
    """The console token of a request: its ``token`` query parameter, else the one in
    noVNC 1.x's ``path`` parameter (``?path=%3Ftoken%3D…``), else a ``token`` cookie."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    if query.get("token"):
        return query["token"][0].strip()
    for inner in query.get("path", []):
        nested = urllib.parse.parse_qs(urllib.parse.urlsplit(inner).query)
        if nested.get("token"):
            return nested["token"][0].strip()
    cookie_header = headers.get("Cookie") if headers is not None else None
    if cookie_header:
        cookies = http.cookies.SimpleCookie()
        try:
            cookies.load(cookie_header)
        except http.cookies.CookieError:
            return None
        if "token" in cookies:
            return cookies["token"].value.strip()
    return None


def check_origin(headers: Any, allowed: Iterable[str] | None = None) -> None:
    """Refuse a browser WebSocket opened from another site (cross-site hijacking):
    the ``Origin`` host must be the ``Host`` the proxy was reached at, or one of
    ``[console] allowed_origins``. Clients that send no Origin are not browsers."""
    origin = headers.get("Origin")
    if not origin:
        return
    origin_host = urllib.parse.urlsplit(origin).hostname
    own_host = urllib.parse.urlsplit(f"//{headers.get('Host', '')}").hostname
    permitted = set(CONF.console.allowed_origins if allowed is None else allowed)
    if own_host:
        permitted.add(own_host)
    if origin_host is None or origin_host not in permitted:
        raise Refused(f"Origin {origin} is not allowed to open this console")


class TargetResolver:
    """Turns a token into the connection info of a console of ``console_types``."""

    def __init__(self, console_types: Iterable[str], consoleauth: Any = None) -> None:
        """``consoleauth`` (a kumo-consoleauth RPC client) is for tests."""
        self.console_types = frozenset(console_types)
        self._consoleauth = consoleauth

    @property
    def consoleauth(self) -> Any:
        if self._consoleauth is None:
            from kumo.consoleauth import rpcapi as consoleauth_rpcapi

            self._consoleauth = consoleauth_rpcapi.ConsoleAuthAPI()
        return self._consoleauth

    def resolve(self, token: str | None) -> dict[str, Any]:
        """The token's ``{"host", "port", "internal_access_path", …}``.

        :raises Refused: no token, an unknown, expired or no longer valid one, or
            one of a console type this proxy does not serve.
        """
        if not token:
            raise Refused("No console token in the request")
        info = self.consoleauth.check_token(kumo_context.get_admin_context(), token=token)
        if not info:
            LOG.info("Refused console token %s...: invalid or expired", token[:6])
            raise Refused("The console token is invalid or has expired")
        if info.get("console_type") not in self.console_types:
            raise Refused(f"This proxy does not serve {info.get('console_type')} consoles")
        return info
