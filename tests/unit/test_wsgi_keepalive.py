"""kumo.wsgi keeps HTTP/1.1 connections (kumo.http_keepalive): several requests per
connection, closed when the exchange is not framed, when asked, and on a stop."""

from __future__ import annotations

import http.client
import io
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from wsgiref import simple_server

import pytest

from kumo import http_keepalive, wsgi


def app(environ: dict[str, Any], start_response: Any) -> Any:
    path = environ["PATH_INFO"]
    if path == "/stream":  # no Content-Length: the connection must end the body
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"one,", b"two"])
    if path == "/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]
    if path == "/slow":
        time.sleep(0.5)
    if path == "/empty":
        start_response("204 No Content", [])
        return []
    if path == "/one-piece":  # no Content-Length: the server counts the one block
        start_response("201 Created", [("Content-Type", "text/plain"), ("X-A", "1")])
        return [b"abc"]
    if path == "/dated":  # the application's own Date and Server are kept, not doubled
        start_response("200 OK", [("date", "Thu, 01 Jan 2026 00:00:00 GMT"),
                                  ("Server", "mine"), ("Content-Length", "0")])
        return [b""]
    # Anything else ignores the request body.
    body = b"ok"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture
def server() -> Iterator[wsgi.Server]:
    srv = wsgi.Server("test-api", app, "127.0.0.1", 0)
    srv.start()
    yield srv
    srv.stop()
    srv.wait()


def connect(server: wsgi.Server) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)


def test_requests_share_one_connection(server: wsgi.Server) -> None:
    conn = connect(server)
    sockets = set()
    for _ in range(3):
        conn.request("GET", "/who")
        response = conn.getresponse()
        assert response.status == 200 and response.version == 11
        assert response.getheader("Connection") is None
        assert response.read() == b"ok"
        sockets.add(id(conn.sock))
    assert len(sockets) == 1 and conn.sock is not None  # never reconnected
    conn.request("GET", "/empty")
    empty = conn.getresponse()
    assert empty.status == 204 and empty.read() == b""
    conn.request("POST", "/echo", body=b"x" * 1000)
    assert conn.getresponse().read() == b"x" * 1000
    conn.close()


def test_an_unread_request_body_does_not_spill_into_the_next_request(
        server: wsgi.Server) -> None:
    conn = connect(server)
    conn.request("POST", "/who", body=b'{"ignored": true}' * 100)
    first = conn.getresponse()
    assert first.status == 200
    first.read()
    conn.request("GET", "/who")
    second = conn.getresponse()
    assert second.status == 200 and second.read() == b"ok"
    conn.close()


def raw_exchange(server: wsgi.Server, request: bytes) -> bytes:
    """Send ``request`` and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def test_http_1_0_and_connection_close_are_answered_then_closed(server: wsgi.Server) -> None:
    reply = raw_exchange(server, b"GET /who HTTP/1.0\r\nHost: x\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"ok")
    reply = raw_exchange(server, b"GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200") and b"Connection: close" in reply


def test_a_body_without_length_ends_with_the_connection(server: wsgi.Server) -> None:
    reply = raw_exchange(server, b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"Connection: close" in reply and reply.endswith(b"one,two")


def test_pipelined_requests_are_all_answered(server: wsgi.Server) -> None:
    request = b"GET /who HTTP/1.1\r\nHost: x\r\n\r\n"
    reply = raw_exchange(server, request * 2 + b"GET /who HTTP/1.1\r\nHost: x\r\n"
                         b"Connection: close\r\n\r\n")
    assert reply.count(b"HTTP/1.1 200 OK") == 3


def test_a_stop_closes_idle_connections_and_finishes_busy_ones() -> None:
    srv = wsgi.Server("test-api", app, "127.0.0.1", 0)
    srv.start()
    idle = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    idle.request("GET", "/who")
    idle.getresponse().read()
    busy = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    busy.request("GET", "/who")
    busy.getresponse().read()
    answers: list[Any] = []

    def slow() -> None:
        busy.request("GET", "/slow")
        response = busy.getresponse()
        answers.append((response.status, response.getheader("Connection"), response.read()))

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.2)  # the slow request is being served
    started = time.monotonic()
    srv.stop()
    srv.wait()
    thread.join()
    # Within a poll of the stop, not after the idle timeout.
    assert time.monotonic() - started < 3
    assert answers and answers[0][0] == 200 and answers[0][1] == "close"
    with pytest.raises((http.client.HTTPException, OSError)):
        idle.request("GET", "/who")
        idle.getresponse()


@pytest.mark.parametrize("lengths", [["-5"], ["1_0"], ["+3"], ["3", "4"]])
def test_a_request_of_unclear_length_is_refused_and_its_connection_closed(
        server: wsgi.Server, lengths: list[str]) -> None:
    headers = "".join(f"Content-Length: {length}\r\n" for length in lengths)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(f"POST /who HTTP/1.1\r\nHost: x\r\n{headers}\r\n"
                     "GET /who HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 400 ") and received.count(b"HTTP/1.1 ") == 1


def test_a_client_that_stalls_mid_request_is_let_go(
        server: wsgi.Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wsgi._QuietHandler, "timeout", 0.5)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /who HT")  # and nothing more
        started = time.monotonic()
        assert sock.recv(65536) == b""  # closed by the server
    assert time.monotonic() - started < 5


def test_an_idle_connection_wakes_for_the_next_request_and_ends_when_closed(
        server: wsgi.Server, monkeypatch: pytest.MonkeyPatch) -> None:
    # Once the idle wait sees the socket readable, one read tells a next request
    # (True) from the client's close (False).
    seen: list[bool] = []
    arrived = http_keepalive.KeepAliveHandler._arrived

    def recording(handler: Any) -> bool:
        seen.append(arrived(handler))
        return seen[-1]

    monkeypatch.setattr(http_keepalive.KeepAliveHandler, "_arrived", recording)
    # Never caught by the look before select(): every wake-up is select()'s.
    monkeypatch.setattr(http_keepalive.KeepAliveHandler, "_waiting", lambda handler: None)
    conn = connect(server)
    conn.request("GET", "/who")
    assert conn.getresponse().read() == b"ok"
    time.sleep(0.1)
    conn.request("GET", "/who")
    assert conn.getresponse().read() == b"ok"
    conn.close()
    deadline = time.monotonic() + 5
    while len(seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert seen == [True, False]


def test_a_one_piece_response_is_written_as_wsgiref_writes_it(server: wsgi.Server) -> None:
    # Status line, Date, Server, then the application's headers in its order, the
    # Content-Length counted from the one block (kumo.http_keepalive composes it).
    reply = raw_exchange(server, b"GET /one-piece HTTP/1.1\r\nHost: x\r\n"
                                 b"Connection: close\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 201 Created" and lines[1].startswith(b"Date: ")
    assert lines[1].endswith(b" GMT") and len(lines[1]) == len(b"Date: ") + 29
    assert lines[2:] == [b"Server: " + simple_server.ServerHandler.server_software.encode(),
                         b"Content-Type: text/plain", b"X-A: 1", b"Content-Length: 3",
                         b"Connection: close"]
    assert body == b"abc"
    reply = raw_exchange(server, b"GET /dated HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert reply == (b"HTTP/1.1 200 OK\r\ndate: Thu, 01 Jan 2026 00:00:00 GMT\r\n"
                     b"Server: mine\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


class _Reference(simple_server.WSGIRequestHandler):
    """The standard library's request parsing, speaking HTTP/1.1 as KeepAliveHandler."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Ours(http_keepalive.KeepAliveHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _parsed(handler_class: type, request: bytes) -> tuple[Any, ...]:
    """What ``parse_request`` makes of ``request``: its answer, the attributes it sets,
    the headers, what it wrote (errors, 100 Continue; Date masked), what it left unread."""
    handler = handler_class.__new__(handler_class)
    handler.rfile = io.BytesIO(request)
    handler.wfile = io.BytesIO()
    handler.client_address = ("127.0.0.1", 1)
    handler.request_version = handler.default_request_version
    handler.raw_requestline = handler.rfile.readline(65537)
    ok = handler.parse_request()
    headers = getattr(handler, "headers", None)
    written = re.sub(rb"Date: [^\r]*", b"Date: X", handler.wfile.getvalue())
    return (ok, handler.command, getattr(handler, "path", None), handler.request_version,
            handler.close_connection, getattr(handler, "requestline", None),
            None if headers is None else (type(headers), headers.items()),
            written, handler.rfile.read())


