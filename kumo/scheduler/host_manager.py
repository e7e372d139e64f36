"""The scheduler's in-memory view of every compute node, kept fresh cheaply.

One :class:`HostState` per node, built from the conductor's ``ComputeNode``
objects and the compute services' up/enabled state. The cache is refreshed at
most every ``[scheduler] host_state_refresh_interval`` seconds, fetching only
the nodes changed since the newest ``updated_at`` already seen; every
``host_state_full_refresh_interval`` seconds everything is fetched again (so
nodes that are gone are forgotten). Claims this scheduler makes are applied
to the cache at once, so consecutive decisions see them before the next
refresh does.

A claim is *reserved* on the cached state before its conductor round trip
and stays recorded as in flight until it is settled (kept or cancelled): a
refresh that reloads a node re-applies that node's in-flight reservations, so
two concurrent decisions never both see the same free room. The caller (the
FilterScheduler) serialises every call that touches the cache under its lock.
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from kumo import servicegroup

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

COMPUTE_BINARY = "kumo-compute"


def _ratio(value: float | None, default: float) -> float:
    # Nova's convention: an unset (or 0.0) ratio on the node means the scheduler's default.
    return value if value else default


class HostState:
    """One compute node as the scheduler sees it: inventory, usage, service, placement.

    ``*_limit`` are total * allocation ratio (what a claim may reach) and
    ``free_*`` what is left under them (over-commit included).

    ``availability_zone`` and ``aggregates`` (a list of ``{"name", "metadata"}``
    dicts) come from the host aggregates the host is in; a host in no zoned
    aggregate is in ``[scheduler] default_availability_zone``.
    """

    __slots__ = ("node_uuid", "host", "nodename", "hypervisor_type", "cpu_arch",
                 "vcpus", "vcpus_used", "memory_mb", "memory_mb_used",
                 "local_gb", "local_gb_used", "running_vms",
                 "cpu_allocation_ratio", "ram_allocation_ratio", "disk_allocation_ratio",
                 "service_up", "service_disabled", "availability_zone", "aggregates",
                 "updated_at", "vcpus_limit", "memory_mb_limit", "disk_gb_limit",
                 "free_vcpus", "free_memory_mb", "free_disk_gb")

    def __init__(self, node: Any) -> None:
        self.service_up = False
        self.service_disabled = False
        self.availability_zone: str = CONF.scheduler.default_availability_zone
        self.aggregates: list[dict[str, Any]] = []
        self.update_from_compute_node(node)

    def update_from_compute_node(self, node: Any) -> None:
        """Take inventory, usage and ratios from a ``ComputeNode`` (or a dict of its fields)."""
        get = node.get
        self.node_uuid: str = node["uuid"]
        self.host: str = node["host"]
        self.nodename: str = node["hypervisor_hostname"]
        self.hypervisor_type: str = get("hypervisor_type") or ""
        self.cpu_arch: str | None = _arch(get("cpu_info"))
        self.vcpus: int = get("vcpus") or 0
        self.vcpus_used: int = get("vcpus_used") or 0
        self.memory_mb: int = get("memory_mb") or 0
        self.memory_mb_used: int = get("memory_mb_used") or 0
        self.local_gb: int = get("local_gb") or 0
        self.local_gb_used: int = get("local_gb_used") or 0
        self.running_vms: int = get("running_vms") or 0
        conf = CONF.scheduler
        self.cpu_allocation_ratio = _ratio(get("cpu_allocation_ratio"), conf.cpu_allocation_ratio)
        self.ram_allocation_ratio = _ratio(get("ram_allocation_ratio"), conf.ram_allocation_ratio)
        self.disk_allocation_ratio = _ratio(get("disk_allocation_ratio"),
                                            conf.disk_allocation_ratio)
        updated_at = get("updated_at") or get("created_at")
        if updated_at is not None and updated_at.tzinfo is None:
            updated_at = updated_at.replace(tzinfo=datetime.UTC)
        self.updated_at: datetime.datetime | None = updated_at
        self._recompute()

    def _recompute(self) -> None:
        # Limits are what the conductor's guarded claim checks: total * ratio.
        # Kept as plain attributes: the filters and weighers read them for every
        # host of every decision.
        self.vcpus_limit = int(self.vcpus * self.cpu_allocation_ratio)
        self.memory_mb_limit = int(self.memory_mb * self.ram_allocation_ratio)
        self.disk_gb_limit = int(self.local_gb * self.disk_allocation_ratio)
        self.free_vcpus = self.vcpus_limit - self.vcpus_used
        self.free_memory_mb = self.memory_mb_limit - self.memory_mb_used
        self.free_disk_gb = self.disk_gb_limit - self.local_gb_used

    def limits(self) -> dict[str, int]:
        return {"vcpus": self.vcpus_limit, "memory_mb": self.memory_mb_limit,
                "disk_gb": self.disk_gb_limit}

    def selection(self) -> dict[str, Any]:
        """The contract's selection dict for this node."""
        return {"host": self.host, "nodename": self.nodename, "node_uuid": self.node_uuid,
                "limits": self.limits()}

    def consume(self, resources: dict[str, int], sign: int = 1) -> None:
        """Apply a claim (``sign=-1``: its release) to the cached usage."""
        self.vcpus_used += sign * resources["vcpus"]
        self.memory_mb_used += sign * resources["memory_mb"]
        self.local_gb_used += sign * resources["disk_gb"]
        self.running_vms += sign
        self._recompute()

    def __repr__(self) -> str:
        return (f"<HostState {self.host}/{self.nodename} vcpus {self.vcpus_used}/"
                f"{self.vcpus_limit} ram {self.memory_mb_used}/{self.memory_mb_limit} MB "
                f"disk {self.local_gb_used}/{self.disk_gb_limit} GB>")


