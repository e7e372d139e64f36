"""What the conductor's tasks share: their RPC clients, the request spec of an
existing server, one destination from the scheduler, ending a task with a fault."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from oslo_log import log as logging

from kumo import exception
from kumo.compute import rpcapi as compute_rpcapi
from kumo.conductor import rows
from kumo.conductor.tasks import groups
from kumo.db import compute_nodes as compute_node_db
from kumo.db import instances as instance_db
from kumo.scheduler import rpcapi as scheduler_rpcapi

LOG = logging.getLogger(__name__)

# system_metadata key of the request spec a server was built with (JSON).
REQUEST_SPEC = "request_spec"


def scheduler() -> scheduler_rpcapi.SchedulerAPI:
    return scheduler_rpcapi.SchedulerAPI()


def compute() -> compute_rpcapi.ComputeAPI:
    return compute_rpcapi.ComputeAPI()


def error_message(error: Exception) -> str:
    """The user-facing message of an error, whatever raised it."""
    return getattr(error, "message", None) or str(error) or type(error).__name__


def plain_flavor(flavor: Mapping[str, Any]) -> dict[str, Any]:
    """A flavor dict without its timestamps (what the request spec and the row carry)."""
    values = dict(rows.plain(flavor))
    for name in ("created_at", "updated_at", "deleted_at"):
        values.pop(name, None)
    return values


def request_spec(instance: Mapping[str, Any]) -> dict[str, Any]:
    """The request spec of scheduling ``instance`` again, from what it recorded."""
    recorded = instance["system_metadata"].get(REQUEST_SPEC)
    if recorded:
        return dict(json.loads(recorded))
    flavor = dict(instance.get("flavor") or {})
    for name in ("created_at", "updated_at"):
        flavor.pop(name, None)
    return {
        "project_id": instance["project_id"], "user_id": instance["user_id"],
        "flavor": flavor,
        "image": {"id": instance.get("image_ref"), "properties": {}},
        "availability_zone": instance.get("availability_zone"),
        "num_instances": 1, "scheduler_hints": {}, "ignore_hosts": [],
        "instance_group": None,
    }


def select_one(ctxt: Any, instance_uuid: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The (already claimed) destination the scheduler picks for one server.

    :raises NoValidHost: there is none; anything the scheduler call raises.
    """
    # A member of a server group moves under the group's policy as it is now.
    spec = groups.with_group_hosts(spec, exclude=instance_uuid)
    return scheduler().select_destinations(
        ctxt, request_spec=spec, instance_uuids=[instance_uuid],
        return_alternates=False)[0][0]


def release(node_uuid: str | None, instance_uuid: str) -> None:
    """Give back the instance's claim on a node (nothing when the node is gone)."""
    if not node_uuid:
        return
    try:
        compute_node_db.compute_node_release(node_uuid, instance_uuid)
    except exception.ComputeNodeNotFound:
        LOG.info("Node %s is gone; nothing to release for %s", node_uuid, instance_uuid)


def end_with_fault(instance_uuid: str, values: Mapping[str, Any], expected_task_state: Any,
                   code: int, message: str, details: str | None = None,
                   host: str | None = None) -> None:
    """Set ``values`` (guarded by ``expected_task_state``) and record the fault the user
    reads; nothing when the server is gone or has moved on (a delete wins)."""
    try:
        instance_db.instance_update(instance_uuid, values,
                                    expected_task_state=expected_task_state)
    except (exception.InstanceNotFound, exception.UnexpectedTaskStateError) as error:
        LOG.info("Not recording fault %r on server %s: %s", message, instance_uuid,
                 error.message)
        return
    instance_db.instance_fault_create(instance_uuid, code, message, details=details,
                                      host=host)
