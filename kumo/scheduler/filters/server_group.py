"""ServerGroupAffinityFilter and ServerGroupAntiAffinityFilter.

The group's members are on ``instance_group["hosts"]`` (a host once per
member); the hosts chosen earlier in the same multi-create count as members
too. Anti-affinity allows ``rules["max_server_per_host"]`` members a host
(microversion 2.64; 1 by default).
"""

from __future__ import annotations

from kumo.scheduler.filters import BaseHostFilter
from kumo.scheduler.host_manager import HostState
from kumo.scheduler.request import SchedulingRequest


class ServerGroupAffinityFilter(BaseHostFilter):
    """Affinity: once the group has a host, every member goes there."""

    def applies(self, request: SchedulingRequest) -> bool:
        return request.group_policy == "affinity" and bool(
            request.group_hosts or request.chosen_hosts)

    def host_passes(self, host: HostState, request: SchedulingRequest) -> bool:
        return host.host in request.group_hosts or host.host in request.chosen_hosts

    def explain(self, rejected: list[HostState], request: SchedulingRequest) -> str:
        hosts = sorted(request.group_hosts.union(request.chosen_hosts))
        return f"(server group affinity: must be on {', '.join(hosts)})"


class ServerGroupAntiAffinityFilter(BaseHostFilter):
    """Anti-affinity: no two members of the group on the same host."""

    def applies(self, request: SchedulingRequest) -> bool:
        return request.group_policy == "anti-affinity" and bool(
            request.group_hosts or request.chosen_hosts)

    def host_passes(self, host: HostState, request: SchedulingRequest) -> bool:
        members = (request.group_host_counts[host.host]
                   + request.chosen_hosts.count(host.host))
        return members < request.group_max_per_host

    def explain(self, rejected: list[HostState], request: SchedulingRequest) -> str:
        if request.group_max_per_host > 1:
            return (f"(server group anti-affinity: host already has "
                    f"{request.group_max_per_host} members)")
        return "(server group anti-affinity: host already has a member)"
