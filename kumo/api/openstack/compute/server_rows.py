"""Servers as the conductor's view calls send them: plain rows, read like objects.

``instance_get_for_view`` / ``instance_get_all_for_view`` (RPC 1.9,
:mod:`kumo.conductor.server_views`) answer JSON rows rather than versioned
``Instance`` objects, which cost a 1,000-server listing most of its time to
build and parse. :func:`instance` turns a row into a :class:`ServerRow`, with
attribute access (``row.uuid``) as the views and handlers use on objects, so
both read alike. Its datetimes stay the ISO 8601 strings they crossed the bus
as: :func:`kumo.api.openstack.common.isotime` prints them as they are, and
:func:`~kumo.api.openstack.common.as_datetime` reads one as the Instance object
would have held it.
"""

from __future__ import annotations

from typing import Any

from kumo import rpc, servicegroup
from kumo.api.openstack.common import as_datetime


class ServerRow(dict):
    """An instance row whose keys also read as attributes (like an Instance object)."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def found(answer: Any) -> dict[str, Any]:
    """A view call's answer (a conductor manager called in-process, as some tests do,
    hands back the :class:`kumo.rpc.Plain` itself)."""
    return answer.value if isinstance(answer, rpc.Plain) else answer


def instance(row: Any) -> Any:
    """A :class:`ServerRow` of a row (its datetimes still ISO 8601 strings, see the
    module's docstring); anything else (an object) as it is."""
    if not isinstance(row, dict) or isinstance(row, ServerRow):
        return row
    return ServerRow(row)


def host_statuses(found: dict[str, Any]) -> dict[str, str] | None:
    """host -> 2.16's host_status from the ``services`` a view call found (UP, DOWN,
    MAINTENANCE; a host with none is the view's UNKNOWN), None when not asked for."""
    services = found.get("services")
    if services is None:
        return None
    statuses: dict[str, str] = {}
    for service in services:
        service = {**service, "last_seen_up": as_datetime(service.get("last_seen_up")),
                   "created_at": as_datetime(service.get("created_at"))}
        if service.get("disabled"):
            statuses[service["host"]] = "MAINTENANCE"
        else:
            statuses[service["host"]] = "UP" if servicegroup.is_up(service) else "DOWN"
    return statuses
