"""The message bus: one oslo.messaging transport per process, clients and servers.

Every RPC client derives from :class:`RPCAPIBase`, which gives each call a
timeout and turns an expired one into :class:`kumo.exception.ServiceUnavailable`.
The request context and versioned objects are (de)serialized on the way.

A server that dies (SIGKILL, OOM) loses the calls it had taken: RabbitMQ
hands an RPC message over before it runs. So every call also asks for the
server's heartbeats (``[DEFAULT] rpc_call_monitor_timeout``): without them it
fails fast, and an idempotent call (:meth:`RPCAPIBase.is_idempotent`) is sent
again, to the restarted server, within the same overall timeout.

On ``rabbit://`` the transport is :mod:`kumo.rpc_transport`'s: calls, replies
and heartbeats go out without publisher confirms (the timeout and call monitor
above cover a lost one), casts and notifications with them, and replies are
consumed without acks. A server runs its handlers on a :class:`WorkerPool`.
The calls a client lists in :attr:`RPCAPIBase.DIRECT` try RabbitMQ's direct
reply-to first (:mod:`kumo.rpc_direct`, served by :func:`get_direct_server`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log as logging
from oslo_messaging._drivers import common as driver_common
from oslo_messaging.rpc import dispatcher as rpc_dispatcher
from oslo_messaging.rpc import server as rpc_server

from kumo import context as kumo_context
from kumo import exception, rpc_direct, rpc_transport
from kumo.objects import base as objects_base

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

# Exceptions from these modules are re-raised as their own class by the caller.
ALLOWED_EXMODS = ["kumo.exception"]

_lock = threading.Lock()
_transport: messaging.Transport | None = None
_notification_transport: messaging.Transport | None = None


def init(conf: cfg.ConfigOpts = CONF, url: str | None = None) -> None:
    """Create this process's transports (idempotent).

    ``url`` overrides ``transport_url`` (unit tests pass ``fake://``).
    """
    global _transport, _notification_transport
    with _lock:
        if _transport is None:
            _transport = rpc_transport.get_rpc_transport(conf, url, ALLOWED_EXMODS)
        if _notification_transport is None:
            _notification_transport = messaging.get_notification_transport(
                conf, url=url, allowed_remote_exmods=ALLOWED_EXMODS
            )


def cleanup() -> None:
    """Close the transports (tests, and a process that is exiting)."""
    global _transport, _notification_transport
    with _lock:
        for transport in (_transport, _notification_transport):
            if transport is not None:
                transport.cleanup()
        _transport = _notification_transport = None


def get_transport() -> messaging.Transport:
    if _transport is None:
        init()
    assert _transport is not None
    return _transport


# The key of the one-entry dict a :class:`Plain` value travels as.
PLAIN_KEY = "kumo.plain"


class Plain:
    """A value made only of JSON types (dicts, lists, strings, numbers, None) that
    crosses the bus as it is.

    The versioned-object serializer walks every list and dict of a value to find
    objects in it, on both sides; for a 1,000-server listing that walk costs more
    than the query. A handler that knows its answer holds no objects wraps it in
    ``Plain``, and the caller gets the bare value back (datetimes must already be
    strings: nothing converts them).
    """

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class RequestContextSerializer(messaging.Serializer):
    """Carries the request context and kumo's versioned objects across RPC."""

    def __init__(self) -> None:
        self._objects = objects_base.KumoObjectSerializer()

    def serialize_entity(self, ctxt: Any, entity: Any) -> Any:
        if type(entity) is Plain:
            return {PLAIN_KEY: entity.value}
        return self._objects.serialize_entity(ctxt, entity)

    def deserialize_entity(self, ctxt: Any, entity: Any) -> Any:
        if type(entity) is dict and len(entity) == 1 and PLAIN_KEY in entity:
            return entity[PLAIN_KEY]
        return self._objects.deserialize_entity(ctxt, entity)

    def serialize_context(self, ctxt: Any) -> dict[str, Any]:
        return ctxt.to_dict()

    def deserialize_context(self, ctxt: dict[str, Any]) -> kumo_context.RequestContext:
        # Building the context stores it thread-locally, so oslo.log stamps the
        # caller's request id on every line this worker thread logs.
        return kumo_context.RequestContext.from_dict(ctxt, overwrite=True)


class InFlight:
    """Counts the RPC requests whose handler is running.

    A request's reply is sent after its handler returns; while the broker is
    away oslo.messaging retries a reply without bound. A graceful stop waits
    for the handlers (work in flight), and for the replies only a short while:
    see :class:`kumo.service.Service.stop` and docs/decisions.md.
    """

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def __enter__(self) -> InFlight:
        with self._idle:
            self._count += 1
        return self

    def __exit__(self, *exc_info: Any) -> None:
        with self._idle:
            self._count -= 1
            if self._count == 0:
                self._idle.notify_all()

    @property
    def count(self) -> int:
        with self._idle:
            return self._count

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until no handler runs; False if ``timeout`` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout)


