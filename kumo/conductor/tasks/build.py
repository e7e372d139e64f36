"""Building servers: schedule, claim, cast to the compute host; retry on alternates; fail.

The path of a server build through the conductor (docs/compute-flow.md):

1. :func:`build_instances` asks kumo-scheduler for one host per instance plus
   alternates and claims the selected host itself (scheduler RPC 1.2: no
   claim round trip from the scheduler back here; a claim the scheduler's
   stale view got wrong is asked again the old way, claimed by the
   scheduler, which then skips the refused node), stores the alternates
   and the attempt in the instance's system_metadata, moves it from
   ``scheduling`` to ``spawning`` with a guarded update, and casts
   ``build_and_run_instance`` to the chosen compute host.
2. When a spawn fails, kumo-compute casts :func:`reschedule_instance`: the
   claim on the failed node is given back and the next stored alternate is
   claimed and tried, until ``[scheduler] max_attempts`` hosts have been tried.
3. No host at all, or none left: the server goes to ERROR with a fault the
   user can read (``GET /servers/{id}`` → ``fault``).

A server deleted meanwhile is skipped, its claim released.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from kumo import exception
from kumo.compute import task_states, vm_states
from kumo.conductor import rows
from kumo.conductor.tasks import common, groups
from kumo.db import aggregates as aggregate_db
from kumo.db import compute_nodes as compute_node_db
from kumo.db import instance_actions, instance_writes
from kumo.db import instances as instance_db
from kumo.db.clock import utcnow

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

# system_metadata keys of a build (JSON lists).
ALTERNATES = "alternates"
ATTEMPTS = "attempts"
REQUEST_SPEC = common.REQUEST_SPEC

# Task states a build may be in when the conductor moves it on or fails it.
_BUILDING_TASKS = [task_states.SCHEDULING, task_states.SPAWNING]
# A fault's details are Text; keep them readable all the same.
_MAX_DETAILS = 64 * 1024


# --- build -------------------------------------------------------------------------------


def build_instances(ctxt: Any, instance_uuids: list[str],
                    request_spec: Mapping[str, Any]) -> None:
    """Place and start building each instance of one request (see the module docstring)."""
    events = {uuid: _event_start(ctxt, uuid, "conductor_schedule_and_build_instances")
              for uuid in instance_uuids}
    if groups.group_uuid(request_spec):
        for instance_uuid in instance_uuids:
            _build_group_member(ctxt, instance_uuid, request_spec, events[instance_uuid])
        return
    try:
        selections = common.scheduler().select_destinations(
            ctxt, request_spec=request_spec, instance_uuids=instance_uuids,
            return_alternates=True, claim=False)
    except exception.NoValidHost as error:
        LOG.info("No valid host for %s: %s", instance_uuids, error.message)
        for instance_uuid in instance_uuids:
            _fail(instance_uuid, 500, error.message)
            _event_finish(instance_uuid, events[instance_uuid], error.message)
        return
    except Exception as error:
        # A cast has no caller to tell: record it on the servers, or they would
        # stay in BUILD for ever.
        LOG.exception("Scheduling %s failed", instance_uuids)
        message = common.error_message(error)
        for instance_uuid in instance_uuids:
            _fail(instance_uuid, 500, f"Scheduling failed: {message}")
            _event_finish(instance_uuid, events[instance_uuid], message)
        return

    for instance_uuid in instance_uuids[len(selections):]:
        message = (f"No valid host was found. The scheduler placed {len(selections)} "
                   f"of {len(instance_uuids)} servers.")
        _fail(instance_uuid, 500, message)
        _event_finish(instance_uuid, events[instance_uuid], message)
    zones: dict[str, str] = {}  # host -> zone, read once per host of the request
    for instance_uuid, candidates in zip(instance_uuids, selections, strict=False):
        if not candidates:
            _fail(instance_uuid, 500, "No valid host was found.")
            _event_finish(instance_uuid, events[instance_uuid], "No valid host was found.")
            continue
        event = events[instance_uuid]
        try:
            started = _start_claimed(ctxt, instance_uuid, candidates, request_spec, zones,
                                     event)
        except Exception as error:
            message = common.error_message(error)
            if not isinstance(error, exception.NoValidHost):
                LOG.exception("Starting the build of %s failed", instance_uuid)
                message = f"Scheduling failed: {message}"
            _fail(instance_uuid, 500, message)
            _event_finish(instance_uuid, event, message)
            continue
        if not started:
            _event_finish(instance_uuid, events[instance_uuid],
                          "deleted while it was scheduled")


def _start_claimed(ctxt: Any, instance_uuid: str, candidates: list[dict[str, Any]],
                   request_spec: Mapping[str, Any], zones: dict[str, str],
                   event: dict[str, Any] | None) -> bool:
    """:func:`_start` on ``candidates`` (``[selected, *alternates]``), claiming the
    selected node first when the scheduler left it unclaimed (``"claimed": False``).

    That claim is made in the transaction of the move to ``spawning``. When the
    scheduler's view was stale and the node refuses, the scheduler is asked again
    for this server, claiming as it goes (it refreshes and skips nodes that
    refuse), and its answer is started.

    :raises NoValidHost: asked again, the scheduler found no room.
    """
    def start(candidates: list[dict[str, Any]], claim: bool = False) -> bool:
        selected = candidates[0]
        return _start(ctxt, instance_uuid, selected, list(candidates[1:]),
                      [{"host": selected["host"], "node": selected["nodename"]}],
                      request_spec, expected_task_state=task_states.SCHEDULING,
                      zones=zones, event=event, claim=claim)

    if candidates[0].get("claimed", True):
        return start(candidates)
    try:
        return start(candidates, claim=True)
    except (exception.ComputeResourcesUnavailable, exception.ComputeNodeNotFound) as error:
        LOG.info("Claim of %s on %s refused (the scheduler's view was stale): %s; "
                 "scheduling it again", instance_uuid, candidates[0]["nodename"],
                 error.message)
    return start(common.scheduler().select_destinations(
        ctxt, request_spec={**request_spec, "num_instances": 1},
        instance_uuids=[instance_uuid], return_alternates=True)[0])


def _build_group_member(ctxt: Any, instance_uuid: str, request_spec: Mapping[str, Any],
                        event: int | None) -> None:
    """Place one member of a server group, then start its build.

    Members are placed one at a time, each seeing the hosts of the members
    placed before it, so the members that fit start building and only the
    ones that cannot be placed go to ERROR (not the whole request). The host
    is recorded on the member under the group's lock before the build
    starts; a concurrent build that took the host first makes the claim give
    back the node and schedule again.
    """
    message = "No valid host was found."
    for _ in range(CONF.scheduler.max_attempts):
        spec = groups.with_group_hosts(request_spec, exclude=instance_uuid)
        try:
            candidates = common.scheduler().select_destinations(
                ctxt, request_spec=spec, instance_uuids=[instance_uuid],
                return_alternates=True)[0]
        except exception.NoValidHost as error:
            LOG.info("No valid host for group member %s: %s", instance_uuid, error.message)
            message = error.message
            break
        except Exception as error:
            LOG.exception("Scheduling %s failed", instance_uuid)
            message = f"Scheduling failed: {common.error_message(error)}"
            break
        selected, alternates = candidates[0], list(candidates[1:])
        refused = groups.refuse_host(spec, instance_uuid, selected["host"])
        if refused:
            LOG.info("Group member %s lost %s to a concurrent build: %s", instance_uuid,
                     selected["host"], refused)
            common.release(selected.get("node_uuid"), instance_uuid)
            message = refused
            continue
        attempts = [{"host": selected["host"], "node": selected["nodename"]}]
        started = _start(ctxt, instance_uuid, selected, alternates, attempts, spec,
                         expected_task_state=task_states.SCHEDULING, event=event)
        if not started:
            _event_finish(instance_uuid, event, "deleted while it was scheduled")
        return
    _fail(instance_uuid, 500, message)
    _event_finish(instance_uuid, event, message)


def _start(ctxt: Any, instance_uuid: str, selection: Mapping[str, Any],
           alternates: list[Any], attempts: list[Any], request_spec: Any,
           expected_task_state: Any, zones: dict[str, str] | None = None,
           event: dict[str, Any] | None = None, claim: bool = False) -> bool:
    """Move the (already claimed) instance to ``selection`` and cast the build there.

    ``claim``: the node is not claimed yet; it is, with its ``resources`` and
    ``limits``, in the transaction of the move (raising ComputeResourcesUnavailable
    or ComputeNodeNotFound as the claim does, nothing written).

    ``zones`` caches each host's availability zone across the instances of one request.
    ``event`` (of :func:`_event_start`) is recorded as a success with the move, in one
    transaction. Returns False when the instance was deleted meanwhile (its claim is
    then given back, ``event`` left to the caller).
    """
    zones = {} if zones is None else zones
    if selection["host"] not in zones:
        # The server is in its host's zone (OS-EXT-AZ), asked for or not.
        zones[selection["host"]] = (aggregate_db.host_availability_zone(selection["host"])
                                    or CONF.scheduler.default_availability_zone)
    values = {"host": selection["host"], "node": selection["nodename"],
              "availability_zone": zones[selection["host"]],
              "task_state": task_states.SPAWNING, "scheduled_at": utcnow(),
              "system_metadata": {
                  ALTERNATES: json.dumps(alternates), ATTEMPTS: json.dumps(attempts),
                  REQUEST_SPEC: json.dumps(rows.plain(request_spec), default=str)}}
    try:
        if claim:
            instance = instance_writes.claim_and_update(
                selection["node_uuid"], selection["resources"], selection.get("limits"),
                instance_uuid, values, None if event is None else _ended(event, None),
                expected_task_state=expected_task_state)
        elif event is None:
            instance = instance_db.instance_update(instance_uuid, values,
                                                   expected_task_state=expected_task_state)
        else:
            instance = instance_writes.update_recording_event(
                instance_uuid, values, _ended(event, None),
                expected_task_state=expected_task_state)
    except (exception.InstanceNotFound, exception.UnexpectedTaskStateError) as error:
        LOG.info("Instance %s went away while building (%s); releasing its claim on %s",
                 instance_uuid, error.message, selection["nodename"])
        common.release(selection.get("node_uuid"), instance_uuid)
        return False
    common.compute().build_and_run_instance(
        ctxt, instance=rows.instance(instance), node=selection["nodename"],
        request_spec=dict(request_spec), host=selection["host"])
    return True


# --- reschedule --------------------------------------------------------------------------


def reschedule_instance(ctxt: Any, instance_uuid: str, host: str, node: str,
                        fault: Mapping[str, Any]) -> None:
    """After a failed spawn on host/node: give back its claim, try the next alternate,
    or put the server in ERROR with a fault naming every host tried."""
    failed_node_uuid = _node_uuid(host, node)
    try:
        instance = instance_db.instance_get(instance_uuid)
    except exception.InstanceNotFound:
        common.release(failed_node_uuid, instance_uuid)
        return
    system_metadata = instance["system_metadata"]
    resources = compute_node_db.claimed_resources(instance, system_metadata)
    if failed_node_uuid is None:
        failed_node_uuid = system_metadata.get(instance_db.CLAIMED_NODE)
    common.release(failed_node_uuid, instance_uuid)
    if instance["task_state"] not in _BUILDING_TASKS:
        LOG.info("Not rescheduling instance %s: its task is now %s", instance_uuid,
                 instance["task_state"])
        return

    attempts = json.loads(system_metadata.get(ATTEMPTS) or "[]")
    message = fault.get("message") or "spawn failed"
    if attempts and (attempts[-1].get("host"), attempts[-1].get("node")) == (host, node):
        attempts[-1]["message"] = message
    else:
        attempts.append({"host": host, "node": node, "message": message})
    alternates = json.loads(system_metadata.get(ALTERNATES) or "[]")
    request_spec = common.request_spec(instance)

    event = _event_start(ctxt, instance_uuid, "conductor_reschedule_instance")
    while alternates and len(attempts) < CONF.scheduler.max_attempts:
        alternate = alternates.pop(0)
        attempt = {"host": alternate["host"], "node": alternate["nodename"]}
        refused = groups.refuse_host(request_spec, instance_uuid, alternate["host"])
        if refused:
            attempts.append({**attempt, "message": refused})
            continue
        try:
            compute_node_db.compute_node_claim(
                alternate["node_uuid"], instance_uuid, resources, alternate.get("limits"))
        except (exception.ComputeResourcesUnavailable, exception.ComputeNodeNotFound) as error:
            LOG.info("Alternate %s/%s for %s did not fit: %s", attempt["host"],
                     attempt["node"], instance_uuid, error.message)
            attempts.append({**attempt, "message": f"claim failed: {error.message}"})
            continue
        except exception.InstanceNotFound:
            _event_finish(instance_uuid, event, "deleted while it was rescheduled")
            return
        LOG.info("Rescheduling %s to %s/%s (attempt %d of %d)", instance_uuid,
                 attempt["host"], attempt["node"], len(attempts) + 1,
                 CONF.scheduler.max_attempts)
        started = _start(ctxt, instance_uuid, alternate, alternates, [*attempts, attempt],
                         request_spec, expected_task_state=_BUILDING_TASKS, event=event)
        if not started:
            _event_finish(instance_uuid, event, "deleted while it was rescheduled")
        return

    tried = ", ".join(f"{a['host']}/{a['node']}" for a in attempts)
    details = "\n".join(f"{a['host']}/{a['node']}: {a.get('message', '')}" for a in attempts)
    if fault.get("details"):
        details += f"\n\nLast failure:\n{fault['details']}"
    _fail(instance_uuid, int(fault.get("code") or 500),
          f"Build of instance {instance_uuid} failed on every host tried "
          f"({len(attempts)} of at most {CONF.scheduler.max_attempts}): {tried}. "
          f"Last error: {message}",
          details=details[:_MAX_DETAILS], host=host,
          system_metadata={ALTERNATES: "[]", ATTEMPTS: json.dumps(attempts)})
    _event_finish(instance_uuid, event, f"no host left after {len(attempts)} attempts",
                  details=details)


# --- helpers -----------------------------------------------------------------------------


def _fail(instance_uuid: str, code: int, message: str, details: str | None = None,
          host: str | None = None, system_metadata: dict[str, Any] | None = None) -> None:
    """ERROR with a fault, unless the server is being deleted (then the delete wins)."""
    values: dict[str, Any] = {"vm_state": vm_states.ERROR, "task_state": None}
    if system_metadata:
        values["system_metadata"] = system_metadata
    common.end_with_fault(instance_uuid, values, _BUILDING_TASKS, code, message,
                          details=details, host=host)


def _event_start(ctxt: Any, instance_uuid: str, event: str) -> dict[str, Any] | None:
    """Begin a step of the server's ``create`` action (os-instance-actions): noted
    here, written once when it ends (with the build's state change when it succeeds),
    so a step is one write rather than two."""
    request_id = getattr(ctxt, "request_id", None)
    if not request_id:
        return None
    return {"action": "create", "request_id": request_id,
            "user_id": getattr(ctxt, "user_id", None),
            "project_id": getattr(ctxt, "project_id", None), "event": event,
            "host": CONF.host, "start_time": utcnow()}


def _event_finish(instance_uuid: str, event: dict[str, Any] | None, error: str | None,
                  details: str | None = None) -> None:
    """End a step: Success without ``error``, else Error with it."""
    if event is not None:
        instance_actions.event_record(instance_uuid, **_ended(event, error, details))


def _ended(event: dict[str, Any], error: str | None,
           details: str | None = None) -> dict[str, Any]:
    return {**event, "result": "Error" if error else "Success", "traceback": error,
            "details": details}


def _node_uuid(host: str, node: str) -> str | None:
    try:
        return compute_node_db.compute_node_get_by_host_and_nodename(host, node)["uuid"]
    except exception.ComputeNodeNotFound:
        return None
