"""The one-call server views (plain rows from the conductor) show exactly what the
views built from Instance objects show.

From 2.75 a PUT answers with everything GET shows, built from the Instance object
the conductor's instance_get returns (and separate reads of tags and services);
GET /servers/{id} and /servers/detail build it from the 1.9 view calls' rows.
"""

from __future__ import annotations

import pytest

from kumo.api.openstack import app as compute_app
from kumo.context import get_admin_context
from kumo.db import api as db
from tests.unit.api.conftest import NoBuild, call


@pytest.fixture
def servers(conductor_cloud: tuple[compute_app.ComputeAPI, NoBuild, str]
            ) -> tuple[compute_app.ComputeAPI, list[str]]:
    api, conductor, image_id = conductor_cloud
    booted = call(api, "POST", "/servers", {"server": {
        "name": "web", "imageRef": image_id, "flavorRef": "2", "min_count": 3,
        "metadata": {"role": "web"}}}, token="admin:project-a")
    assert booted.status_int == 202, booted.json
    [(uuids, _)] = conductor.built
    ctxt = get_admin_context()
    db.service_heartbeat(db.service_create({"host": "h1", "binary": "kumo-compute"})["id"])
    conductor.instance_update(ctxt, instance_uuid=uuids[0], values={
        "host": "h1", "node": "n1", "vm_state": "active", "task_state": None,
        "power_state": 1, "launched_at": "2026-01-02T03:04:05.123456",
        "system_metadata": {"locked_reason": "audit", "claimed_node": "n1",
                            "request_spec": '{"availability_zone": "az1", '
                                            '"scheduler_hints": {"group": "g"}}'}})
    conductor.instance_update(ctxt, instance_uuid=uuids[1], values={
        "host": "h9", "vm_state": "error", "task_state": None})
    conductor.instance_fault_create(ctxt, uuids[1], 500, "No valid host", details="tb")
    conductor.instance_tags_set(ctxt, instance_uuid=uuids[0], tags=["x", "a"])
    return api, uuids


@pytest.mark.parametrize("version", ["2.75", "2.96", "2.100", "latest"])
@pytest.mark.parametrize("token", ["admin:project-a", "alice:project-a"])
def test_show_and_detail_equal_the_object_built_view(
        servers: tuple[compute_app.ComputeAPI, list[str]], version: str, token: str) -> None:
    api, uuids = servers
    headers = {"OpenStack-API-Version": f"compute {version}"}
    listed = call(api, "GET", "/servers/detail", token=token, **headers)
    assert listed.status_int == 200, listed.json
    by_id = {server["id"]: server for server in listed.json["servers"]}
    for uuid in uuids:
        shown = call(api, "GET", f"/servers/{uuid}", token=token, **headers)
        put = call(api, "PUT", f"/servers/{uuid}", {"server": {}}, token=token, **headers)
        assert shown.status_int == put.status_int == 200, (shown.json, put.json)
        assert shown.json["server"] == put.json["server"]
        # The listing shows the same, less 2.71's server_groups (a show's alone).
        expected = dict(shown.json["server"])
        expected.pop("server_groups", None)
        assert by_id[uuid] == expected


def test_show_of_another_projects_server_is_404(
        servers: tuple[compute_app.ComputeAPI, list[str]]) -> None:
    api, uuids = servers
    assert call(api, "GET", f"/servers/{uuids[0]}", token="bob:project-b").status_int == 404
