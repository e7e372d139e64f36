"""The compute and metadata WSGI apps, driven in-process with webob (no sockets)."""

from __future__ import annotations

import logging
import os
import re
import uuid
from typing import Any

import pytest
import webob
import webob.exc

from kumo import exception
from kumo.api.metadata import app as metadata_app
from kumo.api.openstack import app as compute_app
from kumo.api.openstack import versions

REQUEST_ID = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture
def api() -> compute_app.ComputeAPI:
    return compute_app.app_factory()


def _get(app: Any, path: str, **kwargs: Any) -> webob.Response:
    return webob.Request.blank(path, base_url="http://api.example.test:8774",
                               **kwargs).get_response(app)


def _assert_v21(doc: dict[str, Any]) -> None:
    assert doc["id"] == "v2.1"
    assert doc["status"] == "CURRENT"
    assert doc["min_version"] == versions.MIN_VERSION == "2.1"
    # The Compute API calls the newest microversion just "version".
    assert doc["version"] == versions.MAX_VERSION
    self_links = [link for link in doc["links"] if link["rel"] == "self"]
    assert self_links == [{"rel": "self", "href": "http://api.example.test:8774/v2.1/"}]


def test_root_lists_v21_as_the_current_version(api: compute_app.ComputeAPI) -> None:
    response = _get(api, "/")
    assert response.status_int == 200
    assert response.content_type == "application/json"
    [doc] = response.json["versions"]
    _assert_v21(doc)


@pytest.mark.parametrize("path", ["/v2.1", "/v2.1/"])
def test_v21_document_describes_the_version_and_its_media_type(
        api: compute_app.ComputeAPI, path: str) -> None:
    response = _get(api, path)
    assert response.status_int == 200
    assert response.content_type == "application/json"
    doc = response.json["version"]
    _assert_v21(doc)
    assert doc["media-types"] == [{
        "base": "application/json",
        "type": "application/vnd.openstack.compute+json;version=2.1",
    }]


def test_version_links_follow_the_host_the_client_used(api: compute_app.ComputeAPI) -> None:
    response = webob.Request.blank("/", base_url="https://cloud.example.org").get_response(api)
    assert response.json["versions"][0]["links"][0]["href"] == "https://cloud.example.org/v2.1/"


def test_version_documents_are_not_shared_between_requests(
        api: compute_app.ComputeAPI) -> None:
    first = _get(api, "/v2.1").json["version"]["links"]
    second = _get(api, "/v2.1").json["version"]["links"]
    assert first == second
    assert len(second) == 2


def test_unknown_path_is_404_item_not_found(api: compute_app.ComputeAPI) -> None:
    response = _get(api, "/v2.1/no-such-thing")
    assert response.status_int == 404
    assert response.content_type == "application/json"
    assert response.json == {"itemNotFound": {
        "code": 404, "message": "The resource /v2.1/no-such-thing could not be found."}}
    assert REQUEST_ID.match(response.headers["x-openstack-request-id"])


def test_wrong_method_is_405_bad_method_with_allow(api: compute_app.ComputeAPI) -> None:
    response = _get(api, "/v2.1", method="DELETE")
    assert response.status_int == 405
    assert response.content_type == "application/json"
    assert response.headers["Allow"] == "GET"
    body = response.json["badMethod"]
    assert body["code"] == 405
    assert "DELETE" in body["message"]
    assert REQUEST_ID.match(response.headers["x-openstack-request-id"])


def test_every_response_gets_a_fresh_request_id(api: compute_app.ComputeAPI) -> None:
    first = _get(api, "/")
    second = _get(api, "/")
    ids = [r.headers["x-openstack-request-id"] for r in (first, second)]
    assert all(REQUEST_ID.match(i) for i in ids)
    assert ids[0] != ids[1]
    assert first.headers["x-compute-request-id"] == ids[0]


@pytest.mark.parametrize("path", ["/", "/nowhere"])
def test_client_sent_request_id_is_not_echoed(api: compute_app.ComputeAPI, path: str) -> None:
    sent = "req-11111111-2222-4333-8444-555555555555"
    response = _get(api, path, headers={"X-OpenStack-Request-ID": sent})
    assert REQUEST_ID.match(response.headers["x-openstack-request-id"])
    assert response.headers["x-openstack-request-id"] != sent
    assert response.headers["x-compute-request-id"] != sent


@pytest.fixture
def failing_api(monkeypatch: pytest.MonkeyPatch) -> compute_app.ComputeAPI:
    def crash(req: webob.Request) -> webob.Response:
        raise RuntimeError("secret internal detail")

    def missing(req: webob.Request) -> webob.Response:
        raise exception.ServiceNotFound(service_id=42)

    def busy(req: webob.Request) -> webob.Response:
        raise exception.Conflict(reason="the service is being deleted")

    monkeypatch.setattr(compute_app, "ROUTES", [
        *compute_app.ROUTES,
        ("/crash", {"GET": crash}),
        ("/missing", {"GET": missing}),
        ("/busy", {"GET": busy}),
    ])
    return compute_app.app_factory()


def test_unexpected_error_is_500_compute_fault_without_traceback(
        failing_api: compute_app.ComputeAPI, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="kumo.api.openstack.app"):
        response = _get(failing_api, "/crash")
    assert response.status_int == 500
    assert response.content_type == "application/json"
    assert list(response.json) == ["computeFault"]
    assert response.json["computeFault"]["code"] == 500
    assert "Traceback" not in response.text
    assert "secret internal detail" not in response.text
    request_id = response.headers["x-openstack-request-id"]
    assert REQUEST_ID.match(request_id)
    # The operator finds the traceback in the log under the id the client got.
    [record] = [r for r in caplog.records if r.name == "kumo.api.openstack.app"]
    assert record.exc_info is not None
    assert request_id in record.getMessage()