class _Watched:
    """One call :class:`CallMonitor` heartbeats for."""

    __slots__ = ("incoming", "interval", "due", "sending")

    def __init__(self, incoming: Any, interval: float, due: float) -> None:
        self.incoming = incoming
        self.interval = interval
        self.due = due
        self.sending = False


class CallMonitor:
    """Sends the call-monitor heartbeats of every running call of one RPC server.

    A caller that asked for them (``call_monitor_timeout``, see
    :meth:`RPCAPIBase.call`) gets a heartbeat every half of that timeout while
    its call runs, as oslo.messaging's dispatcher sends them. That dispatcher
    starts an OS thread per call to do it, which costs more than a short call
    itself; one thread per server sleeps here until the oldest call is due
    instead, and a call shorter than its interval costs a dict insert and pop.

    A due heartbeat is sent by a short-lived daemon thread of its own (at most
    :attr:`SENDERS` at once), so one that blocks (its pooled connection is
    stuck, the broker is away and it waits for it) delays no other call's. A
    call's heartbeats stop when it returns (a heartbeat being sent then is
    waited for, so none follows the reply), when one fails to send (the broker
    or the caller is gone), and when the process dies. The thread ends after
    an idle round (the shortest interval) in which no call came, as after its
    RPC server stopped, or on :meth:`stop`; the next call starts it again.
    """

    #: Heartbeats sent at the same time, at most; the others wait for a sender.
    SENDERS = 8

    def __init__(self, name: str = "rpc-call-monitor") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # the thread waits for work
        self._sent = threading.Condition(self._lock)  # a returning call waits for its beat
        self._calls: dict[int, _Watched] = {}
        self._next = 0
        self._senders = 0  # heartbeats being sent
        self._wake_at: float | None = None  # when the thread wakes; None: when notified
        # The shortest interval seen: with no call to watch the thread still wakes
        # this often, so a new call (due an interval from now, not sooner) never
        # has to wake it up, which would cost a thread switch per call.
        self._idle: float | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._watches = 0  # calls watched so far: the thread ends after an idle round

    @staticmethod
    def interval(incoming: Any) -> float | None:
        """Seconds between two heartbeats of ``incoming``; None when it asked for none.

        Like oslo.messaging: half the caller's whole-second timeout, and none
        (with a warning) when that is under a second.
        """
        timeout = incoming.client_timeout
        if not timeout:
            return None
        try:
            interval = int(timeout) / 2
        except (TypeError, ValueError, OverflowError):
            interval = 0
        if interval < 1:
            LOG.warning("Client provided an invalid timeout value of %r", timeout)
            return None
        return interval

    def watch(self, incoming: Any, interval: float) -> int:
        """Heartbeat for ``incoming`` every ``interval`` seconds until :meth:`done`."""
        due = time.monotonic() + interval
        with self._lock:
            self._next += 1
            token = self._next
            self._watches += 1
            self._calls[token] = _Watched(incoming, interval, due)
            if self._idle is None or interval < self._idle:
                self._idle = interval
            # Not alive: never started, stopped, or this is a forked child of the
            # process that started it (threads do not survive a fork).
            self._stopping = False  # a stop() racing with this call is undone
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self._name,
                                                daemon=True)
                self._thread.start()
            elif self._wake_at is None or due < self._wake_at:
                self._wake.notify()
        return token

    def done(self, token: int) -> None:
        """Stop heartbeating a call; returns once no heartbeat of it is being sent."""
        with self._lock:
            call = self._calls.pop(token, None)
            while call is not None and call.sending:
                self._sent.wait()

    def stop(self, timeout: float | None = None) -> None:
        """End the thread (a later :meth:`watch` starts it again); waits at most
        ``timeout`` seconds for it. Heartbeats being sent finish on their own."""
        with self._lock:
            thread = self._thread
            self._stopping = True
            self._wake.notify()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def watched(self) -> int:
        with self._lock:
            return len(self._calls)

    @property
    def running(self) -> bool:
        """Whether the monitor's thread is alive."""
        with self._lock:
            return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        watches = -1
        with self._lock:
            while not self._stopping:
                now = time.monotonic()
                room = self.SENDERS - self._senders
                due = [(token, call) for token, call in self._calls.items()
                       if not call.sending and call.due <= now][:max(room, 0)]
                for token, call in due:
                    call.sending = True
                    self._senders += 1
                    threading.Thread(target=self._beat, args=(token, call),
                                     name=f"{self._name}-beat", daemon=True).start()
                if due:
                    continue
                # A call whose heartbeat failed waits (due: inf) only for done(); one
                # being sent, or due while every sender is busy, wakes the thread
                # when its sender ends.
                self._wake_at = min((c.due for c in self._calls.values()
                                     if not c.sending and c.due != float("inf")
                                     and room > 0), default=None)
                if self._wake_at is None and self._idle is not None:
                    if not self._calls and not self._senders and watches == self._watches:
                        break  # a whole idle round without a call: its server has stopped
                    watches = self._watches
                    self._wake_at = now + self._idle
                self._wake.wait(None if self._wake_at is None else self._wake_at - now)
            self._thread = None

    def _beat(self, token: int, call: _Watched) -> None:
        failed = True
        try:
            with self._lock:
                # Returned since it was due: its reply may be on its way.
                returned = token not in self._calls
            if not returned:
                LOG.debug("Sending call-monitor heartbeat for active call to %(method)s "
                          "(interval=%(interval)i)",
                          {"method": call.incoming.message.get("method"),
                           "interval": call.interval})
                call.incoming.heartbeat()
                failed = False
        except Exception as exc:  # noqa: BLE001 - the broker or the caller is gone
            # The caller's own timeout ends its call; nothing more to send it.
            LOG.debug("Call-monitor heartbeat failed: %(exc)s", {"exc": exc})
        finally:
            # Even should this thread die here, the call's done() must not hang.
            with self._lock:
                call.sending = False
                self._senders -= 1
                call.due = float("inf") if failed else time.monotonic() + call.interval
                self._sent.notify_all()
                self._wake.notify()


