"""Microversion 2.104: a server's owner unpins it from its availability zone (PUT
``pinned_availability_zone: null``) or pins it again to the zone it is in."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kumo.api.openstack import api_version
from kumo.api.openstack import app as compute_app
from kumo.context import get_admin_context
from tests.unit.api.conftest import NoBuild, call

MEMBER = "alice:project-a"


@pytest.fixture
def cloud(conductor_cloud: tuple[compute_app.ComputeAPI, NoBuild, str],
          monkeypatch: pytest.MonkeyPatch) -> tuple[compute_app.ComputeAPI, NoBuild, str]:
    monkeypatch.setattr(api_version, "MAX", api_version.APIVersion("2.104"))
    return conductor_cloud


def _put(api: Any, server_id: str, changes: dict[str, Any], version: str) -> Any:
    return call(api, "PUT", f"/servers/{server_id}", {"server": changes}, token=MEMBER,
                **{"OpenStack-API-Version": f"compute {version}"})


def test_unpin_and_pin_again(cloud: Any) -> None:
    api, conductor, image_id = cloud
    booted = call(api, "POST", "/servers", {"server": {
        "name": "web", "imageRef": image_id, "flavorRef": "2"}}, token=MEMBER)
    assert booted.status_int == 202, booted.json
    server_id = booted.json["server"]["id"]
    # As the conductor records it once the server is placed in zone az1 (asked for).
    spec = {"availability_zone": "az1", "scheduler_hints": {"a": ["b"]}}
    conductor.instance_update(get_admin_context(), server_id, {
        "availability_zone": "az1", "system_metadata": {"request_spec": json.dumps(spec)}})

    before = _put(api, server_id, {"pinned_availability_zone": None}, "2.103")
    assert before.status_int == 400
    unpinned = _put(api, server_id, {"pinned_availability_zone": None}, "2.104")
    assert unpinned.status_int == 200, unpinned.json
    assert unpinned.json["server"]["pinned_availability_zone"] is None
    # The rest of the recorded spec stays (2.100 shows the hints).
    assert unpinned.json["server"]["scheduler_hints"] == {"a": ["b"]}

    elsewhere = _put(api, server_id, {"pinned_availability_zone": "az2"}, "2.104")
    assert elsewhere.status_int == 400
    assert "only be pinned to the availability zone it is in (az1)" in (
        elsewhere.json["badRequest"]["message"])
    pinned = _put(api, server_id, {"pinned_availability_zone": "az1"}, "2.104")
    assert pinned.status_int == 200
    assert pinned.json["server"]["pinned_availability_zone"] == "az1"
    shown = call(api, "GET", f"/servers/{server_id}", token=MEMBER,
                 **{"OpenStack-API-Version": "compute 2.96"}).json["server"]
    assert shown["pinned_availability_zone"] == "az1"
