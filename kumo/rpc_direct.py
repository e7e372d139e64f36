"""Hot calls over RabbitMQ's direct reply-to: one publish and one delivery per call.

An oslo.messaging call crosses four threads and two pooled connections on
its way (the caller, its connection's reply poller, the server's listener and
executor thread, a pooled connection for the reply), serializes the message
twice over (the payload inside an envelope) and routes the reply through a
per-caller exchange. Measured on a 2-core machine against a local RabbitMQ,
an echo of a server-sized dict cost 5.2 ms of wall time, 1.8 ms of the
caller's CPU and 2.1 ms of the server's; the same exchange over one channel
per side with direct reply-to cost 1.1 ms, 0.36 ms and 0.31 ms. For
``GET /servers/{id}`` that transport was most of the request (bench/README.md,
"Direct calls").

So the calls made most (a client's :attr:`RPCAPIBase.DIRECT
<kumo.rpc.RPCAPIBase.DIRECT>`, served by a manager's ``DIRECT_CALLS``: the
API's reads, the boot's and the delete's writes) go here first:

* :class:`DirectServer` (in every worker of the serving daemon) runs a few
  threads, each with its own connection and channel, consuming the topic's
  ``<topic>.direct`` queue with a prefetch of one (the broker hands each
  request to a free thread). A thread runs the method through the service's
  dispatcher (the same endpoints, version checks, serializer and in-flight
  count as its oslo.messaging server), publishes the answer to the request's
  ``reply_to`` and acks it. The queue is not durable and goes away with its
  last consumer.
* :class:`DirectClient` (per process) keeps a pool of connections, one
  caller at a time on each: it publishes the request ``mandatory``, with
  ``reply_to`` ``amq.rabbitmq.reply-to`` and a TTL, and reads its own
  channel until the answer comes.

Nothing here replaces oslo.messaging: whenever the direct path cannot answer
— no server consumes the queue (an older or stopped daemon, the broker just
restarted: the broker returns the request at once), the publish fails, the
server does not serve the method directly (another release) — the caller
raises :class:`Unavailable` and :meth:`kumo.rpc.RPCAPIBase.call` sends the
call the usual way. When the request went out but no answer came within
:func:`wait_bound` or the connection failed meanwhile (:class:`NoAnswer`: it
may have run), a read is sent again the usual way, as after oslo.messaging's
call monitor, except by a caller that never sends a call twice (kumo-api),
which fails it; so does a write that is not idempotent (``"once"`` in the
request), which a server also never runs twice (:meth:`DirectServer.answer`).
``[DEFAULT] rpc_direct_calls`` turns the path off.
"""

from __future__ import annotations

import os
import select
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import amqp
import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log as logging
from oslo_messaging._drivers import common as driver_common
from oslo_messaging.rpc import dispatcher as rpc_dispatcher

from kumo import exception, fast_json

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

#: RabbitMQ's pseudo-queue for answers to the channel that published a request.
REPLY_TO = "amq.rabbitmq.reply-to"
_JSON = "application/json"
#: Seconds a server thread waits on its socket before it looks at its stop flag.
_POLL = 1.0
#: Heartbeat of a server thread's connection (seconds; RabbitMQ closes one that misses two).
_HEARTBEAT = 30
#: Seconds to open a connection before the direct path gives up for this call.
_CONNECT_TIMEOUT = 2.0
#: Idle client connections kept per process.
_POOL_SIZE = 16
#: Seconds between two attempts of a server thread to reach the broker.
_RECONNECT_MIN, _RECONNECT_MAX = 1.0, 10.0
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError, amqp.exceptions.AMQPError, amqp.exceptions.RecoverableConnectionError,
    amqp.exceptions.IrrecoverableConnectionError)


#: Failures that mean "not on this path": the call goes the usual way.
_NOT_SERVED_HERE = frozenset({"NoSuchMethod", "UnsupportedVersion"})


class Unavailable(Exception):
    """The direct path cannot answer this call, which did not run; send it the
    usual way."""


class NoAnswer(Unavailable):
    """The request went out but no answer came (none within the bound, or the
    connection failed after the publish): it may have run. A read may be sent
    again the usual way; a caller that never sends a call twice fails it."""


