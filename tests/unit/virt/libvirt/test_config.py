"""The domain XML builder: flavor, image properties and network info become elements."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from kumo.virt.libvirt import config

UUID = "6f1b2c4e-8a4d-4b7e-9a51-0c5d8f1e2a3b"


def guest(**overrides) -> config.GuestConfig:
    values = dict(
        uuid=UUID, name="vm1", virt_type="qemu", vcpus=2, memory_mb=512,
        disks=[config.Disk("/i/disk", "vda"), config.Disk("/i/disk.eph0", "vdb")],
        console_log="/i/console.log", vnc_listen="127.0.0.1", spice_listen="0.0.0.0",
        metadata={"image": "img-1", "flavor": "m1.tiny"},
    )
    values.update(overrides)
    return config.GuestConfig(**values)


def parse(cfg: config.GuestConfig) -> ET.Element:
    return ET.fromstring(config.build_domain_xml(cfg))


def test_identity_sizes_and_type() -> None:
    dom = parse(guest())
    assert dom.tag == "domain" and dom.get("type") == "qemu"
    assert dom.findtext("name") == f"kumo-{UUID}"
    assert dom.findtext("uuid") == UUID
    assert dom.find("memory").get("unit") == "KiB"
    assert dom.findtext("memory") == str(512 * 1024)
    assert dom.findtext("currentMemory") == str(512 * 1024)
    assert dom.findtext("vcpu") == "2"
    assert dom.find("os/type").text == "hvm"
    assert dom.find("os/boot").get("dev") == "hd"
    assert dom.find("os/kernel") is None
    assert dom.find("features/acpi") is not None
    # Only KVM passes the host CPU through.
    assert dom.find("cpu") is None
    assert parse(guest(virt_type="kvm")).find("cpu").get("mode") == "host-passthrough"


def test_metadata_names_the_instance() -> None:
    dom = parse(guest())
    ns = {"kumo": config.KUMO_NS}
    assert dom.findtext("metadata/kumo:instance/kumo:name", namespaces=ns) == "vm1"
    assert dom.findtext("metadata/kumo:instance/kumo:flavor", namespaces=ns) == "m1.tiny"
    assert dom.findtext("metadata/kumo:instance/kumo:image", namespaces=ns) == "img-1"


def test_virtio_disks() -> None:
    disks = parse(guest()).findall("devices/disk")
    assert [d.find("target").get("dev") for d in disks] == ["vda", "vdb"]
    assert {d.find("target").get("bus") for d in disks} == {"virtio"}
    assert [d.find("source").get("file") for d in disks] == ["/i/disk", "/i/disk.eph0"]
    assert {d.find("driver").get("type") for d in disks} == {"qcow2"}
    assert config.disk_paths(config.build_domain_xml(guest())) == ["/i/disk", "/i/disk.eph0"]


def test_serial_console_to_a_file() -> None:
    serial = parse(guest()).find("devices/serial")
    assert serial.get("type") == "file"
    assert serial.find("source").get("path") == "/i/console.log"
    assert serial.find("target").get("port") == "0"


def test_vnc_and_spice_on_their_listen_addresses() -> None:
    graphics = {g.get("type"): g for g in parse(guest()).findall("devices/graphics")}
    assert set(graphics) == {"vnc", "spice"}
    assert graphics["vnc"].get("autoport") == "yes"
    assert graphics["vnc"].get("listen") == "127.0.0.1"
    assert graphics["vnc"].find("listen").get("address") == "127.0.0.1"
    assert graphics["spice"].get("listen") == "0.0.0.0"
    assert parse(guest()).find("devices/video/model").get("type") == "vga"
    bare = parse(guest(vnc_listen=None, spice_listen=None))
    assert bare.findall("devices/graphics") == []
    assert bare.find("devices/video") is None


def test_direct_kernel_boot() -> None:
    dom = parse(guest(kernel="/i/kernel", ramdisk="/i/ramdisk", cmdline="console=ttyS0"))
    assert dom.findtext("os/kernel") == "/i/kernel"
    assert dom.findtext("os/initrd") == "/i/ramdisk"
    assert dom.findtext("os/cmdline") == "console=ttyS0"
    assert dom.find("os/boot") is None
    default_cmdline = parse(guest(kernel="/i/kernel")).findtext("os/cmdline")
    assert "console=ttyS0" in default_cmdline


def test_nics_from_network_info() -> None:
    network_info = [
        {"id": "p1", "address": "fa:16:3e:00:00:01", "devname": "tap1",
         "network": {"bridge": "br100"}},
        {"id": "p2", "address": "fa:16:3e:00:00:02", "network": {}},
    ]
    vifs = config.vifs_from_network_info(network_info, model="e1000")
    nics = parse(guest(vifs=vifs)).findall("devices/interface")
    assert [n.get("type") for n in nics] == ["bridge", "user"]
    assert nics[0].find("source").get("bridge") == "br100"
    assert nics[0].find("mac").get("address") == "fa:16:3e:00:00:01"
    assert nics[0].find("target").get("dev") == "tap1"
    assert {n.find("model").get("type") for n in nics} == {"e1000"}


def test_image_properties_are_checked() -> None:
    meta = {"properties": {"hw_disk_bus": "floppy"}}
    with pytest.raises(ValueError, match="hw_disk_bus"):
        config.image_property(meta, "hw_disk_bus", "virtio", config.DISK_BUSES)
    assert config.image_property({}, "hw_disk_bus", "virtio", config.DISK_BUSES) == "virtio"
    with pytest.raises(ValueError):
        config.build_domain_xml(guest(virt_type="xen"))


def test_graphics_ports_of_live_xml() -> None:
    live = ("<domain><devices><graphics type='vnc' port='5900' listen='127.0.0.1'/>"
            "<graphics type='spice' port='-1' autoport='yes'/></devices></domain>")
    assert config.graphics_ports(live) == {"vnc": ("127.0.0.1", 5900)}
