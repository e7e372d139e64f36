"""The conductor's instance_metadata_source (1.9): the metadata service's one call."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from kumo import exception
from kumo.compute import task_states, vm_states
from kumo.conductor import rpcapi

FLAVOR = {"id": 1, "flavorid": "1", "name": "m1.tiny", "memory_mb": 512, "vcpus": 1,
          "root_gb": 1, "ephemeral_gb": 0, "swap": 0}


def _server(conductor: rpcapi.ConductorAPI, ctxt: Any) -> Any:
    return conductor.instance_create(ctxt, [{
        "project_id": "p1", "user_id": "u1", "display_name": "vm", "hostname": "vm",
        "flavor": FLAVOR, "vcpus": 1, "memory_mb": 512, "root_gb": 1, "image_ref": "img",
        "key_name": "k1", "key_data": "ssh-rsa AAAA k1",
        "user_data": base64.b64encode(b"hello").decode(), "metadata": {"a": "b"},
        "vm_state": vm_states.ACTIVE, "task_state": task_states.SCHEDULING}])[0]


def test_source_by_fixed_address_and_by_uuid(conductor: rpcapi.ConductorAPI,
                                             ctxt: Any) -> None:
    server = _server(conductor, ctxt)
    network = conductor.network_create(ctxt, {"label": "private", "cidr": "10.9.0.0/24",
                                              "bridge": "br100", "dns1": "192.0.2.53"})
    conductor.fixed_ip_allocate(ctxt, server.uuid, network["uuid"], address="10.9.0.7")
    conductor.floating_ip_bulk_create(ctxt, "public", "203.0.113.8/30")
    floating = conductor.floating_ip_allocate(ctxt, "p1", "public")
    conductor.floating_ip_associate(ctxt, floating["address"], "p1", server.uuid,
                                    fixed_address="10.9.0.7")
    conductor.key_pair_create(ctxt, {"name": "k1", "user_id": "u1", "fingerprint": "f",
                                     "public_key": "ssh-rsa AAAA k1", "type": "ssh"}, "p1")

    source = conductor.instance_metadata_source(ctxt, address="10.9.0.7")

    assert source["instance"]["uuid"] == server.uuid
    assert source["instance"]["metadata"] == {"a": "b"}
    assert source["instance"]["flavor"]["name"] == "m1.tiny"
    assert isinstance(source["instance"]["created_at"], str)
    assert source["key_type"] == "ssh"
    [vif] = source["network_info"]
    [ip] = vif["network"]["subnets"][0]["ips"]
    assert ip["address"] == "10.9.0.7"
    assert ip["floating_ips"][0]["address"] == floating["address"]
    assert conductor.instance_metadata_source(
        ctxt, instance_uuid=server.uuid)["instance"]["id"] == source["instance"]["id"]


def test_unknown_or_released_address_is_instance_not_found(conductor: rpcapi.ConductorAPI,
                                                           ctxt: Any) -> None:
    server = _server(conductor, ctxt)
    network = conductor.network_create(ctxt, {"label": "private", "cidr": "10.9.0.0/24",
                                              "bridge": "br100"})
    conductor.fixed_ip_allocate(ctxt, server.uuid, network["uuid"], address="10.9.0.7")
    conductor.network_deallocate_for_instance(ctxt, server.uuid)

    with pytest.raises(exception.InstanceNotFound):
        conductor.instance_metadata_source(ctxt, address="10.9.0.7")
    with pytest.raises(exception.InstanceNotFound):
        conductor.instance_metadata_source(ctxt, address="10.9.0.200")
    with pytest.raises(exception.InstanceNotFound):
        conductor.instance_metadata_source(ctxt, instance_uuid="0" * 8 + "-0000-4000-8000-"
                                           + "0" * 12)


def test_password_is_stored_once(conductor: rpcapi.ConductorAPI, ctxt: Any) -> None:
    server = _server(conductor, ctxt)
    secret = "x" * 300

    conductor.instance_password_set(ctxt, server.uuid, secret)

    system = conductor.instance_metadata_source(
        ctxt, instance_uuid=server.uuid)["instance"]["system_metadata"]
    assert system["password_0"] + system["password_1"] == secret
    assert system["password_2"] == system["password_3"] == ""
    with pytest.raises(exception.Conflict):
        conductor.instance_password_set(ctxt, server.uuid, "again")
