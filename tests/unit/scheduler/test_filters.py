"""Each host filter: who passes, who is rejected, and how the rejection is explained."""

from __future__ import annotations

from typing import Any

import pytest

from kumo.scheduler import filters
from kumo.scheduler.filters.aggregate_instance_extra_specs import (
    AggregateInstanceExtraSpecsFilter,
    spec_matches,
)
from kumo.scheduler.filters.availability_zone import AvailabilityZoneFilter
from kumo.scheduler.filters.compute import ComputeFilter
from kumo.scheduler.filters.image_properties import ImagePropertiesFilter
from kumo.scheduler.filters.resources import CoreFilter, DiskFilter, RamFilter
from kumo.scheduler.filters.server_group import (
    ServerGroupAffinityFilter,
    ServerGroupAntiAffinityFilter,
)
from kumo.scheduler.host_manager import HostState
from kumo.scheduler.request import SchedulingRequest
from tests.unit.scheduler.fakes import make_node, request_spec


def host(name: str = "h1", up: bool = True, disabled: bool = False, **fields: Any) -> HostState:
    state = HostState(make_node(name, **fields))
    state.service_up, state.service_disabled = up, disabled
    return state


def req(**kwargs: Any) -> SchedulingRequest:
    return SchedulingRequest(request_spec(**kwargs))


def run(host_filter: filters.BaseHostFilter, hosts: list[HostState],
        request: SchedulingRequest) -> tuple[list[str], str]:
    passed, rejections = filters.filter_hosts([host_filter], hosts, request)
    return [h.host for h in passed], "; ".join(str(r) for r in rejections)


def test_compute_filter_rejects_down_and_disabled_services() -> None:
    hosts = [host("up"), host("down", up=False), host("off", disabled=True)]
    passed, why = run(ComputeFilter(), hosts, req())
    assert passed == ["up"]
    assert why == "ComputeFilter rejected 2 (1 compute service down, 1 disabled)"


def test_ram_filter_uses_the_nodes_ratio_or_the_default(flags: Any) -> None:
    flags(ram_allocation_ratio=1.5)
    default_ratio = host("default", memory_mb=4096)             # limit 6144
    own_ratio = host("own", memory_mb=4096, ram_allocation_ratio=1.0)  # limit 4096
    passed, why = run(RamFilter(), [default_ratio, own_ratio], req(memory_mb=5000))
    assert passed == ["default"]
    assert why == "RamFilter rejected 1 (need 5000 MB, best has 4096 MB)"


def test_ram_filter_explains_the_best_of_the_rejected_hosts() -> None:
    hosts = [host("a", memory_mb=2048, ram_allocation_ratio=1.0),
             host("b", memory_mb=8192, memory_mb_used=4096, ram_allocation_ratio=1.0)]
    passed, why = run(RamFilter(), hosts, req(memory_mb=8192))
    assert passed == []
    assert why == "RamFilter rejected 2 (need 8192 MB, best has 4096 MB)"


def test_disk_filter_counts_root_ephemeral_and_swap_rounded_up() -> None:
    request = req(root_gb=10, ephemeral_gb=5, swap=1025)
    assert request.disk_gb == 17
    fits, short = host("fits", local_gb=17), host("short", local_gb=16)
    passed, why = run(DiskFilter(), [fits, short], request)
    assert passed == ["fits"]
    assert why == "DiskFilter rejected 1 (need 17 GB, best has 16 GB)"


def test_core_filter_allows_cpu_overcommit(flags: Any) -> None:
    flags(cpu_allocation_ratio=2.0)
    hosts = [host("a", vcpus=2, vcpus_used=3), host("b", vcpus=2, vcpus_used=2)]
    passed, why = run(CoreFilter(), hosts, req(vcpus=2))
    assert passed == ["b"]
    assert why == "CoreFilter rejected 1 (need 2 vCPUs, best has 1 vCPUs)"


def test_availability_zone_filter(flags: Any) -> None:
    flags(default_availability_zone="nova")
    east = host("east")
    east.availability_zone = "east"
    hosts = [host("default"), east]
    assert run(AvailabilityZoneFilter(), hosts, req())[0] == ["default", "east"]
    passed, why = run(AvailabilityZoneFilter(), hosts, req(availability_zone="east"))
    assert passed == ["east"]
    assert why == "AvailabilityZoneFilter rejected 1 (not in zone 'east')"
    assert run(AvailabilityZoneFilter(), hosts, req(availability_zone="nova"))[0] == [
        "default"]


