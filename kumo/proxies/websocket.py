"""kumo-novncproxy and kumo-spicehtml5proxy: WebSocket ↔ the guest's VNC or SPICE display.

websockify speaks the WebSocket protocol and shuttles the bytes; kumo decides
the target: before the WebSocket handshake the token (query, noVNC's ``path``,
or cookie) is checked with kumo-consoleauth, and a bad or foreign request is
answered ``403`` without an upgrade. Plain GETs serve the HTML5 client's files
from the configured static directory when it exists (Debian's ``novnc`` or
``spice-html5`` package), else 404.
"""

from __future__ import annotations

import http.server
import logging as std_logging
import os
import re
import socketserver
import sys
import threading
from collections.abc import Iterable
from typing import Any

from oslo_log import log as logging
from websockify import websocketproxy

from kumo.proxies import auth, target

LOG = logging.getLogger(__name__)

# A token in a logged request path: ``token=…`` or noVNC's ``path=%3Ftoken%3D…``.
_TOKEN_IN_PATH = re.compile(r"(token(?:=|%3D))([^&\s'\"%]{0,6})[^&\s'\"]*", re.IGNORECASE)


def redact_tokens(text: str) -> str:
    """``text`` with every console token in it cut to its first six characters: the
    request line and websockify's path messages carry the token, a credential."""
    return _TOKEN_IN_PATH.sub(r"\1\2...", text)


class ConsoleProxyHandler(websocketproxy.ProxyRequestHandler):
    """One browser connection: files, or a WebSocket proxied to the token's display."""

    server: ConsoleWebSocketServer

    def setup(self) -> None:
        super().setup()
        # SimpleHTTPRequestHandler serves from self.directory (the cwd by default).
        self.directory = self.server.web_dir or os.devnull

    def log_message(self, format: str, *args: Any) -> None:
        LOG.info("%s %s", self.address_string(), redact_tokens(format % args))

    def handle_upgrade(self) -> None:
        try:
            auth.check_origin(self.headers)
            self.console = self.server.resolver.resolve(
                auth.token_from_request(self.path, self.headers))
        except auth.Refused as refused:
            LOG.info("%s: console refused: %s", self.address_string(), refused)
            self.send_error(403, str(refused))
            return
        except Exception:
            LOG.exception("Could not check a console token with kumo-consoleauth")
            self.send_error(503, "The console service is unavailable")
            return
        super().handle_upgrade()

    def new_websocket_client(self) -> None:
        info = self.console
        try:
            sock = target.connect(info)
        except target.TargetUnreachable as error:
            LOG.warning("Console of server %s unreachable: %s", info["instance_uuid"], error)
            raise self.CClose(1011, "Failed to connect to the console") from None
        LOG.info("%s: console of server %s at %s:%s", self.address_string(),
                 info["instance_uuid"], info["host"], info["port"])
        try:
            self.do_proxy(sock)
        finally:
            sock.close()

    def do_GET(self) -> None:
        if not self.server.web_dir:
            self.send_error(404, "No HTML5 console client is installed on this proxy")
            return
        super().do_GET()

    def do_HEAD(self) -> None:
        if not self.server.web_dir:
            self.send_error(404)
            return
        super().do_HEAD()


class ConsoleWebSocketServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """The HTTP server websockify's handler expects (the attributes it reads)."""

    daemon_threads = True
    # Console sessions last as long as their users: a stop does not wait for them.
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], resolver: auth.TargetResolver,
                 web_dir: str | None) -> None:
        self.resolver = resolver
        self.web_dir = web_dir if web_dir and os.path.isdir(web_dir) else None
        # Read by websockify's handler.
        self.only_upgrade = False
        self.file_only = True          # no directory listings
        self.verbose = False
        self.traffic = False
        self.heartbeat = None
        self.token_plugin = None       # kumo resolves targets itself (handle_upgrade)
        self.auth_plugin = None
        self.handler_id = 0
        self.logger = std_logging.getLogger("kumo.proxies.websockify")
        super().__init__(address, ConsoleProxyHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log_connection_error(client_address)


def log_connection_error(client_address: Any) -> None:
    """A client that went away mid-request is routine; anything else is logged whole."""
    error = sys.exc_info()[1]
    if isinstance(error, ConnectionError | TimeoutError):
        LOG.debug("Console client %s went away: %s", client_address, error)
    else:
        LOG.exception("Console connection from %s failed", client_address)


class WebSocketConsoleProxy:
    """A console proxy as a :class:`kumo.service.Listener`."""

    def __init__(self, name: str, host: str, port: int, console_types: Iterable[str],
                 web_dir: str | None = None, consoleauth: Any = None) -> None:
        self.name = name
        self._server = ConsoleWebSocketServer(
            (host, port), auth.TargetResolver(console_types, consoleauth), web_dir)
        self.host, self.port = self._server.server_address[:2]
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.name,
                                        daemon=True)
        self._thread.start()
        LOG.info("%s listening on http://%s:%s (static files: %s)", self.name, self.host,
                 self.port, self._server.web_dir or "none")

    def stop(self) -> None:
        self._server.shutdown()

    def wait(self) -> None:
        self._server.server_close()
