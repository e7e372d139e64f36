"""What every compute API handler needs: the caller, the body, links, paging."""

from __future__ import annotations

import datetime
import json
import urllib.parse
from typing import Any

import webob
from oslo_config import cfg

from kumo import exception, fast_json
from kumo.api import auth

CONF = cfg.CONF


class BadRequest(exception.Invalid):
    """A 400 with exactly the given message."""

    msg_fmt = "%(reason)s"


class Forbidden(exception.Forbidden):
    msg_fmt = "%(reason)s"


def json_response(body: Any, status: int = 200) -> webob.Response:
    return webob.Response(status=status, body=fast_json.dumps_strict(body),
                          content_type="application/json", charset="utf-8")


def empty_response(status: int) -> webob.Response:
    response = webob.Response(status=status)
    del response.content_type
    return response


def context_of(req: webob.Request) -> Any:
    """The authenticated :class:`kumo.context.RequestContext` of ``req``."""
    return req.environ[auth.CONTEXT_KEY]


def json_body(req: webob.Request) -> Any:
    """The decoded JSON body; 400 "Malformed request body" when it is not JSON."""
    try:
        return json.loads(req.body or b"")
    except ValueError:
        raise BadRequest(reason="Malformed request body") from None


# --- links -----------------------------------------------------------------------------


def _prefix(req: webob.Request) -> str:
    """``http://host:port[/script]``, where ``/v2.1`` lives."""
    return req.host_url + req.script_name


def _project_part(req: webob.Request) -> str:
    # Links keep the project id only when the client's URL carried one.
    project_id = req.environ.get("kumo.url_project_id")
    return f"/{project_id}" if project_id else ""


def self_href(req: webob.Request, collection: str, item_id: str) -> str:
    return f"{_prefix(req)}/v2.1{_project_part(req)}/{collection}/{item_id}"


def bookmark_href(req: webob.Request, collection: str, item_id: str) -> str:
    return f"{_prefix(req)}{_project_part(req)}/{collection}/{item_id}"


def links(req: webob.Request, collection: str, item_id: str) -> list[dict[str, str]]:
    return [{"rel": "self", "href": self_href(req, collection, item_id)},
            {"rel": "bookmark", "href": bookmark_href(req, collection, item_id)}]


def bookmark_links(req: webob.Request, collection: str, item_id: str) -> list[dict[str, str]]:
    return [{"rel": "bookmark", "href": bookmark_href(req, collection, item_id)}]


# --- paging ----------------------------------------------------------------------------


def limit_and_marker(req: webob.Request) -> tuple[int, str | None]:
    """``limit`` (capped by ``[api] max_limit``) and ``marker`` of a list request."""
    raw = req.params.get("limit")
    limit = CONF.api.max_limit
    if raw is not None:
        try:
            value = int(raw)
        except ValueError:
            raise BadRequest(reason="limit param must be an integer") from None
        if value < 0:
            raise BadRequest(reason="limit param must be positive")
        limit = min(value, CONF.api.max_limit) if value else CONF.api.max_limit
    return limit, req.params.get("marker")


def collection_links(req: webob.Request, items: list[dict[str, Any]], collection: str,
                     limit: int) -> list[dict[str, str]]:
    """A ``next`` link when the page is full, carrying the query with the last id as marker."""
    if not items or len(items) < limit:
        return []
    params = dict(sorted(req.params.items()))
    params["marker"] = items[-1]["id"]
    url = f"{_prefix(req)}/v2.1{_project_part(req)}/{collection}"
    return [{"rel": "next", "href": f"{url}?{urllib.parse.urlencode(params)}"}]


def list_response(req: webob.Request, name: str, shown: list[dict[str, Any]],
                  collection: str, limit: int) -> webob.Response:
    """``{name: shown}``, with ``<name>_links`` holding the next page's link when full."""
    body: dict[str, Any] = {name: shown}
    next_links = collection_links(req, shown, collection, limit)
    if next_links:
        body[f"{name}_links"] = next_links
    return json_response(body)


def page(items: list[Any], limit: int, marker: str | None, key: str) -> list[Any]:
    """``items`` after the one whose ``key`` is ``marker``, at most ``limit`` of them
    (for lists the conductor does not page itself)."""
    start = 0
    if marker is not None:
        for index, item in enumerate(items):
            if str(item[key]) == marker:
                start = index + 1
                break
        else:
            raise BadRequest(reason=f"marker [{marker}] not found")
    return items[start:start + limit]


# --- formatting ------------------------------------------------------------------------


def as_datetime(value: Any) -> Any:
    """A datetime as the Instance object's DateTimeField has it (aware, naive read as
    UTC), from an ISO 8601 string (a JSON row's, as the conductor's view calls send
    them); anything else as it is."""
    if not isinstance(value, str):
        return value
    moment = datetime.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _plain_iso(value: Any) -> bool:
    """Whether ``value`` is a naive ISO 8601 string as a datetime's ``isoformat()``
    writes it (``YYYY-MM-DDTHH:MM:SS``, optionally ``.ffffff``; a 4-digit year):
    the form a row's datetimes cross the bus in (kumo.conductor.rows). Such a text
    is printed as it is: a 1,000-server listing has 2,000-3,000 of them, and
    parsing each only to format it again cost a tenth of the listing's time."""
    return (type(value) is str and (len(value) == 19 or (len(value) == 26 and value[19] == "."))
            and value[10] == "T" and value[0] != "0")


def isotime(value: Any) -> str | None:
    """``2017-02-14T19:23:58Z`` (the Compute API's created/updated format) of a
    datetime or of an ISO 8601 string (:func:`as_datetime`)."""
    if value is None:
        return None
    if _plain_iso(value):
        return value[:19] + "Z"
    return as_datetime(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def usage_time(value: Any) -> str | None:
    """``2017-02-14T19:23:59.895661`` (OS-SRV-USG's launched_at/terminated_at) of a
    datetime or of an ISO 8601 string (:func:`as_datetime`)."""
    if value is None:
        return None
    if _plain_iso(value):
        return value if len(value) == 26 else value + ".000000"
    return as_datetime(value).replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S.%f")


def id_from_href(ref: Any) -> str:
    """The last path segment of a link, or the id itself (``flavorRef`` may be either)."""
    text = str(ref)
    path = urllib.parse.urlsplit(text).path
    return path.rstrip("/").split("/")[-1] if "/" in path else text


# --- the services a handler talks to ----------------------------------------------------


class Clients:
    """The RPC clients the controllers use; created on first use, or injected (tests)."""

    def __init__(self, conductor: Any = None, compute: Any = None) -> None:
        self._conductor = conductor
        self._compute = compute

    @property
    def conductor(self) -> Any:
        if self._conductor is None:
            from kumo.conductor import rpcapi as conductor_rpcapi

            # A conductor that died with the call: 503 at once (kumo.rpc), no resend.
            self._conductor = conductor_rpcapi.ConductorAPI(resend=False)
        return self._conductor

    @property
    def compute(self) -> Any:
        if self._compute is None:
            from kumo.compute import rpcapi as compute_rpcapi

            self._compute = compute_rpcapi.ComputeAPI()
        return self._compute


def project_scope(context: Any) -> str | None:
    """The ``project_id`` argument that limits a lookup to what the caller may see
    (None for an admin, who sees every project's)."""
    return None if context.is_admin else context.project_id


def server_get(clients: Clients, context: Any, server_id: str) -> Any:
    """The server the caller may see, or InstanceNotFound (404)."""
    return clients.conductor.instance_get(
        context, instance_uuid=server_id, project_id=project_scope(context))
