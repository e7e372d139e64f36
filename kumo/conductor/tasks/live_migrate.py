"""Live-migrating servers (os-migrateLive): pick and claim the destination, start the move.

kumo-api moved the server to task ``migrating`` and cast
:func:`live_migrate_instance`. The scheduler picks a node other than the
current one (on ``host`` when the admin named one) and makes a migration
claim there; the source host is told to move the guest
(``live_migrate_instance``), the destination finishes it and confirms the
claims, or hands back to the source to roll back. No host: the server stays
where it is (task None) with a fault.
"""

from __future__ import annotations

from typing import Any

from oslo_log import log as logging

from kumo import exception
from kumo.compute import task_states
from kumo.conductor import rows
from kumo.conductor.tasks import common, resize
from kumo.db import compute_nodes as compute_node_db
from kumo.db import instances as instance_db

LOG = logging.getLogger(__name__)


def live_migrate_instance(ctxt: Any, instance_uuid: str, host: str | None,
                          block_migration: Any) -> None:
    """Place the server (task ``migrating``) elsewhere and have its host move it."""
    try:
        instance = instance_db.instance_get(instance_uuid)
    except exception.InstanceNotFound:
        return
    ignore_nodes = [instance["node"]] if instance.get("node") else []
    if host:
        ignore_nodes += [node["hypervisor_hostname"]
                         for node in compute_node_db.compute_node_get_all()
                         if node["host"] != host
                         and node["hypervisor_hostname"] not in ignore_nodes]
    request_spec = common.request_spec(instance)
    request_spec.update({"flavor": common.plain_flavor(instance.get("flavor") or {}),
                         "num_instances": 1, "move": True, "ignore_nodes": ignore_nodes})
    try:
        selected = common.select_one(ctxt, instance_uuid, request_spec)
    except Exception as error:
        message = common.error_message(error)
        LOG.info("No host to live-migrate %s to: %s", instance_uuid, message)
        resize.abort(instance_uuid, task_states.MIGRATING,
                     400 if isinstance(error, exception.NoValidHost) else 500,
                     f"Live migration failed: {message}")
        return
    LOG.info("Live-migrating server %s from %s/%s to %s/%s", instance_uuid,
             instance["host"], instance["node"], selected["host"], selected["nodename"])
    common.compute().live_migrate_instance(
        ctxt, instance=rows.instance(instance), dest_host=selected["host"],
        dest_node=selected["nodename"], host=instance["host"])
