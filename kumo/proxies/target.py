"""The proxies' other side: a TCP connection to the guest's display."""

from __future__ import annotations

import socket
from typing import Any

# Seconds to reach the display (it is on a hypervisor of this cloud's network).
CONNECT_TIMEOUT = 10.0
# Bytes of the reply to an internal CONNECT that are read at most.
_MAX_REPLY = 4096


class TargetUnreachable(Exception):
    """The guest's display did not accept the connection."""


def connect(info: dict[str, Any], timeout: float = CONNECT_TIMEOUT) -> socket.socket:
    """A blocking socket to ``info["host"]:info["port"]``.

    When the token carries an ``internal_access_path`` (a hypervisor that hides its
    displays behind an HTTP proxy, as XenServer's did), that path is asked for with
    ``CONNECT`` first and a ``200`` is required.
    """
    try:
        sock = socket.create_connection((info["host"], int(info["port"])), timeout=timeout)
    except OSError as error:
        raise TargetUnreachable(f"{info['host']}:{info['port']}: {error}") from error
    path = info.get("internal_access_path")
    if path:
        try:
            sock.sendall(f"CONNECT {path} HTTP/1.1\r\n\r\n".encode())
            reply = b""
            while b"\r\n\r\n" not in reply and len(reply) < _MAX_REPLY:
                chunk = sock.recv(_MAX_REPLY)
                if not chunk:
                    break
                reply += chunk
        except OSError as error:
            sock.close()
            raise TargetUnreachable(f"CONNECT {path}: {error}") from error
        status = reply.split(b"\r\n", 1)[0].split()
        if len(status) < 2 or status[1] != b"200":
            sock.close()
            raise TargetUnreachable(f"CONNECT {path} answered {reply[:80]!r}")
    sock.settimeout(None)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock
