"""kumo's RabbitMQ transport: oslo.messaging's rabbit driver, with publisher confirms
only on the messages no one waits for.

oslo.messaging 18 opens every connection with ``confirm_publish=True``: each
publish (a call's request, its reply, a call-monitor heartbeat, a cast) then
waits for the broker's ``basic.ack`` before the sender goes on. That wait is a
round trip and a frame to read and dispatch on every message, in the sender and
in RabbitMQ, and it was the largest single cost of an RPC call (see
docs/decisions.md, "RPC publishes without confirms for calls and replies").

A confirm guards against a message the broker never took (it died, or the
connection was half-closed, after the frame left the socket): ``ensure()``
then reconnects and publishes again. For a call that guard is redundant: its
caller waits for the reply with a timeout and the call monitor, and sends an
idempotent call again (:meth:`kumo.rpc.RPCAPIBase.call`); a lost reply or
heartbeat ends the same way. A cast or a notification has nothing behind it,
so it keeps its confirm.

So :class:`RabbitDriver` keeps two pools of sending connections: the one oslo
builds (confirmed: casts, fanouts, notifications) and one of
:class:`UnconfirmedConnection` (calls, replies, heartbeats). It chooses by
what it is sending, through the driver's public ``send``/``send_notification``
and the one hook oslo's driver and its incoming messages get a sending
connection from, ``_get_connection``. tests/functional/test_rpc_transport.py
pins both against the installed oslo.messaging.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_messaging import transport as msg_transport
from oslo_messaging._drivers import amqp as rpc_amqp
from oslo_messaging._drivers import common as driver_common
from oslo_messaging._drivers import impl_rabbit
from oslo_messaging._drivers import pool as driver_pool

#: The transports (``transport_url`` schemes) :func:`get_rpc_transport` serves itself.
RABBIT_SCHEMES = frozenset({"rabbit"})


class ReplyConsumer(impl_rabbit.Consumer):
    """oslo.messaging's consumer of a caller's reply queue, consuming with ``no_ack``.

    oslo acks each reply as its poll thread takes it: a ``basic.ack`` frame
    written by the caller and handled by RabbitMQ for every reply and every
    call-monitor heartbeat. A reply is read by the only process that waits for
    it, on a queue no other process reads, so an ack guards nothing there: a
    reply unacked when the caller dies is dropped with its queue either way.
    With ``no_ack`` the broker forgets a reply as it sends it, and kombu skips
    the ack oslo still asks for. oslo builds the queue again on each
    (re)declare, so the flag is set after every one.
    """

    def declare(self, conn: Any) -> None:
        super().declare(conn)
        self.queue.no_ack = True


class Connection(impl_rabbit.Connection):
    """oslo.messaging's rabbit connection, running a healthy channel's work directly.

    oslo's :meth:`ensure` wraps every publish and every poll in kombu's
    ``autoretry``, which builds a class, a closure and a retry loop on each use
    before it runs the work once. Here the work runs at once on the current
    channel. What oslo's ``ensure`` re-raises as it is (a poll's Timeout, a
    missing exchange or queue) is re-raised; any other error (the connection
    or the channel broke, or one oslo turns into ``MessageDeliveryFailure``)
    hands the work to oslo's full :meth:`ensure`, which runs it again,
    reconnecting when kombu classes the error as recoverable, and handles it
    as it always did. A publish may so go out twice, as kombu's own retry may
    send it twice: at least once, as before.
    """

    #: Raised by the work itself, re-raised by oslo's ensure() as they are.
    _PASSED_ON = (driver_common.Timeout, rpc_amqp.AMQPDestinationNotFound,
                  messaging.MessageUndeliverable)

    def ensure(self, method: Any, retry: int | None = None,
               recoverable_error_callback: Any = None, error_callback: Any = None,
               timeout_is_error: bool = True) -> Any:
        if self.channel is None or os.getpid() != self._initial_pid:
            return super().ensure(method, retry, recoverable_error_callback, error_callback,
                                  timeout_is_error)
        try:
            return method()
        except self._PASSED_ON:
            raise
        except Exception:  # noqa: BLE001 - oslo's ensure() decides, as it always did
            return super().ensure(method, retry, recoverable_error_callback, error_callback,
                                  timeout_is_error)

    def declare_consumer(self, consumer: Any) -> Any:
        """Declare ``consumer``; a reply queue's (oslo's only direct consumer) without acks."""
        if type(consumer) is impl_rabbit.Consumer and consumer.type == "direct":
            consumer.__class__ = ReplyConsumer
        return super().declare_consumer(consumer)


class UnconfirmedConnection(Connection):
    """A sending connection whose publishes the broker does not confirm.

    oslo.messaging builds the kombu connection with ``confirm_publish=True`` and
    connects at once, through :meth:`ensure_connection`; kombu reads its
    ``transport_options`` on every (re)connection, so turning the option off
    here, before the first one, holds for the connection's whole life.

    Its direct sends (replies, heartbeats) are not ``mandatory`` either: without
    a confirm to wait for, the broker's ``basic.return`` of a reply whose queue
    is gone would be read later by whatever next reads the connection (its
    heartbeat thread), not by the send it belongs to. A reply to a queue that is
    gone (the caller died, or the broker restarted and the caller has not
    declared its queue again yet) is dropped; the caller's timeout and call
    monitor cover it, as they cover a lost request.
    """

    def __init__(self, conf: Any, url: Any, purpose: str, retry: int | None = None) -> None:
        super().__init__(conf, url, purpose, retry=retry)
        self.direct_mandatory_flag = False

    def ensure_connection(self) -> None:
        """Connect (again) without publisher confirms."""
        self.connection.transport_options["confirm_publish"] = False
        super().ensure_connection()


class RabbitDriver(impl_rabbit.RabbitDriver):
    """oslo.messaging's rabbit driver sending calls, replies and heartbeats unconfirmed.

    Casts, fanouts and notifications go through oslo's own pool of confirmed
    connections, as before; everything else a sender asks for (a call's
    request, and on the server a reply or a call-monitor heartbeat, which oslo's
    incoming message sends through this driver's ``_get_connection``) gets a
    connection of the unconfirmed pool.
    """

    def __init__(self, conf: cfg.ConfigOpts, url: messaging.TransportURL,
                 default_exchange: str | None = None,
                 allowed_remote_exmods: list[str] | None = None) -> None:
        super().__init__(conf, url, default_exchange, allowed_remote_exmods)
        proxied = rpc_conf(conf, url)
        options = self._options = proxied.oslo_messaging_rabbit

        def pool(connection_cls: type[Connection]) -> driver_pool.ConnectionPool:
            return driver_pool.ConnectionPool(
                proxied, options.rpc_conn_pool_size, options.conn_pool_min_size,
                options.conn_pool_ttl, url, connection_cls)

        # oslo's pool has not connected yet: its connections are made on first use.
        self._connection_pool = pool(Connection)
        self._unconfirmed_pool = pool(UnconfirmedConnection)
        self._confirm = threading.local()

    @contextlib.contextmanager
    def _confirmed(self) -> Iterator[None]:
        """Within: this thread's sends take confirmed connections."""
        outer = getattr(self._confirm, "on", False)
        self._confirm.on = True
        try:
            yield
        finally:
            self._confirm.on = outer

    @property
    def url(self) -> messaging.TransportURL:
        """The broker(s) this driver connects to."""
        return self._url

    @property
    def options(self) -> Any:
        """``[oslo_messaging_rabbit]`` as this driver's connections read it (with the
        URL's query parameters)."""
        return self._options

    @property
    def pools(self) -> dict[str, driver_pool.ConnectionPool]:
        """The sending connections: ``confirmed`` (oslo's own pool) and ``unconfirmed``."""
        return {"confirmed": self._connection_pool, "unconfirmed": self._unconfirmed_pool}

    def confirms(self) -> bool:
        """Whether a send of this thread now takes a confirmed connection."""
        return getattr(self._confirm, "on", False)

    def send(self, target: messaging.Target, ctxt: Any, message: Any,
             wait_for_reply: bool | None = None, timeout: float | None = None,
             call_monitor_timeout: float | None = None, retry: int | None = None,
             transport_options: Any = None) -> Any:
        """A call (``wait_for_reply``) unconfirmed, a cast or fanout confirmed."""
        if wait_for_reply:
            return super().send(target, ctxt, message, wait_for_reply, timeout,
                                call_monitor_timeout, retry=retry,
                                transport_options=transport_options)
        with self._confirmed():
            return super().send(target, ctxt, message, wait_for_reply, timeout,
                                call_monitor_timeout, retry=retry,
                                transport_options=transport_options)

    def send_notification(self, target: messaging.Target, ctxt: Any, message: Any,
                          version: float, retry: int | None = None) -> Any:
        """A notification, confirmed."""
        with self._confirmed():
            return super().send_notification(target, ctxt, message, version, retry=retry)

    def _get_connection(self, purpose: str = driver_common.PURPOSE_SEND,
                        retry: int | None = None) -> Any:
        if purpose == driver_common.PURPOSE_SEND and not self.confirms():
            return driver_common.ConnectionContext(self._unconfirmed_pool, purpose=purpose,
                                                   retry=retry)
        return super()._get_connection(purpose, retry)

    def cleanup(self) -> None:
        self._unconfirmed_pool.empty()
        super().cleanup()


def rpc_conf(conf: cfg.ConfigOpts, url: messaging.TransportURL) -> Any:
    """``conf`` as oslo's rabbit driver hands it to its connections: with the
    query parameters of ``url`` overriding ``[oslo_messaging_rabbit]``."""
    return driver_common.ConfigOptsProxy(conf, url, "oslo_messaging_rabbit")


def get_rpc_transport(conf: cfg.ConfigOpts, url: str | None,
                      allowed_remote_exmods: list[str]) -> messaging.Transport:
    """The RPC transport for ``url`` (default ``transport_url``): kumo's
    :class:`RabbitDriver` for ``rabbit://``, oslo.messaging's driver otherwise
    (``fake://`` in unit tests)."""
    parsed = messaging.TransportURL.parse(conf, url)
    if parsed.transport not in RABBIT_SCHEMES:
        return messaging.get_rpc_transport(conf, url=parsed,
                                           allowed_remote_exmods=allowed_remote_exmods)
    driver = RabbitDriver(conf, parsed, default_exchange=conf.control_exchange,
                          allowed_remote_exmods=allowed_remote_exmods)
    return msg_transport.RPCTransport(driver)