def queue_name(topic: str) -> str:
    return f"{topic}.direct"


def wait_bound(timeout: float) -> float:
    """Seconds a caller waits for a direct answer within a call of ``timeout``: the
    call monitor's bound (``rpc_call_monitor_timeout``), as long as a usual call
    waits without a sign of life of its server; the rest of ``timeout`` is left for
    the usual path."""
    monitor = CONF.rpc_call_monitor_timeout or timeout
    return max(0.1, min(timeout, monitor))


def _connect(url: messaging.TransportURL, heartbeat: int = 0) -> amqp.Connection:
    """A connection to the first host of ``url`` that answers."""
    error: BaseException | None = None
    for host in url.hosts or [messaging.TransportHost()]:
        connection = amqp.Connection(
            f"{host.hostname or 'localhost'}:{host.port or 5672}",
            userid=host.username or "guest", password=host.password or "guest",
            virtual_host=url.virtual_host or "/", heartbeat=heartbeat,
            connect_timeout=_CONNECT_TIMEOUT)
        try:
            connection.connect()
            return connection
        except _CONNECTION_ERRORS as exc:
            error = exc
            _close(connection)
    raise Unavailable(f"no RabbitMQ host answered: {error}")


def _close(connection: amqp.Connection) -> None:
    try:
        connection.collect()  # drop the socket without a close handshake
    except Exception:  # noqa: BLE001 - it is being thrown away
        pass


def _close_gracefully(connection: amqp.Connection) -> None:
    """Close with the broker's handshake (it requeues what was not acked at once),
    waiting for it at most :data:`_CONNECT_TIMEOUT` seconds."""
    try:
        connection.transport.sock.settimeout(_CONNECT_TIMEOUT)
        connection.close()
    except Exception:  # noqa: BLE001 - closing anyway
        _close(connection)


# --- the caller's side ----------------------------------------------------------------


