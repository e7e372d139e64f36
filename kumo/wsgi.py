"""A threaded WSGI server that a :class:`kumo.service.Service` can start and drain."""

from __future__ import annotations

import socketserver
import threading
from typing import Any
from wsgiref import simple_server

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = False
    # server_close() joins the request threads: that is how in-flight requests drain.
    block_on_close = True
    allow_reuse_address = True


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("%s %s", self.address_string(), format % args)


class Server:
    """Serves ``app`` on ``host:port`` from a background thread."""

    def __init__(self, name: str, app: Any, host: str, port: int) -> None:
        self.name = name
        self._httpd = simple_server.make_server(
            host, port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        self.host, self.port = self._httpd.server_address[:2]
        self._thread: threading.Thread | None = None

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
