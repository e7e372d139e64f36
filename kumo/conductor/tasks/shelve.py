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
from kumo.compute import task_states
from kumo.conductor import rows
from kumo.conductor.tasks import common
from kumo.db import instances as instance_db

LOG = logging.getLogger(__name__)


def unshelve_instance(ctxt: Any, instance_uuid: str) -> None:
    """Place an offloaded server in task ``unshelving`` and have its new host start it."""
    try:
        instance = instance_db.instance_get(instance_uuid)
    except exception.InstanceNotFound:
        return
    request_spec = common.request_spec(instance)
    request_spec.update({"num_instances": 1, "ignore_hosts": [], "ignore_nodes": []})
    if instance.get("flavor"):
        # The recorded spec has the flavor of the build; a resize may have changed it.
        request_spec["flavor"] = common.plain_flavor(instance["flavor"])
    try:
        selected = common.select_one(ctxt, instance_uuid, request_spec)
    except Exception as error:
        message = common.error_message(error)
        LOG.info("No host to unshelve %s on: %s", instance_uuid, message)
        # The server stays SHELVED_OFFLOADED; nothing was claimed.
        common.end_with_fault(instance_uuid, {"task_state": None}, task_states.UNSHELVING,
                              400 if isinstance(error, exception.NoValidHost) else 500,
                              message)
        return
    try:
        instance = instance_db.instance_update(
            instance_uuid, {"host": selected["host"], "node": selected["nodename"]},
            expected_task_state=task_states.UNSHELVING)
    except (exception.InstanceNotFound, exception.UnexpectedTaskStateError) as error:
        LOG.info("Server %s changed while it was unshelved (%s); releasing its claim",
                 instance_uuid, error.message)
        common.release(selected.get("node_uuid"), instance_uuid)
        return
    common.compute().unshelve_instance(ctxt, instance=rows.instance(instance),
                                       node=selected["nodename"], host=selected["host"])