class _Link:
    """One pooled connection and channel; one caller at a time uses it."""

    def __init__(self, connection: amqp.Connection) -> None:
        self.connection = connection
        self.channel = connection.channel()
        self.answers: dict[str, bytes] = {}
        self.returned: set[str] = set()
        self.channel.events["basic_return"].add(self._on_return)
        self.channel.basic_consume(REPLY_TO, callback=self._on_answer, no_ack=True)

    def _on_answer(self, message: amqp.Message) -> None:
        self.answers[message.properties.get("correlation_id", "")] = message.body

    def _on_return(self, exc: Any, exchange: str, routing_key: str,
                   message: amqp.Message) -> None:
        self.returned.add(message.properties.get("correlation_id", ""))

    def alive(self) -> bool:
        """Whether the idle connection is still usable: nothing is to be read on it
        (no heartbeats, no late answers: what comes is the broker closing it, as
        at a restart, or the end of the stream)."""
        sock = getattr(self.connection.transport, "sock", None)
        if sock is None:
            return False
        poller = select.poll()  # not select(): no limit on the descriptor's number
        try:
            poller.register(sock, select.POLLIN)
            return not poller.poll(0)
        except (OSError, ValueError):
            return False

    def call(self, queue: str, body: bytes, wait: float) -> bytes:
        """Publish ``body`` to ``queue`` and return the answer's body.

        :raises Unavailable: the publish failed, or the broker returned the
            request (nothing consumes ``queue``).
        :raises NoAnswer: no answer within ``wait`` seconds, or the connection
            failed while waiting.
        """
        correlation = uuid.uuid4().hex
        try:
            self.channel.basic_publish(
                amqp.Message(body, content_type=_JSON, correlation_id=correlation,
                             reply_to=REPLY_TO, expiration=str(max(1, int(wait * 1000)))),
                exchange="", routing_key=queue, mandatory=True)
        except _CONNECTION_ERRORS as exc:
            raise Unavailable(f"the publish failed: {exc}") from exc
        deadline = time.monotonic() + wait
        while True:
            answer = self.answers.pop(correlation, None)
            if answer is not None:
                return answer
            if correlation in self.returned:
                raise Unavailable(f"nothing consumes {queue}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise NoAnswer(f"no answer on {queue} within {wait:.1f}s")
            try:
                self.connection.drain_events(timeout=left)
            except TimeoutError:
                continue
            except _CONNECTION_ERRORS as exc:
                raise NoAnswer(f"the connection failed: {exc}") from exc


class DirectClient:
    """The direct path of one process: a pool of connections to the broker."""

    def __init__(self, url: messaging.TransportURL) -> None:
        self.url = url
        self._idle: list[_Link] = []
        self._lock = threading.Lock()

    def call(self, topic: str, request: dict[str, Any], wait: float) -> dict[str, Any]:
        """Send ``request`` to ``topic``'s direct server; its answer (``result`` or
        ``failure``). :raises Unavailable: ask the usual way instead."""
        body = fast_json.dumps(request)
        link = self._checkout()
        try:
            answer = link.call(queue_name(topic), body, wait)
        except Unavailable:
            _close(link.connection)  # an answer may still come: not for the next caller
            raise
        self._checkin(link)
        return fast_json.loads(answer)

    def _checkout(self) -> _Link:
        while True:
            with self._lock:
                link = self._idle.pop() if self._idle else None
            if link is None:
                break
            if link.alive():
                return link
            _close(link.connection)  # the broker closed it (a restart): try the next
        connection = _connect(self.url)
        try:
            return _Link(connection)
        except _CONNECTION_ERRORS as exc:
            _close(connection)
            raise Unavailable(f"could not open a channel: {exc}") from exc

    def _checkin(self, link: _Link) -> None:
        with self._lock:
            if len(self._idle) < _POOL_SIZE:
                self._idle.append(link)
                return
        _close(link.connection)

    def close(self) -> None:
        with self._lock:
            links, self._idle = self._idle, []
        for link in links:
            _close(link.connection)


_client: DirectClient | None = None
_client_pid: int | None = None
_client_lock = threading.Lock()


def client(url: messaging.TransportURL) -> DirectClient:
    """This process's :class:`DirectClient` to the broker of ``url`` (a forked worker
    makes its own)."""
    global _client, _client_pid
    with _client_lock:
        if _client is None or _client_pid != os.getpid() or _client.url != url:
            _client, _client_pid = DirectClient(url), os.getpid()
        return _client


def reset() -> None:
    """Forget this process's client and close its connections (tests, a new config)."""
    global _client
    with _client_lock:
        old, _client = _client, None
    if old is not None and _client_pid == os.getpid():
        old.close()


# --- the server's side ----------------------------------------------------------------


class _Incoming:
    """What the RPC dispatcher reads of a request."""

    __slots__ = ("message", "ctxt", "client_timeout")

    def __init__(self, request: dict[str, Any]) -> None:
        self.message = {"method": request["method"], "args": request.get("args") or {},
                        "version": request.get("version") or "1.0",
                        "namespace": request.get("namespace")}
        self.ctxt = request.get("context") or {}
        self.client_timeout = None  # no call-monitor heartbeats on this path


class DirectServer:
    """Serves ``methods`` of ``dispatcher`` on the ``<topic>.direct`` queue with
    ``threads`` threads (see the module's docstring). A :class:`kumo.service.Listener`."""

    def __init__(self, url: messaging.TransportURL, topic: str, dispatcher: Any,
                 methods: Iterable[str], threads: int) -> None:
        self.queue = queue_name(topic)
        self._dispatcher = dispatcher
        self._methods = frozenset(methods)
        self._count = threads
        self._url = url
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._consuming = 0
        self._consuming_changed = threading.Condition()

    def start(self) -> None:
        self._stopping.clear()
        for number in range(self._count):
            thread = threading.Thread(target=self._serve, daemon=True,
                                      name=f"rpc-direct-{number}")
            self._threads.append(thread)
            thread.start()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until every thread consumes (tests); False after ``timeout`` seconds."""
        with self._consuming_changed:
            return self._consuming_changed.wait_for(
                lambda: self._consuming == self._count, timeout)

    def _note_consuming(self, change: int) -> None:
        with self._consuming_changed:
            self._consuming += change
            self._consuming_changed.notify_all()

    def stop(self) -> None:
        """Stop taking requests; a request being handled still gets its answer."""
        self._stopping.set()

    def wait(self, timeout: float | None = None) -> None:
        for thread in self._threads:
            thread.join(timeout)
        self._threads = [thread for thread in self._threads if thread.is_alive()]

    def _serve(self) -> None:
        delay = _RECONNECT_MIN
        while not self._stopping.is_set():
            try:
                connection = _connect(self._url, heartbeat=_HEARTBEAT)
            except Unavailable as exc:
                LOG.warning("Direct calls on %s: %s; retrying in %.0fs", self.queue, exc,
                            delay)
                self._stopping.wait(delay)
                delay = min(delay * 2, _RECONNECT_MAX)
                continue
            delay = _RECONNECT_MIN
            try:
                self._consume(connection)
            except _CONNECTION_ERRORS as exc:
                if not self._stopping.is_set():
                    LOG.warning("Direct calls on %s lost the broker (%s); reconnecting",
                                self.queue, exc)
            finally:
                if self._stopping.is_set():
                    _close_gracefully(connection)
                else:
                    _close(connection)

    def _consume(self, connection: amqp.Connection) -> None:
        channel = connection.channel()
        channel.basic_qos(0, 1, False)
        channel.queue_declare(self.queue, durable=False, auto_delete=True)
        channel.basic_consume(self.queue,
                              callback=lambda message: self._handle(channel, message))
        self._note_consuming(1)
        try:
            while not self._stopping.is_set():
                try:
                    connection.drain_events(timeout=_POLL)
                except TimeoutError:
                    connection.heartbeat_tick()
        finally:
            self._note_consuming(-1)

    def _handle(self, channel: Any, message: amqp.Message) -> None:
        properties = message.properties
        answer = self.answer(message.body,
                             redelivered=bool(message.delivery_info.get("redelivered")))
        reply_to = properties.get("reply_to")
        if reply_to:
            channel.basic_publish(
                amqp.Message(answer, content_type=_JSON,
                             correlation_id=properties.get("correlation_id")),
                exchange="", routing_key=reply_to)
        channel.basic_ack(message.delivery_tag)

    def answer(self, body: bytes | str, redelivered: bool = False) -> bytes:
        """The answer (JSON) to one request's body: ``{"result": ...}``, or
        ``{"failure": ...}`` as oslo.messaging serializes a remote exception.

        A request that must run at most once (``"once"``: a write that is not
        idempotent) and comes again (``redelivered``: the broker gave it to a thread
        whose connection failed before its ack) may have run: it is answered
        ``{"lost": true}`` without running.
        """
        try:
            request = fast_json.loads(body)
            method = request["method"]
            if method not in self._methods:
                raise rpc_dispatcher.NoSuchMethod(method)
            if redelivered and request.get("once"):
                LOG.warning("A direct %s came again and may have run; not run twice",
                            method)
                return fast_json.dumps({"lost": True})
            return fast_json.dumps({"result": self._dispatcher.dispatch(_Incoming(request))})
        except rpc_dispatcher.ExpectedException as expected:
            LOG.debug("Expected exception during direct call handling (%s)", expected)
            failure = expected.exc_info
        except exception.KumoException as error:  # a 404 and the like: the caller's answer
            LOG.debug("Direct call failed: %s", error)
            failure = sys.exc_info()
        except Exception:
            LOG.exception("Exception during direct call handling")
            failure = sys.exc_info()
        try:
            return fast_json.dumps({"failure": driver_common.serialize_remote_exception(
                failure)})
        finally:
            del failure


def call(url: messaging.TransportURL, topic: str, request: dict[str, Any], wait: float,
         rebuild: Callable[[str], BaseException]) -> Any:
    """Send ``request`` to ``topic``'s direct server at the broker of ``url`` and
    return its ``result``, or raise ``rebuild(failure)`` (the remote exception).

    :raises Unavailable: ask the usual way instead.
    """
    answer = client(url).call(topic, request, wait)
    if answer.get("lost"):
        raise NoAnswer(f"{request['method']} may have run before a connection failed")
    if "failure" in answer:
        failure = answer["failure"]
        if fast_json.loads(failure).get("class") in _NOT_SERVED_HERE:
            # A server of another release: it may serve the method the usual way.
            raise Unavailable(f"{request['method']} is not served directly there")
        raise rebuild(failure)
    return answer.get("result")