def test_kumo_error_answers_with_its_own_code_and_message(
        failing_api: compute_app.ComputeAPI) -> None:
    response = _get(failing_api, "/missing")
    assert response.status_int == 404
    assert response.json == {"itemNotFound": {
        "code": 404, "message": "Service 42 could not be found."}}


def test_conflict_uses_the_compute_api_fault_name(failing_api: compute_app.ComputeAPI) -> None:
    response = _get(failing_api, "/busy")
    assert response.status_int == 409
    assert response.json == {"conflictingRequest": {
        "code": 409, "message": "Conflict: the service is being deleted"}}


def test_error_in_routing_is_also_a_500_compute_fault(
        api: compute_app.ComputeAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(path: str) -> None:
        raise RuntimeError("mapper exploded")

    monkeypatch.setattr(api._mapper, "routematch", broken)
    response = _get(api, "/")
    assert response.status_int == 500
    assert response.json["computeFault"]["code"] == 500
    assert "mapper exploded" not in response.text
    assert REQUEST_ID.match(response.headers["x-openstack-request-id"])


def test_metadata_root_lists_ec2_versions_then_latest() -> None:
    response = _get(metadata_app.MetadataAPI(), "/")
    assert response.status_int == 200
    assert response.content_type == "text/plain"
    lines = response.text.split("\n")
    assert lines == [*metadata_app.EC2_VERSIONS, "latest"]
    assert lines[0] == "1.0"


def test_metadata_rejects_writes_with_405() -> None:
    response = _get(metadata_app.MetadataAPI(), "/", method="POST")
    assert response.status_int == 405
    assert response.headers["Allow"] == "GET, HEAD"


def test_metadata_unknown_document_is_404() -> None:
    response = _get(metadata_app.MetadataAPI(), "/latest/meta-data/")
    assert response.status_int == 404


# --- a resource behind noauth2, called in place of the WSGI hops --------------------


class _Odd:
    """A controller whose answers are not plain webob responses."""

    def index(self, req: webob.Request) -> Any:
        return "plain text"

    def show(self, req: webob.Request, tenant_id: str) -> Any:
        raise webob.exc.HTTPConflict(detail="held")


@pytest.fixture
def odd_api() -> compute_app.ComputeAPI:
    api = compute_app.app_factory(auth_strategy="noauth2")
    api.controllers["limits"] = _Odd()  # GET /limits -> index
    api.controllers["quota_sets"] = _Odd()  # GET /os-quota-sets/{tenant_id} -> show
    return api


def test_noauth2_still_refuses_a_request_without_token(odd_api: compute_app.ComputeAPI) -> None:
    response = _get(odd_api, "/v2.1/limits")
    assert response.status_int == 401
    assert response.json == {"unauthorized": {
        "code": 401, "message": "The request you have made requires authentication."}}
    assert REQUEST_ID.match(response.headers["x-openstack-request-id"])


def test_a_controller_answer_that_is_not_a_response_is_made_one_as_before(
        odd_api: compute_app.ComputeAPI) -> None:
    response = _get(odd_api, "/v2.1/limits", headers={"X-Auth-Token": "alice:p"})
    assert response.status_int == 200
    assert response.text == "plain text"
    assert REQUEST_ID.match(response.headers["x-openstack-request-id"])
    assert response.headers["OpenStack-API-Version"] == "compute 2.1"


def test_a_webob_http_error_of_a_controller_is_its_answer(
        odd_api: compute_app.ComputeAPI) -> None:
    response = _get(odd_api, "/v2.1/os-quota-sets/p", headers={"X-Auth-Token": "alice:p"})
    assert response.status_int == 409
    assert "held" in response.text
    assert REQUEST_ID.match(response.headers["x-compute-request-id"])


def test_request_ids_are_distinct_random_uuids() -> None:
    ids = compute_app._RequestIds()
    made = [ids.next() for _ in range(3 * compute_app._RequestIds.BATCH + 5)]
    assert len(set(made)) == len(made)
    for request_id in made:
        value = uuid.UUID(request_id)
        assert str(value) == request_id
        assert value.version == 4
        assert value.variant == uuid.RFC_4122


def test_request_ids_after_a_fork_are_not_the_parents() -> None:
    ids = compute_app._RequestIds()
    ids.next()
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next id, to the parent
        os.close(reader)
        os.write(writer, ids.next().encode())
        os._exit(0)
    os.close(writer)
    try:
        child = os.read(reader, 64).decode()
    finally:
        os.close(reader)
        os.waitpid(pid, 0)
    assert child != ids.next()


def test_the_app_answers_a_webob_request_as_it_answers_wsgi(
        api: compute_app.ComputeAPI) -> None:
    # Called with a request (as webob's wsgify allowed) or through WSGI: the same answer.
    direct = api(webob.Request.blank("/v2.1/nothing", base_url="http://api.example.test:8774"))
    wsgi = _get(api, "/v2.1/nothing")
    assert direct.status_int == wsgi.status_int == 404
    assert direct.body == wsgi.body
    assert [name for name, _ in direct.headerlist] == [name for name, _ in wsgi.headerlist]
    assert REQUEST_ID.match(direct.headers["x-openstack-request-id"])
