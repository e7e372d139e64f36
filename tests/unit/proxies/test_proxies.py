"""The console proxies in-process: token resolution, origin check, and bytes from a
display through the real websockify handler (kumo-novncproxy's) and the XVP proxy."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from kumo.proxies import auth, websocket, xvp
from tests.unit.proxies.rfb import BANNER, open_console, read_banner, rfb_display


class StubConsoleAuth:
    def __init__(self, port: int) -> None:
        self.tokens = {
            "good": {"console_type": "novnc", "host": "127.0.0.1", "port": port,
                     "instance_uuid": "u1", "internal_access_path": None},
            "spice": {"console_type": "spice-html5", "host": "127.0.0.1", "port": port,
                      "instance_uuid": "u1", "internal_access_path": None},
            "xvp": {"console_type": "xvpvnc", "host": "127.0.0.1", "port": port,
                    "instance_uuid": "u1", "internal_access_path": None},
        }

    def check_token(self, ctxt: Any, token: str) -> dict[str, Any] | None:
        return self.tokens.get(token)


def test_token_from_query_novnc_path_or_cookie() -> None:
    assert auth.token_from_request("/?token=abc", {}) == "abc"
    assert auth.token_from_request("/websockify?path=%3Ftoken%3Ddef", {}) == "def"
    assert auth.token_from_request("/", {"Cookie": "lang=en; token=ghi"}) == "ghi"
    assert auth.token_from_request("/", {}) is None


def test_origin_must_be_the_proxy_host_or_allowed() -> None:
    auth.check_origin({"Host": "proxy.test:6080"})  # not a browser
    auth.check_origin({"Host": "proxy.test:6080", "Origin": "http://proxy.test:6080"})
    auth.check_origin({"Host": "10.0.0.1:6080", "Origin": "https://dash.test"},
                      allowed=["dash.test"])
    with pytest.raises(auth.Refused):
        auth.check_origin({"Host": "proxy.test:6080", "Origin": "http://evil.test"},
                          allowed=[])


def test_logged_request_lines_carry_no_whole_token() -> None:
    line = websocket.redact_tokens('"GET /?token=0123456789abcdef HTTP/1.1" 101 -')
    assert line == '"GET /?token=012345... HTTP/1.1" 101 -'
    nested = websocket.redact_tokens("Path: '/websockify?path=%3Ftoken%3Dabcdef0123'")
    assert nested == "Path: '/websockify?path=%3Ftoken%3Dabcdef...'"


@pytest.fixture
def display() -> Iterator[int]:
    with rfb_display() as port:
        yield port


@pytest.fixture
def novncproxy(display: int) -> Iterator[websocket.WebSocketConsoleProxy]:
    proxy = websocket.WebSocketConsoleProxy("kumo-novncproxy", "127.0.0.1", 0, ["novnc"],
                                            web_dir=None, consoleauth=StubConsoleAuth(display))
    proxy.start()
    yield proxy
    proxy.stop()
    proxy.wait()


def test_novnc_proxy_carries_the_display_to_the_websocket(
        novncproxy: websocket.WebSocketConsoleProxy) -> None:
    client = open_console(novncproxy.port, "/?path=%3Ftoken%3Dgood",
                          origin=f"http://127.0.0.1:{novncproxy.port}")
    try:
        assert read_banner(client) == BANNER
        client.send(b"RFB 003.008\n")
        assert client.recv() == b"RFB 003.008\n"
    finally:
        client.close()


@pytest.mark.parametrize("path,origin", [
    ("/?token=bad", None),          # unknown token
    ("/?token=spice", None),        # a SPICE token at the VNC proxy
    ("/", None),                    # no token
    ("/?token=good", "http://evil.test"),
])
def test_novnc_proxy_refuses_before_the_upgrade(
        novncproxy: websocket.WebSocketConsoleProxy, path: str, origin: str | None) -> None:
    with pytest.raises(Exception, match="denied: 403"):
        open_console(novncproxy.port, path, origin=origin)


def test_plain_get_without_client_files_is_404(
        novncproxy: websocket.WebSocketConsoleProxy) -> None:
    with socket.create_connection(("127.0.0.1", novncproxy.port), timeout=5) as sock:
        sock.sendall(b"GET /vnc_lite.html HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 404")


def test_client_files_are_served_from_the_static_dir_only(tmp_path: Any) -> None:
    web_dir = tmp_path / "novnc"
    web_dir.mkdir()
    (web_dir / "vnc.html").write_text("novnc")
    (tmp_path / "secret").write_text("not for browsers")
    proxy = websocket.WebSocketConsoleProxy("kumo-novncproxy", "127.0.0.1", 0, ["novnc"],
                                            web_dir=str(web_dir), consoleauth=None)
    proxy.start()

    def get(path: str) -> bytes:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            sock.sendall(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
            reply = b""
            while chunk := sock.recv(4096):
                reply += chunk
            return reply

    try:
        assert get("/vnc.html").startswith(b"HTTP/1.1 200")
        for path in ("/../secret", "/%2e%2e/secret", "/..%2fsecret", "/"):
            reply = get(path)
            assert reply.startswith(b"HTTP/1.1 404"), (path, reply[:40])
            assert b"not for browsers" not in reply
    finally:
        proxy.stop()
        proxy.wait()


def test_xvp_proxy_passes_raw_vnc_after_the_token(display: int) -> None:
    proxy = xvp.XvpConsoleProxy("127.0.0.1", 0, consoleauth=StubConsoleAuth(display))
    proxy.start()
    try:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            sock.sendall(b"GET /console?token=good HTTP/1.1\r\n\r\n")
            assert sock.recv(100) == b"HTTP/1.1 403 Forbidden\r\n\r\n"
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            sock.sendall(b"GET /console?token=xvp HTTP/1.1\r\n\r\n")
            reply = b""
            while not reply.endswith(BANNER):
                chunk = sock.recv(100)
                assert chunk, reply
                reply += chunk
            assert reply == b"HTTP/1.1 200 OK\r\n\r\n" + BANNER
    finally:
        proxy.stop()
        proxy.wait()
