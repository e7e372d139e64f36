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
from kumo.api.openstack import faults, versions

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


# (path, {method: handler}) — the whole API surface at a glance.
ROUTES: list[tuple[str, dict[str, Handler]]] = [
    ("/", {"GET": list_versions}),
    ("/v2.1", {"GET": show_v21}),
    ("/v2.1/", {"GET": show_v21}),
]


class ComputeAPI:
    """Dispatches by the route table; 404 and 405 in the API's error shape."""

    def __init__(self) -> None:
        self._mapper = routes.Mapper()
        self._handlers: dict[str, dict[str, Handler]] = {}
        for path, methods in ROUTES:
            self._mapper.connect(path, path)
            self._handlers[path] = methods

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
        methods = self._handlers[route.name]
        handler = methods.get(req.method)
        if handler is None:
            response = faults.fault_response(
                405, f"Method {req.method} is not allowed on {req.path_info}.")
            response.headers["Allow"] = ", ".join(sorted(methods))
            return response
        return handler(req)


def app_factory() -> ComputeAPI:
    return ComputeAPI()
