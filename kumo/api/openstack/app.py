"""The compute API's WSGI application: a route table mapping URL and method to handlers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import routes
import webob
import webob.dec
from oslo_log import log as logging
from oslo_utils import uuidutils

from kumo import exception
from kumo.api import auth
from kumo.api.openstack import common, faults, versions
from kumo.api.openstack.compute import (
    flavors,
    images,
    instance_actions,
    server_actions,
    server_actions_move,
    server_metadata,
    servers,
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
    ("/servers", {"GET": ("servers", "index"), "POST": ("servers", "create")}),
    ("/servers/detail", {"GET": ("servers", "detail")}),
    ("/servers/{server_id}", {"GET": ("servers", "show"), "PUT": ("servers", "update"),
                              "DELETE": ("servers", "delete")}),
    ("/servers/{server_id}/action", {"POST": ("server_actions", "action")}),
    ("/servers/{server_id}/os-instance-actions", {"GET": ("instance_actions", "index")}),
    ("/servers/{server_id}/os-instance-actions/{request_id}",
     {"GET": ("instance_actions", "show")}),
    ("/servers/{server_id}/metadata", {"GET": ("server_metadata", "index"),
                                       "POST": ("server_metadata", "create"),
                                       "PUT": ("server_metadata", "update_all")}),
    ("/servers/{server_id}/metadata/{key}", {"GET": ("server_metadata", "show"),
                                             "PUT": ("server_metadata", "update"),
                                             "DELETE": ("server_metadata", "delete")}),
    ("/flavors", {"GET": ("flavors", "index")}),
    ("/flavors/detail", {"GET": ("flavors", "detail")}),
    ("/flavors/{flavor_id}", {"GET": ("flavors", "show")}),
    ("/images", {"GET": ("images", "index")}),
    ("/images/detail", {"GET": ("images", "detail")}),
    ("/images/{image_id}", {"GET": ("images", "show")}),
]

_ROUTE_KEY = "kumo.route"


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
            "servers": servers.ServersController(clients),
            "instance_actions": instance_actions.InstanceActionsController(clients),
            "server_metadata": server_metadata.ServerMetadataController(clients),
            "flavors": flavors.FlavorsController(clients),
            "images": images.ImagesController(clients),
        }
        actions = server_actions.ServerActionsController(self.controllers["servers"])
        server_actions_move.register(actions.actions)
        self.controllers["server_actions"] = actions
        self._auth_strategy = auth_strategy
        self._authenticated: Any = None

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> webob.Response:
        # Always a fresh id of our own, never the client's header: a chosen id
        # could collide with another request's and mix up their log lines.
        request_id = "req-" + uuidutils.generate_uuid()
        req.environ["openstack.request_id"] = request_id
        try:
            response = self._dispatch(req)
        except Exception as exc:
            if not isinstance(exc, exception.KumoException) or exc.code >= 500:
                LOG.exception("%s %s failed (%s)", req.method, req.path_info, request_id)
            response = faults.from_exception(exc)
        response.headers["x-openstack-request-id"] = request_id
        response.headers["x-compute-request-id"] = request_id
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
        if route.name in self._handlers:
            return handler(req)
        req.environ[_ROUTE_KEY] = (handler, dict(match))
        if self._authenticated is None:
            # Built on first use: keystonemiddleware reads its options only then.
            self._authenticated = auth.pipeline(self._call_resource, self._auth_strategy)
        return req.get_response(self._authenticated)

    @webob.dec.wsgify
    def _call_resource(self, req: webob.Request) -> webob.Response:
        """Runs behind authentication: the controller action of the matched route."""
        (controller, action), match = req.environ[_ROUTE_KEY]
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
