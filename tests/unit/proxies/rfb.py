"""Test helpers for the console proxies: a tiny display that speaks an RFB banner,
and a WebSocket client (websockify's) that keeps the query string of its URL."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from websockify import websocket

BANNER = b"RFB 003.008\n"


@contextmanager
def rfb_display(port: int = 0) -> Iterator[int]:
    """A listener on 127.0.0.1:``port`` (0: any) that greets every connection with
    :data:`BANNER` and echoes what it receives; yields its port."""
    listener = socket.create_server(("127.0.0.1", port))
    stopping = threading.Event()

    def serve_one(conn: socket.socket) -> None:
        with conn:
            conn.sendall(BANNER)
            while data := conn.recv(4096):
                conn.sendall(data)

    def accept() -> None:
        while not stopping.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stopping.set()
        listener.close()


class _Client(websocket.WebSocket):
    def __init__(self, path: str) -> None:
        super().__init__()
        self._full_path = path

    def send_request(self, type: str, path: str) -> None:
        # websockify's client drops the query string (where the token is).
        super().send_request(type, self._full_path)

    def _recv_frames(self) -> bool:
        # websockify's client reads the socket before it decodes what it already
        # holds: frames that came with the handshake's reply would wait for more
        # data that never comes (the display speaks first, then waits).
        decoded = False
        while self._recv_buffer:
            frame = self._decode_hybi(self._recv_buffer)
            if frame is None:
                break
            self._recv_buffer = self._recv_buffer[frame["length"]:]
            self._recv_queue.append(frame)
            decoded = True
        return decoded or super()._recv_frames()


def open_console(port: int, path: str, origin: str | None = None,
                 timeout: float = 10) -> websocket.WebSocket:
    """A WebSocket to the proxy on 127.0.0.1:``port`` at ``path`` (with its query);
    raises when the proxy refuses the upgrade (the message names the status)."""
    client = _Client(path)
    client.connect(f"ws://127.0.0.1:{port}/", origin=origin)
    client.socket.settimeout(timeout)
    return client


def read_banner(client: websocket.WebSocket) -> bytes:
    """The display's first bytes through the proxy."""
    data = b""
    while len(data) < len(BANNER):
        message = client.recv()
        if message is None:
            break
        data += message
    return data
