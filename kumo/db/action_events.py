"""Instance actions addressed as the services know them: by server and request id.

The API starts an action per request (``reboot``, ``stop``…); kumo-compute
records the steps it runs for that request as events
(``compute_reboot_instance``…). The rows are those of
:mod:`kumo.db.instance_actions`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from oslo_utils import timeutils
from sqlalchemy import orm

from kumo import exception
from kumo.db import instance_actions, models
from kumo.db.api import session
from kumo.db.clock import utcnow

_actions = models.InstanceAction.__table__
_events = models.InstanceActionEvent.__table__


# The request's newest action and its newest unfinished step named ``event`` (None when
# there is none), in one query built once.
_OPEN_EVENT = instance_actions._NEWEST_ACTION.add_columns(
    sa.select(_events.c.id).where(
        _events.c.action_id == _actions.c.id,
        _events.c.event == sa.bindparam("event", type_=sa.String),
        _events.c.finish_time.is_(None)).order_by(_events.c.id.desc()).limit(1)
    .scalar_subquery())


# The writes of a step's end, built once: per-call statement building was a large part
# of the conductor's CPU in a boot (values bound at execution).
_EVENT_END = sa.update(_events).where(_events.c.id == sa.bindparam("p_event_id")).values(
    result=sa.bindparam("p_result", type_=sa.String),
    traceback=sa.bindparam("p_traceback", type_=sa.Text), details=None,
    finish_time=sa.bindparam("p_now", type_=sa.DateTime))
_ACTION_END_IN_ERROR = instance_actions.ACTION_END.values(message="Error")


def _row(db_session: orm.Session, table: sa.Table, row_id: int) -> dict[str, Any]:
    return dict(db_session.execute(sa.select(table).where(table.c.id == row_id))
                .mappings().one())


def action_start(instance_uuid: str, action: str, request_id: str, user_id: str | None,
                 project_id: str | None) -> dict[str, Any]:
    """Record the start of a user's request on a server; returns the action.

    :raises InstanceNotFound: no instance has this uuid.
    """
    with session() as db_session:
        action_id = instance_actions._action_start(db_session, instance_uuid, action,
                                                   request_id, user_id, project_id)
        if action_id is None:
            raise exception.InstanceNotFound(instance_id=instance_uuid)
        return _row(db_session, _actions, action_id)


def _action_id(db_session: orm.Session, instance_uuid: str, request_id: str) -> int:
    action_id = instance_actions._action_id(db_session, instance_uuid, request_id)
    if action_id is None:
        raise exception.InstanceActionNotFound(request_id=request_id,
                                               instance_uuid=instance_uuid)
    return action_id


def event_start(instance_uuid: str, request_id: str, event: str,
                host: str | None = None) -> dict[str, Any]:
    """Record that a step of the request's action began.

    :raises InstanceActionNotFound: the request started no action on the server.
    """
    with session() as db_session:
        event_id = instance_actions._event_start(
            db_session, _action_id(db_session, instance_uuid, request_id), event, host=host)
        return _row(db_session, _events, event_id)


def event_finish(instance_uuid: str, request_id: str, event: str, host: str | None = None,
                 result: str | None = None, traceback: str | None = None,
                 start_time: Any = None) -> dict[str, Any]:
    """Record how the newest unfinished step named ``event`` ended (started at
    ``start_time``, or now, if it was never recorded). An ``Error`` result marks
    the action ``Error`` (its ``message``), as Nova does.

    :raises InstanceActionNotFound: the request started no action on the server.
    """
    with session() as db_session:
        event_id = event_finish_in(db_session, instance_uuid, request_id, event, host=host,
                                   result=result, traceback=traceback, start_time=start_time)
        return _row(db_session, _events, event_id)


def open_event(db_session: orm.Session, instance_uuid: str, request_id: str,
               event: str) -> tuple[int, int | None]:
    """(the action's id, its newest unfinished step ``event``'s id or None) of the
    request's action on the server: what :func:`event_finish_in` finishes. A caller
    may read it before its transaction's first write (on SQLite, outside the write
    lock): only this request finishes its own step.

    :raises InstanceActionNotFound: the request started no action on the server.
    """
    row = db_session.execute(_OPEN_EVENT, {"instance_uuid": instance_uuid,
                                           "request_id": request_id, "event": event}).first()
    if row is None:
        raise exception.InstanceActionNotFound(request_id=request_id,
                                               instance_uuid=instance_uuid)
    return row[0], row[1]


def event_finish_in(db_session: orm.Session, instance_uuid: str, request_id: str,
                    event: str, host: str | None = None, result: str | None = None,
                    traceback: str | None = None, start_time: Any = None,
                    opened: tuple[int, int | None] | None = None) -> int:
    """:func:`event_finish` in the caller's transaction; returns the event's id.
    ``start_time`` (a datetime or its ISO text) dates a step whose start was never
    recorded (kumo-compute's terminate records its step in this one write).
    ``opened``: what :func:`open_event` answered (None: read here)."""
    result = result or "Success"
    action_id, event_id = opened or open_event(db_session, instance_uuid, request_id, event)
    now = utcnow()
    if event_id is None:
        # Never started: recorded started and finished in one INSERT.
        if isinstance(start_time, str):
            start_time = timeutils.normalize_time(timeutils.parse_isotime(start_time))
        event_id = db_session.execute(instance_actions.EVENT_ENDED, {
            "p_action_id": action_id, "p_event": event, "p_host": host,
            "p_start_time": start_time or now, "p_now": now, "p_result": result,
            "p_traceback": traceback, "p_details": None}).inserted_primary_key[0]
    else:
        db_session.execute(_EVENT_END, {"p_event_id": event_id, "p_result": result,
                                        "p_traceback": traceback, "p_now": now})
    db_session.execute(_ACTION_END_IN_ERROR if result.lower() == "error"
                       else instance_actions.ACTION_END,
                       {"p_action_id": action_id, "p_now": now})
    return event_id


def action_get_all(instance_uuid: str) -> list[dict[str, Any]]:
    """The server's actions, newest first, each with its ``events``."""
    return instance_actions.action_get_all(instance_uuid)


def action_get_by_request_id(instance_uuid: str, request_id: str) -> dict[str, Any] | None:
    """The request's action on the server with its ``events`` (oldest first), or None."""
    statement = instance_actions._newest_first(instance_uuid).where(
        _actions.c.request_id == request_id, _actions.c.deleted == 0).limit(1)
    with session() as db_session:
        actions = instance_actions._actions_with_events(db_session, statement)
    return actions[0] if actions else None
