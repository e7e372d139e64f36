"""One guest per build attempt: a build request that comes twice spawns once.

A ``build_and_run_instance`` cast can reach kumo-compute more than once, or
late: a broker may deliver a message again, and a build whose cast looked
lost is re-driven (``[compute] task_timeout``, a restart's reconciliation),
which sends a new request while the old one may still sit in a queue. A
second spawn would leave two guests for one server, one of them unknown.

So before it spawns, kumo-compute takes the build: it checks that the server
is still in ``spawning`` on this host and node at the same attempt (the
conductor appends an entry to ``system_metadata["attempts"]`` for every
host it tries) and that no earlier request took that attempt, then records
the attempt as taken with an update guarded by ``expected_task_state``. Two
requests for one server on one host are serialized by the manager's set of
builds in progress (``ComputeManager._building``), so the check and the
update cannot interleave; a request for another host or attempt fails the
check.

A conductor of RPC 1.10 does the check, the update and the start of the
request's ``compute_build_and_run_instance`` event in one call and one
transaction (``instance_build_take``); an older one gets the three calls.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from oslo_log import log as logging

from kumo import exception
from kumo.compute import task_states

LOG = logging.getLogger(__name__)

_Method = TypeVar("_Method", bound=Callable[..., Any])

#: system_metadata key: the build attempt kumo-compute took ("host/node#attempt").
BUILD_TAKEN = "build_taken"
# Written by the conductor for each host tried (kumo.conductor.tasks.build.ATTEMPTS).
_ATTEMPTS = "attempts"


#: The instance-action event of kumo-compute's build_and_run_instance (its @recorded name).
BUILD_EVENT = "compute_build_and_run_instance"

#: How long a request waits for a build of the same server in this process to end.
#: A new attempt (a reschedule to another node of this host) comes only once the
#: previous one has ended, within moments; one still waiting after this is a duplicate.
TURN_TIMEOUT = 10.0


def wait_turn(lock: threading.Lock, building: set[str], uuid: str,
              timeout: float = TURN_TIMEOUT) -> bool:
    """Add ``uuid`` to ``building`` (the builds in progress here) once no build of it
    runs; False if one still runs after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        with lock:
            if uuid not in building:
                building.add(uuid)
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def one_at_a_time(method: _Method) -> _Method:
    """Run the manager's build RPC method with the server in ``manager._building`` from
    the moment it is dispatched (before it records its event, which waits on the
    conductor), one request per server at a time; a duplicate that still waits after
    :data:`TURN_TIMEOUT` is dropped. Nothing here takes a running build for lost."""

    @functools.wraps(method)
    def wrapper(manager: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
        instance = kwargs["instance"] if "instance" in kwargs else args[0]
        if not wait_turn(manager._building_lock, manager._building, instance.uuid):
            LOG.warning("Server %s is being built here already; a duplicate build "
                        "request is dropped", instance.uuid)
            return None
        try:
            return method(manager, context, *args, **kwargs)
        finally:
            with manager._building_lock:
                manager._building.discard(instance.uuid)

    return wrapper  # type: ignore[return-value]


def _system_metadata(instance: Any) -> dict[str, Any]:
    if not instance.obj_attr_is_set("system_metadata"):
        return {}
    return dict(instance.system_metadata or {})


def _attempt(system_metadata: dict[str, Any]) -> int:
    """The number of the server's build attempt, from its system_metadata."""
    try:
        return len(json.loads(system_metadata.get(_ATTEMPTS) or "[]"))
    except (TypeError, ValueError):
        return 0


def taken_attempt(instance: Any) -> str | None:
    """The attempt kumo-compute last took for the server (see :func:`attempt_token`)."""
    return _system_metadata(instance).get(BUILD_TAKEN)


def attempt_token(instance: Any, host: str, node: str) -> str:
    """The name of the build attempt ``instance`` (as the conductor cast it) stands for."""
    return f"{host}/{node}#{_attempt(_system_metadata(instance))}"


def stale_reason(current: Any, host: str, node: str, token: str) -> str | None:
    """Why the request for attempt ``token`` must not spawn, given the server as it
    is now (``current``); None when it may."""
    return stale_reason_of_row({
        "deleted": current.obj_attr_is_set("deleted") and current.deleted,
        "task_state": current.task_state, "host": current.host, "node": current.node,
        "system_metadata": _system_metadata(current)}, host, node, token)


def stale_reason_of_row(current: dict[str, Any], host: str, node: str,
                        token: str) -> str | None:
    """:func:`stale_reason` of the server as a database row (a dict with ``deleted``,
    ``task_state``, ``host``, ``node`` and the decoded ``system_metadata``): what the
    conductor checks in the transaction of ``instance_build_take``."""
    if current.get("deleted"):
        return "the server was deleted"
    if current["task_state"] != task_states.SPAWNING:
        return f"its task is now {current['task_state']}"
    if (current["host"], current["node"]) != (host, node):
        return f"it is now placed on {current['host']}/{current['node']}"
    system_metadata = current.get("system_metadata") or {}
    now = f"{host}/{node}#{_attempt(system_metadata)}"
    if now != token:
        return f"it is now at attempt {now}"
    if system_metadata.get(BUILD_TAKEN) == token:
        return "an earlier request already took this attempt"
    return None


def takes_in_one_call(conductor: Any) -> bool:
    """Whether ``conductor`` (a client) checks and takes a build and starts its event
    in one call (RPC 1.10's ``instance_build_take``)."""
    if not hasattr(conductor, "instance_build_take"):
        return False
    can_send = getattr(conductor, "can_send_version", None)
    return can_send is None or bool(can_send("1.10"))


def take(manager: Any, context: Any, instance: Any, node: str) -> bool:
    """Take the build of ``instance`` on ``node`` for this request: True if it is
    this request's to spawn, False (logged) for a duplicate or outdated one.

    A conductor that does not answer raises (the caller fails the build as any
    other failure, and the conductor reschedules it).
    """
    uuid, host = instance.uuid, manager.host
    token = attempt_token(instance, host, node)
    if takes_in_one_call(manager.conductor):
        return _take_in_one_call(manager, context, uuid, host, node, token)
    try:
        current = manager.conductor.instance_get(context, instance_uuid=uuid)
    except exception.InstanceNotFound:
        LOG.info("Not building server %s: it was deleted", uuid)
        return False
    reason = stale_reason(current, host, node, token)
    if reason is not None:
        LOG.warning("Not building server %s on %s (request for %s): %s; a duplicate "
                    "or outdated build request is dropped", uuid, node, token, reason)
        return False
    try:
        manager.conductor.instance_update(
            context, instance_uuid=uuid, values={"system_metadata": {BUILD_TAKEN: token}},
            expected_task_state=task_states.SPAWNING)
    except (exception.InstanceNotFound, exception.UnexpectedTaskStateError) as error:
        LOG.info("Not building server %s: it changed meanwhile (%s)", uuid, error)
        return False
    return True


def _take_in_one_call(manager: Any, context: Any, uuid: str, host: str, node: str,
                      token: str) -> bool:
    """:func:`take` as one conductor call, which also starts the request's build event
    (the manager's ``_event`` then skips its own start: see ``ComputeManager._event``)."""
    request_id = getattr(context, "request_id", None)
    event = ({"request_id": request_id, "event": BUILD_EVENT, "host": host}
             if request_id else None)
    try:
        reason = manager.conductor.instance_build_take(
            context, instance_uuid=uuid, host=host, node=node, token=token, event=event)
    except exception.InstanceNotFound:
        reason = "the server was deleted"
    if reason is not None:
        LOG.warning("Not building server %s on %s (request for %s): %s; a duplicate "
                    "or outdated build request is dropped", uuid, node, token, reason)
        return False
    return True
