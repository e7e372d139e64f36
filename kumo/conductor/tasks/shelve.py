"""Unshelving an offloaded server: schedule it again, claim, start it from its snapshot.

kumo-api moved the SHELVED_OFFLOADED server to task ``unshelving`` and cast
:func:`unshelve_instance`. The scheduler picks and claims a node (as for a
build), the server gets that host and node, and kumo-compute there spawns it
from the image it was shelved into (``unshelve_instance``). No host: the
server stays SHELVED_OFFLOADED (task None) with a fault.
"""

from __future__ import annotations

from typing import Any

from oslo_log import log as logging

from kumo import exception
from kumo.compute import rpcapi as compute_rpcapi
from kumo.compute import task_states
from kumo.conductor import rows
from kumo.conductor.tasks import build, resize
from kumo.db import instances as instance_db
from kumo.scheduler import rpcapi as scheduler_rpcapi

LOG = logging.getLogger(__name__)


def _scheduler() -> scheduler_rpcapi.SchedulerAPI:
    return scheduler_rpcapi.SchedulerAPI()


def _compute() -> compute_rpcapi.ComputeAPI:
    return compute_rpcapi.ComputeAPI()


def unshelve_instance(ctxt: Any, instance_uuid: str) -> None:
    """Place an offloaded server in task ``unshelving`` and have its new host start it."""
    try:
        instance = instance_db.instance_get(instance_uuid)
    except exception.InstanceNotFound:
        return
    request_spec = build._request_spec(instance)
    request_spec.update({"num_instances": 1, "ignore_hosts": [], "ignore_nodes": []})
    if instance.get("flavor"):
        # The recorded spec has the flavor of the build; a resize may have changed it.
        request_spec["flavor"] = resize.plain_flavor(instance["flavor"])
    try:
        selected = _scheduler().select_destinations(
            ctxt, request_spec=request_spec, instance_uuids=[instance_uuid],
            return_alternates=False)[0][0]
    except Exception as error:
        message = getattr(error, "message", None) or str(error) or type(error).__name__
        LOG.info("No host to unshelve %s on: %s", instance_uuid, message)
        _abort(instance_uuid, 400 if isinstance(error, exception.NoValidHost) else 500,
               message)
        return
    try:
        instance = instance_db.instance_update(
            instance_uuid, {"host": selected["host"], "node": selected["nodename"]},
            expected_task_state=task_states.UNSHELVING)
    except (exception.InstanceNotFound, exception.UnexpectedTaskStateError) as error:
        LOG.info("Server %s changed while it was unshelved (%s); releasing its claim",
                 instance_uuid, error.message)
        build._release(selected.get("node_uuid"), instance_uuid)
        return
    _compute().unshelve_instance(ctxt, instance=rows.instance(instance),
                                 node=selected["nodename"], host=selected["host"])


def _abort(instance_uuid: str, code: int, message: str) -> None:
    try:
        instance_db.instance_update(instance_uuid, {"task_state": None},
                                    expected_task_state=task_states.UNSHELVING)
    except (exception.InstanceNotFound, exception.UnexpectedTaskStateError):
        return
    instance_db.instance_fault_create(instance_uuid, code, message)
