"""``/servers`` and its actions at each microversion that changes them."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from kumo.api.openstack import app as compute_app
from kumo.compute import vm_states
from kumo.objects.service import Service
from tests.unit.api.conftest import PUBLIC_IMAGE, StubConductor, call

API = compute_app.ComputeAPI
ADMIN = "admin:admin"


def _v(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


def _show(api: API, server_id: str, version: str, token: str = "alice:project-a") -> Any:
    response = call(api, "GET", f"/servers/{server_id}", token=token, **_v(version))
    assert response.status_int == 200, response.body
    return response.json["server"]


def _boot(api: API, version: str, **server: Any) -> Any:
    body = {"name": "web", "imageRef": PUBLIC_IMAGE, "flavorRef": "1", **server}
    return call(api, "POST", "/servers", {"server": body}, **_v(version))


def _record_actions(monkeypatch: pytest.MonkeyPatch, conductor: StubConductor) -> None:
    monkeypatch.setattr(conductor, "instance_action_start", lambda ctxt, **kw: None,
                        raising=False)


# --- 2.3: more OS-EXT-SRV-ATTR for admins ------------------------------------------------


def test_2_3_shows_admins_the_extended_attributes(api: API, conductor: StubConductor) -> None:
    server = conductor.add_instance(hostname="web-1", launch_index=0, user_data="aGk=")

    old = _show(api, server.uuid, "2.2", token=ADMIN)
    new = _show(api, server.uuid, "2.3", token=ADMIN)
    member = _show(api, server.uuid, "2.3")

    assert "OS-EXT-SRV-ATTR:hostname" not in old
    assert old["OS-EXT-SRV-ATTR:host"] == "compute-1"
    assert new["OS-EXT-SRV-ATTR:hostname"] == "web-1"
    assert new["OS-EXT-SRV-ATTR:reservation_id"] == "r-abcdefgh"
    assert new["OS-EXT-SRV-ATTR:launch_index"] == 0
    assert new["OS-EXT-SRV-ATTR:user_data"] == "aGk="
    assert {"OS-EXT-SRV-ATTR:kernel_id", "OS-EXT-SRV-ATTR:ramdisk_id",
            "OS-EXT-SRV-ATTR:root_device_name"} <= set(new)
    assert not any(key.startswith("OS-EXT-SRV-ATTR:") for key in member)


# --- 2.5: ip6 filter for everyone --------------------------------------------------------


def test_2_5_lets_non_admins_filter_by_ip6(api: API, conductor: StubConductor) -> None:
    assert ServersFilters.seen(api, conductor, "2.4", "ip6=fe80::1") is None
    assert ServersFilters.seen(api, conductor, "2.5", "ip6=fe80::1") == "fe80::1"


class ServersFilters:
    """What a list request's filter reached the handler as (after the user-filter cut)."""

    @staticmethod
    def seen(api: API, conductor: StubConductor, version: str, query: str) -> Any:
        from kumo.api.openstack.compute import servers

        captured: dict[str, Any] = {}
        original = servers.ServersController._filters

        def spy(context: Any, params: Any, action: str) -> Any:
            captured.update(params)
            return original(context, params, action)

        servers.ServersController._filters = staticmethod(spy)  # type: ignore[method-assign]
        try:
            assert call(api, "GET", f"/servers?{query}", **_v(version)).status_int == 200
        finally:
            servers.ServersController._filters = staticmethod(original)  # type: ignore
        return captured.get(query.split("=")[0])


# --- 2.9: locked ---------------------------------------------------------------------------


def test_2_9_shows_whether_the_server_is_locked(api: API, conductor: StubConductor) -> None:
    server = conductor.add_instance(locked=True)

    assert "locked" not in _show(api, server.uuid, "2.8")
    assert _show(api, server.uuid, "2.9")["locked"] is True
    listed = call(api, "GET", "/servers/detail", **_v("2.9")).json["servers"]
    assert listed[0]["locked"] is True


# --- 2.16: host_status ---------------------------------------------------------------------


