"""The 1.9 server-view reads over the fake bus: plain JSON rows out, one call per view."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kumo import context, exception
from kumo.conductor import rpcapi
from kumo.db import api as db


def _boot(conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext, count: int = 2,
          **values: Any) -> list[Any]:
    tiny = conductor.flavor_create(ctxt, {"name": "m1.tiny", "flavorid": "1",
                                          "memory_mb": 512, "vcpus": 1, "root_gb": 1})
    flavor = {name: getattr(tiny, name) for name in tiny.obj_fields
              if tiny.obj_attr_is_set(name) and name not in ("created_at", "updated_at")}
    return conductor.instance_create(ctxt, [
        {"project_id": "p1", "user_id": "u1", "display_name": f"vm-{index}",
         "flavor": flavor, "flavor_id": tiny.id, "memory_mb": 512, "vcpus": 1, "root_gb": 1,
         "metadata": {"k": "v"}, "key_data": "ssh-rsa AAAA", "launch_index": index,
         "system_metadata": {"request_spec": '{"availability_zone": "az1"}',
                             "locked_reason": "audit", "claimed_node": "n1"},
         **values}
        for index in range(count)])


def test_listing_is_plain_json_rows_with_what_the_views_read(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    booted = _boot(conductor, ctxt, host="h1")
    conductor.instance_fault_create(ctxt, booted[0].uuid, 500, "boom", details="tb")
    conductor.instance_tags_set(ctxt, booted[0].uuid, ["b", "a"])
    db.service_create({"host": "h1", "binary": "kumo-compute"})
    db.service_create({"host": "h2", "binary": "kumo-compute"})

    found = conductor.instance_get_all_for_view(
        ctxt, filters={"project_id": "p1"}, sort_keys=["display_name"], sort_dirs=["asc"],
        extras=["tags", "services"])

    json.dumps(found)  # JSON types only: nothing for a serializer to convert
    rows = found["instances"]
    assert [row["display_name"] for row in rows] == ["vm-0", "vm-1"]
    first = rows[0]
    assert first["uuid"] == booted[0].uuid and first["metadata"] == {"k": "v"}
    assert first["flavor"]["flavorid"] == "1"
    assert isinstance(first["created_at"], str)
    assert first["fault"]["message"] == "boom" and isinstance(first["fault"]["created_at"], str)
    assert rows[1]["fault"] is None
    # Only what a view reads: no public key, no claim bookkeeping, the recorded
    # request spec only when asked for (2.96+ views).
    assert "key_data" not in first and "memory_mb" not in first
    assert first["system_metadata"] == {"locked_reason": "audit"}
    [with_spec, _] = conductor.instance_get_all_for_view(
        ctxt, filters={"project_id": "p1"}, sort_keys=["display_name"], sort_dirs=["asc"],
        extras=["request_spec"])["instances"]
    assert with_spec["system_metadata"] == {"request_spec": '{"availability_zone": "az1"}',
                                            "locked_reason": "audit"}
    assert found["tags"] == {booted[0].uuid: ["a", "b"], booted[1].uuid: []}
    assert [service["host"] for service in found["services"]] == ["h1"]
    assert "network_info" not in found


def test_show_reads_the_instance_and_its_extras_in_one_call(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    [server] = _boot(conductor, ctxt, count=1)
    found = conductor.instance_get_for_view(ctxt, server.uuid, project_id="p1",
                                            extras=["tags", "services", "network_info"])
    assert found["instance"]["uuid"] == server.uuid
    # No host yet: no service to read.
    assert found["tags"] == {server.uuid: []} and found["services"] == []
    assert found["network_info"] == {server.uuid: []}
    assert set(conductor.instance_get_for_view(ctxt, server.uuid)) == {"instance"}


def test_view_reads_raise_as_the_object_reads_do(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    [server] = _boot(conductor, ctxt, count=1)
    with pytest.raises(exception.InstanceNotFound):
        conductor.instance_get_for_view(ctxt, server.uuid, project_id="another")
    with pytest.raises(exception.MarkerNotFound):
        conductor.instance_get_all_for_view(ctxt, marker="6b8c7f5e-0000-4000-8000-0000000000ff")
    with pytest.raises(exception.Invalid):
        conductor.instance_get_all_for_view(ctxt, extras=["everything"])


def test_view_rows_read_system_metadata_text_only_for_the_keys_they_show() -> None:
    from kumo.conductor import rows
    from kumo.db import instances as instance_db

    def view(system_metadata: Any, request_spec: bool) -> dict[str, Any]:
        return rows.instance_view({"uuid": "u", "system_metadata": system_metadata},
                                  request_spec)["system_metadata"]

    stored = {"locked_reason": "audit", "request_spec": {"a": 1}, "claimed_node": "n1"}
    for request_spec in (False, True):
        # The stored text reads as the decoded dict does.
        assert view(instance_db.encode_json(stored), request_spec) == view(
            stored, request_spec)
    assert view(instance_db.encode_json(stored), True) == {
        "locked_reason": "audit", "request_spec": str({"a": 1})}
    # A key's name inside a value is not the key.
    nested = instance_db.encode_json({"alternates": json.dumps({"locked_reason": "no"})})
    assert view(nested, False) == {} and view(nested, True) == {}
    assert view(None, True) == {} and view("", False) == {}
    # Owned rows are changed in place; others are copied.
    row = {"uuid": "u", "system_metadata": "{}", "key_data": "ssh-rsa"}
    assert rows.instance_view(row) is not row and "key_data" in row
    assert rows.instance_view(row, owned=True) is row and "key_data" not in row
