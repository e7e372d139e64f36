"""The compute API's WSGI application: a route table mapping URL and method to handlers."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable
from typing import Any

import routes
import webob
import webob.dec
import webob.exc
from oslo_log import log as logging

from kumo import exception
from kumo.api import auth
from kumo.api.openstack import api_version, common, faults, versions
from kumo.api.openstack.compute import (
    aggregates,
    availability_zones,
    fixed_ips,
    flavor_access,
    flavor_extra_specs,
    flavors,
    floating_ips,
    hypervisors,
    image_metadata,
    images,
    instance_actions,
    ips,
    keypairs,
    limits,
    networks,
    quota_class_sets,
    quota_sets,
    remote_consoles,
    security_groups,
    server_actions,
    server_actions_move,
    server_groups,
    server_metadata,
    server_password,
    server_tags,
    server_topology,
    servers,
    services,
    simple_tenant_usage,
)

LOG = logging.getLogger(__name__)

Handler = Callable[[webob.Request], Any]


def _json(body: Any, status: int = 200) -> webob.Response:
    return webob.Response(status=status, body=json.dumps(body).encode(),
                          content_type="application/json", charset="utf-8")


def _base_url(req: webob.Request) -> str:
    return req.host_url + req.script_name


def list_versions(req: webob.Request) -> webob.Response:
    return _json(versions.versions(_base_url(req)))


def show_v21(req: webob.Request) -> webob.Response:
    return _json(versions.version_v21(_base_url(req)))


# (path, {method: handler}) — the version documents, open to anyone.
ROUTES: list[tuple[str, dict[str, Handler]]] = [
    ("/", {"GET": list_versions}),
    ("/v2.1", {"GET": show_v21}),
    ("/v2.1/", {"GET": show_v21}),
]

# (path under /v2.1 or /v2.1/{project_id}, {method: (controller, action)}) — the
# resources, for authenticated callers only. A fixed segment before a {variable}.
RESOURCES: list[tuple[str, dict[str, tuple[str, str]]]] = [
    ("/os-server-groups", {"GET": ("server_groups", "index"),
                           "POST": ("server_groups", "create")}),
    ("/os-server-groups/{group_id}", {"GET": ("server_groups", "show"),
                                      "DELETE": ("server_groups", "delete")}),
    ("/os-aggregates", {"GET": ("aggregates", "index"), "POST": ("aggregates", "create")}),
    ("/os-aggregates/{aggregate_id}", {"GET": ("aggregates", "show"),
                                       "PUT": ("aggregates", "update"),
                                       "DELETE": ("aggregates", "delete")}),
    ("/os-aggregates/{aggregate_id}/action", {"POST": ("aggregates", "action")}),
    ("/os-aggregates/{aggregate_id}/images", {"POST": ("aggregates", "images")}),
    ("/os-availability-zone", {"GET": ("availability_zones", "index")}),
    ("/os-availability-zone/detail", {"GET": ("availability_zones", "detail")}),
    ("/servers", {"GET": ("servers", "index"), "POST": ("servers", "create")}),
    ("/servers/detail", {"GET": ("servers", "detail")}),
    ("/servers/{server_id}", {"GET": ("servers", "show"), "PUT": ("servers", "update"),
                              "DELETE": ("servers", "delete")}),
    ("/servers/{server_id}/action", {"POST": ("server_actions", "action")}),
    ("/servers/{server_id}/remote-consoles", {"POST": ("remote_consoles", "create")}),
    ("/os-console-auth-tokens/{console_token}", {"GET": ("console_auth_tokens", "show")}),
    ("/servers/{server_id}/os-instance-actions", {"GET": ("instance_actions", "index")}),
    ("/servers/{server_id}/os-instance-actions/{request_id}",
     {"GET": ("instance_actions", "show")}),
    ("/servers/{server_id}/ips", {"GET": ("ips", "index")}),
    ("/os-floating-ip-pools", {"GET": ("floating_ip_pools", "index")}),
    ("/os-fixed-ips/{address}", {"GET": ("fixed_ips", "show")}),
    ("/os-fixed-ips/{address}/action", {"POST": ("fixed_ips", "action")}),
    ("/servers/{server_id}/os-virtual-interfaces",
     {"GET": ("virtual_interfaces", "index")}),
    ("/os-networks", {"GET": ("networks", "index"), "POST": ("networks", "create")}),
    ("/os-networks/add", {"POST": ("networks", "add")}),
    ("/os-networks/{network_id}/action", {"POST": ("networks", "action")}),
    ("/servers/{server_id}/os-security-groups",
     {"GET": ("server_security_groups", "index")}),
    ("/os-networks/{network_id}", {"GET": ("networks", "show"),
                                   "DELETE": ("networks", "delete")}),
    ("/os-floating-ips", {"GET": ("floating_ips", "index"), "POST": ("floating_ips", "create")}),
    ("/os-floating-ips/{floating_ip_id}", {"GET": ("floating_ips", "show"),
                                           "DELETE": ("floating_ips", "delete")}),
    ("/os-security-groups", {"GET": ("security_groups", "index"),
                             "POST": ("security_groups", "create")}),
    ("/os-security-groups/{security_group_id}", {"GET": ("security_groups", "show"),
                                                 "PUT": ("security_groups", "update"),
                                                 "DELETE": ("security_groups", "delete")}),
    ("/os-security-group-rules", {"POST": ("security_group_rules", "create")}),
    ("/os-security-group-rules/{security_group_rule_id}",
     {"DELETE": ("security_group_rules", "delete")}),
    ("/servers/{server_id}/ips/{network_label}", {"GET": ("ips", "show")}),
    ("/servers/{server_id}/metadata", {"GET": ("server_metadata", "index"),
                                       "POST": ("server_metadata", "create"),
                                       "PUT": ("server_metadata", "update_all")}),
    ("/servers/{server_id}/metadata/{key}", {"GET": ("server_metadata", "show"),
                                             "PUT": ("server_metadata", "update"),
                                             "DELETE": ("server_metadata", "delete")}),
    ("/servers/{server_id}/topology", {"GET": ("server_topology", "index")}),
    ("/servers/{server_id}/os-server-password", {"GET": ("server_password", "show"),
                                                 "DELETE": ("server_password", "clear")}),
    ("/servers/{server_id}/tags", {"GET": ("server_tags", "index"),
                                   "PUT": ("server_tags", "update_all"),
                                   "DELETE": ("server_tags", "delete_all")}),
    ("/servers/{server_id}/tags/{tag}", {"GET": ("server_tags", "show"),
                                         "PUT": ("server_tags", "update"),
                                         "DELETE": ("server_tags", "delete")}),
    ("/flavors", {"GET": ("flavors", "index"), "POST": ("flavors", "create")}),
    ("/flavors/detail", {"GET": ("flavors", "detail")}),
    ("/flavors/{flavor_id}", {"GET": ("flavors", "show"), "PUT": ("flavors", "update"),
                              "DELETE": ("flavors", "delete")}),
    ("/flavors/{flavor_id}/action", {"POST": ("flavor_access", "action")}),
    ("/flavors/{flavor_id}/os-flavor-access", {"GET": ("flavor_access", "index")}),
    ("/flavors/{flavor_id}/os-extra_specs", {"GET": ("flavor_extra_specs", "index"),
                                             "POST": ("flavor_extra_specs", "create")}),
    ("/flavors/{flavor_id}/os-extra_specs/{key}", {
        "GET": ("flavor_extra_specs", "show"), "PUT": ("flavor_extra_specs", "update"),
        "DELETE": ("flavor_extra_specs", "delete")}),
    ("/os-services", {"GET": ("services", "index")}),
    ("/os-services/{service_id}", {"PUT": ("services", "update"),
                                   "DELETE": ("services", "delete")}),
    ("/os-hypervisors", {"GET": ("hypervisors", "index")}),
    ("/os-hypervisors/detail", {"GET": ("hypervisors", "detail")}),
    ("/os-hypervisors/statistics", {"GET": ("hypervisors", "statistics")}),
    ("/os-hypervisors/{hypervisor_id}", {"GET": ("hypervisors", "show")}),
    ("/os-hypervisors/{hypervisor_id}/uptime", {"GET": ("hypervisors", "uptime")}),
    ("/os-hypervisors/{hypervisor_hostname_pattern}/search",
     {"GET": ("hypervisors", "search")}),
    ("/os-hypervisors/{hypervisor_hostname_pattern}/servers",
     {"GET": ("hypervisors", "servers")}),
    ("/os-simple-tenant-usage", {"GET": ("simple_tenant_usage", "index")}),
    ("/os-simple-tenant-usage/{tenant_id}", {"GET": ("simple_tenant_usage", "show")}),
    ("/images", {"GET": ("images", "index")}),
    ("/images/detail", {"GET": ("images", "detail")}),
    ("/images/{image_id}", {"GET": ("images", "show"), "DELETE": ("images", "delete")}),
    ("/images/{image_id}/metadata", {"GET": ("image_metadata", "index"),
                                     "POST": ("image_metadata", "create"),
                                     "PUT": ("image_metadata", "update_all")}),
    ("/images/{image_id}/metadata/{key}", {"GET": ("image_metadata", "show"),
                                           "PUT": ("image_metadata", "update"),
                                           "DELETE": ("image_metadata", "delete")}),
    ("/os-keypairs", {"GET": ("keypairs", "index"), "POST": ("keypairs", "create")}),
    ("/os-keypairs/{keypair_name}", {"GET": ("keypairs", "show"),
                                     "DELETE": ("keypairs", "delete")}),
    ("/limits", {"GET": ("limits", "index")}),
    ("/os-quota-sets/{tenant_id}", {"GET": ("quota_sets", "show"),
                                    "PUT": ("quota_sets", "update"),
                                    "DELETE": ("quota_sets", "delete")}),
    ("/os-quota-sets/{tenant_id}/detail", {"GET": ("quota_sets", "detail")}),
    ("/os-quota-sets/{tenant_id}/defaults", {"GET": ("quota_sets", "defaults")}),
    ("/os-quota-class-sets/{quota_class}", {"GET": ("quota_class_sets", "show"),
                                            "PUT": ("quota_class_sets", "update")}),
]

_ROUTE_KEY = "kumo.route"


class _RequestIds:
    """Random (version 4) UUIDs as uuid.uuid4 makes them, from os.urandom read 256 at a
    time: one system call a request (each a switch of the interpreter lock between the
    request threads) showed in kumo-api's profile. A forked worker starts afresh, so
    that it never hands out its parent's ids."""

    BATCH = 256

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._at = 0
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._at = 0

    def next(self) -> str:
        with self._lock:
            if self._at >= len(self._pool):
                self._pool = os.urandom(16 * self.BATCH)
                self._at = 0
            start = self._at
            self._at = start + 16
            raw = self._pool[start:start + 16]
        return str(uuid.UUID(bytes=raw, version=4))