def _services(conductor: StubConductor, **hosts: dict[str, Any]) -> None:
    now = datetime.datetime.now(datetime.UTC)
    rows = [Service(id=index, host=host, binary="kumo-compute", topic="compute",
                    report_count=1, disabled=values.get("disabled", False),
                    forced_down=values.get("forced_down", False), last_seen_up=now)
            for index, (host, values) in enumerate(hosts.items(), 1)]
    conductor.service_get_all = (  # type: ignore[attr-defined]
        lambda ctxt, binary=None, host=None: [s for s in rows if s.binary == binary])


@pytest.mark.parametrize(("host", "expected"), [
    ("compute-1", "UP"), ("compute-2", "MAINTENANCE"), ("compute-3", "DOWN"),
    ("compute-9", "UNKNOWN"), (None, ""),
])
def test_2_16_shows_admins_the_host_status(api: API, conductor: StubConductor,
                                           host: str | None, expected: str) -> None:
    _services(conductor, **{"compute-1": {}, "compute-2": {"disabled": True},
                            "compute-3": {"forced_down": True}})
    server = conductor.add_instance(host=host)

    assert "host_status" not in _show(api, server.uuid, "2.15", token=ADMIN)
    assert _show(api, server.uuid, "2.16", token=ADMIN)["host_status"] == expected
    assert "host_status" not in _show(api, server.uuid, "2.16")


def test_2_16_lists_the_host_status_with_one_service_lookup(
        api: API, conductor: StubConductor) -> None:
    _services(conductor, **{"compute-1": {}})
    conductor.add_instance()
    conductor.add_instance()

    servers = call(api, "GET", "/servers/detail?all_tenants=1", token=ADMIN,
                   **_v("2.16")).json["servers"]

    assert [s["host_status"] for s in servers] == ["UP", "UP"]


# --- 2.17: trigger_crash_dump ---------------------------------------------------------------


def test_2_17_trigger_crash_dump_is_checked_then_refused(
        api: API, conductor: StubConductor) -> None:
    server = conductor.add_instance()
    building = conductor.add_instance(vm_state=vm_states.BUILDING)
    body = {"trigger_crash_dump": None}

    old = call(api, "POST", f"/servers/{server.uuid}/action", body, **_v("2.16"))
    assert old.status_int == 400
    assert old.json["badRequest"]["message"] == "There is no such action: trigger_crash_dump"
    refused = call(api, "POST", f"/servers/{server.uuid}/action", body, **_v("2.17"))
    assert refused.status_int == 400
    assert refused.json["badRequest"]["message"] == "Triggering crash dump is not supported"
    conflict = call(api, "POST", f"/servers/{building.uuid}/action", body, **_v("2.17"))
    assert conflict.status_int == 409
    other = call(api, "POST", f"/servers/{server.uuid}/action", body, token="bob:project-b",
                 **_v("2.17"))
    assert other.status_int == 404


# --- 2.19: description ---------------------------------------------------------------------


def test_2_19_boots_with_a_description(api: API, conductor: StubConductor) -> None:
    assert _boot(api, "2.18", description="web tier").status_int == 400

    response = _boot(api, "2.19", description="web tier")

    assert response.status_int == 202
    server_id = response.json["server"]["id"]
    assert _show(api, server_id, "2.19")["description"] == "web tier"
    assert "description" not in _show(api, server_id, "2.18")


def test_2_19_description_defaults_to_null_and_is_updatable(
        api: API, conductor: StubConductor) -> None:
    server_id = _boot(api, "2.19").json["server"]["id"]
    assert _show(api, server_id, "2.19")["description"] is None

    old = call(api, "PUT", f"/servers/{server_id}", {"server": {"description": "x"}},
               **_v("2.18"))
    new = call(api, "PUT", f"/servers/{server_id}", {"server": {"description": "db"}},
               **_v("2.19"))

    assert old.status_int == 400
    assert new.status_int == 200 and new.json["server"]["description"] == "db"
    bad = call(api, "PUT", f"/servers/{server_id}", {"server": {"description": "a\x01"}},
               **_v("2.19"))
    assert bad.status_int == 400


