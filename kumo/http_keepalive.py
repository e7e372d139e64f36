"""HTTP/1.1 persistent connections for wsgiref's request handler (kumo.wsgi).

wsgiref answers every request in HTTP/1.0 and closes the connection: each
request then costs its client a TCP connection and the server an accept and
a new thread (kumo.wsgi starts one per connection). For a small read such
as ``GET /servers/{id}`` that was a tenth of kumo-api's CPU (bench/README.md,
"API read path"). :class:`KeepAliveHandler` serves the requests of a
connection one after the other on the same thread until the client closes
it, asks for ``Connection: close``, stays idle :data:`IDLE_TIMEOUT` seconds,
or the server stops (an idle connection is closed within
:data:`STOP_POLL` seconds of the stop; a request being served is finished
first, answered with ``Connection: close``).

A connection is kept only while each exchange is framed: the response has a
Content-Length (wsgiref sets it for a one-piece body; webob always does) and
the request body was read to its Content-Length (what the application left
unread, up to :data:`MAX_DRAIN` bytes, is read and dropped). Anything else
(a chunked request, an application error after the headers went out) closes
the connection after the response, as HTTP/1.0 did; a request whose
Content-Length is not one plain number is answered 400 and its connection
closed. A read or write that makes no progress for :data:`IDLE_TIMEOUT`
seconds ends the connection, so a stalled client holds a worker thread (and
the server's stop) that long at most.
"""

from __future__ import annotations

import email.parser
import re
import selectors
import socket
import time
from typing import Any
from wsgiref import simple_server
from wsgiref.handlers import format_date_time

#: Seconds a connection may stay idle between two requests.
IDLE_TIMEOUT = 60.0
#: Seconds between two looks at whether the server is stopping, while idle.
STOP_POLL = 0.25
#: Bytes of a request body the application did not read that are read and dropped
#: to keep the connection (beyond that it is closed).
MAX_DRAIN = 65536


class _Body:
    """``wsgi.input`` limited to the request's Content-Length (so that reading to the
    end never waits for the next request), counting what is left unread."""

    def __init__(self, stream: Any, length: int) -> None:
        self._stream = stream
        self.left = length

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > self.left:
            size = self.left
        data = self._stream.read(size) if size else b""
        self.left -= len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > self.left:
            size = self.left
        data = self._stream.readline(size) if size else b""
        self.left -= len(data)
        return data

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        lines = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                return lines

    def __iter__(self) -> Any:
        return iter(self.readline, b"")


def _content_length(values: list[str]) -> int | None:
    """The request body's length from its Content-Length headers (0 without one);
    None unless they all agree on one plain decimal number (no sign, space or ``_``,
    which int() would take)."""
    lengths = {value.strip() for value in values}
    if not lengths:
        return 0
    if len(lengths) > 1:
        return None
    (length,) = lengths
    if not (length.isascii() and length.isdigit()):
        return None
    return int(length)


#: A header line the email parser reads as ``name: value`` and nothing else: a name of
#: the characters its header pattern takes, a value of printable ASCII and tabs (none
#: of the characters str.splitlines would also split at), CRLF-ended.
_SIMPLE_HEADER = re.compile(rb"[!-9;-~]+:[\t -~]*\r\n")
#: The header lines http.client reads at most (its _MAXLINE and _MAXHEADERS).
_MAX_LINE = 65536
_MAX_HEADERS = 100


def _simple_headers(lines: list[bytes], message_class: Any) -> Any:
    """``lines`` (ending with the blank line) as the message the standard library's
    email parser makes of them, when every one is a plain ``name: value`` line;
    None otherwise (folded, malformed or non-ASCII lines are left to that parser).

    What the parser does with such a line: the name up to the first colon, the
    value after it with leading spaces and tabs and the line end removed, stored
    as they are (``set_raw``). Parsing them here costs a tenth of its calls."""
    message = message_class()
    match = _SIMPLE_HEADER.fullmatch
    for line in lines[:-1]:
        if match(line) is None:
            return None
        name, value = line.decode("ascii").split(":", 1)
        message.set_raw(name, value.lstrip(" \t").rstrip("\r\n"))
    return message


