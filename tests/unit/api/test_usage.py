"""``/os-simple-tenant-usage`` through the API over the real conductor: hours
counted from launch/termination within the period, per project, paged from 2.40."""

from __future__ import annotations

import datetime

import pytest

from tests.unit.api.admin_cloud import MEMBER, Cloud, cloud_fixture  # noqa: F401

START = datetime.datetime(2026, 1, 1)
PERIOD = "?start=2026-01-01T00:00:00&end=2026-01-02T00:00:00"


def _at(hours: float) -> datetime.datetime:
    return START + datetime.timedelta(hours=hours)


@pytest.fixture
def servers(cloud: Cloud) -> list[dict]:
    return [
        # ran 10:00 -> end of period: 14 h
        cloud.add_server(display_name="a", launched_at=_at(10)),
        # ran from before the period to 06:00, deleted: 6 h
        cloud.add_server(display_name="b", launched_at=_at(-5), terminated_at=_at(6),
                         deleted=True, vcpus=2, memory_mb=1024,
                         flavor={"flavorid": "2", "name": "m1.small", "memory_mb": 1024,
                                 "vcpus": 2, "root_gb": 10, "ephemeral_gb": 0}),
        # another project, 12:00 -> 18:00: 6 h
        cloud.add_server(project_id="project-b", launched_at=_at(12), terminated_at=_at(18)),
        # terminated before the period, launched after it, never launched: 0 h, not listed
        cloud.add_server(launched_at=_at(-10), terminated_at=_at(-1), deleted=True),
        cloud.add_server(launched_at=_at(30)),
        cloud.add_server(launched_at=None, vm_state="building"),
    ]


def test_show_counts_a_project_s_servers(cloud: Cloud, servers: list[dict]) -> None:
    usage = cloud.call("GET", "/os-simple-tenant-usage/project-a" + PERIOD,
                       token=MEMBER).json["tenant_usage"]
    assert usage["tenant_id"] == "project-a"
    assert usage["total_hours"] == pytest.approx(20)
    assert usage["total_vcpus_usage"] == pytest.approx(14 + 2 * 6)
    assert usage["total_memory_mb_usage"] == pytest.approx(512 * 14 + 1024 * 6)
    assert usage["total_local_gb_usage"] == pytest.approx(14 + 10 * 6)
    assert (usage["start"], usage["stop"]) == ("2026-01-01T00:00:00.000000",
                                               "2026-01-02T00:00:00.000000")
    by_name = {s["name"]: s for s in usage["server_usages"]}
    assert sorted(by_name) == ["a", "b"]
    assert (by_name["b"]["state"], by_name["b"]["flavor"], by_name["b"]["hours"]) == (
        "terminated", "m1.small", pytest.approx(6))
    assert by_name["b"]["ended_at"] == "2026-01-01T06:00:00.000000"
    assert by_name["b"]["uptime"] == 11 * 3600
    assert (by_name["a"]["state"], by_name["a"]["ended_at"]) == ("active", None)


def test_index_sums_every_project_for_admins(cloud: Cloud, servers: list[dict]) -> None:
    usages = cloud.call("GET", "/os-simple-tenant-usage" + PERIOD).json["tenant_usages"]
    assert {u["tenant_id"]: round(u["total_hours"], 6) for u in usages} == {
        "project-a": 20, "project-b": 6}
    assert all("server_usages" not in u for u in usages)
    detailed = cloud.call("GET", "/os-simple-tenant-usage" + PERIOD + "&detailed=1").json
    assert sum(len(u["server_usages"]) for u in detailed["tenant_usages"]) == 3
    assert cloud.call("GET", "/os-simple-tenant-usage" + PERIOD, token=MEMBER
                      ).status_int == 403
    assert cloud.call("GET", "/os-simple-tenant-usage/project-b" + PERIOD, token=MEMBER
                      ).status_int == 403


def test_paging_from_2_40(cloud: Cloud, servers: list[dict]) -> None:
    first = cloud.call("GET", "/os-simple-tenant-usage" + PERIOD + "&detailed=1&limit=2",
                       version="2.40").json
    counted = [s["instance_id"] for u in first["tenant_usages"] for s in u["server_usages"]]
    assert len(counted) == 2
    link = first["tenant_usages_links"][0]
    assert link["rel"] == "next" and f"marker={counted[-1]}" in link["href"]
    rest = cloud.call("GET", "/os-simple-tenant-usage" + PERIOD
                      + f"&detailed=1&limit=2&marker={counted[-1]}", version="2.40").json
    assert [u["tenant_id"] for u in rest["tenant_usages"]] == ["project-b"]
    assert "tenant_usages_links" not in rest
    assert cloud.call("GET", "/os-simple-tenant-usage" + PERIOD + "&marker=nope",
                      version="2.40").status_int == 400


def test_period_errors_and_empty_usage(cloud: Cloud) -> None:
    backwards = cloud.call("GET", "/os-simple-tenant-usage?start=2026-01-02T00:00:00"
                                  "&end=2026-01-01T00:00:00")
    assert backwards.json["badRequest"]["message"] == (
        "Invalid start time. The start time cannot occur after the end time.")
    assert cloud.call("GET", "/os-simple-tenant-usage?start=yesterday").status_int == 400
    assert cloud.call("GET", "/os-simple-tenant-usage/nobody" + PERIOD).json == {
        "tenant_usage": {}}
