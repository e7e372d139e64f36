"""Microversion 2.86 (extra specs checked against the known namespaces) and 2.102
(``rxtx_factor`` gone from flavors), through the API over the real conductor."""

from __future__ import annotations

from typing import Any

import pytest

from kumo.api.openstack import api_version
from kumo.api.openstack.compute import extra_specs_validators as validators
from tests.unit.api.admin_cloud import Cloud, cloud_fixture  # noqa: F401

TINY = {"name": "m1.tiny", "ram": 512, "vcpus": 1, "disk": 1, "id": "1"}


@pytest.fixture(autouse=True)
def _up_to_2_102(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_version, "MAX", api_version.APIVersion("2.102"))


@pytest.mark.parametrize("key, value", [
    ("hw:cpu_policy", "dedicated"), ("hw:cpu_thread_policy", "isolate"),
    ("hw:numa_nodes", "2"), ("hw:numa_cpus.0", "0-3,^2"), ("hw:numa_mem.1", "1024"),
    ("hw:mem_page_size", "2MB"), ("hw:mem_page_size", "large"), ("hw:cpu_realtime", "yes"),
    ("hw_rng:allowed", "True"), ("hw_rng:rate_bytes", "1024"), ("hw_video:ram_max_mb", "64"),
    ("os:secure_boot", "required"), ("quota:disk_read_bytes_sec", "10240"),
    ("resources:VCPU", "0"), ("resources1:CUSTOM_GPU", "1"), ("trait:HW_CPU_X86_AVX", "required"),
    ("trait_net:CUSTOM_FAST", "forbidden"), ("aggregate_instance_extra_specs:ssd", "true"),
    ("pci_passthrough:alias", "gpu:2,nic:1"), ("group_policy", "isolate"),
    # Not kumo's namespaces (or none): the operator's own, any value.
    ("my_filter:color", "blue"), ("capabilities:cpu_info:arch", "x86_64"), ("plain", "x"),
])
def test_accepted(key: str, value: str) -> None:
    validators.validate(key, value)


@pytest.mark.parametrize("key, value, reason", [
    ("hw:cpu_policy", "fast", "must be one of ['dedicated', 'shared', 'mixed']"),
    ("hw:numa_nodes", "0", "must be greater than or equal to 1"),
    ("hw:numa_nodes", "two", "must be an integer"),
    ("hw:numa_cpus.0", "a-b", "must be a CPU set"),
    ("hw:cpu_realtime", "maybe", "must be a boolean"),
    ("hw_rng:rate_bytes", "-1", "must be greater than or equal to 0"),
    ("quota:cpu_shares", "lots", "must be an integer"),
    ("resources:VCPU", "-2", "must be greater than or equal to 0"),
    ("trait:HW_CPU_X86_AVX", "yes", "must be one of ['required', 'forbidden']"),
    ("hw:no_such_thing", "1", "does not appear to be a valid extra spec"),
    ("resources2:vcpu", "1", "does not appear to be a valid extra spec"),
    ("os:nothing", "1", "does not appear to be a valid extra spec"),
])
def test_refused(key: str, value: str, reason: str) -> None:
    with pytest.raises(ValueError) as raised:
        validators.validate(key, value)
    assert str(raised.value).startswith(f"Validation failed; extra spec '{key}'")
    assert reason in str(raised.value)


def test_known_namespaces_are_checked_from_2_86_on_create_and_update(cloud: Cloud) -> None:
    assert cloud.call("POST", "/flavors", {"flavor": TINY}).status_int == 200
    bad = {"extra_specs": {"hw:cpu_policy": "fast", "mine:x": "y"}}
    # Before 2.86: stored as given.
    assert cloud.call("POST", "/flavors/1/os-extra_specs", bad, version="2.85").status_int == 200
    refused = cloud.call("POST", "/flavors/1/os-extra_specs", bad, version="2.86")
    assert refused.status_int == 400
    assert refused.json["badRequest"]["message"] == (
        "Validation failed; extra spec 'hw:cpu_policy' with value 'fast' must be one of "
        "['dedicated', 'shared', 'mixed'].")
    good = {"extra_specs": {"hw:cpu_policy": "dedicated", "hw:numa_nodes": 2, "mine:x": "y"}}
    created = cloud.call("POST", "/flavors/1/os-extra_specs", good, version="2.86")
    assert created.status_int == 200, created.json
    assert created.json["extra_specs"]["hw:numa_nodes"] == "2"
    unknown = cloud.call("PUT", "/flavors/1/os-extra_specs/hw:bogus", {"hw:bogus": "1"},
                         version="2.86")
    assert unknown.status_int == 400
    assert "does not appear to be a valid extra spec" in unknown.json["badRequest"]["message"]
    bad_value = cloud.call("PUT", "/flavors/1/os-extra_specs/hw:numa_nodes",
                           {"hw:numa_nodes": "0"}, version="2.86")
    assert bad_value.status_int == 400
    assert cloud.call("PUT", "/flavors/1/os-extra_specs/hw:numa_nodes",
                      {"hw:numa_nodes": "4"}, version="2.86").status_int == 200
    specs = cloud.call("GET", "/flavors/1/os-extra_specs").json["extra_specs"]
    assert specs == {"hw:cpu_policy": "dedicated", "hw:numa_nodes": "4", "mine:x": "y"}


def _flavor(cloud: Cloud, version: str) -> dict[str, Any]:
    return cloud.call("GET", "/flavors/1", version=version).json["flavor"]


def test_rxtx_factor_is_gone_from_2_102(cloud: Cloud) -> None:
    with_factor = {"flavor": {**TINY, "rxtx_factor": 2.0}}
    refused = cloud.call("POST", "/flavors", with_factor, version="2.102")
    assert refused.status_int == 400
    assert "rxtx_factor" in refused.json["badRequest"]["message"]
    assert cloud.call("POST", "/flavors", with_factor, version="2.101").status_int == 200
    assert _flavor(cloud, "2.101")["rxtx_factor"] == 2.0
    assert "rxtx_factor" not in _flavor(cloud, "2.102")
    listed = cloud.call("GET", "/flavors/detail", version="2.102").json["flavors"]
    assert listed and all("rxtx_factor" not in flavor for flavor in listed)
    created = cloud.call("POST", "/flavors", {"flavor": {**TINY, "name": "b", "id": "2"}},
                         version="2.102")
    assert created.status_int == 200 and "rxtx_factor" not in created.json["flavor"]
