"""The metadata documents built from one instance's source: EC2 tree, OpenStack JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from kumo.api.metadata import ec2, network_data, openstack, tree
from kumo.api.metadata.source import InstanceSource, ec2_image_id, ec2_instance_id
from kumo.conf import CONF
from tests.unit.api.metadata import fixtures as fx


@pytest.fixture(autouse=True)
def flatdhcp() -> Iterator[None]:
    CONF.set_override("network_manager", "flatdhcp", group="network")
    yield
    CONF.clear_override("network_manager", group="network")


def source(**instance: object) -> InstanceSource:
    return InstanceSource(fx.bundle(**instance), address=fx.FIXED_IP)


def test_ec2_ids_are_the_hex_of_the_row_id_and_of_the_image_uuid() -> None:
    assert ec2_instance_id(42) == "i-0000002a"
    assert ec2_image_id(fx.IMAGE_UUID) == "ami-c0ffee00"
    assert ec2_image_id(fx.IMAGE_UUID, "aki") == "aki-c0ffee00"
    assert ec2_image_id(None) is None


def test_ec2_meta_data_of_the_latest_version() -> None:
    meta = ec2.metadata(source(), "latest")["meta-data"]

    assert meta["instance-id"] == "i-0000002a"
    assert meta["ami-id"] == "ami-c0ffee00"
    assert meta["hostname"] == meta["local-hostname"] == "web-one.novalocal"
    assert meta["local-ipv4"] == fx.FIXED_IP
    assert meta["public-ipv4"] == fx.FLOATING_IP
    assert meta["instance-type"] == "m1.small"
    assert meta["placement"] == {"availability-zone": "az1"}
    assert meta["reservation-id"] == "r-abcd1234"
    assert meta["security-groups"] == ["default", "web"]
    assert meta["block-device-mapping"] == {"ami": "vda", "root": "/dev/vda"}
    assert meta["instance-action"] == "none"


def test_ec2_keys_appear_from_their_version_on() -> None:
    old = ec2.metadata(source(), "1.0")["meta-data"]
    assert "public-ipv4" not in old and "placement" not in old
    assert "instance-type" not in old and "block-device-mapping" not in old
    assert "placement" in ec2.metadata(source(), "2008-02-01")["meta-data"]
    with pytest.raises(ec2.InvalidVersion):
        ec2.metadata(source(), "2010-01-01")


def test_ec2_listing_and_public_keys_render_as_clients_expect() -> None:
    data = ec2.metadata(source(), "2009-04-04")

    assert tree.render(data) == "meta-data/\nuser-data"
    listing = tree.render(data["meta-data"]).split("\n")
    assert "placement/" in listing and "instance-id" in listing
    assert "public-keys/" in listing
    assert tree.render(tree.find(data, ["meta-data", "public-keys"])) == "0=mykey"
    assert tree.render(tree.find(data, ["meta-data", "public-keys", "0"])) == "openssh-key"
    assert tree.find(data, ["meta-data", "public-keys", "0", "openssh-key"]) == fx.PUBLIC_KEY
    assert tree.render(tree.find(data, ["meta-data", "security-groups"])) == "default\nweb"
    assert data["user-data"] == b"#!/bin/sh\necho hi\n"
    with pytest.raises(tree.PathNotFound):
        tree.find(data, ["meta-data", "nope"])
    with pytest.raises(tree.PathNotFound):
        tree.find(data, ["meta-data", "hostname", "deeper"])


def test_ec2_without_floating_ip_key_or_user_data() -> None:
    bundle = fx.bundle(key_name=None, key_data=None, user_data=None, ephemeral_gb=1, swap=512)
    bundle["network_info"][0]["network"]["subnets"][0]["ips"][0]["floating_ips"] = []
    data = ec2.metadata(InstanceSource(bundle), "latest")

    assert "user-data" not in data and "public-keys" not in data["meta-data"]
    assert data["meta-data"]["public-ipv4"] == ""
    assert data["meta-data"]["block-device-mapping"] == {
        "ami": "vda", "root": "/dev/vda", "ephemeral0": "/dev/vdb", "swap": "/dev/vdc"}


def test_meta_data_json_of_the_latest_version() -> None:
    document = openstack.meta_data(source(), openstack.resolve_version("latest"))

    assert document["uuid"] == fx.INSTANCE_UUID
    assert document["name"] == "web one"
    assert document["hostname"] == "web-one.novalocal"
    assert document["launch_index"] == 0
    assert document["availability_zone"] == "az1"
    assert document["project_id"] == "p1"
    assert document["meta"] == {"role": "web"}
    assert document["public_keys"] == {"mykey": fx.PUBLIC_KEY}
    assert document["keys"] == [{"name": "mykey", "type": "ssh", "data": fx.PUBLIC_KEY}]
    assert document["devices"] == []
    assert len(document["random_seed"]) > 600


def test_meta_data_json_of_folsom_has_neither_seed_nor_project() -> None:
    document = openstack.meta_data(source(metadata={}), openstack.FOLSOM)

    assert "random_seed" not in document and "project_id" not in document
    assert "devices" not in document and "meta" not in document


def test_version_directory_lists_what_the_version_has() -> None:
    body, kind = openstack.lookup(source(), ["2013-10-17"])
    assert body.decode().split("\n") == ["meta_data.json", "user_data", "password",
                                         "vendor_data.json"]
    body, _ = openstack.lookup(source(user_data=None), ["latest"])
    assert body.decode().split("\n") == ["meta_data.json", "password", "vendor_data.json",
                                         "network_data.json", "vendor_data2.json"]
    with pytest.raises(openstack.FileNotFound):
        openstack.lookup(source(), ["2013-10-17", "network_data.json"])
    with pytest.raises(openstack.FileNotFound):
        openstack.lookup(source(user_data=None), ["latest", "user_data"])
    with pytest.raises(openstack.InvalidVersion):
        openstack.lookup(source(), ["2099-01-01"])


def test_vendor_data_is_empty_or_the_configured_file(tmp_path: object) -> None:
    body, kind = openstack.lookup(source(), ["latest", "vendor_data.json"])
    assert (json.loads(body), kind) == ({}, "application/json")
    assert json.loads(openstack.lookup(source(), ["latest", "vendor_data2.json"])[0]) == {
        "static": {}}
    path = tmp_path / "vendor.json"  # type: ignore[operator]
    path.write_text('{"site": "tokyo"}')
    CONF.set_override("vendordata_jsonfile_path", str(path), group="api")
    try:
        assert json.loads(openstack.lookup(source(), ["latest", "vendor_data.json"])[0]) == {
            "site": "tokyo"}
    finally:
        CONF.clear_override("vendordata_jsonfile_path", group="api")


def test_network_data_from_the_vifs() -> None:
    document = network_data.network_data(fx.bundle()["network_info"])

    assert document["links"] == [{"id": "tapd3adb33f-00", "vif_id": fx.VIF_UUID,
                                  "type": "bridge", "mtu": None,
                                  "ethernet_mac_address": "fa:16:3e:00:00:05"}]
    [network] = document["networks"]
    assert network["id"] == "network0" and network["type"] == "ipv4_dhcp"
    assert network["link"] == "tapd3adb33f-00" and network["network_id"] == fx.NETWORK_UUID
    assert network["ip_address"] == fx.FIXED_IP and network["netmask"] == "255.255.255.0"
    assert network["routes"] == [{"network": "0.0.0.0", "netmask": "0.0.0.0",
                                  "gateway": "10.20.0.1"}]
    assert document["services"] == [{"type": "dns", "address": "192.0.2.53"}]


def test_network_data_is_static_on_the_flat_manager_and_empty_without_vifs() -> None:
    CONF.set_override("network_manager", "flat", group="network")
    document = network_data.network_data(fx.bundle()["network_info"])
    assert document["networks"][0]["type"] == "ipv4"
    assert network_data.network_data([]) == {"links": [], "networks": [], "services": []}
