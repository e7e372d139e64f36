"""``/os-simple-tenant-usage``: how many hours of which sizes each project's
servers ran in a period (for billing).

Microversion 2.40 pages the servers counted (``limit``/``marker``, with a next link).
"""

from __future__ import annotations

import datetime
import urllib.parse
from typing import Any

import webob
from oslo_utils import timeutils

from kumo import policy
from kumo.api.openstack import api_version, common
from kumo.policies import simple_tenant_usage as usage_policies

_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")


def _parse(text: str | None) -> datetime.datetime:
    """A query's time as naive UTC; now when not given."""
    if not text:
        return timeutils.utcnow().replace(tzinfo=None)
    for pattern in _FORMATS:
        try:
            return datetime.datetime.strptime(text, pattern)
        except ValueError:
            continue
    try:
        return timeutils.normalize_time(timeutils.parse_isotime(text))
    except ValueError:
        raise common.BadRequest(reason="Datetime is in invalid format") from None


def _period(req: webob.Request) -> tuple[datetime.datetime, datetime.datetime, bool]:
    # parse_qs keeps a '+' of a time zone that webob's params would turn into a space.
    query = urllib.parse.parse_qs(req.environ.get("QUERY_STRING", ""))
    start = _parse(query.get("start", [None])[0])
    stop = _parse(query.get("end", [None])[0])
    if not start < stop:
        raise common.BadRequest(
            reason="Invalid start time. The start time cannot occur after the end time.")
    return start, stop, query.get("detailed", ["0"])[0] == "1"


def _naive(value: Any) -> datetime.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = timeutils.parse_isotime(value)
    return timeutils.normalize_time(value)


def hours_for(launched_at: Any, terminated_at: Any, start: datetime.datetime,
              stop: datetime.datetime) -> float:
    """Hours of [start, stop) the server ran: from its launch (or the start) to its
    termination (or the stop); 0 for a server never launched."""
    launched = _naive(launched_at)
    terminated = _naive(terminated_at)
    if launched is None or launched > stop or (terminated and terminated < start):
        return 0.0
    end = min(stop, terminated) if terminated else stop
    return max((end - max(launched, start)).total_seconds(), 0.0) / 3600.0


def server_usage(server: Any, start: datetime.datetime, stop: datetime.datetime,
                 now: datetime.datetime) -> dict[str, Any]:
    flavor = server.flavor if server.obj_attr_is_set("flavor") else None
    sizes = flavor if flavor is not None else server
    started = _naive(server.launched_at)
    ended = _naive(server.terminated_at)
    state = "terminated" if ended else server.vm_state
    return {
        "instance_id": server.uuid,
        "name": server.display_name,
        "tenant_id": server.project_id,
        "flavor": flavor.name if flavor is not None else "",
        "memory_mb": sizes.memory_mb,
        "local_gb": (sizes.root_gb or 0) + (sizes.ephemeral_gb or 0),
        "vcpus": sizes.vcpus,
        "hours": hours_for(started, ended, start, stop),
        "started_at": common.usage_time(started),
        "ended_at": common.usage_time(ended),
        "state": state,
        "uptime": int(((ended or now) - started).total_seconds()) if started else 0,
    }


def tenant_usages(servers: list[Any], start: datetime.datetime, stop: datetime.datetime,
                  detailed: bool) -> list[dict[str, Any]]:
    """One summary per project, in the order its first server came."""
    now = timeutils.utcnow().replace(tzinfo=None)
    summaries: dict[str, dict[str, Any]] = {}
    for server in servers:
        usage = server_usage(server, start, stop, now)
        summary = summaries.get(usage["tenant_id"])
        if summary is None:
            summary = summaries[usage["tenant_id"]] = {
                "tenant_id": usage["tenant_id"], "total_local_gb_usage": 0,
                "total_vcpus_usage": 0, "total_memory_mb_usage": 0, "total_hours": 0,
                "start": common.usage_time(start), "stop": common.usage_time(stop)}
            if detailed:
                summary["server_usages"] = []
        summary["total_local_gb_usage"] += usage["local_gb"] * usage["hours"]
        summary["total_vcpus_usage"] += usage["vcpus"] * usage["hours"]
        summary["total_memory_mb_usage"] += usage["memory_mb"] * usage["hours"]
        summary["total_hours"] += usage["hours"]
        if detailed:
            summary["server_usages"].append(usage)
    return list(summaries.values())


class SimpleTenantUsageController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def _servers(self, req: webob.Request, context: Any, start: datetime.datetime,
                 stop: datetime.datetime, project_id: str | None
                 ) -> tuple[list[Any], list[dict[str, str]]]:
        """The servers of the period (a page of them from 2.40) and the next link."""
        limit: int | None = None
        marker = None
        if api_version.at_least(req, "2.40"):
            limit, marker = common.limit_and_marker(req)
        servers = self.clients.conductor.instance_get_active_by_window(
            context, start=start, end=stop, project_id=project_id, limit=limit,
            marker=marker)
        links: list[dict[str, str]] = []
        if limit is not None:
            collection = "os-simple-tenant-usage"
            if project_id is not None:
                collection += f"/{project_id}"
            links = common.collection_links(req, [{"id": s.uuid} for s in servers],
                                            collection, limit)
        return servers, links

    def index(self, req: webob.Request) -> webob.Response:
        context = common.context_of(req)
        policy.authorize(context, usage_policies.USAGE % "list")
        start, stop, detailed = _period(req)
        servers, links = self._servers(req, context, start, stop, None)
        body: dict[str, Any] = {"tenant_usages": tenant_usages(servers, start, stop, detailed)}
        if links:
            body["tenant_usages_links"] = links
        return common.json_response(body)

    def show(self, req: webob.Request, tenant_id: str) -> webob.Response:
        context = common.context_of(req)
        policy.authorize(context, usage_policies.USAGE % "show",
                         {"project_id": tenant_id})
        start, stop, _ = _period(req)
        servers, links = self._servers(req, context, start, stop, tenant_id)
        usages = tenant_usages(servers, start, stop, detailed=True)
        body: dict[str, Any] = {"tenant_usage": usages[0] if usages else {}}
        if links:
            body["tenant_usage_links"] = links
        return common.json_response(body)