class _CountingDispatcher(rpc_dispatcher.RPCDispatcher):
    """oslo.messaging's dispatcher, counting the handlers that run in :class:`InFlight`,
    with one :class:`CallMonitor` thread instead of a thread per call."""

    def __init__(self, *args: Any, in_flight: InFlight, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.in_flight = in_flight
        self.monitor = CallMonitor()

    def _endpoint(self, namespace: Any, version: str, method: str) -> Any:
        """The first endpoint serving ``method`` at ``version`` in ``namespace``,
        or raise what oslo.messaging's dispatcher raises."""
        compatible = False
        for candidate in self.endpoints:
            target = getattr(candidate, "target", None) or self._default_target
            if not (self._is_namespace(target, namespace)
                    and self._is_compatible(target, version)):
                continue
            compatible = True
            if hasattr(candidate, method) and self.access_policy.is_allowed(candidate, method):
                return candidate
        if compatible:
            raise rpc_dispatcher.NoSuchMethod(method)
        raise rpc_dispatcher.UnsupportedVersion(version, method=method)

    def dispatch(self, incoming: Any) -> Any:
        """Run the endpoint method ``incoming`` names and return its serialized result.

        :raises NoSuchMethod: no endpoint of a compatible version serves the method.
        :raises UnsupportedVersion: no endpoint serves the namespace at that version.
        """
        message = incoming.message
        method = message.get("method")
        endpoint = self._endpoint(message.get("namespace"), message.get("version", "1.0"),
                                  method)
        interval = CallMonitor.interval(incoming)
        token = self.monitor.watch(incoming, interval) if interval else None
        try:
            with self.in_flight:
                return self._do_dispatch(endpoint, method, incoming.ctxt,
                                         message.get("args", {}))
        finally:
            if token is not None:
                self.monitor.done(token)


class WorkerPool:
    """The RPC server's executor: at most ``max_workers`` threads run its handlers,
    and a thread idle for :attr:`IDLE_SECONDS` ends.

    oslo.messaging's default executor (futurist's ThreadPoolExecutor) wraps each
    incoming message in a Future and a work item, counts it in its statistics
    and wakes a worker through a Queue's condition; that hand-off was about a
    fifth of an RPC server's CPU. It also starts a thread per message until it
    has ``executor_thread_pool_size`` of them and never ends one, so a burst
    leaves them all behind. Here a message is one put on a SimpleQueue and no
    Future is made (oslo's server never reads one); a thread is started only
    when none is free, and ends after a quiet while.

    As futurist's: work beyond ``max_workers`` waits in the queue, in order;
    :meth:`shutdown` refuses new work and (``wait``) lets the queued work run
    and waits for every thread.
    """

    #: Seconds a thread waits for work before it ends.
    IDLE_SECONDS = 30.0

    def __init__(self, max_workers: int, name: str = "rpc-worker") -> None:
        if max_workers <= 0:
            raise ValueError("max_workers must be greater than zero")
        self.max_workers = max_workers
        self._name = name
        self._work: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...],
                                            dict[str, Any]] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        # Free threads minus the queued work (puts happen under the lock): a submit
        # that finds it above zero has a thread to run its work, and takes it.
        self._free = 0
        self._threads: set[threading.Thread] = set()
        self._shutdown = False

    @property
    def threads(self) -> int:
        """The threads alive (running work or waiting for it)."""
        with self._lock:
            return len(self._threads)

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``fn(*args, **kwargs)`` on a thread of the pool (returns no Future)."""
        with self._lock:
            if self._shutdown:
                raise RuntimeError("Can not schedule new work after being shut down")
            self._work.put((fn, args, kwargs))
            if self._free <= 0 and len(self._threads) < self.max_workers:
                thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._threads.add(thread)
                thread.start()
            else:
                self._free -= 1

    def shutdown(self, wait: bool = True) -> None:
        """Take no more work; with ``wait``, return once the queued work ran."""
        with self._lock:
            if not self._shutdown:
                self._shutdown = True
                for _ in self._threads:
                    self._work.put(None)  # after the queued work: each thread ends on one
            threads = list(self._threads)
        if wait:
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()

    def _run(self) -> None:
        me = threading.current_thread()
        while True:
            try:
                item = self._work.get(timeout=self.IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if not self._work.empty():
                        continue  # work came as the wait ended: this thread's to take
                    self._free -= 1
                    self._threads.discard(me)
                    return
            if item is None:
                with self._lock:
                    self._threads.discard(me)
                return
            fn, args, kwargs = item
            try:
                fn(*args, **kwargs)
            except Exception:  # noqa: BLE001 - the next message must still be served
                LOG.exception("RPC worker %s failed", fn)
            finally:
                del item, fn, args, kwargs
            with self._lock:
                self._free += 1


class _RPCServer(rpc_server.RPCServer):
    """oslo.messaging's RPC server, running its handlers on a :class:`WorkerPool`.

    oslo's server builds its executor in ``start()`` from the class its
    constructor loaded (``_executor_cls``), passing ``max_workers``;
    tests/unit/test_rpc_executor.py pins that against the installed oslo.messaging.
    The eventlet executor, when asked for, stays oslo's.
    """

    def __init__(self, transport: messaging.Transport, target: messaging.Target,
                 dispatcher: Any, executor: str | None = None) -> None:
        super().__init__(transport, target, dispatcher, executor)
        if self.executor_type == "threading":
            self._executor_cls = WorkerPool


def get_server(target: messaging.Target, endpoints: list[Any],
               in_flight: InFlight | None = None) -> messaging.MessageHandlingServer:
    """An RPC server for ``target`` dispatching to ``endpoints``; ``in_flight``
    counts the handlers running (what a graceful stop waits for)."""
    executor = None
    if CONF.rpc_executor != "threading":
        # oslo.messaging warns whenever the argument is given; threading is its default.
        executor = CONF.rpc_executor
    dispatcher = _CountingDispatcher(
        endpoints, RequestContextSerializer(), messaging.DefaultRPCAccessPolicy,
        in_flight=in_flight or InFlight())
    return _RPCServer(get_transport(), target, dispatcher, executor)


def get_direct_server(topic: str, endpoints: list[Any], methods: frozenset[str],
                      in_flight: InFlight) -> rpc_direct.DirectServer | None:
    """The server of ``topic``'s direct calls ``methods`` (:mod:`kumo.rpc_direct`),
    dispatching to ``endpoints`` as :func:`get_server` does; None when the direct
    path is off or there is nothing to serve."""
    url = direct_url()
    if url is None or not methods or CONF.rpc_direct_threads < 1:
        return None
    dispatcher = _CountingDispatcher(
        endpoints, RequestContextSerializer(), messaging.DefaultRPCAccessPolicy,
        in_flight=in_flight)
    return rpc_direct.DirectServer(url, topic, dispatcher, methods,
                                   CONF.rpc_direct_threads)


def direct_url() -> messaging.TransportURL | None:
    """The broker of this process's transport when calls may take the direct path
    (:mod:`kumo.rpc_direct`): ``[DEFAULT] rpc_direct_calls`` is on and the transport
    is kumo's RabbitMQ driver without TLS (the direct connections do not speak it)."""
    if not CONF.rpc_direct_calls:
        return None
    driver = getattr(get_transport(), "_driver", None)
    if not isinstance(driver, rpc_transport.RabbitDriver):
        return None
    if driver.options.ssl:
        return None
    return driver.url


