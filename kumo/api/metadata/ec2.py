"""The EC2-compatible tree: ``/<version>/meta-data/…`` and ``/<version>/user-data``.

Keys appear from the EC2 metadata version that introduced them, as in Nova's
metadata service of the Newton/Ocata releases (no product codes, no ancestor
AMI ids).
"""

from __future__ import annotations

from typing import Any

from kumo.api.metadata import source as source_mod
from kumo.api.metadata import tree
from kumo.api.metadata.source import InstanceSource

# The EC2 metadata versions a client may ask for, oldest first.
VERSIONS = (
    "1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15",
    "2008-02-01", "2008-09-01", "2009-04-04",
)
LATEST = tree.LATEST
InvalidVersion = tree.InvalidVersion


def resolve_version(version: str) -> str:
    """One of :data:`VERSIONS` (``latest``: the newest); raises InvalidVersion."""
    return tree.resolve_version(version, VERSIONS)


def block_device_mapping(instance: dict[str, Any]) -> dict[str, str]:
    """``ami``/``root`` and the flavor's ephemeral and swap disks, named as the
    libvirt driver attaches them (virtio: vda, then vdb, vdc)."""
    mapping = {"ami": "vda", "root": "/dev/vda"}
    extra = iter(("/dev/vdb", "/dev/vdc"))
    if instance.get("ephemeral_gb"):
        mapping["ephemeral0"] = next(extra)
    if instance.get("swap"):
        mapping["swap"] = next(extra)
    return mapping


def metadata(source: InstanceSource, version: str) -> dict[str, Any]:
    """The tree under ``/<version>/``: ``meta-data`` and (when given) ``user-data``.

    :raises InvalidVersion:
    """
    version = resolve_version(version)
    instance = source.instance
    fixed = source.fixed_ips()
    floating = source.floating_ips()
    hostname = source.hostname
    meta: dict[str, Any] = {
        "ami-id": source_mod.ec2_image_id(instance.get("image_ref")) or "",
        "ami-launch-index": instance.get("launch_index") or 0,
        "ami-manifest-path": "FIXME",
        "instance-id": source_mod.ec2_instance_id(instance["id"]),
        "hostname": hostname,
        "local-ipv4": fixed[0] if fixed else (source.address or ""),
        "reservation-id": instance.get("reservation_id") or "",
        "security-groups": source.security_groups or ["default"],
    }
    keypair = source.keypair
    if keypair:
        # public-keys/ lists "0=<name>"; public-keys/0/ lists "openssh-key".
        meta["public-keys"] = {"0": {"_name": f"0={keypair['name']}",
                                     "openssh-key": keypair["data"]}}
    if version >= "2007-01-19":
        meta["local-hostname"] = hostname
        meta["public-hostname"] = hostname
        meta["public-ipv4"] = floating[0] if floating else ""
    if version >= "2007-08-29":
        meta["instance-type"] = (instance.get("flavor") or {}).get("name", "")
    if version >= "2007-12-15":
        meta["block-device-mapping"] = block_device_mapping(instance)
        for key, column, prefix in (("kernel-id", "kernel_id", "aki"),
                                    ("ramdisk-id", "ramdisk_id", "ari")):
            ec2_id = source_mod.ec2_image_id(instance.get(column), prefix)
            if ec2_id:
                meta[key] = ec2_id
    if version >= "2008-02-01":
        meta["placement"] = {"availability-zone": source.availability_zone}
    if version >= "2008-09-01":
        meta["instance-action"] = "none"
    tree: dict[str, Any] = {"meta-data": meta}
    user_data = source.user_data
    if user_data is not None:
        tree["user-data"] = user_data
    return tree
