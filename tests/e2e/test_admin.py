"""Operator views: services, hypervisors, availability zones, aggregates."""

from __future__ import annotations

from tests.e2e import cloud as e2e
from tests.functional.harness import Cloud


def test_novaclient_services_and_hypervisors(cloud: Cloud) -> None:
    nova = e2e.novaclient(cloud)
    computes = nova.services.list(binary="kumo-compute")
    assert [(s.host, s.state, s.status) for s in computes] == [(cloud.host, "up", "enabled")]
    hypervisors = nova.hypervisors.list()
    assert len(hypervisors) == e2e.NODES
    # 2.88 removed /os-hypervisors/statistics: ask for it at 2.87.
    stats = e2e.novaclient(cloud, version="2.87").hypervisor_stats.statistics()
    assert stats.count == e2e.NODES and stats.vcpus == 32 * e2e.NODES
    one = nova.hypervisors.get(hypervisors[0].id)
    assert one.hypervisor_hostname == hypervisors[0].hypervisor_hostname

    disabled = nova.services.disable_log_reason(computes[0].id, "e2e maintenance") \
        if nova.api_version.ver_minor >= 53 else \
        nova.services.disable_log_reason(cloud.host, "kumo-compute", "e2e maintenance")
    assert disabled.status == "disabled"
    try:
        [row] = nova.services.list(binary="kumo-compute")
        assert (row.status, row.disabled_reason) == ("disabled", "e2e maintenance")
    finally:
        if nova.api_version.ver_minor >= 53:
            nova.services.enable(computes[0].id)
        else:
            nova.services.enable(cloud.host, "kumo-compute")
    assert nova.services.list(binary="kumo-compute")[0].status == "enabled"


def test_openstacksdk_services_hypervisors_zones(cloud: Cloud) -> None:
    conn = e2e.sdk(cloud)
    binaries = {s.binary for s in conn.compute.services()}
    assert {"kumo-compute", "kumo-scheduler", "kumo-conductor"} <= binaries
    assert len(list(conn.compute.hypervisors(details=True))) == e2e.NODES
    zones = {z.name for z in conn.compute.availability_zones()}
    assert "nova" in zones


def test_openstack_cli_services_and_hypervisors(cloud: Cloud) -> None:
    services = e2e.as_json(e2e.openstack_cli(cloud, "compute", "service", "list",
                                             "-f", "json"))
    assert any(s["Binary"] == "kumo-compute" and s["State"] == "up" for s in services)
    hypervisors = e2e.as_json(e2e.openstack_cli(cloud, "hypervisor", "list", "-f", "json"))
    assert len(hypervisors) == e2e.NODES


def test_kumo_cli_services_hypervisors_zones(cloud: Cloud) -> None:
    rows = e2e.table_rows(e2e.kumo_cli(cloud, "service-list", "--binary", "kumo-compute")
                          .stdout)
    assert [(r["Host"], r["Status"], r["State"]) for r in rows] == [
        (cloud.host, "enabled", "up")]
    e2e.kumo_cli(cloud, "service-disable", cloud.host, "kumo-compute", "--reason", "e2e")
    try:
        [row] = e2e.table_rows(e2e.kumo_cli(cloud, "service-list", "--binary",
                                            "kumo-compute").stdout)
        assert (row["Status"], row["Disabled Reason"]) == ("disabled", "e2e")
    finally:
        e2e.kumo_cli(cloud, "service-enable", cloud.host, "kumo-compute")
    hypervisors = e2e.table_rows(e2e.kumo_cli(cloud, "hypervisor-list").stdout)
    assert len(hypervisors) == e2e.NODES
    shown = e2e.kumo_cli(cloud, "hypervisor-show",
                         hypervisors[0]["Hypervisor hostname"]).stdout
    assert e2e.table_value(shown, "vcpus") == "32"
    stats = e2e.kumo_cli(cloud, "hypervisor-stats").stdout
    assert e2e.table_value(stats, "count") == str(e2e.NODES)
    zones = e2e.table_rows(e2e.kumo_cli(cloud, "availability-zone-list").stdout)
    assert {"Name": "nova", "Status": "available"} in zones


def test_aggregates_through_novaclient_and_kumo_cli(cloud: Cloud) -> None:
    nova = e2e.novaclient(cloud)
    aggregate = nova.aggregates.create("e2e-agg", "e2e-zone")
    try:
        aggregate = nova.aggregates.add_host(aggregate, cloud.host)
        assert aggregate.hosts == [cloud.host]
        nova.aggregates.set_metadata(aggregate, {"ssd": "true"})
        assert nova.aggregates.get(aggregate.id).metadata["ssd"] == "true"
        zones = {z.zoneName for z in nova.availability_zones.list(detailed=False)}
        assert "e2e-zone" in zones
        rows = e2e.table_rows(e2e.kumo_cli(cloud, "aggregate-list").stdout)
        assert {"Id": str(aggregate.id), "Name": "e2e-agg",
                "Availability Zone": "e2e-zone"} in rows
        e2e.kumo_cli(cloud, "aggregate-remove-host", "e2e-agg", cloud.host)
        assert nova.aggregates.get(aggregate.id).hosts == []
    finally:
        e2e.kumo_cli(cloud, "aggregate-delete", "e2e-agg")
    assert "e2e-agg" not in [a.name for a in nova.aggregates.list()]


def test_openstack_cli_aggregate_create_list_delete(cloud: Cloud) -> None:
    e2e.openstack_cli(cloud, "aggregate", "create", "osc-agg")
    listed = e2e.as_json(e2e.openstack_cli(cloud, "aggregate", "list", "-f", "json"))
    assert "osc-agg" in [a["Name"] for a in listed]
    e2e.openstack_cli(cloud, "aggregate", "delete", "osc-agg")
