"""Microversion negotiation: the request headers, ``latest``, 400, 406 and the
headers every /v2.1 response carries."""

from __future__ import annotations

import pytest
import webob

from kumo.api.openstack import api_version, versions
from kumo.api.openstack import app as compute_app
from tests.unit.api.conftest import BASE_URL, call

API = compute_app.ComputeAPI
MAX = str(api_version.MAX)


def _served(response: webob.Response) -> str:
    return response.headers["OpenStack-API-Version"]


def test_no_header_is_the_minimum_and_the_response_says_so(api: API) -> None:
    response = call(api, "GET", "/servers")

    assert response.status_int == 200
    assert response.headers["OpenStack-API-Version"] == "compute 2.1"
    assert response.headers["X-OpenStack-Nova-API-Version"] == "2.1"
    assert response.headers["Vary"] == "OpenStack-API-Version, X-OpenStack-Nova-API-Version"


@pytest.mark.parametrize("headers", [
    {"OpenStack-API-Version": "compute 2.9"},
    {"OpenStack-API-Version": "COMPUTE 2.9"},
    {"OpenStack-API-Version": "placement 1.10, compute 2.9"},
    {"X-OpenStack-Nova-API-Version": "2.9"},
    # The standard header for another service only: the legacy one decides.
    {"OpenStack-API-Version": "placement 1.10", "X-OpenStack-Nova-API-Version": "2.9"},
])
def test_every_header_form_selects_the_version(api: API, headers: dict[str, str]) -> None:
    response = call(api, "GET", "/servers", **headers)

    assert response.status_int == 200
    assert _served(response) == "compute 2.9"
    assert response.headers["X-OpenStack-Nova-API-Version"] == "2.9"


def test_the_standard_header_wins_over_the_legacy_one(api: API) -> None:
    response = call(api, "GET", "/servers", **{"OpenStack-API-Version": "compute 2.3",
                                               "X-OpenStack-Nova-API-Version": "2.9"})

    assert _served(response) == "compute 2.3"


@pytest.mark.parametrize("value", ["compute latest", "compute LATEST"])
def test_latest_is_the_maximum(api: API, value: str) -> None:
    response = call(api, "GET", "/servers", **{"OpenStack-API-Version": value})

    assert _served(response) == f"compute {MAX}"


def test_latest_in_the_legacy_header(api: API) -> None:
    response = call(api, "GET", "/servers", **{"X-OpenStack-Nova-API-Version": "latest"})

    assert response.headers["X-OpenStack-Nova-API-Version"] == MAX


@pytest.mark.parametrize("value", ["compute 2", "compute two.one", "compute 2.01",
                                   "compute", "compute 2.1.1"])
def test_a_malformed_version_is_a_bad_request(api: API, value: str) -> None:
    response = call(api, "GET", "/servers", **{"OpenStack-API-Version": value})

    assert response.status_int == 400
    assert "is of invalid format" in response.json["badRequest"]["message"]


@pytest.mark.parametrize("value", ["2.0", "1.5", "3.0", "2.1000"])
def test_a_version_outside_the_range_is_not_acceptable(api: API, value: str) -> None:
    response = call(api, "GET", "/servers", **{"OpenStack-API-Version": f"compute {value}"})

    assert response.status_int == 406
    assert response.json == {"computeFault": {"code": 406, "message": (
        f"Version {value} is not supported by the API. Minimum is 2.1 and maximum "
        f"is {MAX}.")}}


def test_the_version_is_negotiated_before_authentication(api: API) -> None:
    response = call(api, "GET", "/servers", token=None,
                    **{"OpenStack-API-Version": "compute 9.9"})

    assert response.status_int == 406


def test_error_responses_carry_the_version_headers_too(api: API) -> None:
    response = call(api, "GET", "/servers/00000000-0000-4000-8000-999999999999",
                    **{"OpenStack-API-Version": "compute 2.5"})

    assert response.status_int == 404
    assert _served(response) == "compute 2.5"


def test_handlers_see_the_negotiated_version() -> None:
    req = webob.Request.blank("/")
    assert api_version.of(req) == "2.1"
    req.environ[api_version.ENVIRON_KEY] = api_version.APIVersion("2.19")
    assert api_version.at_least(req, "2.19") and not api_version.at_least(req, "2.20")


def test_version_documents_declare_the_range(api: API) -> None:
    root = webob.Request.blank("/", base_url=BASE_URL).get_response(api)
    v21 = webob.Request.blank("/v2.1", base_url=BASE_URL).get_response(api)

    [listed] = root.json["versions"]
    assert (listed["min_version"], listed["version"]) == ("2.1", versions.MAX_VERSION)
    assert v21.json["version"]["version"] == versions.MAX_VERSION
    assert v21.json["version"]["id"] == "v2.1"
    assert _served(v21) == "compute 2.1"


def test_versions_compare_with_versions_and_with_text() -> None:
    v = api_version.APIVersion("2.53")
    assert v >= "2.53" and v <= "2.53" and v == "2.53" and not v != "2.53"
    assert v > "2.9" and v < "2.100" and not v > "2.53" and not v < "2.53"
    assert v >= api_version.APIVersion("2.1") and not v <= api_version.MIN
    assert sorted([api_version.MAX, v, api_version.MIN]) == [api_version.MIN, v, api_version.MAX]
    for text in ("2.053x", "two", "2.", ""):
        with pytest.raises(ValueError):
            v >= text  # noqa: B015
        assert text not in api_version._PARSED
