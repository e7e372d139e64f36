"""The libvirt domain XML of a guest, from its flavor, image properties and network info.

:func:`build_domain_xml` is pure: it takes a :class:`GuestConfig` (what the
driver resolved: sizes, disk paths, console log, graphics addresses) and
returns the XML text, so it is tested without libvirt.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from typing import Any

KUMO_NS = "https://kumo.dev/xmlns/libvirt/instance/1.0"
DOMAIN_NAME_PREFIX = "kumo-"

# Image properties understood here (Nova's names).
DISK_BUSES = ("virtio", "scsi", "ide", "sata")
VIF_MODELS = ("virtio", "e1000", "rtl8139", "ne2k_pci", "pcnet")
VIDEO_MODELS = ("vga", "cirrus", "virtio", "qxl", "none")


def domain_name(instance_uuid: str) -> str:
    return f"{DOMAIN_NAME_PREFIX}{instance_uuid}"


@dataclasses.dataclass
class Disk:
    path: str
    target: str               # vda, vdb, ...
    format: str = "qcow2"     # driver type: qcow2 or raw
    bus: str = "virtio"


@dataclasses.dataclass
class Vif:
    mac: str | None
    bridge: str | None
    model: str = "virtio"
    devname: str | None = None


@dataclasses.dataclass
class GuestConfig:
    uuid: str
    name: str                 # the display name, kept in the metadata
    virt_type: str            # kvm or qemu
    vcpus: int
    memory_mb: int
    disks: list[Disk]
    console_log: str
    arch: str = "x86_64"
    machine_type: str | None = None
    kernel: str | None = None
    ramdisk: str | None = None
    cmdline: str | None = None
    vifs: list[Vif] = dataclasses.field(default_factory=list)
    vnc_listen: str | None = None      # None: no VNC display
    spice_listen: str | None = None    # None: no SPICE display
    video_model: str = "vga"
    metadata: dict[str, str] = dataclasses.field(default_factory=dict)


def vifs_from_network_info(network_info: list[Any], model: str = "virtio") -> list[Vif]:
    """Vifs of Nova-style network info entries (``address``, ``network.bridge``, ``devname``)."""
    vifs = []
    for vif in network_info or []:
        network = vif.get("network") or {}
        vifs.append(Vif(mac=vif.get("address"),
                        bridge=network.get("bridge") or vif.get("bridge"),
                        model=model, devname=vif.get("devname")))
    return vifs


def image_property(image_meta: dict[str, Any], key: str, default: Any = None,
                   choices: tuple[str, ...] | None = None) -> Any:
    value = (image_meta.get("properties") or {}).get(key) or default
    if choices is not None and value not in choices:
        raise ValueError(f"image property {key}={value!r} is not one of {', '.join(choices)}")
    return value


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k.rstrip("_"): v for k, v in attrs.items()})
    if text is not None:
        element.text = text
    return element


def build_domain_xml(guest: GuestConfig) -> str:
    if guest.virt_type not in ("kvm", "qemu"):
        raise ValueError(f"virt_type must be kvm or qemu, not {guest.virt_type!r}")
    domain = ET.Element("domain", {"type": guest.virt_type})
    _sub(domain, "name", domain_name(guest.uuid))
    _sub(domain, "uuid", guest.uuid)
    metadata = _sub(domain, "metadata")
    ET.register_namespace("kumo", KUMO_NS)
    instance = _sub(metadata, f"{{{KUMO_NS}}}instance")
    _sub(instance, f"{{{KUMO_NS}}}name", guest.name)
    for key, value in sorted(guest.metadata.items()):
        _sub(instance, f"{{{KUMO_NS}}}{key}", str(value))
    memory_kib = str(guest.memory_mb * 1024)
    _sub(domain, "memory", memory_kib, unit="KiB")
    _sub(domain, "currentMemory", memory_kib, unit="KiB")
    _sub(domain, "vcpu", str(guest.vcpus), placement="static")

    os_el = _sub(domain, "os")
    type_attrs = {"arch": guest.arch}
    if guest.machine_type:
        type_attrs["machine"] = guest.machine_type
    _sub(os_el, "type", "hvm", **type_attrs)
    if guest.kernel:
        _sub(os_el, "kernel", guest.kernel)
        if guest.ramdisk:
            _sub(os_el, "initrd", guest.ramdisk)
        _sub(os_el, "cmdline", guest.cmdline or "root=/dev/vda console=ttyS0")
    else:
        _sub(os_el, "boot", dev="hd")
    features = _sub(domain, "features")
    _sub(features, "acpi")
    _sub(features, "apic")
    if guest.virt_type == "kvm":
        _sub(domain, "cpu", mode="host-passthrough")
    _sub(domain, "clock", offset="utc")
    _sub(domain, "on_poweroff", "destroy")
    _sub(domain, "on_reboot", "restart")
    _sub(domain, "on_crash", "destroy")

    devices = _sub(domain, "devices")
    for disk in guest.disks:
        disk_el = _sub(devices, "disk", type="file", device="disk")
        _sub(disk_el, "driver", name="qemu", type=disk.format, cache="none")
        _sub(disk_el, "source", file=disk.path)
        _sub(disk_el, "target", dev=disk.target, bus=disk.bus)
    for vif in guest.vifs:
        if vif.bridge:
            iface = _sub(devices, "interface", type="bridge")
            _sub(iface, "source", bridge=vif.bridge)
        else:
            iface = _sub(devices, "interface", type="user")
        if vif.mac:
            _sub(iface, "mac", address=vif.mac)
        _sub(iface, "model", type=vif.model)
        if vif.devname:
            _sub(iface, "target", dev=vif.devname)
    serial = _sub(devices, "serial", type="file")
    _sub(serial, "source", path=guest.console_log)
    _sub(serial, "target", port="0")
    if guest.vnc_listen or guest.spice_listen:
        _sub(devices, "input", type="tablet", bus="usb")
    for kind, listen in (("vnc", guest.vnc_listen), ("spice", guest.spice_listen)):
        if listen:
            graphics = _sub(devices, "graphics", type=kind, autoport="yes", listen=listen)
            _sub(graphics, "listen", type="address", address=listen)
    if guest.video_model != "none" and (guest.vnc_listen or guest.spice_listen):
        video = _sub(devices, "video")
        _sub(video, "model", type=guest.video_model)
    _sub(devices, "memballoon", model="virtio")
    ET.indent(domain)
    return ET.tostring(domain, encoding="unicode")


def graphics_ports(domain_xml: str) -> dict[str, tuple[str, int]]:
    """``{"vnc": (address, port), "spice": ...}`` of a running domain's live XML."""
    ports = {}
    for graphics in ET.fromstring(domain_xml).iter("graphics"):
        port = int(graphics.get("port") or -1)
        if port > 0:
            ports[graphics.get("type")] = (graphics.get("listen") or "127.0.0.1", port)
    return ports


def disk_paths(domain_xml: str) -> list[str]:
    """The file paths of a domain's disks."""
    return [source.get("file") for source in ET.fromstring(domain_xml).iter("source")
            if source.get("file")]
