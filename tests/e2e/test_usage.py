"""os-simple-tenant-usage through the clients: a server's hours show up."""

from __future__ import annotations

import datetime

from tests.e2e import cloud as e2e
from tests.functional.harness import Cloud

DAVE = "dave:usage-proj"


def test_usage_of_a_project_through_novaclient_sdk_and_kumo(cloud: Cloud) -> None:
    start = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(
        hours=1)
    booted = e2e.kumo_cli(cloud, "boot", "--flavor", "2", "--image", e2e.IMAGE, "--poll",
                          "billed", token=DAVE)
    server_id = e2e.table_value(booted.stdout, "id")
    try:
        end = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(
            hours=1)
        nova = e2e.novaclient(cloud)
        usage = nova.usage.get("usage-proj", start, end)
        assert [s["instance_id"] for s in usage.server_usages] == [server_id]
        assert usage.server_usages[0]["memory_mb"] == 2048
        assert "usage-proj" in [u.tenant_id for u in nova.usage.list(start, end)]

        mine = e2e.novaclient(cloud, DAVE).usage.get("usage-proj", start, end)
        assert mine.total_memory_mb_usage >= 0
        conn = e2e.sdk(cloud)
        assert "usage-proj" in [u.project_id for u in conn.compute.usages(start=start,
                                                                          end=end)]

        rows = e2e.table_rows(e2e.kumo_cli(cloud, "usage", token=DAVE).stdout)
        assert [(r["Tenant ID"], r["Servers"]) for r in rows] == [("usage-proj", "1")]
        listed = e2e.table_rows(e2e.kumo_cli(cloud, "usage-list").stdout)
        assert "usage-proj" in [r["Tenant ID"] for r in listed]
        denied = e2e.kumo_cli(cloud, "usage-list", token=DAVE, check=False)
        assert denied.returncode == 1 and "(HTTP 403)" in denied.stderr
    finally:
        e2e.kumo_cli(cloud, "delete", server_id, token=DAVE)
        e2e.wait_status(lambda: e2e.api_status(cloud, server_id), "DELETED", "billed")
