"""Writes of the boot and delete paths that do two things in one transaction.

Each function here is one commit for what would otherwise be two RPC round
trips and two commits (a state change and the instance-action row that
records it), and so keeps the hot paths of booting and deleting servers
short. The single-purpose queries stay in :mod:`kumo.db.instances` and
:mod:`kumo.db.instance_actions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kumo import exception
from kumo.db import action_events, instance_actions, instances
from kumo.db.api import session


def update_starting_action(instance_uuid: str, values: Mapping[str, Any],
                           action: Mapping[str, Any], **expected: Any) -> dict[str, Any]:
    """:func:`kumo.db.instances.instance_update` (same guard and errors) that also
    records the request's instance action ``action`` (``action``, ``request_id``,
    ``user_id``, ``project_id``) when it wins; returns the instance."""
    with session() as db_session:
        instances.instance_update_in(db_session, instance_uuid, values, **expected)
        if action.get("request_id"):
            instance_actions.action_start_in(
                db_session, instance_uuid, action["action"], action["request_id"],
                action.get("user_id"), action.get("project_id"))
        return instances._get(db_session, instance_uuid)


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


def update_finishing_event(instance_uuid: str, values: Mapping[str, Any],
                           event: Mapping[str, Any], **expected: Any) -> None:
    """:func:`kumo.db.instances.instance_update` (same guard and errors, nothing read
    back) that also finishes the request's step ``event`` (``request_id``,
    ``event``, ``host``, ``result``: the arguments of
    :func:`kumo.db.action_events.event_finish`) when it wins. A request that
    started no action on the server records no event, as event_finish would refuse."""
    with session() as db_session:
        instances.instance_update_in(db_session, instance_uuid, values, **expected)
        try:
            action_events.event_finish_in(
                db_session, instance_uuid, event["request_id"], event["event"],
                host=event.get("host"), result=event.get("result"),
                traceback=event.get("traceback"))
        except exception.InstanceActionNotFound:
            pass
