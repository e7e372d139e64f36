"""Quotas and limits: set by an admin, shown to the project, enforced at boot."""

from __future__ import annotations

import pytest

from tests.e2e import cloud as e2e
from tests.functional.harness import Cloud

PROJECT = "quota-proj"
CAROL = f"carol:{PROJECT}"


def _boot(cloud: Cloud, name: str) -> tuple[int, dict]:
    status, body = cloud.api("POST", "/servers", {"server": {
        "name": name, "imageRef": e2e.image_id(cloud), "flavorRef": "1"}}, token=CAROL)
    return status, body  # type: ignore[return-value]


@pytest.fixture
def one_instance_quota(cloud: Cloud):  # type: ignore[no-untyped-def]
    """Project ``quota-proj`` may run one server; it runs one; reset afterwards."""
    nova = e2e.novaclient(cloud)
    nova.quotas.update(PROJECT, instances=1, cores=4)
    status, body = _boot(cloud, "only-one")
    assert status == 202, body
    server_id = body["server"]["id"]
    e2e.wait_status(lambda: e2e.api_status(cloud, server_id), "ACTIVE", "only-one")
    yield server_id
    cloud.api("DELETE", f"/servers/{server_id}", token=CAROL)
    e2e.wait_status(lambda: e2e.api_status(cloud, server_id), "DELETED", "only-one deleted")
    nova.quotas.delete(PROJECT)


def test_novaclient_over_quota_is_forbidden_and_limits_show_usage(
        cloud: Cloud, one_instance_quota: str) -> None:
    from novaclient import exceptions

    carol = e2e.novaclient(cloud, CAROL)
    assert carol.quotas.get(PROJECT).instances == 1
    assert carol.quotas.defaults(PROJECT).instances == 10
    absolute = {limit.name: limit.value for limit in carol.limits.get().absolute}
    assert (absolute["maxTotalInstances"], absolute["totalInstancesUsed"]) == (1, 1)
    assert absolute["totalCoresUsed"] == 1 and absolute["totalRAMUsed"] == 512
    with pytest.raises(exceptions.Forbidden) as raised:
        carol.servers.create("second", e2e.image_id(cloud), "1", **e2e.nova_nics(carol))
    assert "Quota exceeded for instances" in str(raised.value)


def test_openstacksdk_over_quota_is_forbidden(cloud: Cloud, one_instance_quota: str) -> None:
    from openstack import exceptions

    conn = e2e.sdk(cloud, CAROL)
    with pytest.raises(exceptions.ForbiddenException) as raised:
        conn.compute.create_server(name="second", image_id=e2e.image_id(cloud), flavor_id="1",
                                   networks="none")
    assert "Quota exceeded for instances" in str(raised.value)
    limits = conn.compute.get_limits()
    assert (limits.absolute.instances, limits.absolute.instances_used) == (1, 1)


def test_kumo_cli_quotas_limits_and_over_quota(cloud: Cloud, one_instance_quota: str) -> None:
    rows = e2e.table_rows(e2e.kumo_cli(cloud, "quota-show", token=CAROL).stdout)
    assert {"Quota": "instances", "Limit": "1"} in rows
    defaults = e2e.table_rows(e2e.kumo_cli(cloud, "quota-defaults", token=CAROL).stdout)
    assert {"Quota": "instances", "Limit": "10"} in defaults
    limits = e2e.table_rows(e2e.kumo_cli(cloud, "limits", token=CAROL).stdout)
    assert {"Name": "Instances", "Used": "1", "Max": "1"} in limits
    over = e2e.kumo_cli(cloud, "boot", "--flavor", "1", "--image", e2e.IMAGE, "second",
                        token=CAROL, check=False)
    assert over.returncode == 1
    assert "Quota exceeded for instances" in over.stderr and "(HTTP 403)" in over.stderr
    denied = e2e.kumo_cli(cloud, "quota-update", PROJECT, "--instances", "50", token=CAROL,
                          check=False)
    assert denied.returncode == 1 and "(HTTP 403)" in denied.stderr
    e2e.kumo_cli(cloud, "quota-update", PROJECT, "--instances", "2")
    status, body = _boot(cloud, "second")
    assert status == 202, body
    second = body["server"]["id"]
    cloud.api("DELETE", f"/servers/{second}", token=CAROL)
    e2e.wait_status(lambda: e2e.api_status(cloud, second), "DELETED", "second deleted")
