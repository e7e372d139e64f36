"""``POST /servers/{id}/action`` ``shelveOffload``: admin by default, SHELVED servers only."""

from __future__ import annotations

from typing import Any

import pytest

from kumo.api.openstack import app as compute_app
from kumo.compute import task_states, vm_states
from tests.unit.api.conftest import StubCompute, StubConductor, call


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, conductor: StubConductor,
        compute: StubCompute) -> compute_app.ComputeAPI:
    app = compute_app.app_factory(conductor=conductor, compute=compute,
                                  auth_strategy="noauth2")
    app.casts = []  # type: ignore[attr-defined]
    app.recorded = []  # type: ignore[attr-defined]
    monkeypatch.setattr(compute, "shelve_offload_instance", lambda ctxt, **kw:
                        app.casts.append(kw), raising=False)
    monkeypatch.setattr(conductor, "instance_action_start",
                        lambda ctxt, **kw: app.recorded.append(kw["action"]), raising=False)
    return app


def _offload(api: Any, server_id: str, token: str) -> Any:
    return call(api, "POST", f"/servers/{server_id}/action", {"shelveOffload": None},
                token=token)


def test_shelve_offload_casts_to_the_host_of_a_shelved_server(
        api: Any, conductor: StubConductor) -> None:
    server = conductor.add_instance()
    server.vm_state = vm_states.SHELVED

    response = _offload(api, server.uuid, "admin:admin")

    assert response.status_int == 202, response.body
    assert server.task_state == task_states.SHELVING_OFFLOADING
    cast, = api.casts
    assert cast["host"] == server.host
    assert api.recorded == ["shelveOffload"]


def test_shelve_offload_is_for_admins_by_default(api: Any, conductor: StubConductor) -> None:
    server = conductor.add_instance()
    server.vm_state = vm_states.SHELVED

    response = _offload(api, server.uuid, f"alice:{server.project_id}")

    assert response.status_int == 403, response.body
    assert b"os_compute_api:os-shelve:shelve_offload" in response.body
    assert api.casts == []


def test_shelve_offload_of_a_server_that_is_not_shelved_is_a_conflict(
        api: Any, conductor: StubConductor) -> None:
    server = conductor.add_instance()

    response = _offload(api, server.uuid, "admin:admin")

    assert response.status_int == 409, response.body
    assert b"vm_state active" in response.body
    assert api.casts == []
