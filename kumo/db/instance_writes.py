"""Writes of the boot and delete paths that do two things in one transaction.

Each function here is one commit for what would otherwise be two RPC round
trips and two commits (a state change and the instance-action row that
records it), and so keeps the hot paths of booting and deleting servers
short. The single-purpose queries stay in :mod:`kumo.db.instances` and
:mod:`kumo.db.instance_actions`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

from kumo import exception
from kumo.compute import task_states
from kumo.db import action_events, compute_nodes, instance_actions, instance_groups, instances
from kumo.db.api import session

_instances = instances._instances
# What a build take checks, built once (bound at execution).
_BUILD_STATE = sa.select(
    _instances.c.task_state, _instances.c.host, _instances.c.node,
    _instances.c.system_metadata).where(
        _instances.c.uuid == sa.bindparam("p_uuid", type_=sa.String),
        _instances.c.deleted == 0)


def update_starting_action(instance_uuid: str, values: Mapping[str, Any],
                           action: Mapping[str, Any], **expected: Any) -> dict[str, Any]:
    """:func:`kumo.db.instances.instance_update` (same guard and errors) that also
    records the request's instance action ``action`` (``action``, ``request_id``,
    ``user_id``, ``project_id``) when it wins; returns the instance."""
    with session() as db_session:
        instances.instance_update_in(db_session, instance_uuid, values, **expected)
        _start_action_in(db_session, instance_uuid, action)
        return instances._get(db_session, instance_uuid)


def _start_action_in(db_session: Any, instance_uuid: str, action: Mapping[str, Any]) -> None:
    """:func:`kumo.db.instance_actions.action_start_in` of ``action``'s keys; nothing
    when the request has no request id."""
    if action.get("request_id"):
        instance_actions.action_start_in(
            db_session, instance_uuid, action["action"], action["request_id"],
            action.get("user_id"), action.get("project_id"))


def _action_to_record(db_session: Any, instance_uuid: str, action: Mapping[str, Any]
                      ) -> bool:
    """Whether ``action`` is one to record on the server (the request has an id and
    no action there yet), asked before the transaction's first write: on SQLite
    every writer waits while one transaction writes, and only this request records
    its own action. :func:`_record_action_in` records it."""
    return bool(action.get("request_id")) and instance_actions.action_id_of(
        db_session, instance_uuid, action["request_id"]) is None


def _record_action_in(db_session: Any, instance_uuid: str, action: Mapping[str, Any]
                      ) -> None:
    instance_actions.action_create_in(
        db_session, instance_uuid, action["action"], action["request_id"],
        action.get("user_id"), action.get("project_id"))


def update_recording_event(instance_uuid: str, values: Mapping[str, Any],
                           event: Mapping[str, Any], **expected: Any) -> dict[str, Any]:
    """:func:`kumo.db.instances.instance_update` (same guard and errors) that also
    records the finished step ``event`` (the keywords of
    :func:`kumo.db.instance_actions.event_record_in`) when it wins; returns the
    instance."""
    with session() as db_session:
        instances.instance_update_in(db_session, instance_uuid, values, **expected)
        instance_actions.event_record_in(db_session, instance_uuid, **event)
        return instances._get(db_session, instance_uuid)


def claim_and_update(node_uuid: str, resources: Mapping[str, Any],
                     limits: Mapping[str, Any] | None, instance_uuid: str,
                     values: Mapping[str, Any], event: Mapping[str, Any] | None,
                     **expected: Any) -> dict[str, Any]:
    """:func:`kumo.db.compute_nodes.compute_node_claim` of the node for the instance,
    then :func:`update_recording_event` (``event`` None: no event), in one
    transaction: a guard that refuses the update leaves nothing claimed. Returns the
    instance as read just after.

    The instance's record of the claim and ``values`` are one UPDATE, and the
    instance is read back after the commit: on SQLite every writer waits while one
    transaction writes, and this one runs in every boot (docs/decisions.md,
    "SQLite write-lock holds").

    :raises ComputeResourcesUnavailable, ComputeNodeNotFound: as the claim does.
    :raises InstanceNotFound, UnexpectedTaskStateError: as the update does;
        InstanceNotFound also when the instance is deleted just after the commit
        (the claim is then the caller's to give back, as after a refused update).
    """
    with session() as db_session:
        claim = compute_nodes.claim_node_in(db_session, node_uuid, instance_uuid,
                                            resources, limits)
        values = {**values, "system_metadata": {
            **(values.get("system_metadata") or {}), **claim.system_metadata}}
        instances.instance_update_known_in(db_session, instance_uuid, values,
                                           claim.stored_system_metadata, **expected)
        if event is not None:
            instance_actions.event_record_in(db_session, instance_uuid, **event)
    return instances.instance_get(instance_uuid)


def update_finishing_event(instance_uuid: str, values: Mapping[str, Any],
                           event: Mapping[str, Any], **expected: Any) -> None:
    """:func:`kumo.db.instances.instance_update` (same guard and errors, nothing read
    back) that also finishes the request's step ``event`` (``request_id``,
    ``event``, ``host``, ``result``: the arguments of
    :func:`kumo.db.action_events.event_finish`) when it wins. A request that
    started no action on the server records no event, as event_finish would refuse."""
    with session() as db_session:
        opened = _open_event(db_session, instance_uuid, event)
        instances.instance_update_in(db_session, instance_uuid, values, **expected)
        _finish_event_in(db_session, instance_uuid, event, opened)


def _open_event(db_session: Any, instance_uuid: str, event: Mapping[str, Any]
                ) -> tuple[int, int | None] | None:
    """:func:`kumo.db.action_events.open_event` of ``event``'s keys (None when the
    request started no action on the server), read before the transaction's first
    write: on SQLite every writer waits while one transaction writes."""
    try:
        return action_events.open_event(db_session, instance_uuid, event["request_id"],
                                        event["event"])
    except exception.InstanceActionNotFound:
        return None


def _finish_event_in(db_session: Any, instance_uuid: str, event: Mapping[str, Any],
                     opened: tuple[int, int | None] | None) -> None:
    """:func:`kumo.db.action_events.event_finish_in` of ``event``'s keys and
    ``opened`` (of :func:`_open_event`); nothing when that is None."""
    if opened is not None:
        action_events.event_finish_in(
            db_session, instance_uuid, event["request_id"], event["event"],
            host=event.get("host"), result=event.get("result"),
            traceback=event.get("traceback"), start_time=event.get("start_time"),
            opened=opened)


def take_build(instance_uuid: str, values: Mapping[str, Any],
               stale_reason: Callable[[dict[str, Any]], str | None],
               event: Mapping[str, Any] | None = None) -> str | None:
    """kumo-compute's take of a build attempt (:mod:`kumo.compute.build_guard`) in one
    transaction: start the request's step ``event`` (``request_id``, ``event``,
    ``host``; nothing when the request started no action), read the server's
    ``deleted``, ``task_state``, ``host``, ``node`` and ``system_metadata``, ask
    ``stale_reason(row)`` whether the attempt may spawn, and if so apply ``values``
    with an update guarded by ``expected_task_state=spawning``.

    Returns None when the attempt is taken, else why not (gone, moved on, or taken
    by an earlier request).
    """
    with session() as db_session:
        if event and event.get("request_id"):
            instance_actions.event_start_in(db_session, instance_uuid, event["request_id"],
                                            event["event"], host=event.get("host"))
        row = db_session.execute(_BUILD_STATE, {"p_uuid": instance_uuid}).first()
        if row is None:
            return "the server was deleted"
        current = {"deleted": False, "task_state": row.task_state, "host": row.host,
                   "node": row.node,
                   "system_metadata": instances.decode_json(row.system_metadata)}
        reason = stale_reason(current)
        if reason is not None:
            return reason
        try:
            # The text just read: the take is one compare-and-swap UPDATE, no re-read.
            instances.instance_update_known_in(db_session, instance_uuid, values,
                                               row.system_metadata,
                                               expected_task_state=task_states.SPAWNING)
        except (exception.InstanceNotFound, exception.UnexpectedTaskStateError) as error:
            return f"it changed meanwhile ({error.message})"
        return None


def destroy_finishing_event(instance_uuid: str, event: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`kumo.db.instances.instance_destroy` (same errors), the finish of the
    request's step ``event`` (``request_id``, ``event``, ``host``, ``result``,
    ``start_time``: :func:`kumo.db.action_events.event_finish`; nothing when the
    request started no action) and the server's leaving of its server groups
    (what :func:`kumo.db.instance_groups.members_delete_by_instance` does) in one
    transaction: one commit per delete instead of two. Returns the instance's
    system_metadata only (the caller needs no more)."""
    with session() as db_session:
        opened = _open_event(db_session, instance_uuid, event)
        system_metadata = instances.instance_destroy_in(db_session, instance_uuid)
        _finish_event_in(db_session, instance_uuid, event, opened)
        instance_groups.members_delete_by_instance_in(db_session, instance_uuid)
        return system_metadata


