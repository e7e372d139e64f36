"""The service framework every kumo daemon runs on.

A :class:`Service` registers its row through the conductor, heartbeats every
``report_interval``, serves its manager on the bus (when it has a topic),
runs the manager's periodic tasks, and on SIGTERM stops taking new work,
lets work in flight finish within ``graceful_shutdown_timeout`` and exits 0.
Broker outages are survived: oslo.messaging reconnects the RPC server by
itself, and a failed heartbeat is logged and retried on the next round.
A daemon forked into worker processes (kumo.launcher) runs one Service per
worker; only worker 0 heartbeats the service row and runs the periodic tasks.
"""

from __future__ import annotations

import logging as logging_std
import os
import signal
import sys
import threading
import time
from typing import Any, Protocol

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log as logging

from kumo import context as kumo_context
from kumo import exception, gc_tuning, malloc_tuning, process, rpc
from kumo.conductor import rpcapi as conductor_rpcapi
from kumo.manager import Manager

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

# Bumped when a service starts to behave differently in a way others must know.
SERVICE_VERSION = 1

# Until the first registration succeeds, retry this often (seconds).
REGISTER_RETRY_INTERVAL = 1.0

# Reconnection attempts one heartbeat may make while the broker is away; the
# next round tries again, so a heartbeat never blocks a stop for long.
HEARTBEAT_RPC_RETRY = 1

# Closing the bus connections must not hold up the exit of a stopped service.
RPC_CLEANUP_TIMEOUT = 5.0

# Once no handler runs, how long a stop waits for their replies to go out. While
# the broker is away oslo.messaging retries a reply for ever; its caller gives
# up after its own timeout anyway (docs/decisions.md, "Shutdown").
REPLY_DRAIN_TIMEOUT = 5.0


