"""Serve Keystone's public WSGI app on loopback (run by the Keystone venv's python).

    keystone_server.py PORT KEYSTONE_CONF

Keystone no longer ships ``keystone-wsgi-public``; its app is
``keystone.wsgi.api:application``, which parses ``sys.argv`` as its own
options on import, so argv is cleared first. A threading wsgiref server is
plenty for a test's handful of requests. Nothing here imports kumo.
"""

from __future__ import annotations

import os
import socketserver
import sys
import wsgiref.simple_server


class _Server(socketserver.ThreadingMixIn, wsgiref.simple_server.WSGIServer):
    daemon_threads = True


class _Handler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def main() -> None:
    port, config = int(sys.argv[1]), sys.argv[2]
    os.environ["OS_KEYSTONE_CONFIG_FILES"] = config
    sys.argv = [sys.argv[0]]
    from keystone.wsgi import api

    server = wsgiref.simple_server.make_server("127.0.0.1", port, api.application,
                                               server_class=_Server, handler_class=_Handler)
    print(f"keystone listening on http://127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
