"""Who is asking: the middlewares that put a :class:`kumo.context.RequestContext`
into ``environ["kumo.context"]`` before a compute API handler runs.

``[api] auth_strategy``:

* ``keystone`` — keystonemiddleware's ``auth_token`` validates the token and
  sets the ``X-User-Id``/``X-Project-Id``/``X-Roles`` headers, then
  :class:`KeystoneContext` builds the context from them;
* ``noauth2`` — development only: the token ``user:project`` is trusted as it
  is (:class:`NoAuthMiddleware`); the user ``admin`` has the admin role.
"""

from __future__ import annotations

import json
from typing import Any

import webob
import webob.dec
from oslo_config import cfg

from kumo import context as kumo_context

CONF = cfg.CONF

CONTEXT_KEY = "kumo.context"


def _unauthorized(message: str) -> webob.Response:
    body = {"unauthorized": {"code": 401, "message": message}}
    return webob.Response(status=401, body=json.dumps(body).encode(),
                          content_type="application/json", charset="utf-8")


class NoAuthMiddleware:
    """Trusts ``X-Auth-Token: user:project`` (a token without ``:`` is ``user:user``)."""

    def __init__(self, application: Any) -> None:
        self.application = application

    def authenticate(self, req: webob.Request) -> webob.Response | None:
        """Put the caller's context into ``req.environ``; the 401 response when there
        is no token. (The compute API calls this in place of the WSGI hop.)"""
        token = req.headers.get("X-Auth-Token", "").strip()
        if not token:
            return _unauthorized("The request you have made requires authentication.")
        user_id, _sep, project_id = token.partition(":")
        project_id = project_id or user_id
        roles = ["admin", "member", "reader"] if user_id == "admin" else ["member", "reader"]
        req.environ[CONTEXT_KEY] = kumo_context.RequestContext(
            user_id=user_id, project_id=project_id, roles=roles, auth_token=token,
            request_id=req.environ.get("openstack.request_id"), overwrite=True)
        return None

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> Any:
        refused = self.authenticate(req)
        return refused if refused is not None else self.application


class KeystoneContext:
    """Builds the context from the headers keystonemiddleware's auth_token set."""

    def __init__(self, application: Any) -> None:
        self.application = application

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> Any:
        user_id = req.headers.get("X-User-Id") or req.headers.get("X-User")
        if not user_id or req.headers.get("X-Identity-Status", "Confirmed") != "Confirmed":
            return _unauthorized("The request you have made requires authentication.")
        roles = [r.strip() for r in req.headers.get("X-Roles", "").split(",") if r.strip()]
        req.environ[CONTEXT_KEY] = kumo_context.RequestContext(
            user_id=user_id, project_id=req.headers.get("X-Project-Id"),
            user_name=req.headers.get("X-User-Name"),
            project_name=req.headers.get("X-Project-Name"),
            roles=roles, auth_token=req.headers.get("X-Auth-Token"),
            request_id=req.environ.get("openstack.request_id"), overwrite=True)
        return self.application


def pipeline(application: Any, strategy: str | None = None) -> Any:
    """``application`` behind the authentication ``strategy`` (default ``[api] auth_strategy``)."""
    strategy = strategy or CONF.api.auth_strategy
    if strategy == "noauth2":
        return NoAuthMiddleware(application)
    if strategy == "keystone":
        # Imported here: keystonemiddleware registers its [keystone_authtoken]
        # options on import, which a noauth2 deployment does not need.
        from keystonemiddleware import auth_token

        return auth_token.AuthProtocol(KeystoneContext(application),
                                       {"oslo_config_config": CONF})
    raise ValueError(f"unknown auth_strategy {strategy!r}")