class Listener(Protocol):
    """Something besides RPC a service serves, e.g. an HTTP server."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def wait(self) -> None: ...


class Service:
    """One kumo daemon: its service row, heartbeat, RPC server and periodic tasks."""

    def __init__(self, binary: str, topic: str | None = None,
                 manager: Manager | None = None, host: str | None = None,
                 listeners: tuple[Listener, ...] = ()) -> None:
        self.binary = binary
        self.topic = topic
        self.host = host or CONF.host
        self.manager = manager or Manager(host=self.host, binary=binary)
        self.manager.binary = binary
        self.listeners = listeners
        self.service_ref: Any = None
        self._stopping = threading.Event()
        self._rpc_server: messaging.MessageHandlingServer | None = None
        self._direct: Any = None  # the direct calls' server (kumo.rpc_direct), if any
        self._in_flight = rpc.InFlight()
        self._context = kumo_context.get_admin_context()
        self._conductor: conductor_rpcapi.ConductorAPI | None = None
        self._heartbeat: threading.Thread | None = None
        self._periodic: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        LOG.info("Starting %s on %s (topic %s)", self.binary, self.host, self.topic)
        rpc.init()
        # Heartbeats must not hang longer than a report interval when the
        # conductor or the broker is away; the next round retries.
        self._conductor = conductor_rpcapi.ConductorAPI(
            timeout=max(CONF.report_interval, 5), retry=HEARTBEAT_RPC_RETRY)
        self.manager.init_host()
        if self.topic:
            target = messaging.Target(topic=self.topic, server=self.host,
                                      version=self.manager.target.version)
            endpoints = [self.manager, rpc.BaseEndpoint(self.binary, self.host)]
            self._rpc_server = rpc.get_server(target, endpoints, in_flight=self._in_flight)
            self._rpc_server.start()
            self._direct = rpc.get_direct_server(
                self.topic, endpoints, getattr(self.manager, "DIRECT_CALLS", frozenset()),
                self._in_flight)
            if self._direct is not None:
                self._direct.start()
        self.manager.post_start_hook()
        for listener in self.listeners:
            listener.start()
        # A daemon forked into workers reports and runs its periodic tasks once,
        # from worker 0 (kumo.process.reports_for_service).
        if process.reports_for_service():
            self._heartbeat = self._spawn(self._heartbeat_loop, "heartbeat")
            self._periodic = self._spawn(self._periodic_loop, "periodic")

    def stop(self, timeout: float | None = None) -> bool:
        """Stop taking work and wait for work in flight; False if it overran ``timeout``.

        Work in flight is what callers wait for: RPC handlers and listener
        requests. A periodic task still running gets what is left of the
        bound, then is abandoned with a warning: it is housekeeping whose
        every step is a whole conductor call, and it runs again at the next
        start (it may be blocked for a full RPC timeout after a broker outage).
        """
        timeout = CONF.graceful_shutdown_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        LOG.info("Stopping %s: no new work, waiting up to %ss for work in flight",
                 self.binary, timeout)
        self._stopping.set()
        if self._rpc_server is not None:
            self._rpc_server.stop()
        if self._direct is not None:
            self._direct.stop()
        for listener in self.listeners:
            listener.stop()
        drain = _run_within(self._drain_requests, timeout, "drain")
        if drain.is_alive():
            LOG.error("%s: work in flight did not finish within %ss", self.binary, timeout)
            # Should the process live on (tests), clean up once the work is done.
            self._spawn(lambda: (drain.join(), self.manager.cleanup_host()), "late-cleanup")
            return False
        if not self._drain_replies(deadline):
            return False
        if self._periodic is not None:
            self._periodic.join(max(0.0, deadline - time.monotonic()))
            if self._periodic.is_alive():
                LOG.warning("%s: abandoning a periodic task still running after %ss; "
                            "it runs again at the next start", self.binary, timeout)
                return True
        if _run_within(self.manager.cleanup_host, max(0.0, deadline - time.monotonic()),
                       "cleanup-host").is_alive():
            LOG.warning("%s: cleaning up the host did not finish within %ss",
                        self.binary, timeout)
        return True

    def _drain_requests(self) -> None:
        # The handlers only: a reply the broker cannot take is not work in flight.
        self._in_flight.wait()
        if self._direct is not None:
            self._direct.wait()  # its answers go out on its own connections
        for listener in self.listeners:
            listener.wait()

    def _drain_replies(self, deadline: float) -> bool:
        """Give the replies of finished handlers a short while to go out; False if a
        handler that started during the stop overran ``deadline``."""
        if self._rpc_server is None:
            return True
        # One bound for all the replies: the bus connections still have to close
        # after them within the stop's bound.
        replies_by = min(deadline, time.monotonic() + REPLY_DRAIN_TIMEOUT)
        replies = _run_within(self._rpc_server.wait, max(0.0, replies_by - time.monotonic()),
                              "replies")
        if not replies.is_alive():
            return True
        # A request taken just before the stop may have started its handler since.
        if not self._in_flight.wait(max(0.0, deadline - time.monotonic())):
            LOG.error("%s: work in flight did not finish in time", self.binary)
            return False
        replies.join(max(0.0, replies_by - time.monotonic()))
        if replies.is_alive():
            LOG.warning("%s: abandoning replies the message bus did not take within %ss "
                        "(their callers time out)", self.binary, REPLY_DRAIN_TIMEOUT)
        return True

    def _spawn(self, target: Any, name: str) -> threading.Thread:
        thread = threading.Thread(target=target, name=f"{self.binary}-{name}", daemon=True)
        thread.start()
        return thread

    # -- heartbeat -----------------------------------------------------------

    def _heartbeat_loop(self) -> None:
        while not self._stopping.is_set():
            interval = CONF.report_interval
            try:
                self.report_state()
            except Exception as exc:  # keep beating through any outage
                LOG.warning("%s could not report its state: %s", self.binary, exc)
                if self.service_ref is None:
                    interval = REGISTER_RETRY_INTERVAL
            self._stopping.wait(interval)

    def report_state(self) -> None:
        """Register the service row if needed, then record a heartbeat."""
        assert self._conductor is not None
        if self.service_ref is None:
            self.service_ref = self._conductor.service_register(
                self._context, self.host, self.binary, self.topic, SERVICE_VERSION)
            LOG.info("%s registered as service %s", self.binary, self.service_ref.id)
        try:
            self.service_ref = self._conductor.service_heartbeat(
                self._context, self.service_ref.id)
        except exception.ServiceNotFound:
            # An operator deleted the row; register again next round.
            LOG.warning("Service row of %s on %s was deleted; registering again",
                        self.binary, self.host)
            self.service_ref = None
            raise

    # -- periodic tasks ------------------------------------------------------

    def _periodic_loop(self) -> None:
        while not self._stopping.wait(CONF.periodic_interval):
            try:
                self.manager.periodic_tasks(self._context)
            except Exception:
                LOG.exception("%s: a periodic task failed", self.binary)


def _run_within(work: Any, timeout: float, name: str) -> threading.Thread:
    """Run ``work`` on a daemon thread and wait for it at most ``timeout`` seconds.

    The thread is returned: still alive when ``work`` overran the bound.
    """
    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    thread.join(timeout)
    return thread


def serve(service: Service) -> None:
    """Run ``service`` until SIGTERM or SIGINT, then stop it gracefully and exit."""
    stop_requested = threading.Event()
    started = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        LOG.info("%s received %s", service.binary, signal.Signals(signum).name)
        if not started.is_set():
            # Still starting (e.g. waiting for the broker): nothing is in
            # flight yet, so leave at once instead of after the start.
            # os._exit: the bus library's threads must not hold the exit up.
            LOG.info("%s stopped before it finished starting", service.binary)
            os._exit(0)
        stop_requested.set()

    def _on_hup(signum: int, frame: Any) -> None:
        LOG.info("%s received SIGHUP: reloading mutable options", service.binary)
        CONF.mutate_config_files()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGHUP, _on_hup)
    began = time.monotonic()
    try:
        service.start()
    except Exception:
        LOG.exception("%s failed to start", service.binary)
        sys.exit(1)
    started.set()
    LOG.info("%s started in %.2fs", service.binary, time.monotonic() - began)
    # What start-up built lives as long as the process: no collection walks it again.
    gc_tuning.tune()
    # Start-up's freed memory, and after each burst what it left free, go back
    # to the system (kumo.malloc_tuning).
    malloc_tuning.trim()
    trimmer = malloc_tuning.IdleTrimmer()
    while not stop_requested.wait(0.5):
        trimmer.maybe_trim()
    drained = service.stop()
    if _run_within(rpc.cleanup, RPC_CLEANUP_TIMEOUT, "rpc-cleanup").is_alive():
        LOG.warning("%s: closing the bus connections took over %ss; exiting anyway",
                    service.binary, RPC_CLEANUP_TIMEOUT)
    LOG.info("%s stopped", service.binary)
    code = 0 if drained else 1
    stuck = [thread.name for thread in threading.enumerate()
             if not thread.daemon and thread is not threading.main_thread()]
    if stuck:
        # E.g. a reply oslo.messaging retries for ever while the broker is away:
        # the interpreter would wait for it at exit, so leave without waiting.
        LOG.warning("%s: exiting without waiting for threads %s", service.binary,
                    ", ".join(sorted(stuck)))
        logging_std.shutdown()
        os._exit(code)
    sys.exit(code)
