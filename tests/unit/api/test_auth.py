"""Authentication in front of the resources: noauth2 and the keystone context."""

from __future__ import annotations

from typing import Any

import webob

from kumo.api import auth
from kumo.api.openstack import app as compute_app
from tests.unit.api.conftest import StubConductor, call


def test_a_resource_without_a_token_is_401_unauthorized(api: compute_app.ComputeAPI) -> None:
    response = call(api, "GET", "/servers", token=None)
    assert response.status_int == 401
    assert response.json == {"unauthorized": {
        "code": 401, "message": "The request you have made requires authentication."}}
    assert response.headers["x-openstack-request-id"].startswith("req-")


def test_version_documents_need_no_token(api: compute_app.ComputeAPI) -> None:
    assert webob.Request.blank("/v2.1").get_response(api).status_int == 200
    assert webob.Request.blank("/").get_response(api).status_int == 200


def _context_seen(app: Any, token: str | None = None, **headers: str) -> Any:
    seen = {}

    @webob.dec.wsgify
    def inner(req: webob.Request) -> webob.Response:
        seen["context"] = req.environ[auth.CONTEXT_KEY]
        return webob.Response("ok")

    request = webob.Request.blank("/", headers=headers)
    request.environ["openstack.request_id"] = "req-1"
    if token is not None:
        request.headers["X-Auth-Token"] = token
    response = request.get_response(app(inner))
    return response, seen.get("context")


def test_noauth2_token_names_user_and_project() -> None:
    response, context = _context_seen(auth.NoAuthMiddleware, "alice:project-a")
    assert response.status_int == 200
    assert (context.user_id, context.project_id) == ("alice", "project-a")
    assert context.roles == ["member", "reader"] and not context.is_admin
    assert context.request_id == "req-1"


def test_noauth2_admin_user_is_admin_and_project_defaults_to_user() -> None:
    _, context = _context_seen(auth.NoAuthMiddleware, "admin")
    assert (context.user_id, context.project_id) == ("admin", "admin")
    assert context.is_admin and "admin" in context.roles


def test_keystone_context_comes_from_auth_token_headers() -> None:
    _, context = _context_seen(auth.KeystoneContext, **{
        "X-Identity-Status": "Confirmed", "X-User-Id": "u1", "X-Project-Id": "p1",
        "X-Roles": "reader, admin"})
    assert (context.user_id, context.project_id) == ("u1", "p1")
    assert context.is_admin and context.request_id == "req-1"


def test_keystone_context_refuses_an_unconfirmed_identity() -> None:
    response, context = _context_seen(auth.KeystoneContext, **{
        "X-Identity-Status": "Invalid", "X-User-Id": "u1"})
    assert response.status_int == 401 and context is None


def test_keystone_strategy_puts_auth_token_first() -> None:
    from keystonemiddleware import auth_token

    app = auth.pipeline(lambda environ, start: [], "keystone")
    assert isinstance(app, auth_token.AuthProtocol)


def test_the_context_reaches_the_conductor(api: compute_app.ComputeAPI,
                                           conductor: StubConductor) -> None:
    conductor.add_instance()
    call(api, "GET", "/servers", token="alice:project-a")
    assert conductor.called("instance_get_all")[0]["filters"]["project_id"] == "project-a"