_date: tuple[int, str] = (0, "")


def _http_date() -> str:
    """wsgiref's Date text for now, formatted once a second."""
    global _date
    now = time.time()
    second, text = _date
    if int(now) != second:
        text = format_date_time(now)
        _date = (int(now), text)
    return text


class _ServerHandler(simple_server.ServerHandler):
    """wsgiref's handler speaking HTTP/1.1; notes whether the exchange was framed."""

    http_version = "1.1"
    completed = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: list[bytes] = []

    # The status line, the headers and the body go out in one send: in separate
    # ones a kept connection would wait on the client's delayed ACK (Nagle).
    def _write(self, data: bytes) -> None:
        self._pending.append(data)

    def _flush(self) -> None:
        # (Not SimpleHandler's _flush: it replaces itself by stdout.flush on first use.)
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            super()._write(data)
        self.stdout.flush()

    def finish_content(self) -> None:
        super().finish_content()
        self._flush()  # an empty body: the headers are still waiting

    def cleanup_headers(self) -> None:
        super().cleanup_headers()
        handler = self.request_handler
        status = int(str(self.status).split(" ", 1)[0])
        if ("Content-Length" not in self.headers and status not in (204, 304)
                and self.environ.get("REQUEST_METHOD") != "HEAD"):
            handler.close_connection = True  # the body ends where the connection does
        if getattr(handler.server, "stopping", False):
            handler.close_connection = True
        if handler.close_connection:
            self.headers["Connection"] = "close"

    def finish_response(self) -> None:
        result = self.result
        if (type(result) is list and len(result) == 1 and type(result[0]) is bytes
                and self.status and not self.headers_sent and self.origin_server
                and self.client_is_modern()):
            self._send_whole(result[0])
        else:
            super().finish_response()
        self.completed = True

    def _send_whole(self, body: bytes) -> None:
        """What wsgiref's finish_response sends for a one-piece body (a webob
        response's), composed at once: the status line, Date and Server unless the
        application set them, the headers (with the Content-Length of the body), the
        body. wsgiref gets there through a dozen calls and a scan of the headers for
        each name it looks up: a tenth of kumo-api's own CPU on a small read."""
        self.bytes_sent = len(body)
        self.cleanup_headers()
        self.headers_sent = True
        headers = self.headers
        names = {name.lower() for name in headers.keys()}
        head = f"HTTP/{self.http_version} {self.status}\r\n"
        if "date" not in names:
            head += f"Date: {_http_date()}\r\n"
        if self.server_software and "server" not in names:
            head += f"Server: {self.server_software}\r\n"
        self._write((head + str(headers)).encode("iso-8859-1") + body)
        self._flush()
        self.close()


