"""``/servers`` and its actions at the microversions after 2.76 that change them.

Each change is checked at the versions either side of it. The versions past the
declared maximum are reached by raising the negotiable maximum for this module
only: the server side of 2.90–2.101 is implemented ahead of other resources'.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from kumo.api.openstack import api_version
from kumo.api.openstack import app as compute_app
from kumo.compute import task_states, vm_states
from tests.unit.api.conftest import PUBLIC_IMAGE, StubCompute, StubConductor, call

API = compute_app.ComputeAPI
ADMIN = "admin:admin"
MEMBER = "alice:project-a"


@pytest.fixture(autouse=True)
def _up_to_2_101(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_version, "MAX", api_version.APIVersion("2.101"))


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, conductor: StubConductor,
        compute: StubCompute) -> Iterator[API]:
    casts: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(conductor, "instance_action_start", lambda ctxt, **kw: None,
                        raising=False)
    monkeypatch.setattr(conductor, "unshelve_instance", lambda ctxt, **kw: casts.append(
        ("unshelve_instance", kw)), raising=False)
    monkeypatch.setattr(compute, "unshelve_instance", lambda ctxt, **kw: casts.append(
        ("compute.unshelve_instance", kw)), raising=False)
    monkeypatch.setattr(compute, "rebuild_instance", lambda ctxt, **kw: casts.append(
        ("rebuild_instance", kw)), raising=False)
    app = compute_app.app_factory(conductor=conductor, compute=compute,
                                  auth_strategy="noauth2")
    app.casts = casts  # type: ignore[attr-defined]
    yield app


def _v(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


def _show(api: API, server_id: str, version: str, token: str = MEMBER) -> Any:
    response = call(api, "GET", f"/servers/{server_id}", token=token, **_v(version))
    assert response.status_int == 200, response.body
    return response.json["server"]


def _action(api: API, server_id: str, body: Any, version: str,
            token: str = MEMBER) -> Any:
    return call(api, "POST", f"/servers/{server_id}/action", body, token=token,
                **_v(version))


def _spec(**values: Any) -> dict[str, str]:
    """A server's system_metadata with the request spec the conductor recorded."""
    spec = {"availability_zone": None, "scheduler_hints": {},
            "image": {"id": PUBLIC_IMAGE, "properties": {}}, **values}
    return {"request_spec": json.dumps(spec)}


def _offloaded(conductor: StubConductor, **values: Any) -> Any:
    return conductor.add_instance(vm_state=vm_states.SHELVED_OFFLOADED, host=None,
                                  node=None, **values)


# --- 2.77 / 2.91: unshelve into a zone, onto a host ---------------------------------------


def test_2_77_unshelve_takes_an_availability_zone(api: API, conductor: StubConductor) -> None:
    old, new = _offloaded(conductor), _offloaded(conductor)

    before = _action(api, old.uuid, {"unshelve": {"availability_zone": "az1"}}, "2.76")
    assert before.status_int == 202  # ignored before 2.77, as Nova does
    assert _action(api, new.uuid, {"unshelve": {"availability_zone": "az1"}},
                   "2.77").status_int == 202

    assert api.casts == [("unshelve_instance", {"instance_uuid": old.uuid}),
                         ("unshelve_instance", {"instance_uuid": new.uuid,
                                                "availability_zone": "az1"})]
    assert new.task_state == task_states.UNSHELVING


def test_2_77_checks_the_zone_the_body_and_the_state(api: API, conductor: StubConductor
                                                     ) -> None:
    offloaded, shelved = _offloaded(conductor), conductor.add_instance(
        vm_state=vm_states.SHELVED)

    unknown = _action(api, offloaded.uuid, {"unshelve": {"availability_zone": "nowhere"}},
                      "2.77")
    assert unknown.status_int == 400
    assert b"The requested availability zone is not available" in unknown.body
    # 2.77–2.90: the zone is required in an object, a host unknown.
    assert _action(api, offloaded.uuid, {"unshelve": {}}, "2.77").status_int == 400
    assert _action(api, offloaded.uuid, {"unshelve": {"host": "compute-1"}},
                   "2.90").status_int == 400
    conflict = _action(api, shelved.uuid, {"unshelve": {"availability_zone": "az1"}}, "2.77")
    assert conflict.status_int == 409
    assert b"SHELVED_OFFLOADED" in conflict.body
    assert api.casts == []
    # Without a destination a SHELVED server unshelves on its host as ever.
    assert _action(api, shelved.uuid, {"unshelve": None}, "2.77").status_int == 202
    assert [name for name, _ in api.casts] == ["compute.unshelve_instance"]


