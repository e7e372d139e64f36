"""``/os-hypervisors``: the compute nodes, their resources and their servers, for admins.

Microversions: 2.28 shows ``cpu_info`` as an object (a JSON string before);
2.33 pages lists (``limit``/``marker``); 2.53 names hypervisors and their
services by uuid, filters lists with ``hypervisor_hostname_pattern`` and
``with_servers`` and drops ``/search`` and ``/{id}/servers``; 2.75 always
shows ``servers`` when asked for; 2.88 drops the resource figures (the
placement service's job in Nova), ``/statistics`` and ``/{id}/uptime``, and
shows ``uptime`` in the hypervisor itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import webob
from oslo_utils import strutils, uuidutils

from kumo import exception, policy, servicegroup
from kumo.api.openstack import api_version, common
from kumo.api.openstack.compute import views
from kumo.policies import hypervisors as hypervisor_policies

COMPUTE_BINARY = "kumo-compute"
# Figures every hypervisor body shows before 2.88, in Nova's order.
_RESOURCES = ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
              "local_gb_used", "free_ram_mb", "free_disk_gb", "current_workload",
              "running_vms", "disk_available_least")
_LIST_PARAMS = frozenset({"limit", "marker", "hypervisor_hostname_pattern", "with_servers"})


class ComputeServiceUnavailable(exception.Invalid):
    msg_fmt = "Compute service of %(host)s is unavailable at this time."


def _figures(node: dict[str, Any]) -> dict[str, int]:
    stats = node.get("stats") or {}
    free_disk = node.get("free_disk_gb")
    least = node.get("disk_available_least")
    return {
        "vcpus": node["vcpus"], "memory_mb": node["memory_mb"], "local_gb": node["local_gb"],
        "vcpus_used": node.get("vcpus_used") or 0,
        "memory_mb_used": node.get("memory_mb_used") or 0,
        "local_gb_used": node.get("local_gb_used") or 0,
        "free_ram_mb": node.get("free_ram_mb") or 0,
        "free_disk_gb": free_disk or 0,
        "current_workload": int(stats.get("io_workload") or 0),
        "running_vms": node.get("running_vms") or 0,
        "disk_available_least": least if least is not None else (free_disk or 0),
    }


def _server_list(node: dict[str, Any], servers: list[Any]) -> list[dict[str, str]]:
    return [{"name": views.INSTANCE_NAME_TEMPLATE % server.id, "uuid": server.uuid}
            for server in servers]


def show(req: webob.Request, node: dict[str, Any], service: Any, detail: bool,
         servers: list[Any] | None = None, uptime: Any = False) -> dict[str, Any]:
    """One hypervisor body; ``servers`` None: not asked for; ``uptime`` False: not shown."""
    uuids = api_version.at_least(req, "2.53")
    shown: dict[str, Any] = {
        "id": node["uuid"] if uuids else node["id"],
        "hypervisor_hostname": node["hypervisor_hostname"],
        "state": "up" if servicegroup.is_up(service) else "down",
        "status": "disabled" if service["disabled"] else "enabled",
    }
    if detail:
        if not api_version.at_least(req, "2.88"):
            shown.update(_figures(node))
            cpu_info = node.get("cpu_info") or {}
            shown["cpu_info"] = (cpu_info if api_version.at_least(req, "2.28")
                                 else json.dumps(cpu_info))
        shown["hypervisor_type"] = node["hypervisor_type"]
        shown["hypervisor_version"] = node["hypervisor_version"]
        shown["host_ip"] = node.get("host_ip")
        shown["service"] = {"host": node["host"],
                            "id": service["uuid"] if uuids else service["id"],
                            "disabled_reason": service["disabled_reason"]}
    if uptime is not False:
        shown["uptime"] = uptime
    if servers is not None and (servers or api_version.at_least(req, "2.75")):
        shown["servers"] = _server_list(node, servers)
    return shown


def statistics(nodes: Iterable[dict[str, Any]]) -> dict[str, int]:
    """The sums of every figure, and ``count``: the hypervisors summed."""
    totals = dict.fromkeys(_RESOURCES, 0)
    count = 0
    for node in nodes:
        count += 1
        for name, value in _figures(node).items():
            totals[name] += value
    return {"count": count, **totals}


class HypervisorsController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    # --- data ----------------------------------------------------------------------

    def _nodes(self, context: Any, pattern: str | None = None
               ) -> list[tuple[dict[str, Any], Any]]:
        """(node, its compute service) pairs; nodes with no live service are left out.

        A node is its host's compute service's (as in Nova), which its
        ``service_id`` names once the service has registered.
        """
        services = self.clients.conductor.service_get_all(context, binary=COMPUTE_BINARY)
        by_id = {service["id"]: service for service in services}
        by_host = {service["host"]: service for service in services}
        pairs = []
        for node in self.clients.conductor.hypervisor_get_all(
                context, hostname_pattern=pattern):
            service = by_id.get(node.get("service_id")) or by_host.get(node["host"])
            if service is not None:
                pairs.append((node, service))
        return pairs

    def _servers(self, context: Any, nodes: list[tuple[dict[str, Any], Any]]
                 ) -> dict[tuple[str, str], list[Any]]:
        """{(host, node name): [live servers]} of these nodes, in one query."""
        found: dict[tuple[str, str], list[Any]] = {
            (node["host"], node["hypervisor_hostname"]): [] for node, _ in nodes}
        if found:
            for server in self.clients.conductor.instance_get_all(
                    context, filters={"host": sorted({host for host, _ in found}),
                                      "node": sorted({name for _, name in found})},
                    sort_keys=["created_at"], sort_dirs=["asc"]):
                key = (server.host, server.node)
                if key in found:
                    found[key].append(server)
        return found

    def _find(self, req: webob.Request, context: Any, hypervisor_id: str
              ) -> tuple[dict[str, Any], Any]:
        if api_version.at_least(req, "2.53"):
            if not uuidutils.is_uuid_like(hypervisor_id):
                raise common.BadRequest(reason=f"Invalid uuid {hypervisor_id}")
            key, wanted = "uuid", hypervisor_id
        else:
            key, wanted = "id", hypervisor_id
        for node, service in self._nodes(context):
            if str(node[key]) == wanted:
                return node, service
        raise exception.HypervisorNotFound(hypervisor_id=hypervisor_id)

    # --- handlers ------------------------------------------------------------------

    def index(self, req: webob.Request) -> webob.Response:
        return self._list(req, detail=False)

    def detail(self, req: webob.Request) -> webob.Response:
        return self._list(req, detail=True)

    def _list(self, req: webob.Request, detail: bool) -> webob.Response:
        context = common.context_of(req)
        policy.authorize(context, hypervisor_policies.HYPERVISORS % (
            "list-detail" if detail else "list"))
        pattern = None
        with_servers = False
        if api_version.at_least(req, "2.53"):
            unknown = sorted(set(req.params) - _LIST_PARAMS)
            if unknown:
                raise common.BadRequest(reason=(
                    f"Additional properties are not allowed ('{unknown[0]}' was unexpected)"))
            pattern = req.params.get("hypervisor_hostname_pattern")
            with_servers = _with_servers(req)
            if pattern is not None and ("limit" in req.params or "marker" in req.params):
                raise common.BadRequest(reason=(
                    "Paging over hypervisors with the hypervisor_hostname_pattern query "
                    "parameter is not supported."))
        nodes = self._nodes(context, pattern)
        if pattern is not None and not nodes:
            raise exception.HypervisorNotMatched(pattern=pattern)
        paged = api_version.at_least(req, "2.33")
        limit = len(nodes) + 1
        if paged:
            limit, marker = common.limit_and_marker(req)
            key = "uuid" if api_version.at_least(req, "2.53") else "id"
            nodes = common.page([(node[key], node, service) for node, service in nodes],
                                limit, marker, 0)
            nodes = [(node, service) for _, node, service in nodes]
        servers = self._servers(context, nodes) if with_servers else {}
        shown = [show(req, node, service, detail,
                      servers=servers.get((node["host"], node["hypervisor_hostname"]))
                      if with_servers else None,
                      uptime=None if detail and api_version.at_least(req, "2.88") else False)
                 for node, service in nodes]
        collection = "os-hypervisors/detail" if detail else "os-hypervisors"
        if paged:
            return common.list_response(req, "hypervisors", shown, collection, limit)
        return common.json_response({"hypervisors": shown})

    def show(self, req: webob.Request, hypervisor_id: str) -> webob.Response:
        context = common.context_of(req)
        policy.authorize(context, hypervisor_policies.HYPERVISORS % "show")
        with_servers = False
        if api_version.at_least(req, "2.53"):
            unknown = sorted(set(req.params) - {"with_servers"})
            if unknown:
                raise common.BadRequest(reason=(
                    f"Additional properties are not allowed ('{unknown[0]}' was unexpected)"))
            with_servers = _with_servers(req)
        node, service = self._find(req, context, hypervisor_id)
        servers = None
        if with_servers:
            servers = self._servers(context, [(node, service)])[
                (node["host"], node["hypervisor_hostname"])]
        uptime = None if api_version.at_least(req, "2.88") else False
        return common.json_response({"hypervisor": show(req, node, service, True,
                                                        servers=servers, uptime=uptime)})

    def uptime(self, req: webob.Request, hypervisor_id: str) -> webob.Response:
        if api_version.at_least(req, "2.88"):
            raise exception.NotFound()
        context = common.context_of(req)
        policy.authorize(context, hypervisor_policies.HYPERVISORS % "uptime")
        node, service = self._find(req, context, hypervisor_id)
        if not servicegroup.is_up(service):
            raise ComputeServiceUnavailable(host=node["host"])
        # No virt driver of kumo reports its host's uptime yet.
        raise exception.HypervisorUptimeNotImplemented()

    def statistics(self, req: webob.Request) -> webob.Response:
        if api_version.at_least(req, "2.88"):
            raise exception.NotFound()
        context = common.context_of(req)
        policy.authorize(context, hypervisor_policies.HYPERVISORS % "statistics")
        # Disabled compute services' nodes take no new servers: not counted, as Nova.
        nodes = [node for node, service in self._nodes(context) if not service["disabled"]]
        return common.json_response({"hypervisor_statistics": statistics(nodes)})

    def search(self, req: webob.Request, hypervisor_hostname_pattern: str) -> webob.Response:
        return self._matching(req, hypervisor_hostname_pattern, "search", with_servers=False)

    def servers(self, req: webob.Request, hypervisor_hostname_pattern: str
                ) -> webob.Response:
        return self._matching(req, hypervisor_hostname_pattern, "servers", with_servers=True)

    def _matching(self, req: webob.Request, pattern: str, rule: str,
                  with_servers: bool) -> webob.Response:
        """``/{pattern}/search`` and ``/{pattern}/servers`` (before 2.53)."""
        if api_version.at_least(req, "2.53"):
            raise exception.NotFound()
        context = common.context_of(req)
        policy.authorize(context, hypervisor_policies.HYPERVISORS % rule)
        nodes = self._nodes(context, pattern)
        if not nodes:
            raise exception.HypervisorNotMatched(pattern=pattern)
        servers = self._servers(context, nodes) if with_servers else {}
        return common.json_response({"hypervisors": [
            show(req, node, service, False,
                 servers=servers.get((node["host"], node["hypervisor_hostname"]))
                 if with_servers else None)
            for node, service in nodes]})


def _with_servers(req: webob.Request) -> bool:
    raw = req.params.get("with_servers")
    if raw is None:
        return False
    try:
        return strutils.bool_from_string(raw, strict=True)
    except ValueError:
        raise common.BadRequest(reason=(
            f"Invalid input for query parameters with_servers. Value: {raw}.")) from None