_request_ids = _RequestIds()

# Controllers a microversion removed -> that microversion, from which they answer
# 404 (2.36 retired the proxies to the image and network services).
REMOVED_IN: dict[str, str] = {"images": "2.36", "image_metadata": "2.36"}


class ComputeAPI:
    """Dispatches by the route tables; 404 and 405 in the API's error shape.

    ``conductor`` and ``compute`` are the RPC clients the controllers use
    (created on first use when not given); ``auth_strategy`` overrides
    ``[api] auth_strategy``.
    """

    def __init__(self, conductor: Any = None, compute: Any = None,
                 auth_strategy: str | None = None) -> None:
        self._mapper = routes.Mapper()
        self._handlers: dict[str, dict[str, Handler]] = {}
        self._resources: dict[str, dict[str, tuple[str, str]]] = {}
        for path, methods in ROUTES:
            self._mapper.connect(path, path)
            self._handlers[path] = methods
        for prefix in ("/v2.1", "/v2.1/{project_id}"):
            for path, actions in RESOURCES:
                self._mapper.connect(prefix + path, prefix + path)
                self._resources[prefix + path] = actions
        clients = common.Clients(conductor=conductor, compute=compute)
        self.controllers: dict[str, Any] = {
            "server_groups": server_groups.ServerGroupsController(clients),
            "aggregates": aggregates.AggregatesController(clients),
            "availability_zones": availability_zones.AvailabilityZonesController(clients),
            "servers": servers.ServersController(clients),
            "ips": ips.IpsController(clients),
            "floating_ip_pools": floating_ips.FloatingIpPoolsController(clients),
            "networks": networks.NetworksController(clients),
            "fixed_ips": fixed_ips.FixedIpsController(clients),
            "virtual_interfaces": fixed_ips.VirtualInterfacesController(clients),
            "floating_ips": floating_ips.FloatingIpsController(clients),
            "security_groups": security_groups.SecurityGroupsController(clients),
            "security_group_rules": security_groups.SecurityGroupRulesController(clients),
            "server_security_groups": security_groups.ServerSecurityGroupsController(clients),
            "instance_actions": instance_actions.InstanceActionsController(clients),
            "server_metadata": server_metadata.ServerMetadataController(clients),
            "server_tags": server_tags.ServerTagsController(clients),
            "server_password": server_password.ServerPasswordController(clients),
            "server_topology": server_topology.ServerTopologyController(clients),
            "flavors": flavors.FlavorsController(clients),
            "flavor_access": flavor_access.FlavorAccessController(clients),
            "flavor_extra_specs": flavor_extra_specs.FlavorExtraSpecsController(clients),
            "services": services.ServicesController(clients),
            "hypervisors": hypervisors.HypervisorsController(clients),
            "simple_tenant_usage": simple_tenant_usage.SimpleTenantUsageController(clients),
            "images": images.ImagesController(clients),
            "image_metadata": image_metadata.ImageMetadataController(clients),
            "keypairs": keypairs.KeypairsController(clients),
            "limits": limits.LimitsController(clients),
            "quota_sets": quota_sets.QuotaSetsController(clients),
            "quota_class_sets": quota_class_sets.QuotaClassSetsController(clients),
        }
        actions = server_actions.ServerActionsController(self.controllers["servers"])
        server_actions_move.register(actions.actions)
        actions.actions.update(floating_ips.ACTIONS)  # kumo-network
        actions.actions.update(security_groups.ACTIONS)  # kumo-network
        consoles = remote_consoles.RemoteConsolesController(clients)
        self.controllers["remote_consoles"] = consoles
        self.controllers["console_auth_tokens"] = remote_consoles.ConsoleAuthTokensController(
            consoles)
        actions.actions.update(consoles.actions())
        self.controllers["server_actions"] = actions
        self._auth_strategy = auth_strategy
        self._authenticated: Any = None

    def __call__(self, environ: Any, start_response: Any = None) -> Any:
        """The WSGI entry point (also callable with a webob request, as wsgify is).

        What ``webob.dec.wsgify`` would do, without its per-request spare
        ``req.response`` and the cookie merge into it: :meth:`handle` catches every
        exception and always answers a plain response.
        """
        if isinstance(environ, webob.Request):
            return self.handle(environ)
        return self.handle(webob.Request(environ))(environ, start_response)

    def handle(self, req: webob.Request) -> webob.Response:
        """The response to ``req``, with its request id (and version) headers."""
        # Always a fresh id of our own, never the client's header: a chosen id
        # could collide with another request's and mix up their log lines.
        request_id = "req-" + _request_ids.next()
        req.environ["openstack.request_id"] = request_id
        try:
            response = self._dispatch(req)
        except Exception as exc:
            if not isinstance(exc, exception.KumoException) or exc.code >= 500:
                LOG.exception("%s %s failed (%s)", req.method, req.path_info, request_id)
            response = faults.from_exception(exc)
        response.headers["x-openstack-request-id"] = request_id
        response.headers["x-compute-request-id"] = request_id
        version = req.environ.get(api_version.ENVIRON_KEY)
        if version is not None:
            response.headers.update(api_version.response_headers(version))
        return response

    def _dispatch(self, req: webob.Request) -> webob.Response:
        """The handler's response, or a 404/405 fault; handler errors propagate."""
        found = self._mapper.routematch(req.path_info or "/")
        if found is None:
            return faults.fault_response(404, f"The resource {req.path_info} could not be found.")
        match, route = found
        methods: dict[str, Any] = self._handlers.get(route.name) or self._resources[route.name]
        handler = methods.get(req.method)
        if handler is None:
            response = faults.fault_response(
                405, f"Method {req.method} is not allowed on {req.path_info}.")
            response.headers["Allow"] = ", ".join(sorted(methods))
            return response
        if route.name.startswith("/v2.1"):
            # Once per request, before authentication and the controller: a bad
            # header is the client's 400/406 whoever asks.
            environ = req.environ
            if ("HTTP_OPENSTACK_API_VERSION" in environ
                    or "HTTP_X_OPENSTACK_NOVA_API_VERSION" in environ):
                environ[api_version.ENVIRON_KEY] = api_version.negotiate(req.headers)
            else:
                # No version header (most clients): the minimum, as negotiate() would
                # answer after two header look-ups through webob (a dozen calls).
                environ[api_version.ENVIRON_KEY] = api_version.MIN
        if route.name in self._handlers:
            return handler(req)
        req.environ[_ROUTE_KEY] = (handler, dict(match))
        authenticated = self._authenticated
        if authenticated is None:
            # Built on first use: keystonemiddleware reads its options only then.
            authenticated = self._authenticated = auth.pipeline(self._call_resource,
                                                                self._auth_strategy)
        if isinstance(authenticated, auth.NoAuthMiddleware):
            # In place rather than through two more WSGI hops (each a webob request,
            # response and copy): a fifth of the app's CPU on a small read.
            refused = authenticated.authenticate(req)
            return refused if refused is not None else self._resource_response(req)
        return req.get_response(authenticated)

    def _resource_response(self, req: webob.Request) -> webob.Response:
        """``_call_resource``'s response without the WSGI round trip: what the
        controller returned when it is a plain response, else what wsgify and
        ``get_response`` would have made of it (and of a webob HTTPException)."""
        try:
            result: Any = self._resource(req)
        except webob.exc.HTTPException as exc:
            result = exc
        if type(result) is webob.Response:
            return result
        return req.get_response(webob.dec.wsgify(lambda _req: result))

    @webob.dec.wsgify
    def _call_resource(self, req: webob.Request) -> webob.Response:
        """Runs behind authentication (keystone's WSGI middleware): :meth:`_resource`."""
        return self._resource(req)

    def _resource(self, req: webob.Request) -> webob.Response:
        """The controller action of the matched route, for an authenticated caller."""
        (controller, action), match = req.environ[_ROUTE_KEY]
        removed = REMOVED_IN.get(controller)
        if removed is not None and api_version.at_least(req, removed):
            return faults.fault_response(404, "The resource could not be found.")
        url_project_id = match.pop("project_id", None)
        if url_project_id is not None:
            context = common.context_of(req)
            if url_project_id != context.project_id:
                return faults.fault_response(400, (
                    f"Malformed request URL: URL's project_id '{url_project_id}' doesn't "
                    f"match Context's project_id '{context.project_id}'"))
            req.environ["kumo.url_project_id"] = url_project_id
        return getattr(self.controllers[controller], action)(req, **match)


def app_factory(conductor: Any = None, compute: Any = None,
                auth_strategy: str | None = None) -> ComputeAPI:
    return ComputeAPI(conductor=conductor, compute=compute, auth_strategy=auth_strategy)