#: A client's direct_url before it was asked.
_UNASKED = object()


def _remote_exception(failure: str) -> BaseException:
    """The exception a direct call's server raised, rebuilt as oslo.messaging does."""
    return driver_common.deserialize_remote_exception(failure, ALLOWED_EXMODS)


def get_notifier(publisher_id: str) -> messaging.Notifier:
    if _notification_transport is None:
        init()
    return messaging.Notifier(
        _notification_transport,
        publisher_id=publisher_id,
        serializer=RequestContextSerializer(),
    )


class BaseEndpoint:
    """Served by every RPC server beside its manager: liveness over the bus."""

    target = messaging.Target(namespace="baseapi", version="1.0")

    def __init__(self, binary: str, host: str) -> None:
        self.binary = binary
        self.host = host

    def ping(self, context: Any, arg: Any) -> dict[str, Any]:
        """Echo ``arg`` with who answered."""
        return {"binary": self.binary, "host": self.host, "arg": arg}


class RPCAPIBase:
    """Typed client of one service's RPC API.

    Subclasses set ``TOPIC``, ``SERVICE`` (the name used in
    ``[upgrade_levels]``), ``VERSION`` (the newest version this client
    speaks) and define one method per remote method.
    """

    TOPIC: str
    SERVICE: str
    VERSION: str = "1.0"
    #: Methods besides the reads (see :meth:`is_idempotent`) that may run twice
    #: with the effect of once: a call of one that got no sign of life is re-sent.
    IDEMPOTENT: frozenset[str] = frozenset()
    #: Calls sent over the direct path first (kumo.rpc_direct), when it is on and
    #: the call goes to no given server; the server's manager serves the same names.
    #: One that is not idempotent is never sent twice on its way.
    DIRECT: frozenset[str] = frozenset()

    def __init__(self, timeout: float | None = None, retry: int | None = None,
                 resend: bool = True) -> None:
        """``timeout`` bounds every call (default ``rpc_response_timeout``);
        ``retry`` bounds reconnection attempts while the broker is away
        (``None``: keep trying, as a request must not be lost; a heartbeat
        passes a small number so it never outlives its interval by much);
        ``resend=False`` never sends a call twice (the API: its client retries,
        and an answer of 503 after ``rpc_call_monitor_timeout`` beats a long wait).
        """
        version_cap = getattr(CONF.upgrade_levels, self.SERVICE, None) or self.VERSION
        target = messaging.Target(topic=self.TOPIC, version="1.0")
        self.client = messaging.get_rpc_client(
            get_transport(),
            target,
            version_cap=version_cap,
            serializer=RequestContextSerializer(),
        )
        # The client registers rpc_response_timeout, so read it only now.
        self.timeout = timeout if timeout is not None else CONF.rpc_response_timeout
        self.retry = retry
        self.resend = resend
        self._direct: Any = _UNASKED  # the direct path's broker (direct_url), once asked

    def _prepare(self, timeout: float | None = None, **kwargs: Any) -> messaging.RPCClient:
        options = {name: value for name, value in kwargs.items() if value is not None}
        options["timeout"] = timeout if timeout is not None else self.timeout
        if self.retry is not None:
            options["retry"] = self.retry
        return self.client.prepare(**options)

    def is_idempotent(self, method: str) -> bool:
        """Whether ``method`` may be sent twice: a read (``*_get*``, ``get_*``, but
        no ``*_or_create``) or one of :attr:`IDEMPOTENT`."""
        if method in self.IDEMPOTENT:
            return True
        return (method.startswith("get_") or "_get" in method) and "create" not in method

    def call(self, ctxt: Any, method: str, args: dict[str, Any] | None = None, *,
             server: str | None = None, version: str | None = None,
             timeout: float | None = None, namespace: str | None = None) -> Any:
        """Call ``method(**args)`` and wait for the answer, at most ``timeout`` seconds.

        While no heartbeat of the server comes for ``rpc_call_monitor_timeout``
        seconds the call is taken for lost: an idempotent one is sent again
        (while time is left), any other fails at once.
        """
        total = timeout if timeout is not None else self.timeout
        deadline = time.monotonic() + total
        resend = self.resend and self.is_idempotent(method)
        if method in self.DIRECT and server is None and self._direct_url() is not None:
            try:
                return self._direct_call(ctxt, method, args, version, namespace, total)
            except rpc_direct.NoAnswer as why:
                if not resend:  # it may have run
                    raise self._unavailable(method, None, total, deadline) from why
                LOG.warning("%s got no direct answer (%s); sending it the usual way",
                            method, why)
            except rpc_direct.Unavailable as why:
                LOG.debug("%s goes the usual way: %s", method, why)
        monitor = CONF.rpc_call_monitor_timeout
        while True:
            remaining = max(deadline - time.monotonic(), 0.1)
            # A monitor as long as the call's own timeout would change nothing.
            watched = 0 < monitor < remaining
            cctxt = self._prepare(server=server, version=version, timeout=remaining,
                                  namespace=namespace,
                                  call_monitor_timeout=monitor if watched else None)
            try:
                return cctxt.call(ctxt, method, **(args or {}))
            except messaging.MessagingTimeout as exc:
                left = deadline - time.monotonic()
                if watched and resend and left > 1:
                    LOG.warning("%s gave no sign of life for %ss on %s; sending it again "
                                "(%.0fs left)", self._service(server), monitor, method, left)
                    continue
                raise self._unavailable(method, server, total, deadline) from exc
            except messaging.MessageDeliveryFailure as exc:
                raise exception.BusUnavailable(method=method, reason=str(exc)) from exc

    def _service(self, server: str | None) -> str:
        return f"kumo-{self.SERVICE}" + (f" on {server}" if server else "")

    def _unavailable(self, method: str, server: str | None, total: float,
                     deadline: float) -> exception.ServiceUnavailable:
        """The error of a call that got no answer (``deadline``: when its ``total``
        seconds end)."""
        waited = total - max(deadline - time.monotonic(), 0)
        return exception.ServiceUnavailable(service=self._service(server), method=method,
                                            timeout=round(waited, 1))

    def _direct_url(self) -> messaging.TransportURL | None:
        """:func:`direct_url`, asked once per client."""
        if self._direct is _UNASKED:
            self._direct = direct_url()
        return self._direct

    def _direct_call(self, ctxt: Any, method: str, args: dict[str, Any] | None,
                     version: str | None, namespace: str | None, total: float) -> Any:
        """``method`` over :mod:`kumo.rpc_direct`, serialized as oslo.messaging would.

        :raises Unavailable: the version is above this client's cap (the usual way
            refuses it as it always did), or the direct path cannot answer.
        """
        if version is not None and not self.client.can_send_version(version):
            raise rpc_direct.Unavailable(f"version {version} is above the cap")
        serializer = self.client.serializer
        request = {"method": method, "version": version or "1.0", "namespace": namespace,
                   "once": not self.is_idempotent(method),
                   "context": serializer.serialize_context(ctxt),
                   "args": {name: serializer.serialize_entity(ctxt, value)
                            for name, value in (args or {}).items()}}
        result = rpc_direct.call(self._direct_url(), self.TOPIC, request,
                                 rpc_direct.wait_bound(total), _remote_exception)
        return serializer.deserialize_entity(ctxt, result)

    def cast(self, ctxt: Any, method: str, args: dict[str, Any] | None = None, *,
             server: str | None = None, version: str | None = None,
             fanout: bool = False) -> None:
        """Send ``method(**args)`` without waiting for it to run."""
        cctxt = self._prepare(server=server, version=version, fanout=fanout)
        cctxt.cast(ctxt, method, **(args or {}))

    def can_send_version(self, version: str) -> bool:
        return self.client.can_send_version(version)

    def ping(self, ctxt: Any, arg: Any = None, server: str | None = None,
             timeout: float | None = None) -> dict[str, Any]:
        """Ask a server of this topic (a given one, or any) to echo ``arg``."""
        return self.call(ctxt, "ping", {"arg": arg}, server=server, version="1.0",
                         timeout=timeout, namespace=BaseEndpoint.target.namespace)
