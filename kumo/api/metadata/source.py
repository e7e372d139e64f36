"""What the metadata service knows about one instance, read once from the conductor.

:class:`InstanceSource` wraps the conductor's ``instance_metadata_source``
answer with the few derived values both trees (EC2 and OpenStack) use: the
hostname with the DHCP domain, the first fixed and floating IP, the decoded
user data and the EC2-style ids.
"""

from __future__ import annotations

import base64
import binascii
import uuid as uuid_lib
from collections.abc import Mapping
from typing import Any

from oslo_config import cfg

CONF = cfg.CONF


def ec2_instance_id(instance_id: int) -> str:
    """``i-%08x`` of the instance's database id (as Nova's instance id mapping)."""
    return f"i-{instance_id:08x}"


def ec2_image_id(image_ref: str | None, prefix: str = "ami") -> str | None:
    """``ami-%08x`` (or ``aki``/``ari``) for an image uuid: its first 32 bits.

    kumo keeps no EC2 id table for images; the first eight hex digits of the
    uuid are stable and, for uuid4 ids, practically unique.
    """
    if not image_ref:
        return None
    try:
        digits = uuid_lib.UUID(image_ref).hex[:8]
    except ValueError:
        return f"{prefix}-{image_ref}"
    return f"{prefix}-{digits}"


class InstanceSource:
    """One instance's metadata inputs; ``address`` is the address that asked."""

    def __init__(self, bundle: Mapping[str, Any], address: str | None = None) -> None:
        self.instance: dict[str, Any] = dict(bundle["instance"])
        self.network_info: list[dict[str, Any]] = list(bundle.get("network_info") or [])
        self.security_groups: list[str] = list(bundle.get("security_groups") or [])
        self.key_type: str | None = bundle.get("key_type")
        self.tags: list[str] = list(bundle.get("tags") or [])
        self.address = address

    @property
    def uuid(self) -> str:
        return self.instance["uuid"]

    @property
    def project_id(self) -> str:
        return self.instance["project_id"]

    @property
    def hostname(self) -> str:
        """The instance's hostname qualified with ``[network] dhcp_domain``."""
        name = self.instance.get("hostname") or ""
        domain = CONF.network.dhcp_domain
        return f"{name}.{domain}" if domain else name

    @property
    def availability_zone(self) -> str:
        """The zone the instance was booted in; unrequested: the default zone."""
        return (self.instance.get("availability_zone")
                or CONF.scheduler.default_availability_zone)

    def fixed_ips(self) -> list[str]:
        return [ip["address"] for vif in self.network_info
                for subnet in vif["network"].get("subnets", [])
                for ip in subnet.get("ips", [])]

    def floating_ips(self) -> list[str]:
        return [floating["address"] for vif in self.network_info
                for subnet in vif["network"].get("subnets", [])
                for ip in subnet.get("ips", [])
                for floating in ip.get("floating_ips", [])]

    @property
    def user_data(self) -> bytes | None:
        """The user data as given at boot (base64 there), decoded; None without any."""
        encoded = self.instance.get("user_data")
        if encoded is None:
            return None
        try:
            return base64.b64decode(encoded)
        except (binascii.Error, ValueError):
            return encoded.encode()

    @property
    def keypair(self) -> dict[str, str] | None:
        """``name``, ``type`` and ``data`` of the key the instance was booted with."""
        name, data = self.instance.get("key_name"), self.instance.get("key_data")
        if not name or not data:
            return None
        return {"name": name, "type": self.key_type or "ssh", "data": data}
