"""Host weighers: rank the hosts that passed the filters.

Each weigher gives every host a raw value, normalised over the candidates to
0..1 (all equal: all 0), times its ``[scheduler]`` multiplier; the weights
add up and the heaviest host wins. A positive multiplier spreads servers over
the emptiest hosts, a negative one packs them onto the fullest.
"""

from __future__ import annotations

from kumo.scheduler.host_manager import HostState


class BaseWeigher:
    def multiplier(self) -> float:
        raise NotImplementedError

    def raw(self, host: HostState) -> float:
        raise NotImplementedError


def all_weighers() -> list[BaseWeigher]:
    from kumo.scheduler.weights import resources

    return [resources.RAMWeigher(), resources.CPUWeigher(), resources.DiskWeigher()]


def weigh_hosts(weighers: list[BaseWeigher], hosts: list[HostState]) -> list[HostState]:
    """``hosts`` ordered heaviest first (ties keep their order, so they are stable)."""
    if len(hosts) < 2:
        return list(hosts)
    totals = [0.0] * len(hosts)
    for weigher in weighers:
        multiplier = weigher.multiplier()
        if not multiplier:
            continue
        raw = weigher.raw
        values = [raw(host) for host in hosts]
        low, high = min(values), max(values)
        if high == low:
            continue
        scale = multiplier / (high - low)
        for index, value in enumerate(values):
            totals[index] += (value - low) * scale
    order = sorted(range(len(hosts)), key=totals.__getitem__, reverse=True)
    return [hosts[index] for index in order]