def _zones_with_hosts(conductor: StubConductor, monkeypatch: pytest.MonkeyPatch) -> None:
    zones = [{"zone": "az1", "available": True, "hosts": {"compute-2": {}}},
             {"zone": "nova", "available": True, "hosts": {"compute-1": {}}}]
    monkeypatch.setattr(conductor, "availability_zone_get_all",
                        lambda ctxt, with_internal=False: zones)


def test_2_91_unshelve_to_a_host_is_for_admins(
        api: API, conductor: StubConductor, monkeypatch: pytest.MonkeyPatch) -> None:
    _zones_with_hosts(conductor, monkeypatch)
    server = _offloaded(conductor)
    body = {"unshelve": {"host": "compute-2"}}

    denied = _action(api, server.uuid, body, "2.91")
    assert denied.status_int == 403
    assert b"os_compute_api:os-shelve:unshelve_to_host" in denied.body
    unknown = _action(api, server.uuid, {"unshelve": {"host": "compute-9"}}, "2.91", ADMIN)
    assert unknown.status_int == 400
    assert b"Compute host compute-9 could not be found." in unknown.body
    assert _action(api, server.uuid, body, "2.91", ADMIN).status_int == 202

    assert api.casts == [("unshelve_instance", {"instance_uuid": server.uuid,
                                                "host": "compute-2"})]


def test_2_91_host_must_be_in_the_pinned_or_asked_zone(
        api: API, conductor: StubConductor, monkeypatch: pytest.MonkeyPatch) -> None:
    _zones_with_hosts(conductor, monkeypatch)
    pinned = _offloaded(conductor, system_metadata=_spec(availability_zone="nova"))

    outside = _action(api, pinned.uuid, {"unshelve": {"host": "compute-2"}}, "2.91", ADMIN)
    assert outside.status_int == 400
    assert b"not in the availability zone nova" in outside.body
    mismatch = _action(api, pinned.uuid, {"unshelve": {"host": "compute-2",
                                                       "availability_zone": "nova"}},
                       "2.91", ADMIN)
    assert mismatch.status_int == 400
    # null unpins the zone, so any host will do.
    assert _action(api, pinned.uuid, {"unshelve": {"host": "compute-2",
                                                   "availability_zone": None}},
                   "2.91", ADMIN).status_int == 202
    assert api.casts == [("unshelve_instance", {
        "instance_uuid": pinned.uuid, "host": "compute-2", "availability_zone": None})]


def test_2_91_availability_zone_may_be_null(api: API, conductor: StubConductor) -> None:
    server = _offloaded(conductor)

    assert _action(api, server.uuid, {"unshelve": {"availability_zone": None}},
                   "2.90").status_int == 400
    assert _action(api, server.uuid, {"unshelve": {"availability_zone": None}},
                   "2.91").status_int == 202
    assert api.casts[-1] == ("unshelve_instance", {"instance_uuid": server.uuid,
                                                   "availability_zone": None})


# --- 2.78: topology ----------------------------------------------------------------------


def test_2_78_server_topology(api: API, conductor: StubConductor) -> None:
    server = conductor.add_instance()
    path = f"/servers/{server.uuid}/topology"

    assert call(api, "GET", path, token=MEMBER, **_v("2.77")).status_int == 404
    shown = call(api, "GET", path, token=MEMBER, **_v("2.78"))
    assert shown.status_int == 200
    assert shown.json == {"nodes": [], "pagesize_kb": None}
    other = call(api, "GET", path, token="bob:project-b", **_v("2.78"))
    assert other.status_int == 404


# --- 2.83: more filters for non-admins ----------------------------------------------------


def test_2_83_lets_non_admins_filter_by_their_servers_fields(
        api: API, conductor: StubConductor) -> None:
    def filters(version: str) -> dict[str, Any]:
        response = call(api, "GET", "/servers/detail?availability_zone=az1&vm_state=active"
                        "&user_id=alice&key_name=k", token=MEMBER, **_v(version))
        assert response.status_int == 200, response.body
        return conductor.called("instance_get_all")[-1]["filters"]

    before = filters("2.82")  # dropped for non-admins
    assert not {"availability_zone", "vm_state", "user_id"} & set(before)
    after = filters("2.83")
    assert after["availability_zone"] == "az1"
    assert after["vm_state"] == ["active"]
    assert after["user_id"] == "alice"
    assert after["project_id"] == "project-a"  # still only the caller's project