def test_2_19_rebuild_sets_the_description(api: API, conductor: StubConductor,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _record_actions(monkeypatch, conductor)
    monkeypatch.setattr(api.controllers["servers"].clients.compute, "rebuild_instance",
                        lambda ctxt, **kw: None, raising=False)
    server = conductor.add_instance()
    body = {"rebuild": {"imageRef": PUBLIC_IMAGE, "description": "rebuilt"}}

    assert call(api, "POST", f"/servers/{server.uuid}/action", body,
                **_v("2.18")).status_int == 400
    response = call(api, "POST", f"/servers/{server.uuid}/action", body, **_v("2.19"))

    assert response.status_int == 202, response.body
    assert response.json["server"]["description"] == "rebuilt"
    assert server.display_description == "rebuilt"


# --- 2.25: live migration's block_migration "auto" -------------------------------------------


def test_2_25_live_migration_takes_auto_and_drops_disk_over_commit(
        api: API, conductor: StubConductor, monkeypatch: pytest.MonkeyPatch) -> None:
    _record_actions(monkeypatch, conductor)
    monkeypatch.setattr(conductor, "live_migrate_instance", lambda ctxt, **kw: None,
                        raising=False)
    server = conductor.add_instance()
    auto = {"os-migrateLive": {"host": None, "block_migration": "auto"}}
    over = {"os-migrateLive": {"host": None, "block_migration": False,
                               "disk_over_commit": False}}
    path = f"/servers/{server.uuid}/action"

    assert call(api, "POST", path, auto, token=ADMIN, **_v("2.24")).status_int == 400
    assert call(api, "POST", path, over, token=ADMIN, **_v("2.25")).status_int == 400
    assert call(api, "POST", path, auto, token=ADMIN, **_v("2.25")).status_int == 202


# --- 2.30: live migration's force ---------------------------------------------------------


def test_2_30_live_migration_accepts_force(api: API, conductor: StubConductor,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _record_actions(monkeypatch, conductor)
    monkeypatch.setattr(conductor, "live_migrate_instance", lambda ctxt, **kw: None,
                        raising=False)
    server = conductor.add_instance()
    body = {"os-migrateLive": {"host": "compute-2", "block_migration": "auto",
                               "force": False}}
    path = f"/servers/{server.uuid}/action"

    assert call(api, "POST", path, body, token=ADMIN, **_v("2.29")).status_int == 400
    assert call(api, "POST", path, body, token=ADMIN, **_v("2.30")).status_int == 202


# --- 2.32/2.42 device tags, 2.37 networks ---------------------------------------------------


@pytest.mark.parametrize(("version", "networks_tag", "bdm_tag"), [
    ("2.31", 400, 400), ("2.32", 202, 202), ("2.33", 202, 400), ("2.37", 400, 400),
    ("2.41", 400, 400), ("2.42", 202, 202),
])
def test_device_tags_follow_their_microversions(api: API, version: str, networks_tag: int,
                                                bdm_tag: int) -> None:
    tagged_nic = _boot(api, version, networks=[{"uuid": "net", "tag": "nic1"}])
    tagged_disk = _boot(api, version, networks=[{"uuid": "net"}], block_device_mapping_v2=[{
        "uuid": PUBLIC_IMAGE, "boot_index": 0, "source_type": "image",
        "destination_type": "local", "tag": "root"}])

    assert tagged_nic.status_int == networks_tag
    assert tagged_disk.status_int == bdm_tag


def test_2_37_requires_networks_and_takes_auto_or_none(api: API) -> None:
    missing = _boot(api, "2.37")

    assert missing.status_int == 400
    assert "'networks' is a required property" in missing.json["badRequest"]["message"]
    assert _boot(api, "2.36", networks="auto").status_int == 400
    assert _boot(api, "2.37", networks="auto").status_int == 202
    assert _boot(api, "2.37", networks="none").status_int == 202
    assert _boot(api, "2.36").status_int == 202


# --- 2.36: the image proxy is gone ------------------------------------------------------------


def test_2_36_retires_the_image_proxy(api: API) -> None:
    assert call(api, "GET", "/images", **_v("2.35")).status_int == 200
    gone = call(api, "GET", "/images", **_v("2.36"))
    assert gone.status_int == 404
    assert gone.json["itemNotFound"]["message"] == "The resource could not be found."


# --- 2.38: an unknown status filter is a bad request --------------------------------------


def test_2_38_an_unknown_status_is_a_bad_request(api: API, conductor: StubConductor) -> None:
    conductor.add_instance()

    assert call(api, "GET", "/servers?status=NOPE", **_v("2.37")).json == {"servers": []}
    response = call(api, "GET", "/servers?status=NOPE", **_v("2.38"))
    assert response.status_int == 400
    assert response.json["badRequest"]["message"] == "Invalid status value"
    assert call(api, "GET", "/servers?status=ACTIVE", **_v("2.38")).status_int == 200


# --- 2.45: createImage answers with the image id ------------------------------------------


def test_2_45_create_image_returns_the_image_id(api: API, conductor: StubConductor,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from kumo.objects.image import Image

    _record_actions(monkeypatch, conductor)
    monkeypatch.setattr(conductor, "image_create", lambda ctxt, values: Image(
        id="55555555-5555-4555-8555-555555555555", **values), raising=False)
    monkeypatch.setattr(api.controllers["servers"].clients.compute, "snapshot_instance",
                        lambda ctxt, **kw: None, raising=False)
    server = conductor.add_instance()
    path = f"/servers/{server.uuid}/action"

    old = call(api, "POST", path, {"createImage": {"name": "a"}}, **_v("2.44"))
    server.task_state = None
    new = call(api, "POST", path, {"createImage": {"name": "b"}}, **_v("2.45"))

    assert old.status_int == 202 and old.headers["Location"].endswith(
        "/images/55555555-5555-4555-8555-555555555555")
    assert new.status_int == 202 and "Location" not in new.headers
    assert new.json == {"image_id": "55555555-5555-4555-8555-555555555555"}


# --- 2.47: the flavor embedded in the server ------------------------------------------------


def test_2_47_embeds_the_flavor(api: API, conductor: StubConductor) -> None:
    server = conductor.add_instance(flavor=conductor.flavors["3"])

    old = _show(api, server.uuid, "2.46")["flavor"]
    new = _show(api, server.uuid, "2.47")["flavor"]
    admin = _show(api, server.uuid, "2.47", token=ADMIN)["flavor"]

    assert old["id"] == "3" and "links" in old
    assert new == {"vcpus": 2, "ram": 4096, "disk": 40, "ephemeral": 0, "swap": 512,
                   "original_name": "m1.medium", **({"extra_specs": {}} if "extra_specs"
                                                     in new else {})}
    assert admin["extra_specs"] == {}


# --- 2.52: tags at boot -------------------------------------------------------------------------


def test_2_52_boots_with_tags(api: API, conductor: StubConductor) -> None:
    nets = {"networks": "none"}

    assert _boot(api, "2.51", tags=["web"], **nets).status_int == 400
    response = _boot(api, "2.52", tags=["web", "blue"], **nets)
    assert response.status_int == 202
    assert _show(api, response.json["server"]["id"], "2.52")["tags"] == ["blue", "web"]
    assert _boot(api, "2.52", tags=["a/b"], **nets).status_int == 400
    assert _boot(api, "2.52", tags=[f"t{i}" for i in range(51)], **nets).status_int == 400


# --- 2.54: rebuild with another key pair ------------------------------------------------------


def test_2_54_rebuild_changes_or_unsets_the_key_pair(
        api: API, conductor: StubConductor, monkeypatch: pytest.MonkeyPatch) -> None:
    from kumo import exception

    _record_actions(monkeypatch, conductor)
    monkeypatch.setattr(api.controllers["servers"].clients.compute, "rebuild_instance",
                        lambda ctxt, **kw: None, raising=False)

    def key_pair_get(ctxt: Any, user_id: str, name: str) -> dict[str, Any]:
        if name != "mine":
            raise exception.KeypairNotFound(user_id=user_id, name=name)
        return {"name": "mine", "public_key": "ssh-ed25519 AAAA"}

    monkeypatch.setattr(conductor, "key_pair_get", key_pair_get, raising=False)
    server = conductor.add_instance(key_name="old", key_data="ssh-rsa B")
    path = f"/servers/{server.uuid}/action"

    def rebuild(version: str, key_name: Any) -> Any:
        server.task_state = None
        body = {"rebuild": {"imageRef": PUBLIC_IMAGE, "key_name": key_name}}
        return call(api, "POST", path, body, **_v(version))

    assert rebuild("2.53", "mine").status_int == 400
    assert rebuild("2.54", "nope").status_int == 400
    assert rebuild("2.54", "mine").status_int == 202
    assert (server.key_name, server.key_data) == ("mine", "ssh-ed25519 AAAA")
    assert rebuild("2.54", None).status_int == 202
    assert (server.key_name, server.key_data) == (None, None)


# --- 2.56: cold migration to a named host --------------------------------------------------


def test_2_56_migrates_to_a_named_host(api: API, conductor: StubConductor,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from kumo import exception

    _record_actions(monkeypatch, conductor)
    casts: list[dict[str, Any]] = []
    monkeypatch.setattr(conductor, "resize_instance", lambda ctxt, **kw: casts.append(kw),
                        raising=False)

    def service(ctxt: Any, host: str, binary: str) -> Any:
        if host not in ("compute-1", "compute-2"):
            raise exception.HostBinaryNotFound(host=host, binary=binary)
        return {"host": host}

    monkeypatch.setattr(conductor, "service_get_by_host_and_binary", service, raising=False)
    server = conductor.add_instance(host="compute-1")
    path = f"/servers/{server.uuid}/action"

    def migrate(version: str, body: Any) -> Any:
        server.task_state = None
        return call(api, "POST", path, {"migrate": body}, token=ADMIN, **_v(version))

    assert migrate("2.55", {"host": "compute-2"}).status_int == 400
    unknown = migrate("2.56", {"host": "nowhere"})
    assert unknown.status_int == 400
    assert unknown.json["badRequest"]["message"] == "Compute host nowhere could not be found."
    assert migrate("2.56", {"host": "compute-1"}).status_int == 400
    assert migrate("2.56", {"host": "compute-2"}).status_int == 202
    assert migrate("2.56", None).status_int == 202
    assert casts == [{"instance_uuid": server.uuid, "flavor": None, "host": "compute-2"},
                     {"instance_uuid": server.uuid, "flavor": None}]


# --- 2.57: rebuild with new user data; no personality at boot ------------------------------


def test_2_57_rebuild_sets_user_data_and_boot_drops_personality(
        api: API, conductor: StubConductor, monkeypatch: pytest.MonkeyPatch) -> None:
    _record_actions(monkeypatch, conductor)
    monkeypatch.setattr(api.controllers["servers"].clients.compute, "rebuild_instance",
                        lambda ctxt, **kw: None, raising=False)
    server = conductor.add_instance(user_data="b2xk")
    path = f"/servers/{server.uuid}/action"

    def rebuild(version: str, user_data: Any) -> Any:
        server.task_state = None
        body = {"rebuild": {"imageRef": PUBLIC_IMAGE, "user_data": user_data}}
        return call(api, "POST", path, body, **_v(version))

    assert rebuild("2.56", "bmV3").status_int == 400
    assert rebuild("2.57", "not base64!").status_int == 400
    assert rebuild("2.57", "bmV3").status_int == 202 and server.user_data == "bmV3"
    assert rebuild("2.57", None).status_int == 202 and server.user_data is None
    personality = [{"path": "/etc/motd", "contents": "aGk="}]
    assert _boot(api, "2.56", networks="none", personality=personality).status_int == 202
    assert _boot(api, "2.57", networks="none", personality=personality).status_int == 400


# --- 2.63: trusted image certificates are refused, honestly ----------------------------------


def test_2_63_refuses_image_signature_verification(api: API, conductor: StubConductor) -> None:
    certs = {"trusted_image_certificates": ["0b5d2c72-12cc-4ba6-a8d7-3ff5cc1d8cb8"]}

    assert _boot(api, "2.62", networks="none", **certs).status_int == 400
    refused = _boot(api, "2.63", networks="none", **certs)
    assert refused.status_int == 400
    assert "does not verify image signatures" in refused.json["badRequest"]["message"]
    booted = _boot(api, "2.63", networks="none", trusted_image_certificates=None)
    assert booted.status_int == 202
    shown = _show(api, booted.json["server"]["id"], "2.63")
    assert shown["trusted_image_certificates"] is None
    assert "trusted_image_certificates" not in _show(api, booted.json["server"]["id"], "2.62")


# --- 2.66: changes-before -----------------------------------------------------------------------


def test_2_66_filters_by_changes_before(api: API, conductor: StubConductor) -> None:
    def filters(version: str, query: str) -> Any:
        response = call(api, "GET", f"/servers?{query}", **_v(version))
        return response.status_int, (conductor.called("instance_get_all") or [{}])[-1].get(
            "filters")

    status, seen = filters("2.65", "changes-before=2026-01-02T00:00:00Z")
    assert status == 200 and "changes_before" not in seen
    status, seen = filters("2.66", "changes-before=2026-01-02T00:00:00Z")
    assert status == 200 and seen["changes_before"].year == 2026 and "deleted" not in seen
    assert filters("2.66", "changes-before=yesterday")[0] == 400
    bad = call(api, "GET", "/servers?changes-since=2026-01-03T00:00:00Z"
                           "&changes-before=2026-01-02T00:00:00Z", **_v("2.66"))
    assert bad.status_int == 400
    assert bad.json["badRequest"]["message"] == (
        "The value of changes-since must be less than or equal to changes-before.")


# --- 2.68: live migration's force is gone again -------------------------------------------


def test_2_68_live_migration_refuses_force(api: API, conductor: StubConductor,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _record_actions(monkeypatch, conductor)
    monkeypatch.setattr(conductor, "live_migrate_instance", lambda ctxt, **kw: None,
                        raising=False)
    server = conductor.add_instance()
    body = {"os-migrateLive": {"host": None, "block_migration": "auto", "force": False}}
    path = f"/servers/{server.uuid}/action"

    assert call(api, "POST", path, body, token=ADMIN, **_v("2.68")).status_int == 400
    assert call(api, "POST", path, body, token=ADMIN, **_v("2.67")).status_int == 202


# --- 2.71: the server's groups ------------------------------------------------------------------


def test_2_71_shows_the_servers_groups(api: API, conductor: StubConductor,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    server = conductor.add_instance()
    other = conductor.add_instance()
    monkeypatch.setattr(conductor, "instance_group_get_all", lambda ctxt, **kw: [
        {"uuid": "g-1", "members": [server.uuid]}, {"uuid": "g-2", "members": [other.uuid]}])

    assert "server_groups" not in _show(api, server.uuid, "2.70")
    assert _show(api, server.uuid, "2.71")["server_groups"] == ["g-1"]
    updated = call(api, "PUT", f"/servers/{server.uuid}", {"server": {"name": "x"}},
                   **_v("2.71")).json["server"]
    assert updated["server_groups"] == ["g-1"]
    listed = call(api, "GET", "/servers/detail", **_v("2.71")).json["servers"]
    assert all("server_groups" not in s for s in listed)


# --- 2.73: lock reason and the locked filter ------------------------------------------------


def test_2_73_locks_with_a_reason(api: API, conductor: StubConductor,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _record_actions(monkeypatch, conductor)
    server = conductor.add_instance(system_metadata={})
    path = f"/servers/{server.uuid}/action"

    assert call(api, "POST", path, {"lock": {"locked_reason": "x" * 256}},
                **_v("2.73")).status_int == 400
    assert call(api, "POST", path, {"lock": {"locked_reason": "audit"}},
                **_v("2.73")).status_int == 202
    [update] = [c for c in conductor.called("instance_update")
                if c["instance_uuid"] == server.uuid]
    assert update["values"]["system_metadata"] == {"locked_reason": "audit"}
    assert "locked_reason" not in _show(api, server.uuid, "2.72")
    assert _show(api, server.uuid, "2.73")["locked_reason"] == "audit"
    assert call(api, "POST", path, {"unlock": None}, **_v("2.73")).status_int == 202
    assert _show(api, server.uuid, "2.73")["locked_reason"] is None


def test_2_73_filters_by_locked(api: API, conductor: StubConductor) -> None:
    assert call(api, "GET", "/servers?locked=maybe", **_v("2.73")).status_int == 400
    call(api, "GET", "/servers?locked=true", **_v("2.73"))
    call(api, "GET", "/servers?locked=true", **_v("2.72"))

    new, old = (c["filters"] for c in conductor.called("instance_get_all"))
    assert new["locked"] is True and "locked" not in old


# --- 2.74: boot on a named host or node ------------------------------------------------------


def test_2_74_boots_on_a_requested_host_for_admins(api: API, conductor: StubConductor,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    nodes = [{"host": "compute-1", "hypervisor_hostname": "node-1"},
             {"host": "compute-2", "hypervisor_hostname": "node-2"},
             {"host": "compute-2", "hypervisor_hostname": "node-3"}]
    monkeypatch.setattr(conductor, "compute_node_get_all", lambda ctxt, **kw: nodes,
                        raising=False)

    def boot(version: str, token: str = ADMIN, **where: str) -> Any:
        body = {"name": "w", "imageRef": PUBLIC_IMAGE, "flavorRef": "1", "networks": "none",
                **where}
        return call(api, "POST", "/servers", {"server": body}, token=token, **_v(version))

    assert boot("2.73", host="compute-2").status_int == 400
    assert boot("2.74", token="alice:project-a", host="compute-2").status_int == 403
    missing = boot("2.74", host="compute-9")
    assert missing.status_int == 400
    assert missing.json["badRequest"]["message"] == "Compute host compute-9 could not be found."
    assert boot("2.74", host="compute-1", hypervisor_hostname="node-2").status_int == 400
    assert boot("2.74", host="compute-2").status_int == 202
    assert conductor.called("build_instances")[-1]["request_spec"]["ignore_nodes"] == [
        "node-1"]
    assert boot("2.74", hypervisor_hostname="node-3").status_int == 202
    assert conductor.called("build_instances")[-1]["request_spec"]["ignore_nodes"] == [
        "node-1", "node-2"]


# --- 2.75: strict list parameters, full server on update and rebuild -------------------------


def test_2_75_refuses_unknown_list_parameters(api: API) -> None:
    assert call(api, "GET", "/servers?bogus=1", **_v("2.74")).status_int == 200
    refused = call(api, "GET", "/servers/detail?bogus=1", **_v("2.75"))
    assert refused.status_int == 400
    assert "('bogus' was unexpected)" in refused.json["badRequest"]["message"]
    assert call(api, "GET", "/servers?limit=1&sort_key=display_name&locked=false",
                **_v("2.75")).status_int == 200


def test_2_75_update_answers_with_the_whole_server(api: API, conductor: StubConductor) -> None:
    server = conductor.add_instance()
    conductor.tags[server.uuid] = ["web"]

    def update(version: str) -> dict[str, Any]:
        return call(api, "PUT", f"/servers/{server.uuid}", {"server": {"name": "n"}},
                    token=ADMIN, **_v(version)).json["server"]

    assert "tags" not in update("2.74") and "host_status" not in update("2.74")
    full = update("2.75")
    assert full["tags"] == ["web"] and full["host_status"] == "UNKNOWN"
    assert full == _show(api, server.uuid, "2.75", token=ADMIN)
