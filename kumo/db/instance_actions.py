"""Instance actions (``os-instance-actions``): one row per user request on a server,
one event row per step of it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from kumo.db import models
from kumo.db.api import session
from kumo.db.clock import utcnow

_actions = models.InstanceAction.__table__
_events = models.InstanceActionEvent.__table__


# The hot paths' statements, built once: a boot records three steps and a delete one,
# and building and cache-keying a statement each time was a good part of their CPU.
_NEWEST_ACTION = (
    sa.select(_actions.c.id)
    .where(_actions.c.instance_uuid == sa.bindparam("instance_uuid", type_=sa.String),
           _actions.c.request_id == sa.bindparam("request_id", type_=sa.String),
           _actions.c.deleted == 0)
    .order_by(_actions.c.id.desc()).limit(1))
_instances = models.Instance.__table__
# A new action of an existing instance (none inserted when no instance has the uuid), its
# id returned: the existence check and the insert in one statement.
_ACTION_CREATE = sa.insert(_actions).from_select(
    ["action", "instance_uuid", "request_id", "user_id", "project_id", "start_time",
     "finish_time", "deleted"],
    sa.select(sa.bindparam("action", type_=sa.String), _instances.c.uuid,
              sa.bindparam("request_id", type_=sa.String),
              sa.bindparam("user_id", type_=sa.String),
              sa.bindparam("project_id", type_=sa.String),
              sa.bindparam("start_time", type_=sa.DateTime),
              sa.bindparam("finish_time", type_=sa.DateTime), sa.literal_column("0"))
    .where(_instances.c.uuid == sa.bindparam("instance_uuid", type_=sa.String)).limit(1)
).returning(_actions.c.id)
# A started step of the request's newest action, found and inserted in one statement
# (nothing inserted when the request started no action on the instance).
_EVENT_START = sa.insert(_events).from_select(
    ["action_id", "event", "host", "start_time", "deleted"],
    _NEWEST_ACTION.add_columns(sa.bindparam("event", type_=sa.String),
                               sa.bindparam("host", type_=sa.String),
                               sa.bindparam("start_time", type_=sa.DateTime),
                               sa.literal_column("0")))

# A step recorded already ended, built once and bound at execution (event_record_in,
# and action_events.event_finish for a step that never started).
EVENT_ENDED = sa.insert(_events).values(
    action_id=sa.bindparam("p_action_id"), event=sa.bindparam("p_event", type_=sa.String),
    host=sa.bindparam("p_host", type_=sa.String),
    start_time=sa.bindparam("p_start_time", type_=sa.DateTime),
    finish_time=sa.bindparam("p_now", type_=sa.DateTime),
    result=sa.bindparam("p_result", type_=sa.String),
    traceback=sa.bindparam("p_traceback", type_=sa.Text),
    details=sa.bindparam("p_details", type_=sa.Text),
    updated_at=sa.bindparam("p_now", type_=sa.DateTime), deleted=0)
# An action's end.
ACTION_END = sa.update(_actions).where(_actions.c.id == sa.bindparam("p_action_id")).values(
    finish_time=sa.bindparam("p_now", type_=sa.DateTime))


def _action_id(db_session: orm.Session, instance_uuid: str, request_id: str) -> int | None:
    return db_session.execute(_NEWEST_ACTION, {"instance_uuid": instance_uuid,
                                               "request_id": request_id}).scalar()


def _action_create(db_session: orm.Session, instance_uuid: str, action: str,
                   request_id: str, user_id: str | None, project_id: str | None,
                   finish_time: Any = None) -> int | None:
    """Insert the request's action (ended at ``finish_time`` when given); its id, None
    when no instance has this uuid. One statement where the backend can return the
    inserted id of an INSERT ... SELECT (SQLite, PostgreSQL)."""
    if db_session.get_bind().dialect.insert_returning:
        return db_session.execute(_ACTION_CREATE, {
            "action": action, "instance_uuid": instance_uuid, "request_id": request_id,
            "user_id": user_id, "project_id": project_id, "start_time": utcnow(),
            "finish_time": finish_time}).scalar()
    if db_session.execute(sa.select(_instances.c.id).where(
            _instances.c.uuid == instance_uuid)).first() is None:
        return None
    return db_session.execute(sa.insert(_actions).values(
        action=action, instance_uuid=instance_uuid, request_id=request_id,
        user_id=user_id, project_id=project_id, start_time=utcnow(),
        finish_time=finish_time, deleted=0)).inserted_primary_key[0]


def _action_start(db_session: orm.Session, instance_uuid: str, action: str, request_id: str,
                  user_id: str | None, project_id: str | None) -> int | None:
    action_id = _action_id(db_session, instance_uuid, request_id)
    if action_id is not None:
        return action_id
    return _action_create(db_session, instance_uuid, action, request_id, user_id,
                          project_id)


def event_start_in(db_session: orm.Session, instance_uuid: str, request_id: str,
                   event: str, host: str | None = None) -> bool:
    """Record that a step of the request's newest action began, in the caller's
    transaction and one statement; False (nothing recorded) when the request started
    no action on the instance."""
    return bool(db_session.execute(_EVENT_START, {
        "instance_uuid": instance_uuid, "request_id": request_id, "event": event,
        "host": host, "start_time": utcnow()}).rowcount)


def _event_start(db_session: orm.Session, action_id: int, event: str,
                 host: str | None = None, start_time: Any = None) -> int:
    return db_session.execute(sa.insert(_events).values(
        action_id=action_id, event=event, host=host, start_time=start_time or utcnow(),
        deleted=0)).inserted_primary_key[0]


def _event_finish(db_session: orm.Session, event_id: int, result: str,
                  traceback: str | None = None, details: str | None = None) -> None:
    now = utcnow()
    db_session.execute(sa.update(_events).where(_events.c.id == event_id).values(
        result=result, traceback=traceback, details=details, finish_time=now))
    action_id = sa.select(_events.c.action_id).where(_events.c.id == event_id)
    db_session.execute(sa.update(_actions).where(_actions.c.id.in_(action_id)).values(
        finish_time=now))


def _actions_with_events(db_session: orm.Session, statement: sa.Select
                         ) -> list[dict[str, Any]]:
    """The actions ``statement`` selects, each with its ``events`` (oldest first)."""
    actions = [dict(row) for row in db_session.execute(statement).mappings()]
    by_id = {action["id"]: action for action in actions}
    for action in actions:
        action["events"] = []
    if by_id:
        for row in db_session.execute(sa.select(_events).where(
                _events.c.action_id.in_(list(by_id))).order_by(_events.c.id)).mappings():
            by_id[row["action_id"]]["events"].append(dict(row))
    return actions


def _newest_first(instance_uuid: str) -> sa.Select:
    return (sa.select(_actions).where(_actions.c.instance_uuid == instance_uuid)
            .order_by(_actions.c.start_time.desc(), _actions.c.id.desc()))


def action_event_start(instance_uuid: str, action: str, request_id: str,
                       user_id: str | None, project_id: str | None, event: str,
                       host: str | None = None) -> int | None:
    """Record that a step of the request's action on the instance began (the action
    created if it has none yet); returns the event's id, None when no instance has
    this uuid."""
    with session() as db_session:
        action_id = _action_start(db_session, instance_uuid, action, request_id, user_id,
                                  project_id)
        if action_id is None:
            return None
        return _event_start(db_session, action_id, event, host=host)


def event_record_in(db_session: orm.Session, instance_uuid: str, action: str,
                    request_id: str, user_id: str | None, project_id: str | None, event: str,
                    start_time: Any, result: str, host: str | None = None,
                    traceback: str | None = None, details: str | None = None) -> int | None:
    """Record a step that already ended (started at ``start_time``) in the caller's
    transaction, the action created if it has none yet; ends the action too.
    Returns the event's id, None when no instance has this uuid."""
    now = utcnow()
    action_id = _action_id(db_session, instance_uuid, request_id)
    if action_id is None:
        # A new action ends with its step: created ended, no UPDATE after.
        action_id = _action_create(db_session, instance_uuid, action, request_id, user_id,
                                   project_id, finish_time=now)
        if action_id is None:
            return None
        ended = True
    else:
        ended = False
    event_id = db_session.execute(EVENT_ENDED, {
        "p_action_id": action_id, "p_event": event, "p_host": host,
        "p_start_time": start_time, "p_now": now, "p_result": result,
        "p_traceback": traceback, "p_details": details}).inserted_primary_key[0]
    if not ended:
        db_session.execute(ACTION_END, {"p_action_id": action_id, "p_now": now})
    return event_id


