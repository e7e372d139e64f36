"""A metadata source bundle as kumo-conductor answers it, and a stub conductor."""

from __future__ import annotations

import base64
import copy
from typing import Any

from kumo import exception

INSTANCE_UUID = "6f0a4c3e-1d2b-4c5a-9e8f-0123456789ab"
IMAGE_UUID = "c0ffee00-1111-4222-8333-444455556666"
VIF_UUID = "d3adb33f-0000-4000-8000-000000000001"
NETWORK_UUID = "e1e1e1e1-0000-4000-8000-000000000002"
FIXED_IP = "10.20.0.5"
FLOATING_IP = "203.0.113.9"
PUBLIC_KEY = "ssh-ed25519 AAAAC3Nza...key user@host"


def bundle(**instance: Any) -> dict[str, Any]:
    values = {
        "id": 42, "uuid": INSTANCE_UUID, "project_id": "p1", "user_id": "u1",
        "display_name": "web one", "hostname": "web-one", "reservation_id": "r-abcd1234",
        "launch_index": 0, "availability_zone": "az1", "image_ref": IMAGE_UUID,
        "kernel_id": None, "ramdisk_id": None, "key_name": "mykey", "key_data": PUBLIC_KEY,
        "user_data": base64.b64encode(b"#!/bin/sh\necho hi\n").decode(),
        "flavor": {"name": "m1.small", "ephemeral_gb": 0, "swap": 0},
        "ephemeral_gb": 0, "swap": 0, "metadata": {"role": "web"}, "system_metadata": {},
    }
    values.update(instance)
    return {
        "instance": values,
        "network_info": [{
            "id": VIF_UUID, "address": "fa:16:3e:00:00:05",
            "network": {"id": NETWORK_UUID, "label": "private", "bridge": "br100",
                        "subnets": [{"cidr": "10.20.0.0/24", "gateway": "10.20.0.1",
                                     "dns": ["192.0.2.53"],
                                     "ips": [{"address": FIXED_IP, "type": "fixed",
                                              "version": 4,
                                              "floating_ips": [{"address": FLOATING_IP}]}]}]},
        }],
        "security_groups": ["default", "web"],
        "key_type": "ssh",
        "tags": [],
    }


class StubConductor:
    """Answers ``instance_metadata_source`` from bundles by address and uuid; counts calls."""

    def __init__(self) -> None:
        self.by_address: dict[str, dict[str, Any]] = {}
        self.by_uuid: dict[str, dict[str, Any]] = {}
        self.calls: list[dict[str, Any]] = []
        self.fail = False

    def add(self, address: str, source: dict[str, Any]) -> None:
        self.by_address[address] = source
        self.by_uuid[source["instance"]["uuid"]] = source

    def instance_metadata_source(self, ctxt: Any, address: str | None = None,
                                 instance_uuid: str | None = None) -> dict[str, Any]:
        self.calls.append({"address": address, "instance_uuid": instance_uuid})
        if self.fail:
            raise exception.ServiceUnavailable(service="conductor", timeout=60,
                                               method="instance_metadata_source")
        found = (self.by_uuid.get(instance_uuid) if instance_uuid
                 else self.by_address.get(address or ""))
        if found is None:
            raise exception.InstanceNotFound(instance_id=instance_uuid or address)
        return copy.deepcopy(found)

    def instance_password_set(self, ctxt: Any, instance_uuid: str, password: str) -> None:
        self.calls.append({"password_of": instance_uuid})
        system = self.by_uuid[instance_uuid]["instance"]["system_metadata"]
        if system.get("password_0"):
            raise exception.Conflict(reason="password set")
        system["password_0"] = password