def _arch(cpu_info: Any) -> str | None:
    if not cpu_info:
        return None
    if isinstance(cpu_info, str):
        try:
            cpu_info = json.loads(cpu_info)
        except ValueError:
            return None
    if not isinstance(cpu_info, dict):
        return None
    arch = cpu_info.get("arch")
    return str(arch) if arch else None


class Reservation:
    """Resources a decision took on a cached node before its claim returned.

    ``overlapped``: another reservation of the same node was in flight at some
    point during this one's, so the conductor's reply to this claim may miss a
    claim this cache already counts (they may commit in either order).
    """

    __slots__ = ("node_uuid", "resources", "overlapped")

    def __init__(self, node_uuid: str, resources: dict[str, int]) -> None:
        self.node_uuid = node_uuid
        self.resources = dict(resources)
        self.overlapped = False

    def __repr__(self) -> str:
        return f"<Reservation {self.resources} on {self.node_uuid}>"


class HostManager:
    """Cached host states and their refresh through the conductor.

    ``conductor`` is anything with the conductor client's
    ``compute_node_get_all`` and ``service_get_all`` methods (the
    :class:`kumo.conductor.rpcapi.ConductorAPI` by default). Benchmarks and
    tests may instead feed ``ComputeNode`` objects with :meth:`load_nodes`.
    """

    def __init__(self, conductor: Any = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if conductor is None:
            from kumo.conductor import rpcapi as conductor_rpcapi
            conductor = conductor_rpcapi.ConductorAPI()
        self.conductor = conductor
        self._clock = clock
        self._states: dict[str, HostState] = {}
        self._last_refresh: float | None = None
        self._last_full_refresh: float | None = None
        self._newest_update: datetime.datetime | None = None
        self._services: dict[str, tuple[bool, bool]] = {}
        # host -> (zone, [{"name", "metadata"}]) of the aggregates it is in.
        self._placement: dict[str, tuple[str, list[dict[str, Any]]]] = {}
        # node uuid -> reservations whose claim has not returned yet.
        self._in_flight: dict[str, list[Reservation]] = {}

    # -- feeding the cache ----------------------------------------------
    def load_nodes(self, nodes: Iterable[Any], full: bool = False) -> None:
        """Create or update the states of ``nodes``; ``full``: forget the others."""
        states = self._states
        seen: set[str] = set()
        newest = self._newest_update
        for node in nodes:
            uuid = node["uuid"]
            seen.add(uuid)
            state = states.get(uuid)
            if state is None:
                state = states[uuid] = HostState(node)
                self._apply_service(state)
                self._apply_aggregates(state)
            else:
                state.update_from_compute_node(node)
            if state.updated_at is not None and (newest is None or state.updated_at > newest):
                newest = state.updated_at
        if full:
            for uuid in [u for u in states if u not in seen]:
                del states[uuid]
        self._newest_update = newest
        # The rows fetched may predate claims still in flight: count those again.
        # A claim that already committed is then counted twice until it settles
        # or the node is next fetched: too little room shown, never too much.
        for uuid, reservations in self._in_flight.items():
            if uuid in seen:
                state = states[uuid]
                for reservation in reservations:
                    state.consume(reservation.resources)

    def load_services(self, services: Iterable[Any], now: datetime.datetime | None = None
                      ) -> None:
        """Record each compute host's (up, disabled) from its service row."""
        self._services = {
            svc["host"]: (servicegroup.is_up(svc, now=now), bool(svc.get("disabled")))
            for svc in services}
        for state in self._states.values():
            self._apply_service(state)

    def load_aggregates(self, aggregates: Iterable[Any]) -> None:
        """Record each host's zone and aggregates from the conductor's aggregate list."""
        default_zone = CONF.scheduler.default_availability_zone
        placement: dict[str, tuple[str, list[dict[str, Any]]]] = {}
        for aggregate in aggregates:
            metadata = dict(aggregate.get("metadata") or {})
            entry = {"name": aggregate.get("name"), "metadata": metadata}
            zone = aggregate.get("availability_zone") or metadata.get("availability_zone")
            for host in aggregate.get("hosts") or ():
                known_zone, members = placement.get(host, (default_zone, []))
                members.append(entry)
                placement[host] = (zone or known_zone, members)
        self._placement = placement
        for state in self._states.values():
            self._apply_aggregates(state)

    def _apply_aggregates(self, state: HostState) -> None:
        zone, aggregates = self._placement.get(
            state.host, (CONF.scheduler.default_availability_zone, []))
        state.availability_zone, state.aggregates = zone, aggregates

    def _apply_service(self, state: HostState) -> None:
        # A node without a compute service row is treated as down.
        state.service_up, state.service_disabled = self._services.get(state.host, (False, False))

    # -- reservations: claims in flight ------------------------------------
    def reserve(self, state: HostState, resources: dict[str, int]) -> Reservation:
        """Take ``resources`` on ``state`` now, before the conductor has claimed them."""
        reservation = Reservation(state.node_uuid, resources)
        others = self._in_flight.setdefault(state.node_uuid, [])
        if others:
            reservation.overlapped = True
            for other in others:
                other.overlapped = True
        others.append(reservation)
        state.consume(resources)
        return reservation

    def cancel(self, reservation: Reservation) -> None:
        """The claim failed: give the reserved resources back to the cache."""
        if self._forget(reservation):
            self.give_back(reservation.node_uuid, reservation.resources)

    def settle(self, reservation: Reservation, node: Any = None) -> None:
        """The claim succeeded: the reservation is now a claim like any other.

        ``node`` (the conductor's answer: the node's usage right after this
        claim) replaces the cached usage only when no other claim of this
        scheduler was in flight on the node meanwhile; otherwise the answer may
        miss one of them (or already hold one still in flight), so the cache
        keeps its own count, which can only over-state the usage, until the
        next refresh of the node. The conductor's guarded UPDATE stays the
        check against over-commit either way.
        """
        if not self._forget(reservation) or node is None or reservation.overlapped:
            return
        # Not overlapped: no other reservation of this node is in flight now.
        state = self._states.get(reservation.node_uuid)
        if state is not None:
            state.update_from_compute_node(node)

    def give_back(self, node_uuid: str, resources: dict[str, int]) -> None:
        """Release a claim in the cache (the conductor is told separately)."""
        state = self._states.get(node_uuid)
        if state is not None:
            state.consume(resources, sign=-1)

    def in_flight(self) -> list[Reservation]:
        """Every reservation whose claim has not returned yet."""
        return [r for reservations in self._in_flight.values() for r in reservations]

    def _forget(self, reservation: Reservation) -> bool:
        reservations = self._in_flight.get(reservation.node_uuid)
        if not reservations or reservation not in reservations:
            return False
        reservations.remove(reservation)
        if not reservations:
            del self._in_flight[reservation.node_uuid]
        return True

    # -- refreshing through the conductor ---------------------------------
    def refresh(self, ctxt: Any, force: bool = False) -> bool:
        """Fetch what changed, unless the cache is younger than the refresh interval.

        Returns whether it fetched.
        """
        now = self._clock()
        conf = CONF.scheduler
        if (not force and self._last_refresh is not None
                and now - self._last_refresh < conf.host_state_refresh_interval):
            return False
        full = (self._last_full_refresh is None or self._newest_update is None
                or now - self._last_full_refresh >= conf.host_state_full_refresh_interval)
        changed_since = None if full else self._newest_update
        nodes = self.conductor.compute_node_get_all(ctxt, changed_since=changed_since)
        self.load_nodes(nodes, full=full)
        self.load_services(self.conductor.service_get_all(ctxt, binary=COMPUTE_BINARY))
        self.refresh_aggregates(ctxt)
        self._last_refresh = now
        if full:
            self._last_full_refresh = now
        LOG.debug("Refreshed host states (%s): %d nodes fetched, %d known",
                  "full" if full else f"changed since {changed_since}", len(nodes),
                  len(self._states))
        return True

    def refresh_aggregates(self, ctxt: Any) -> None:
        """Fetch every aggregate (they are few and change rarely).

        A synthetic conductor (benchmarks) may have none to offer.
        """
        aggregate_get_all = getattr(self.conductor, "aggregate_get_all", None)
        if aggregate_get_all is not None:
            self.load_aggregates(aggregate_get_all(ctxt))

    def get_all_host_states(self) -> list[HostState]:
        """Every known host state, as of the last refresh."""
        return list(self._states.values())

    def get(self, node_uuid: str) -> HostState | None:
        return self._states.get(node_uuid)

    def __len__(self) -> int:
        return len(self._states)
