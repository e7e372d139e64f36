"""Host filters: each removes the hosts that cannot take the server and says why.

A filter answers ``host_passes(host_state, request)`` for one host and, when
asked, ``explain(rejected, request)``: a short parenthesised reason for the
operator-facing NoValidHost message (``"(need 8192 MB, best has 4096 MB)"``).
``applies(request)`` lets a filter that has nothing to check for this request
skip the loop over every host.
"""

from __future__ import annotations

from typing import Any

from kumo.scheduler.host_manager import HostState
from kumo.scheduler.request import SchedulingRequest


class BaseHostFilter:
    """One filter; subclasses implement :meth:`host_passes`."""

    @property
    def name(self) -> str:
        return type(self).__name__

    def applies(self, request: SchedulingRequest) -> bool:
        return True

    def host_passes(self, host: HostState, request: SchedulingRequest) -> bool:
        raise NotImplementedError

    def explain(self, rejected: list[HostState], request: SchedulingRequest) -> str:
        return ""


class Rejection:
    """How many hosts one filter removed during one filtering pass, and why."""

    __slots__ = ("filter", "rejected", "request")

    def __init__(self, host_filter: BaseHostFilter, rejected: list[HostState],
                 request: SchedulingRequest) -> None:
        self.filter = host_filter
        self.rejected = rejected
        self.request = request

    def __str__(self) -> str:
        reason = self.filter.explain(self.rejected, self.request)
        text = f"{self.filter.name} rejected {len(self.rejected)}"
        return f"{text} {reason}" if reason else text


def filter_hosts(filters: list[BaseHostFilter], hosts: list[HostState],
                 request: SchedulingRequest) -> tuple[list[HostState], list[Rejection]]:
    """Run ``filters`` in order; returns the passing hosts and each filter's rejections."""
    rejections: list[Rejection] = []
    for host_filter in filters:
        if not hosts:
            break
        if not host_filter.applies(request):
            continue
        passes = host_filter.host_passes
        passed: list[HostState] = []
        rejected: list[HostState] = []
        for host in hosts:
            (passed if passes(host, request) else rejected).append(host)
        if rejected:
            rejections.append(Rejection(host_filter, rejected, request))
        hosts = passed
    return hosts, rejections


def all_filters() -> dict[str, type[BaseHostFilter]]:
    """Every filter class kumo ships, by the name ``[scheduler] enabled_filters`` uses."""
    from kumo.scheduler.filters import (
        aggregate_instance_extra_specs,
        availability_zone,
        compute,
        image_properties,
        resources,
        server_group,
    )

    classes: list[Any] = [
        compute.ComputeFilter,
        availability_zone.AvailabilityZoneFilter,
        resources.RamFilter,
        resources.DiskFilter,
        resources.CoreFilter,
        aggregate_instance_extra_specs.AggregateInstanceExtraSpecsFilter,
        server_group.ServerGroupAffinityFilter,
        server_group.ServerGroupAntiAffinityFilter,
        image_properties.ImagePropertiesFilter,
    ]
    return {cls.__name__: cls for cls in classes}


def load_filters(names: list[str]) -> list[BaseHostFilter]:
    """Instances of the named filters, in order; an unknown name is a configuration error."""
    known = all_filters()
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"[scheduler] enabled_filters names unknown filters: "
                         f"{', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return [known[name]() for name in names]
