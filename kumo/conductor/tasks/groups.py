"""Server groups in a build: the hosts the members are on, and the guarded claim of one.

The request spec names the group (``instance_group["uuid"]``); its members'
hosts are read afresh before each member is scheduled, and the chosen host
is recorded on the member under the group's lock, so builds racing into one
anti-affinity group cannot both land on a host (kumo.db.instance_groups).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oslo_log import log as logging

from kumo import exception
from kumo.db import instance_groups as group_db

LOG = logging.getLogger(__name__)


def group_uuid(request_spec: Mapping[str, Any]) -> str | None:
    """The server group the request places its servers in, if any."""
    group = request_spec.get("instance_group") or {}
    return group.get("uuid") or None


def with_group_hosts(request_spec: Mapping[str, Any], exclude: str | None = None
                     ) -> dict[str, Any]:
    """The request spec with the group's policy, rules and current member hosts
    (``exclude``: the server being placed, which must not count against itself).
    A group deleted meanwhile no longer constrains the placement."""
    spec = dict(request_spec)
    uuid = group_uuid(request_spec)
    if uuid is None:
        return spec
    try:
        group = group_db.group_get(uuid)
        hosts = group_db.group_hosts(uuid, exclude=exclude)
    except exception.InstanceGroupNotFound:
        LOG.info("Server group %s is gone; placing without it", uuid)
        spec["instance_group"] = None
        return spec
    spec["instance_group"] = {"uuid": uuid, "policy": group["policy"],
                              "rules": group["rules"], "hosts": hosts}
    return spec


def refuse_host(request_spec: Mapping[str, Any], instance_uuid: str, host: str) -> str | None:
    """Record ``host`` for the member, or say why the group's policy refuses it."""
    uuid = group_uuid(request_spec)
    if uuid is None:
        return None
    try:
        group_db.member_claim_host(uuid, instance_uuid, host)
    except exception.InstanceGroupPolicyViolation as error:
        return error.message
    except exception.InstanceGroupNotFound:
        return None
    return None
