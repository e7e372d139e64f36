"""A threaded WSGI server that a :class:`kumo.service.Service` can start and drain."""

from __future__ import annotations

import socketserver
import threading
from typing import Any
from wsgiref import simple_server

from oslo_log import log as logging

from kumo import http_keepalive

LOG = logging.getLogger(__name__)


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = False
    # server_close() joins the request threads: that is how in-flight requests drain.
    block_on_close = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 refuses bursts of clients (and with
    # several worker processes one listening socket serves them all).
    request_queue_size = 128
    # Kept (HTTP/1.1) connections end once this is set (kumo.http_keepalive).
    stopping = False

    def shutdown(self) -> None:
        self.stopping = True
        super().shutdown()


class _QuietHandler(http_keepalive.KeepAliveHandler):
    def log_message(self, format: str, *args: Any) -> None:
        # Every response is logged here: format nothing when debug logging is off.
        if LOG.isEnabledFor(logging.DEBUG):
            LOG.debug("%s %s", self.address_string(), format % args)


class Server:
    """Serves ``app`` on ``host:port`` from a background thread.

    The socket is bound here, so a daemon that forks workers binds it once and
    every worker accepts on it; ``app`` may then be None and set by each worker.
    """

    def __init__(self, name: str, app: Any, host: str, port: int) -> None:
        self.name = name
        self._httpd = simple_server.make_server(
            host, port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        self.host, self.port = self._httpd.server_address[:2]
        # Forked workers all wait on this socket (kumo.launcher) and each is woken
        # for a new connection: non-blocking, the losers' accept() fails at once
        # (socketserver ignores it) instead of blocking serve_forever and its stop.
        self._httpd.socket.setblocking(False)
        self._thread: threading.Thread | None = None

    def set_app(self, app: Any) -> None:
        """Serve ``app``: a worker builds its own after the fork (kumo.launcher)."""
        self._httpd.set_app(app)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=self.name,
                                        daemon=True)
        self._thread.start()
        LOG.info("%s listening on http://%s:%s", self.name, self.host, self.port)

    def stop(self) -> None:
        """Stop accepting connections; requests already taken go on."""
        self._httpd.shutdown()

    def wait(self) -> None:
        """Wait for requests in flight, then close the socket."""
        self._httpd.server_close()
