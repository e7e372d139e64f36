"""Base of every service's RPC endpoint: periodic tasks and lifecycle hooks."""

from __future__ import annotations

from typing import Any

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_service import periodic_task

CONF = cfg.CONF


class Manager(periodic_task.PeriodicTasks):
    """The RPC endpoint of one service.

    A manager dispatches: it checks, records and delegates to the modules
    that do the work. ``target`` carries the RPC API version it serves.
    """

    target = messaging.Target(version="1.0")

    def __init__(self, host: str | None = None, binary: str | None = None) -> None:
        super().__init__(CONF)
        self.host = host or CONF.host
        self.binary = binary

    def init_host(self) -> None:
        """Prepare the host before the service takes RPC messages."""

    def post_start_hook(self) -> None:
        """Work that needs the service's own RPC server up (called right after it starts)."""

    def cleanup_host(self) -> None:
        """Release what init_host took; called once the RPC server has stopped."""

    def periodic_tasks(self, context: Any, raise_on_error: bool = False) -> float:
        """Run the periodic tasks that are due; returns seconds until the next one."""
        return self.run_periodic_tasks(context, raise_on_error=raise_on_error)
