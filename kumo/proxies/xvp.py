"""kumo-xvpvncproxy: the VNC console for non-browser (Java) clients, over plain TCP.

An honest small version of Nova's XVP proxy: the client connects, sends one
HTTP request whose target carries the token (``GET /console?token=… HTTP/1.1``,
or ``CONNECT``), kumo-consoleauth checks it (``xvpvnc`` consoles only), the
proxy answers ``HTTP/1.1 200 OK`` and from then on passes raw RFB bytes both
ways between the client and the guest's VNC display. A refused token gets
``403 Forbidden`` and the connection is closed. No TLS, no WebSocket.
"""

from __future__ import annotations

import select
import socket
import socketserver
import threading
from typing import Any

from oslo_log import log as logging

from kumo.proxies import auth, target, websocket

LOG = logging.getLogger(__name__)

# The request head must arrive within this many seconds and bytes.
HEAD_TIMEOUT = 10.0
MAX_HEAD = 8192
_BUFFER = 65536


def token_of_head(head: bytes) -> str | None:
    """The token in the request line of an HTTP request head, or None."""
    request_line = head.split(b"\r\n", 1)[0].decode("latin-1").split()
    if len(request_line) < 2:
        return None
    return auth.token_from_request(request_line[1], None)


def pipe(client: socket.socket, display: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    sockets = [client, display]
    while True:
        readable, _, broken = select.select(sockets, [], sockets, 60)
        if broken:
            return
        for source in readable:
            data = source.recv(_BUFFER)
            if not data:
                return
            (display if source is client else client).sendall(data)


class _Handler(socketserver.BaseRequestHandler):
    server: XvpServer

    def handle(self) -> None:
        client: socket.socket = self.request
        client.settimeout(HEAD_TIMEOUT)
        try:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(MAX_HEAD)
                if not chunk or len(head) + len(chunk) > MAX_HEAD:
                    return
                head += chunk
        except OSError:
            return
        head, _, early = head.partition(b"\r\n\r\n")
        try:
            info = self.server.resolver.resolve(token_of_head(head))
            display = target.connect(info)
        except auth.Refused as refused:
            LOG.info("%s: XVP console refused: %s", self.client_address[0], refused)
            client.sendall(b"HTTP/1.1 403 Forbidden\r\n\r\n")
            return
        except target.TargetUnreachable as error:
            LOG.warning("XVP console unreachable: %s", error)
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
            return
        except Exception:
            LOG.exception("Could not check a console token with kumo-consoleauth")
            client.sendall(b"HTTP/1.1 503 Service Unavailable\r\n\r\n")
            return
        LOG.info("%s: XVP console of server %s", self.client_address[0],
                 info["instance_uuid"])
        try:
            client.settimeout(None)
            client.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
            if early:
                display.sendall(early)
            pipe(client, display)
        except OSError:
            pass
        finally:
            display.close()


class XvpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], resolver: auth.TargetResolver) -> None:
        self.resolver = resolver
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        websocket.log_connection_error(client_address)


class XvpConsoleProxy:
    """kumo-xvpvncproxy's listener (a :class:`kumo.service.Listener`)."""

    def __init__(self, host: str, port: int, consoleauth: Any = None) -> None:
        self._server = XvpServer((host, port), auth.TargetResolver(["xvpvnc"], consoleauth))
        self.host, self.port = self._server.server_address[:2]
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="kumo-xvpvncproxy", daemon=True)
        self._thread.start()
        LOG.info("kumo-xvpvncproxy listening on %s:%s", self.host, self.port)

    def stop(self) -> None:
        self._server.shutdown()

    def wait(self) -> None:
        self._server.server_close()
