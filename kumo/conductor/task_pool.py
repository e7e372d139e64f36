"""The conductor's pool for long tasks, apart from the RPC dispatch threads.

A build waits on the scheduler, and the scheduler calls the conductor back
(host states, claims). Were builds run on the RPC dispatch threads, enough
concurrent builds would hold every thread and nothing would be left to
answer the scheduler: a deadlock. Casts that start tasks hand them to this
pool and return at once.
"""

from __future__ import annotations

import collections
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class TaskPool:
    def __init__(self, workers: int) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="conductor-task")
        self._lock = threading.Lock()
        self._running: set[concurrent.futures.Future[None]] = set()
        # Servers a queued or running task works on (the reconciliation leaves them be).
        self._instances: collections.Counter[str] = collections.Counter()

    def submit(self, name: str, context: Any, task: Callable[..., None],
               *args: Any) -> concurrent.futures.Future[None]:
        """Run ``task(context, *args)`` on the pool; its errors are logged.

        Every task's first argument names the server(s) it works on (a uuid or a
        list of them): :meth:`working_on` answers from it.
        """
        first = args[0] if args else None
        uuids = [first] if isinstance(first, str) else list(first or [])

        def run() -> None:
            # The request's context, for the request id on every log line.
            if hasattr(context, "update_store"):
                context.update_store()
            try:
                task(context, *args)
            except Exception:
                LOG.exception("Conductor task %s failed", name)

        with self._lock:
            self._instances.update(uuids)
        future = self._executor.submit(run)
        with self._lock:
            self._running.add(future)
        future.add_done_callback(lambda done: self._forget(done, uuids))
        return future

    def _forget(self, future: concurrent.futures.Future[None], uuids: list[str]) -> None:
        with self._lock:
            self._running.discard(future)
            self._instances.subtract(uuids)
            for uuid in uuids:
                if self._instances[uuid] <= 0:
                    del self._instances[uuid]

    def working_on(self, instance_uuid: str) -> bool:
        """Whether a task of this pool is queued or running for the server."""
        with self._lock:
            return self._instances[instance_uuid] > 0

    @property
    def busy(self) -> int:
        """Tasks queued or running."""
        with self._lock:
            return len(self._running)

    def shutdown(self) -> None:
        """Wait for the tasks queued and running, take no more."""
        self._executor.shutdown(wait=True)