class KeepAliveHandler(simple_server.WSGIRequestHandler):
    """A WSGIRequestHandler that keeps HTTP/1.1 connections (see the module's docstring).

    The server class must have a ``stopping`` attribute that turns true when it
    stops (kumo.wsgi's does).
    """

    protocol_version = "HTTP/1.1"
    # A read or write that makes no progress this long ends the connection: a client
    # that starts a request and stalls holds neither a thread nor the server's stop.
    timeout = IDLE_TIMEOUT

    def setup(self) -> None:
        super().setup()
        # Every response is one send (see _ServerHandler): nothing to coalesce.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        self.close_connection = True
        self._handle_one()
        if self.close_connection:
            return
        with selectors.DefaultSelector() as selector:
            selector.register(self.connection, selectors.EVENT_READ)
            while not self.close_connection and self._next_request(selector):
                self._handle_one()

    def _next_request(self, selector: selectors.BaseSelector) -> bool:
        """Wait until the client sends more; False when it closed the connection, idles
        out, or the server stops."""
        deadline = time.monotonic() + IDLE_TIMEOUT
        while not getattr(self.server, "stopping", False):
            waiting = self._waiting()
            if waiting is not None:
                return waiting
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if selector.select(min(remaining, STOP_POLL)) and not getattr(
                    self.server, "stopping", False):
                return self._arrived()
        return False

    def _arrived(self) -> bool:
        """Once the socket is readable: True when bytes of a next request came, False
        at the end of the stream or a reset. (What :meth:`_waiting` answers, without
        its two switches of the socket's mode: the read cannot wait.)"""
        try:
            return bool(self.rfile.peek(1))
        except OSError:
            return False

    def _waiting(self) -> bool | None:
        """Without waiting: True when bytes of a next request are buffered or have
        arrived, False when the client closed the connection, None when neither."""
        timeout = self.connection.gettimeout()
        self.connection.setblocking(False)
        try:
            if self.rfile.peek(1):
                return True
            # Nothing buffered: at the end of the stream, or not yet sent?
            return bool(self.connection.recv(1, socket.MSG_PEEK))
        except BlockingIOError:
            return None
        except OSError:
            return False  # reset: nothing more will come
        finally:
            self.connection.settimeout(timeout)

    def parse_request(self) -> bool:
        """BaseHTTPRequestHandler's parse_request, its common case made cheap: a
        request line of method, target and ``HTTP/1.1`` or ``HTTP/1.0`` and plain
        header lines are read here, with the same outcome (attributes, headers,
        the keep-alive decision, ``Expect: 100-continue``); any other request line
        goes to the standard one whole, other header lines to its email parser.
        That parser was a tenth of kumo-api's own CPU on a small read."""
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = requestline.split()
        if len(words) != 3 or words[2] not in ("HTTP/1.1", "HTTP/1.0"):
            return super().parse_request()
        self.requestline = requestline
        self.command, path, version = words
        self.request_version = version
        self.close_connection = version != "HTTP/1.1"
        if path.startswith("//"):
            path = "/" + path.lstrip("/")  # as the standard handler: one slash
        self.path = path
        lines = []
        while True:
            line = self.rfile.readline(_MAX_LINE + 1)
            if len(line) > _MAX_LINE:
                self.send_error(431, "Line too long",
                                f"got more than {_MAX_LINE} bytes when reading header line")
                return False
            lines.append(line)
            if len(lines) > _MAX_HEADERS:
                self.send_error(431, "Too many headers",
                                f"got more than {_MAX_HEADERS} headers")
                return False
            if line in (b"\r\n", b"\n", b""):
                break
        headers = _simple_headers(lines, self.MessageClass) if line else None
        if headers is None:
            headers = email.parser.Parser(_class=self.MessageClass).parsestr(
                b"".join(lines).decode("iso-8859-1"))
        self.headers = headers
        connection = headers.get("Connection", "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive":
            self.close_connection = False
        if (version == "HTTP/1.1" and headers.get("Expect", "").lower() == "100-continue"
                and not self.handle_expect_100()):
            return False
        return True

    def _handle_one(self) -> None:
        """One request and its response (wsgiref's handle(), for a kept connection)."""
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except TimeoutError:
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.requestline = ""
            self.request_version = ""
            self.command = ""
            self.send_error(414)
            self.close_connection = True
            return
        if not self.parse_request():  # sets close_connection from the request
            self.close_connection = True
            return
        if self.request_version != "HTTP/1.1" or getattr(self.server, "stopping", False):
            self.close_connection = True
        environ = self.get_environ()
        body: _Body | None = None
        length = _content_length(self.headers.get_all("Content-Length") or [])
        if self.headers.get_all("Transfer-Encoding"):
            stdin: Any = self.rfile  # wsgiref never de-chunked: close after it
            self.close_connection = True
        elif length is None:
            # No sure end of the body (a proxy in front could split it elsewhere).
            self.close_connection = True
            self.send_error(400, "Bad Content-Length")
            return
        else:
            body = _Body(self.rfile, length)
            stdin = body
        handler = _ServerHandler(stdin, self.wfile, self.get_stderr(), environ,
                                 multithread=True)
        handler.request_handler = self
        handler.run(self.server.get_app())
        if not handler.completed:
            self.close_connection = True
        elif body is not None and body.left and not self.close_connection:
            if body.left > MAX_DRAIN:
                self.close_connection = True
            else:
                try:
                    while body.left and body.read(min(body.left, 8192)):
                        pass
                except OSError:  # the client stalled (timeout) or went away
                    pass
                if body.left:
                    self.close_connection = True