@pytest.mark.parametrize("request_bytes", [
    b"GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\nContent-Type: a/b\r\n\r\nrest",
    b"GET /a HTTP/1.1\r\nHost: x\r\nX-Folded: one\r\n two\r\n\tthree\r\n\r\n",
    b"GET /a HTTP/1.1\r\nHost: x\r\nNo colon here\r\nX-After: 1\r\n\r\n",
    b"GET /a HTTP/1.1\r\n: empty name\r\nX-After: 1\r\n\r\n",
    b"GET /a HTTP/1.1\r\nHost: x\nX-LF: 1\n\n",
    b"GET /a HTTP/1.1\r\nX-Lat: caf\xe9\r\nX-Ctl: a\x0bb\r\nX-Cr: a\rb\r\n\r\n",
    b"GET /a HTTP/1.1\r\nX-Sp:   lead and trail  \r\nX-Tab:\t\tv\t\r\nX-Empty:\r\n\r\n",
    b"GET /a HTTP/1.1\r\nX-A : spaced name\r\nX-B:tight\r\nFrom: me\r\n\r\n",
    b"GET /a HTTP/1.1\r\nFrom x\r\nHost: x\r\n\r\n",
    b"GET /a HTTP/1.1\r\nConnection: Close\r\n\r\n",
    b"GET /a HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
    b"GET /a HTTP/1.0\r\n\r\n",
    b"POST /a HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\nabc",
    b"POST /a HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    b"GET //a//b HTTP/1.1\r\n\r\n",
    b"GET\t/a  HTTP/1.1 \r\n\r\n",
    b"GET /a\r\n\r\n",
    b"POST /a\r\n\r\n",
    b"GET /a HTTP/2.0\r\n\r\n",
    b"GET /a HTTP/1.2\r\n\r\n",
    b"GET /a http/1.1\r\n\r\n",
    b"GET /a HTTP/1.1 extra\r\n\r\n",
    b"GET /a\x85 HTTP/1.1\r\n\r\n",
    b"GET /a HTTP/1.1\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n",
    b"GET /a HTTP/1.1\r\n" + b"".join(b"X-%d: %d\r\n" % (i, i) for i in range(101)) + b"\r\n",
    b"GET /a HTTP/1.1\r\n" + b"".join(b"X-%d: %d\r\n" % (i, i) for i in range(99)) + b"\r\n",
    b"GET /a HTTP/1.1\r\nHost: x\r\nX-Eof: 1",
    b"GET /a HTTP/1.1\r\nHost: x\r\n",
])
def test_requests_are_parsed_as_the_standard_library_parses_them(request_bytes: bytes) -> None:
    # KeepAliveHandler reads plain request lines and headers itself (a tenth of
    # kumo-api's CPU on a small read went to the email parser): same outcome.
    assert _parsed(_Ours, request_bytes) == _parsed(_Reference, request_bytes)
