"""Remote consoles in the API: the legacy actions (2.1–2.5), remote-consoles (2.6, 2.8,
2.99) and the token lookup (2.31, 2.99), over stub compute and consoleauth clients."""

from __future__ import annotations

from typing import Any

import pytest

from kumo.api.openstack import api_version
from kumo.api.openstack import app as compute_app
from tests.unit.api.conftest import StubCompute, StubConductor, call

MEMBER = "alice:project-a"
OTHER = "bob:project-b"
ADMIN = "admin:admin"


class StubConsoleAuth:
    def __init__(self) -> None:
        self.tokens: dict[str, dict[str, Any]] = {}

    def authorize_console(self, ctxt: Any, **kwargs: Any) -> None:
        self.tokens[kwargs["token"]] = kwargs

    def check_token(self, ctxt: Any, token: str) -> dict[str, Any] | None:
        return self.tokens.get(token)


@pytest.fixture(autouse=True)
def _up_to_2_99(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_version, "MAX", api_version.APIVersion("2.99"))


@pytest.fixture
def consoleauth(api: compute_app.ComputeAPI, compute: StubCompute,
                monkeypatch: pytest.MonkeyPatch) -> StubConsoleAuth:
    stub = StubConsoleAuth()
    api.controllers["remote_consoles"]._consoleauth = stub
    counter = iter(range(1, 1000))

    def console(ctxt: Any, instance: Any, console_type: str, host: str) -> dict[str, Any]:
        token = f"tok-{next(counter)}"
        return {"token": token, "console_type": console_type, "host": "10.0.0.1",
                "port": 5900, "tls_port": 5901 if console_type.startswith("spice") else None,
                "internal_access_path": None, "access_url": f"http://proxy/?token={token}"}

    monkeypatch.setattr(compute, "get_vnc_console", console, raising=False)
    monkeypatch.setattr(compute, "get_spice_console", console, raising=False)
    return stub


@pytest.fixture
def server(conductor: StubConductor) -> str:
    return conductor.add_instance().uuid


def _action(api: Any, server: str, body: dict[str, Any], version: str = "2.1",
            token: str = MEMBER) -> Any:
    return call(api, "POST", f"/servers/{server}/action", body, token=token,
                **{"OpenStack-API-Version": f"compute {version}"})


def _remote(api: Any, server: str, protocol: str, kind: str, version: str = "2.6") -> Any:
    return call(api, "POST", f"/servers/{server}/remote-consoles",
                {"remote_console": {"protocol": protocol, "type": kind}}, token=MEMBER,
                **{"OpenStack-API-Version": f"compute {version}"})


def test_legacy_vnc_action_registers_the_token_and_answers_console(
        api: Any, server: str, consoleauth: StubConsoleAuth) -> None:
    response = _action(api, server, {"os-getVNCConsole": {"type": "novnc"}})
    assert response.status_int == 200
    assert response.json == {"console": {"type": "novnc", "url": "http://proxy/?token=tok-1"}}
    registered = consoleauth.tokens["tok-1"]
    assert (registered["instance_uuid"], registered["port"]) == (server, 5900)
    spice = _action(api, server, {"os-getSPICEConsole": {"type": "spice-html5"}}, "2.5")
    assert spice.json["console"]["type"] == "spice-html5"


def test_legacy_actions_errors(api: Any, server: str, conductor: StubConductor,
                               consoleauth: StubConsoleAuth) -> None:
    assert _action(api, server, {"os-getVNCConsole": {"type": "spice"}}).status_int == 400
    serial = _action(api, server, {"os-getSerialConsole": {"type": "serial"}})
    assert serial.status_int == 400
    assert serial.json["badRequest"]["message"] == "Unavailable console type serial."
    assert _action(api, server, {"os-getRDPConsole": {"type": "rdp-html5"}}).status_int == 400
    assert _action(api, server, {"os-getVNCConsole": {"type": "novnc"}},
                   "2.6").status_int == 404
    assert _action(api, server, {"os-getVNCConsole": {"type": "novnc"}},
                   token=OTHER).status_int == 404
    unplaced = conductor.add_instance(host=None, vm_state="building").uuid
    response = _action(api, unplaced, {"os-getVNCConsole": {"type": "novnc"}})
    assert response.status_int == 409
    assert not consoleauth.tokens


def test_remote_consoles_per_microversion(api: Any, server: str,
                                          consoleauth: StubConsoleAuth) -> None:
    assert _remote(api, server, "vnc", "novnc", "2.5").status_int == 404
    response = _remote(api, server, "vnc", "novnc")
    assert response.status_int == 200
    assert response.json == {"remote_console": {
        "protocol": "vnc", "type": "novnc", "url": "http://proxy/?token=tok-1"}}
    assert _remote(api, server, "vnc", "spice-html5").status_int == 400  # mismatch
    assert _remote(api, server, "mks", "webmks", "2.7").status_int == 400  # schema
    mks = _remote(api, server, "mks", "webmks", "2.8")
    assert (mks.status_int, mks.json["badRequest"]["message"]) == (
        400, "Unavailable console type webmks.")
    assert _remote(api, server, "spice", "spice-direct", "2.98").status_int == 400
    direct = _remote(api, server, "spice", "spice-direct", "2.99")
    assert direct.json["remote_console"]["type"] == "spice-direct"


def test_console_auth_token_lookup(api: Any, server: str,
                                   consoleauth: StubConsoleAuth) -> None:
    _remote(api, server, "spice", "spice-direct", "2.99")
    path = "/os-console-auth-tokens/tok-1"
    admin = {"token": ADMIN}
    assert call(api, "GET", path, token=MEMBER,
                **{"OpenStack-API-Version": "compute 2.31"}).status_int == 403
    early = call(api, "GET", path, **admin)  # 2.1: rdp-html5 only (Nova: 401)
    assert (early.status_int, early.json["unauthorized"]["message"]) == (
        401, "The requested console type details are not accessible")
    shown = call(api, "GET", path, **admin, **{"OpenStack-API-Version": "compute 2.31"})
    assert shown.json == {"console": {"instance_uuid": server, "host": "10.0.0.1",
                                      "port": 5900, "internal_access_path": None}}
    latest = call(api, "GET", path, **admin, **{"OpenStack-API-Version": "compute 2.99"})
    assert latest.json["console"]["tls_port"] == 5901
    missing = call(api, "GET", "/os-console-auth-tokens/nope", **admin)
    assert (missing.status_int, missing.json["itemNotFound"]["message"]) == (
        404, "Token not found")