def event_record(instance_uuid: str, action: str, request_id: str, user_id: str | None,
                 project_id: str | None, event: str, start_time: Any, result: str,
                 host: str | None = None, traceback: str | None = None,
                 details: str | None = None) -> int | None:
    """:func:`event_record_in` in a transaction of its own: one write for a step whose
    start and end are both known (see :mod:`kumo.conductor.tasks.build`)."""
    with session() as db_session:
        return event_record_in(db_session, instance_uuid, action, request_id, user_id,
                               project_id, event, start_time, result, host=host,
                               traceback=traceback, details=details)


def action_start_in(db_session: orm.Session, instance_uuid: str, action: str,
                    request_id: str, user_id: str | None, project_id: str | None) -> None:
    """Record the request's action on the instance in the caller's transaction
    (nothing when it has one already)."""
    _action_start(db_session, instance_uuid, action, request_id, user_id, project_id)


def action_id_of(db_session: orm.Session, instance_uuid: str, request_id: str) -> int | None:
    """The id of the request's newest action on the instance, None when it has none."""
    return _action_id(db_session, instance_uuid, request_id)


def action_create_in(db_session: orm.Session, instance_uuid: str, action: str,
                     request_id: str, user_id: str | None, project_id: str | None) -> None:
    """Record the request's action on the instance in the caller's transaction, the
    caller having found it has none (:func:`action_id_of`)."""
    _action_create(db_session, instance_uuid, action, request_id, user_id, project_id)


def event_finish(event_id: int, result: str, traceback: str | None = None,
                 details: str | None = None) -> None:
    """Record how a step ended (``Success`` or ``Error``); ends its action too."""
    with session() as db_session:
        _event_finish(db_session, event_id, result, traceback=traceback, details=details)


def action_get_all(instance_uuid: str) -> list[dict[str, Any]]:
    """The instance's actions, newest first, each with its ``events`` (oldest first)."""
    with session() as db_session:
        return _actions_with_events(db_session, _newest_first(instance_uuid))
