"""Resizing and migrating servers: schedule the destination, move, confirm or revert.

The path of a resize (or a cold migration, which is a resize to the same flavor):

1. kumo-api moved the server to task ``resize_prep`` and cast
   :func:`resize_instance`. The scheduler picks a node other than the
   current one for the new flavor and makes a *migration claim* there
   (:mod:`kumo.db.migration_claims`); the server keeps its own claim on the
   source. The old flavor, vm_state, host and node are recorded in
   system_metadata, the task becomes ``resize_migrating`` and the source
   compute host is told to move the guest (``resize_instance``), which hands
   over to the destination (``finish_resize``): VERIFY_RESIZE.
2. :func:`confirm_resize` gives back the source claim; the migration claim
   becomes the server's claim. :func:`revert_resize` has the destination
   take its guest down and the source start it again with the old flavor;
   kumo-compute then gives the migration claim back.

No host found, or anything failing before the move started: the server is
back as it was (task None) with a fault, and the migration claim is gone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from kumo import exception
from kumo.compute import task_states, vm_states
from kumo.compute.system_metadata import (
    MOVE_KEYS,
    NEW_FLAVOR,
    OLD_FLAVOR,
    OLD_HOST,
    OLD_NODE,
    OLD_VM_STATE,
)
from kumo.conductor import rows
from kumo.conductor.tasks import common
from kumo.db import instance_actions, migration_claims
from kumo.db import instances as instance_db

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


def resize_instance(ctxt: Any, instance_uuid: str, flavor: Mapping[str, Any] | None,
                    host: str | None = None) -> None:
    """Schedule and start the move of a server in task ``resize_prep`` (module docstring);
    only onto ``host``'s nodes when one is named (a 2.56 cold migration)."""
    try:
        instance = instance_db.instance_get(instance_uuid)
    except exception.InstanceNotFound:
        return
    old_flavor = common.plain_flavor(instance.get("flavor") or {})
    new_flavor = common.plain_flavor(flavor) if flavor else old_flavor
    request_spec = common.request_spec(instance)
    request_spec.update({"flavor": new_flavor, "num_instances": 1, "move": True,
                         "ignore_nodes": [instance["node"]] if instance.get("node") else []})
    if host:
        from kumo.db import compute_nodes as compute_node_db

        request_spec["ignore_nodes"] += [
            node["hypervisor_hostname"] for node in compute_node_db.compute_node_get_all()
            if node["host"] != host]
    try:
        selected = common.select_one(ctxt, instance_uuid, request_spec)
    except exception.NoValidHost as error:
        LOG.info("No valid host to move %s to: %s", instance_uuid, error.message)
        abort(instance_uuid, task_states.RESIZE_PREP, 400, error.message)
        return
    except Exception as error:
        LOG.exception("Scheduling the move of %s failed", instance_uuid)
        abort(instance_uuid, task_states.RESIZE_PREP, 500,
              f"Scheduling failed: {getattr(error, 'message', None) or error}")
        return

    try:
        moving = instance_db.instance_update(instance_uuid, {
            "task_state": task_states.RESIZE_MIGRATING,
            "system_metadata": {
                OLD_FLAVOR: json.dumps(old_flavor, default=str),
                NEW_FLAVOR: json.dumps(new_flavor, default=str),
                OLD_VM_STATE: instance["vm_state"],
                OLD_HOST: instance["host"], OLD_NODE: instance["node"]}},
            expected_task_state=task_states.RESIZE_PREP)
    except (exception.InstanceNotFound, exception.UnexpectedTaskStateError) as error:
        LOG.info("Server %s changed while its move was scheduled (%s); giving back the "
                 "destination claim", instance_uuid, error.message)
        migration_claims.migration_claim_release(instance_uuid)
        return
    LOG.info("Moving server %s from %s/%s to %s/%s", instance_uuid, instance["host"],
             instance["node"], selected["host"], selected["nodename"])
    common.compute().resize_instance(
        ctxt, instance=rows.instance(moving), dest_host=selected["host"],
        dest_node=selected["nodename"], flavor=new_flavor, host=instance["host"])


def confirm_resize(ctxt: Any, instance_uuid: str) -> None:
    """Keep a resized server (task ``resize_confirming``) where it is now.

    Recorded as the event ``conductor_confirm_resize`` of the request's
    ``confirmResize`` action (the confirmation has no compute step).
    """
    event = _event_start(ctxt, instance_uuid, "confirmResize", "conductor_confirm_resize")
    try:
        instance = instance_db.instance_get(instance_uuid)
        migration_claims.migration_claim_confirm(instance_uuid)
    except exception.InstanceNotFound:
        return
    try:
        _confirm(instance_uuid, instance)
    except Exception as error:
        _event_finish(event, common.error_message(error))
        raise
    _event_finish(event, None)
    _drop_source_disks(ctxt, instance)


def _drop_source_disks(ctxt: Any, instance: Mapping[str, Any]) -> None:
    """Have the source host drop the disks it kept for a revert (its confirm_resize)."""
    source = instance["system_metadata"].get(OLD_HOST)
    if not source:
        return
    try:
        common.compute().confirm_resize(ctxt, instance=rows.instance(instance), host=source)
    except Exception:
        # Only disk space on the source is at stake, not the server.
        LOG.exception("Could not tell %s to drop the kept disks of %s", source,
                      instance["uuid"])


def _confirm(instance_uuid: str, instance: Mapping[str, Any]) -> None:
    old_vm_state = instance["system_metadata"].get(OLD_VM_STATE) or vm_states.ACTIVE
    try:
        instance_db.instance_update(instance_uuid, {
            "vm_state": old_vm_state, "task_state": None,
            "system_metadata": dict.fromkeys(MOVE_KEYS)},
            expected_task_state=task_states.RESIZE_CONFIRMING)
    except (exception.InstanceNotFound, exception.UnexpectedTaskStateError) as error:
        LOG.info("Server %s changed while its resize was confirmed: %s", instance_uuid,
                 error.message)
        return
    LOG.info("Resize of server %s confirmed", instance_uuid)


def revert_resize(ctxt: Any, instance_uuid: str) -> None:
    """Have the destination host take the guest down; the source finishes the revert."""
    try:
        instance = instance_db.instance_get(instance_uuid)
    except exception.InstanceNotFound:
        return
    common.compute().revert_resize(ctxt, instance=rows.instance(instance), host=instance["host"])


def _event_start(ctxt: Any, instance_uuid: str, action: str, event: str) -> int | None:
    """Start a step of the request's instance action (None: no request to record on)."""
    request_id = getattr(ctxt, "request_id", None)
    if not request_id:
        return None
    return instance_actions.action_event_start(
        instance_uuid, action, request_id, getattr(ctxt, "user_id", None),
        getattr(ctxt, "project_id", None), event, host=CONF.host)


def _event_finish(event_id: int | None, error: str | None) -> None:
    if event_id is not None:
        instance_actions.event_finish(event_id, "Error" if error else "Success",
                                      traceback=error)


def abort(instance_uuid: str, expected_task_state: Any, code: int, message: str,
          details: str | None = None) -> None:
    """A move that did not start: the server as it was (task None), a fault, no
    destination claim."""
    migration_claims.migration_claim_release(instance_uuid)
    common.end_with_fault(instance_uuid, {"task_state": None}, expected_task_state, code,
                          message, details=details)
