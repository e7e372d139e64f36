"""kumo-scheduler's RPC endpoint."""

from __future__ import annotations

from typing import Any

import oslo_messaging as messaging

from kumo import manager
from kumo.scheduler import filter_scheduler


class SchedulerManager(manager.Manager):
    target = messaging.Target(version="1.2")

    def __init__(self, host: str | None = None, binary: str | None = None,
                 scheduler: filter_scheduler.FilterScheduler | None = None) -> None:
        super().__init__(host=host, binary=binary)
        self._scheduler = scheduler

    @property
    def scheduler(self) -> filter_scheduler.FilterScheduler:
        # Built on first use: its conductor client needs the bus, which the
        # service sets up after constructing the manager.
        if self._scheduler is None:
            self._scheduler = filter_scheduler.FilterScheduler()
        return self._scheduler

    def init_host(self) -> None:
        self.scheduler  # noqa: B018 - fail at start on a bad [scheduler] enabled_filters

    def select_destinations(self, context: Any, request_spec: dict[str, Any],
                            instance_uuids: list[str], return_alternates: bool = True,
                            claim: bool = True) -> list[list[dict[str, Any]]]:
        """See :meth:`kumo.scheduler.rpcapi.SchedulerAPI.select_destinations`."""
        return self.scheduler.select_destinations(
            context, request_spec, instance_uuids, return_alternates=return_alternates,
            claim=claim)
