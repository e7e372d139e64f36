"""``/servers/{id}/os-server-password``: show and clear a guest's stored password."""

from __future__ import annotations

from typing import Any

from kumo.api.openstack import app as compute_app
from tests.unit.api.conftest import StubConductor, call

API = compute_app.ComputeAPI
SECRET = "b64:" + "x" * 300  # longer than one 255-character chunk


def _server(conductor: StubConductor) -> Any:
    cleared: list[str] = []
    conductor.instance_password_clear = (  # type: ignore[attr-defined]
        lambda ctxt, instance_uuid: cleared.append(instance_uuid))
    server = conductor.add_instance(system_metadata={
        "password_0": SECRET[:255], "password_1": SECRET[255:], "password_2": "",
        "other": "kept"})
    server.cleared = cleared
    return server


def test_show_joins_the_chunks_and_clear_asks_the_conductor(
        api: API, conductor: StubConductor) -> None:
    server = _server(conductor)
    path = f"/servers/{server.uuid}/os-server-password"

    shown = call(api, "GET", path)
    cleared = call(api, "DELETE", path)

    assert shown.status_int == 200 and shown.json == {"password": SECRET}
    assert cleared.status_int == 204 and server.cleared == [server.uuid]


def test_no_password_is_an_empty_string(api: API, conductor: StubConductor) -> None:
    server = conductor.add_instance()

    assert call(api, "GET", f"/servers/{server.uuid}/os-server-password").json == {
        "password": ""}


def test_unknown_or_other_projects_server_is_not_found(
        api: API, conductor: StubConductor) -> None:
    server = _server(conductor)
    path = f"/servers/{server.uuid}/os-server-password"

    assert call(api, "GET", path, token="mallory:project-b").status_int == 404
    assert call(api, "DELETE", path, token="mallory:project-b").status_int == 404
    assert call(api, "GET", "/servers/00000000-0000-4000-8000-999999999999/"
                "os-server-password").status_int == 404
    assert server.cleared == []
    # An admin sees any project's server.
    assert call(api, "GET", path, token="admin:project-b").json == {"password": SECRET}
