"""Console tokens in memory: issued with a time to live, looked up, dropped per server.

As Nova's consoleauth without memcached: the tokens live in this one process,
so a restart of kumo-consoleauth drops them all (users ask for a new console
URL), and a cloud runs one kumo-consoleauth (two would each hold half of the
tokens). Expired tokens are pruned whenever a token is added or looked up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class TokenStore:
    """Thread-safe token -> connection info, each kept ``ttl`` seconds."""

    def __init__(self, ttl: Callable[[], float],
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``ttl`` is read at each add (the option may be reloaded); ``clock`` is
        for tests."""
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[float, dict[str, Any]]] = {}
        self._by_instance: dict[str, set[str]] = {}

    def add(self, token: str, info: dict[str, Any]) -> None:
        """Keep ``info`` (which names its ``instance_uuid``) under ``token``."""
        with self._lock:
            self._prune()
            self._tokens[token] = (self._clock() + self._ttl(), dict(info))
            uuid = info.get("instance_uuid")
            if uuid:
                self._by_instance.setdefault(uuid, set()).add(token)

    def get(self, token: str) -> dict[str, Any] | None:
        """The info of a live token, or None (unknown or expired)."""
        with self._lock:
            self._prune()
            entry = self._tokens.get(token)
            return dict(entry[1]) if entry else None

    def discard(self, token: str) -> None:
        with self._lock:
            self._forget(token)

    def discard_instance(self, instance_uuid: str) -> int:
        """Drop every token of the server; how many there were."""
        with self._lock:
            tokens = self._by_instance.pop(instance_uuid, set())
            for token in tokens:
                self._tokens.pop(token, None)
            return len(tokens)

    def __len__(self) -> int:
        with self._lock:
            self._prune()
            return len(self._tokens)

    def _prune(self) -> None:
        now = self._clock()
        for token in [t for t, (expires, _) in self._tokens.items() if expires <= now]:
            self._forget(token)

    def _forget(self, token: str) -> None:
        entry = self._tokens.pop(token, None)
        if entry is None:
            return
        uuid = entry[1].get("instance_uuid")
        tokens = self._by_instance.get(uuid, set())
        tokens.discard(token)
        if not tokens:
            self._by_instance.pop(uuid, None)
