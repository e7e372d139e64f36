"""Weighers: normalised free resources times the multipliers; positive spreads, negative packs."""

from __future__ import annotations

from typing import Any

from kumo.scheduler import weights
from kumo.scheduler.host_manager import HostState
from tests.unit.scheduler.fakes import make_node


def hosts() -> list[HostState]:
    return [HostState(make_node("half", memory_mb=8192, memory_mb_used=4096)),
            HostState(make_node("empty", memory_mb=8192)),
            HostState(make_node("full", memory_mb=8192, memory_mb_used=8000))]


def names(states: list[HostState]) -> list[str]:
    return [h.host for h in states]


def test_positive_ram_multiplier_spreads_to_the_emptiest_host(flags: Any) -> None:
    flags(ram_weight_multiplier=1.0, cpu_weight_multiplier=0.0, disk_weight_multiplier=0.0)
    assert names(weights.weigh_hosts(weights.all_weighers(), hosts())) == [
        "empty", "half", "full"]


def test_negative_ram_multiplier_packs_onto_the_fullest_host(flags: Any) -> None:
    flags(ram_weight_multiplier=-1.0, cpu_weight_multiplier=0.0, disk_weight_multiplier=0.0)
    assert names(weights.weigh_hosts(weights.all_weighers(), hosts())) == [
        "full", "half", "empty"]


def test_weights_are_normalised_so_units_do_not_dominate(flags: Any) -> None:
    # RAM in MB would swamp vCPUs if raw values were added; normalised, the CPU
    # weigher's larger multiplier decides.
    flags(ram_weight_multiplier=1.0, cpu_weight_multiplier=2.0, disk_weight_multiplier=0.0)
    ram_rich = HostState(make_node("ram-rich", vcpus=4, vcpus_used=4, memory_mb=65536))
    cpu_rich = HostState(make_node("cpu-rich", vcpus=64, memory_mb=8192))
    assert names(weights.weigh_hosts(weights.all_weighers(), [ram_rich, cpu_rich])) == [
        "cpu-rich", "ram-rich"]


def test_equal_hosts_keep_their_order(flags: Any) -> None:
    states = [HostState(make_node(f"h{i}")) for i in range(5)]
    assert names(weights.weigh_hosts(weights.all_weighers(), states)) == [
        f"h{i}" for i in range(5)]