def test_aggregate_extra_specs_filter_matches_scoped_specs_only() -> None:
    ssd = host("ssd")
    ssd.aggregates = [{"name": "fast", "metadata": {"ssd": "true", "cpus": "32"}}]
    plain = host("plain")
    specs = {"aggregate_instance_extra_specs:ssd": "true", "hw:cpu_policy": "dedicated",
             "free-form": "x"}
    passed, why = run(AggregateInstanceExtraSpecsFilter(), [ssd, plain],
                      req(extra_specs=specs))
    assert passed == ["ssd"]
    assert why == "AggregateInstanceExtraSpecsFilter rejected 1 (no aggregate with ssd=true)"
    # Without scoped specs the filter has nothing to check.
    assert run(AggregateInstanceExtraSpecsFilter(), [ssd, plain],
               req(extra_specs={"hw:cpu_policy": "dedicated"}))[0] == ["ssd", "plain"]


@pytest.mark.parametrize(("value", "requirement", "matches"), [
    ("true", "true", True), ("true", "false", False), ("32", ">= 16", True),
    ("8", "= 16", False), ("abc", "<in> b", True), ("b", "<or> a <or> b", True),
    ("c", "<or> a <or> b", False), ("x", "s== x", True), ("x", "s!= x", False),
])
def test_extra_spec_operators(value: str, requirement: str, matches: bool) -> None:
    assert spec_matches(value, requirement) is matches


def test_anti_affinity_rejects_group_hosts_and_hosts_chosen_in_this_request() -> None:
    group = {"uuid": "g", "policy": "anti-affinity", "rules": {}, "hosts": ["a"]}
    request = req(instance_group=group)
    request.chosen_hosts.append("b")
    passed, why = run(ServerGroupAntiAffinityFilter(), [host("a"), host("b"), host("c")],
                      request)
    assert passed == ["c"]
    assert why == ("ServerGroupAntiAffinityFilter rejected 2 "
                   "(server group anti-affinity: host already has a member)")


def test_affinity_follows_the_first_member() -> None:
    group = {"uuid": "g", "policy": "affinity", "rules": {}, "hosts": []}
    request = req(instance_group=group)
    hosts = [host("a"), host("b")]
    assert run(ServerGroupAffinityFilter(), hosts, request)[0] == ["a", "b"]
    request.chosen_hosts.append("b")
    passed, why = run(ServerGroupAffinityFilter(), hosts, request)
    assert passed == ["b"]
    assert why == "ServerGroupAffinityFilter rejected 1 (server group affinity: must be on b)"


def test_server_group_filters_ignore_other_policies() -> None:
    request = req(instance_group={"uuid": "g", "policy": "affinity", "hosts": ["a"]})
    assert run(ServerGroupAntiAffinityFilter(), [host("a")], request)[0] == ["a"]
    assert run(ServerGroupAffinityFilter(), [host("b")], req())[0] == ["b"]


def test_image_properties_filter_matches_hypervisor_and_architecture() -> None:
    qemu = host("qemu", hypervisor_type="QEMU", cpu_info='{"arch": "x86_64"}')
    arm = host("arm", hypervisor_type="QEMU", cpu_info='{"arch": "aarch64"}')
    fake = host("fake", hypervisor_type="fake", cpu_info="{}")
    props = {"hypervisor_type": "qemu", "architecture": "x86_64"}
    passed, why = run(ImagePropertiesFilter(), [qemu, arm, fake],
                      req(image_properties=props))
    assert passed == ["qemu"]
    assert why == ("ImagePropertiesFilter rejected 2 "
                   "(image requires hypervisor_type qemu, architecture x86_64)")


def test_image_properties_filter_is_lenient_when_values_are_absent() -> None:
    unknown = host("unknown", hypervisor_type="", cpu_info="not json")
    assert run(ImagePropertiesFilter(), [unknown],
               req(image_properties={"hw_architecture": "x86_64"}))[0] == ["unknown"]
    assert run(ImagePropertiesFilter(), [host("a")], req())[0] == ["a"]


def test_unknown_filter_name_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="NoSuchFilter"):
        filters.load_filters(["RamFilter", "NoSuchFilter"])


def test_default_enabled_filters_all_load() -> None:
    from kumo.conf import CONF

    names = [f.name for f in filters.load_filters(CONF.scheduler.enabled_filters)]
    assert names == CONF.scheduler.enabled_filters
