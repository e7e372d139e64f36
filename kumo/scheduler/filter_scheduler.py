"""select_destinations: filter, weigh and claim, for every server of a request at once.

For each server in turn: the cached host states go through the enabled
filters, the survivors are weighed, and the heaviest is claimed through the
conductor (a guarded UPDATE there, so two schedulers cannot over-commit a
node). A claim that fails means the cache was stale: it is refreshed, that
node is skipped and the next one tried. Each claim is applied to the cache at
once, so the next server of a multi-create (and the next request) sees it.
Up to ``max_attempts - 1`` unclaimed alternates follow the chosen node, for
the conductor's reschedules. If any server cannot be placed, the claims made
for the request are released and NoValidHost explains which filter removed
how many hosts.

Locking: one lock per scheduler process covers the cache's work (a refresh
when one is due or after a refused claim, which fetches from the conductor;
filter, weigh, pick, and reserving the resources on the cached host state).
The claim's round trip to the conductor runs without it,
so concurrent decisions overlap their claims; the reservation (recorded as in
flight in the HostManager, re-applied by any refresh) makes the next decision
see the room as taken meanwhile. The lock is taken again briefly to settle:
keep the reservation, or undo it when the claim failed.

``claim=False`` (RPC 1.2, the conductor's build path): the scheduler only
takes the resources in its cache and answers each selected node with the
``resources`` to claim and ``"claimed": False``; the caller claims them in
its own transaction (no claim round trip back to the conductor). A refused
claim there means the cache was stale, as above: the caller asks again with
``claim=True``. Until the node is next fetched the cache counts the taken
resources whether or not the caller's claim committed: too little room
shown, never too much; the guarded UPDATE stays the check.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from kumo import exception
from kumo.scheduler import filters as host_filters
from kumo.scheduler import weights as host_weights
from kumo.scheduler.host_manager import HostManager, HostState
from kumo.scheduler.request import SchedulingRequest

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


class FilterScheduler:
    """The placement decision. ``host_manager`` holds the cached host states."""

    def __init__(self, host_manager: HostManager | None = None) -> None:
        self.host_manager = host_manager if host_manager is not None else HostManager()
        self.filters = host_filters.load_filters(CONF.scheduler.enabled_filters)
        self.weighers = host_weights.all_weighers()
        # Guards the cache (and its in-flight reservations) only: never held
        # across a claim or release round trip to the conductor.
        self._lock = threading.Lock()

    @property
    def conductor(self) -> Any:
        return self.host_manager.conductor

    def select_destinations(self, ctxt: Any, request_spec: dict[str, Any],
                            instance_uuids: list[str], return_alternates: bool = True,
                            claim: bool = True) -> list[list[dict[str, Any]]]:
        """One ``[selected, *alternates]`` list per instance; the selected ones are
        claimed, or with ``claim=False`` left for the caller to claim (see the module's
        docstring).

        :raises NoValidHost: some instance fits nowhere; nothing stays claimed.
        """
        with self._lock:
            fresh = self.host_manager.refresh(ctxt)
        try:
            return self._decide(ctxt, request_spec, instance_uuids, return_alternates, claim)
        except exception.NoValidHost:
            if fresh or not _uses_aggregates(request_spec):
                raise
        # The aggregates may be up to host_state_refresh_interval old: a zone or
        # aggregate set up just before this boot is not in them yet.
        with self._lock:
            self.host_manager.refresh_aggregates(ctxt)
        return self._decide(ctxt, request_spec, instance_uuids, return_alternates, claim)

    def _decide(self, ctxt: Any, request_spec: dict[str, Any], instance_uuids: list[str],
                return_alternates: bool, claim: bool = True) -> list[list[dict[str, Any]]]:
        """select_destinations on the cache as it is (takes the lock as needed)."""
        request = SchedulingRequest(request_spec)
        placed: list[tuple[str, HostState]] = []
        alternates: list[list[HostState]] = []
        try:
            for index, instance_uuid in enumerate(instance_uuids):
                chosen, others = self._place_one(
                    ctxt, request, instance_uuid, index, len(instance_uuids),
                    return_alternates, claim)
                placed.append((instance_uuid, chosen))
                alternates.append(others)
                request.chosen_hosts.append(chosen.host)
        except Exception:
            # NoValidHost, or an RPC failure half way: give back what this
            # request took, so a failed multi-create leaves nothing claimed.
            self._release(ctxt, request, placed, claimed=claim)
            raise
        self._keep_group_policy(request, placed, alternates)
        unclaimed = {} if claim else {"claimed": False, "resources": request.resources}
        return [[{**chosen.selection(), **unclaimed}] + [alt.selection() for alt in others]
                for (_, chosen), others in zip(placed, alternates, strict=True)]

    @staticmethod
    def _keep_group_policy(request: SchedulingRequest, placed: list[tuple[str, HostState]],
                           alternates: list[list[HostState]]) -> None:
        """Drop alternates a reschedule could not use without breaking the server group.

        An alternate was picked before the later members of the request were
        placed: with anti-affinity it may now hold another member, with affinity
        it may be off the group's host.
        """
        if request.group_policy not in ("affinity", "anti-affinity"):
            return
        members = Counter(request.chosen_hosts)
        for (_, chosen), others in zip(placed, alternates, strict=True):
            if request.group_policy == "affinity":
                others[:] = [alt for alt in others if alt.host == chosen.host]
            else:
                others[:] = [alt for alt in others
                             if request.group_host_counts[alt.host] + members[alt.host]
                             - (alt.host == chosen.host) < request.group_max_per_host]

    def _candidates(self, request: SchedulingRequest, raced: set[str]
                    ) -> tuple[int, list[HostState], list[host_filters.Rejection], int]:
        """(hosts known, passing hosts heaviest first, rejections, hosts ignored).

        Called with the lock held.
        """
        hosts = self.host_manager.get_all_host_states()
        total = len(hosts)
        ignored = 0
        if request.ignore_hosts:
            hosts = [h for h in hosts if h.host not in request.ignore_hosts]
            ignored = total - len(hosts)
        if request.ignore_nodes:
            before = len(hosts)
            hosts = [h for h in hosts if h.nodename not in request.ignore_nodes]
            ignored += before - len(hosts)
        if raced:
            hosts = [h for h in hosts if h.node_uuid not in raced]
        passed, rejections = host_filters.filter_hosts(self.filters, hosts, request)
        ranked = _soft_group_order(request, host_weights.weigh_hosts(self.weighers, passed))
        return total, ranked, rejections, ignored

    def _place_one(self, ctxt: Any, request: SchedulingRequest, instance_uuid: str,
                   index: int, count: int, return_alternates: bool, claim: bool = True
                   ) -> tuple[HostState, list[HostState]]:
        resources = request.resources
        raced: set[str] = set()
        max_races = CONF.scheduler.max_claim_races
        wanted = CONF.scheduler.max_attempts - 1 if return_alternates else 0
        claim_call = (self.conductor.compute_node_claim_migration if request.move
                      else self.conductor.compute_node_claim)
        host_manager = self.host_manager
        while True:
            with self._lock:
                total, ranked, rejections, ignored = self._candidates(request, raced)
                if not ranked or len(raced) >= max_races:
                    raise exception.NoValidHost(reason=self._explain(
                        total, rejections, ignored, raced, index, count))
                host = ranked[0]
                # Only the chosen node changes, so the rest of the ranking still holds.
                others = ranked[1:1 + wanted]
                if not claim:
                    # The caller claims: the cache counts the resources as claimed now.
                    host.consume(resources)
                    return host, others
                limits = host.limits()
                reservation = host_manager.reserve(host, resources)
            try:
                node = claim_call(ctxt, node_uuid=host.node_uuid,
                                  instance_uuid=instance_uuid, resources=resources,
                                  limits=limits)
            except (exception.ComputeResourcesUnavailable,
                    exception.ComputeNodeNotFound) as exc:
                LOG.info("Claim of %s on %s failed (stale host state): %s",
                         instance_uuid, host.nodename, exc)
                with self._lock:
                    host_manager.cancel(reservation)
                    raced.add(host.node_uuid)
                    host_manager.refresh(ctxt, force=True)
                continue
            except BaseException:
                with self._lock:
                    host_manager.cancel(reservation)
                raise
            with self._lock:
                host_manager.settle(reservation, node)
            return host, others

    def _release(self, ctxt: Any, request: SchedulingRequest,
                 placed: list[tuple[str, HostState]], claimed: bool = True) -> None:
        resources = request.resources
        # The cache first (under the lock), then the conductor (without it): a
        # refresh in between still sees the claim and shows too little room.
        with self._lock:
            for _, host in placed:
                self.host_manager.give_back(host.node_uuid, resources)
        if not claimed:
            return
        for instance_uuid, host in placed:
            try:
                self.conductor.compute_node_release(
                    ctxt, node_uuid=host.node_uuid, instance_uuid=instance_uuid)
            except exception.KumoException:
                # The next resource report recomputes the node's usage from its
                # live instances, so a claim left behind cannot outlive it.
                LOG.exception("Could not release the claim of %s on %s",
                              instance_uuid, host.nodename)

    @staticmethod
    def _explain(total: int, rejections: list[host_filters.Rejection], ignored: int,
                 raced: set[str], index: int, count: int) -> str:
        if total == 0:
            return "0 hosts: no compute nodes are known to the scheduler."
        parts = [str(rejection) for rejection in rejections]
        if ignored:
            parts.insert(0, f"ignore_hosts removed {ignored}")
        if raced:
            parts.append(f"claims failed on {len(raced)} (taken by concurrent requests)")
        reason = f"{total} host{'s' if total != 1 else ''}: " + ", ".join(parts)
        if count > 1:
            reason += f" (placing server {index + 1} of {count})"
        return reason


def _soft_group_order(request: SchedulingRequest, ranked: list[HostState]) -> list[HostState]:
    """Soft server-group policies (2.15) as a preference over the weighed ranking:
    fewest members first for soft-anti-affinity, most first for soft-affinity
    (a stable sort, so the weighers still break ties)."""
    if request.group_policy not in ("soft-affinity", "soft-anti-affinity") or len(ranked) < 2:
        return ranked
    sign = 1 if request.group_policy == "soft-anti-affinity" else -1

    def members(host: HostState) -> int:
        return sign * (request.group_host_counts[host.host]
                       + request.chosen_hosts.count(host.host))

    return sorted(ranked, key=members)


def _uses_aggregates(request_spec: dict[str, Any]) -> bool:
    """Whether the request asks for a zone or aggregate metadata."""
    request = SchedulingRequest(request_spec)
    return bool(request.availability_zone or request.aggregate_specs)