# --- 2.90 / 2.94: hostname ----------------------------------------------------------------


def _boot(api: API, version: str, **server: Any) -> Any:
    body = {"name": "web", "imageRef": PUBLIC_IMAGE, "flavorRef": "1", "networks": "none",
            **server}
    return call(api, "POST", "/servers", {"server": body}, token=MEMBER, **_v(version))


def test_2_90_hostname_on_boot(api: API, conductor: StubConductor) -> None:
    assert _boot(api, "2.89", hostname="db-1").status_int == 400
    created = _boot(api, "2.90", hostname="db-1")
    assert created.status_int == 202, created.body
    assert conductor.instances[created.json["server"]["id"]].hostname == "db-1"
    # One label before 2.94, an FQDN from it; never one name for several servers.
    assert _boot(api, "2.90", hostname="db-1.example.org").status_int == 400
    assert _boot(api, "2.94", hostname="db-2.example.org").status_int == 202
    assert _boot(api, "2.94", hostname="-bad").status_int == 400
    several = _boot(api, "2.94", hostname="db", min_count=2)
    assert several.status_int == 400


def test_2_90_hostname_on_update_and_rebuild_and_shown_to_owners(
        api: API, conductor: StubConductor) -> None:
    server = conductor.add_instance(hostname="old")
    path = f"/servers/{server.uuid}"

    assert "OS-EXT-SRV-ATTR:hostname" not in _show(api, server.uuid, "2.89")
    assert _show(api, server.uuid, "2.90")["OS-EXT-SRV-ATTR:hostname"] == "old"
    assert call(api, "PUT", path, {"server": {"hostname": "new"}}, token=MEMBER,
                **_v("2.89")).status_int == 400
    updated = call(api, "PUT", path, {"server": {"hostname": "new"}}, token=MEMBER,
                   **_v("2.90"))
    assert updated.status_int == 200, updated.body
    assert updated.json["server"]["OS-EXT-SRV-ATTR:hostname"] == "new"
    rebuild = {"rebuild": {"imageRef": PUBLIC_IMAGE, "hostname": "again"}}
    assert _action(api, server.uuid, rebuild, "2.89").status_int == 400
    rebuilt = _action(api, server.uuid, rebuild, "2.90")
    assert rebuilt.status_int == 202, rebuilt.body
    assert server.hostname == "again"


# --- 2.96, 2.98, 2.100: what the server shows from its recorded request ---------------------


def test_2_96_pinned_availability_zone(api: API, conductor: StubConductor) -> None:
    pinned = conductor.add_instance(system_metadata=_spec(availability_zone="az1"))
    free = conductor.add_instance(system_metadata=_spec())

    assert "pinned_availability_zone" not in _show(api, pinned.uuid, "2.95")
    assert _show(api, pinned.uuid, "2.96")["pinned_availability_zone"] == "az1"
    assert _show(api, free.uuid, "2.96")["pinned_availability_zone"] is None
    listed = call(api, "GET", "/servers/detail", token=MEMBER, **_v("2.96")).json
    assert {s["pinned_availability_zone"] for s in listed["servers"]} == {"az1", None}


def test_2_98_image_properties(api: API, conductor: StubConductor) -> None:
    server = conductor.add_instance(system_metadata=_spec(
        image={"id": PUBLIC_IMAGE, "properties": {"os_distro": "cirros", "hw_disk_bus": 1}}))

    assert "properties" not in _show(api, server.uuid, "2.97")["image"]
    assert _show(api, server.uuid, "2.98")["image"]["properties"] == {
        "os_distro": "cirros", "hw_disk_bus": "1"}


def test_2_100_scheduler_hints(api: API, conductor: StubConductor) -> None:
    server = conductor.add_instance(system_metadata=_spec(
        scheduler_hints={"same_host": ["x"], "group": "g"}))
    unscheduled = conductor.add_instance()

    assert "scheduler_hints" not in _show(api, server.uuid, "2.99")
    assert _show(api, server.uuid, "2.100")["scheduler_hints"] == {
        "same_host": ["x"], "group": "g"}
    assert _show(api, unscheduled.uuid, "2.100")["scheduler_hints"] == {}