def start_delete(instance_uuid: str, project_id: str | None, owner: Mapping[str, Any],
                 allow_locked: bool, action: Mapping[str, Any],
                 expected_task_state: Any) -> dict[str, Any]:
    """The read and the start of ``DELETE /servers/{id}`` in one transaction.

    One UPDATE sets ``task_state`` ``deleting``, guarded by: the server is live (and
    of project ``project_id`` when given), belongs to ``owner`` (``project_id`` and
    ``user_id``: the policy target the API has already authorized), is not locked
    (unless ``allow_locked``) and its task_state is one of ``expected_task_state``.
    When it wins, the request's instance action ``action`` (``action``,
    ``request_id``, ``user_id``, ``project_id``; none without a request id) is
    started, and the server read back just after the commit.

    When it does not, the server is read to say why: InstanceNotFound (none of
    that project), UnexpectedDeletingTaskStateError / UnexpectedTaskStateError
    (its own server, but a task is under way), else nothing was written and the
    caller decides with the server it gets (another owner, locked).

    Returns ``{"instance": the server, "started": bool}``.
    """
    guard = [_instances.c.uuid == instance_uuid, _instances.c.deleted == 0,
             _instances.c.project_id == owner.get("project_id"),
             _instances.c.user_id == owner.get("user_id"),
             instances._in(_instances.c.task_state, expected_task_state)]
    if project_id is not None:
        guard.append(_instances.c.project_id == project_id)
    if not allow_locked:
        guard.append(sa.or_(_instances.c.locked.is_(None), _instances.c.locked.is_(False)))
    with session() as db_session:
        record = _action_to_record(db_session, instance_uuid, action)
        started = db_session.execute(sa.update(_instances).where(*guard).values(
            task_state=task_states.DELETING, updated_at=instances.utcnow())).rowcount > 0
        if started and record:
            _record_action_in(db_session, instance_uuid, action)
        elif not started:
            instance = instances._get(db_session, instance_uuid, project_id)  # or 404
    if started:
        # Read after the commit, not while holding SQLite's write lock (a deleted row
        # too, should the delete have ended meanwhile).
        return {"instance": instances.instance_get(instance_uuid, read_deleted=True),
                "started": True}
    mine = all(instance.get(key) == owner.get(key) for key in ("project_id", "user_id"))
    if mine and (allow_locked or not instance.get("locked")):
        error = instances.task_state_error(instance_uuid, expected_task_state,
                                           instance.get("task_state"))
        if error is not None:
            raise error
    return {"instance": instance, "started": False}
