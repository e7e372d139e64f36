"""Unshelving an offloaded server: schedule it again, claim, start it from its snapshot.

kumo-api moved the SHELVED_OFFLOADED server to task ``unshelving`` and cast
:func:`unshelve_instance`. The scheduler picks and claims a node (as for a
build), the server gets that host and node, and kumo-compute there spawns it
from the image it was shelved into (``unshelve_instance``). No host: the
server stays SHELVED_OFFLOADED (task None) with a fault.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from kumo import exception
from kumo.compute import task_states
from kumo.conductor import rows
from kumo.conductor.tasks import common
from kumo.db import aggregates as aggregate_db
from kumo.db import instances as instance_db

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


def _recorded(request_spec: Mapping[str, Any]) -> dict[str, Any]:
    """The spec to keep for the next move: without this decision's one-off limits."""
    return {key: value for key, value in request_spec.items()
            if key not in ("ignore_hosts", "ignore_nodes", "move")}


def _with_destination(request_spec: dict[str, Any], destination: Mapping[str, Any]
                      ) -> dict[str, Any]:
    """The spec limited to the asked zone (2.77; None unpins, 2.91) and host (2.91)."""
    if "availability_zone" in destination:
        request_spec["availability_zone"] = destination["availability_zone"]
    host = destination.get("host")
    if host:
        from kumo.db import compute_nodes as compute_node_db

        request_spec["ignore_nodes"] = [
            node["hypervisor_hostname"] for node in compute_node_db.compute_node_get_all()
            if node["host"] != host]
    return request_spec


def unshelve_instance(ctxt: Any, instance_uuid: str,
                      destination: Mapping[str, Any] | None = None) -> None:
    """Place an offloaded server in task ``unshelving`` and have its new host start it;
    ``destination`` (``availability_zone`` / ``host``) narrows where."""
    try:
        instance = instance_db.instance_get(instance_uuid)
    except exception.InstanceNotFound:
        return
    request_spec = common.request_spec(instance)
    request_spec.update({"num_instances": 1, "ignore_hosts": [], "ignore_nodes": []})
    request_spec = _with_destination(request_spec, destination or {})
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
            instance_uuid, {"host": selected["host"], "node": selected["nodename"],
                            # The server is in its new host's zone (OS-EXT-AZ); the
                            # recorded spec keeps the zone it is pinned to (2.96).
                            "availability_zone": (
                                aggregate_db.host_availability_zone(selected["host"])
                                or CONF.scheduler.default_availability_zone),
                            "system_metadata": {common.REQUEST_SPEC: json.dumps(
                                rows.plain(_recorded(request_spec)), default=str)}},
            expected_task_state=task_states.UNSHELVING)
    except (exception.InstanceNotFound, exception.UnexpectedTaskStateError) as error:
        LOG.info("Server %s changed while it was unshelved (%s); releasing its claim",
                 instance_uuid, error.message)
        common.release(selected.get("node_uuid"), instance_uuid)
        return
    common.compute().unshelve_instance(ctxt, instance=rows.instance(instance),
                                       node=selected["nodename"], host=selected["host"])
