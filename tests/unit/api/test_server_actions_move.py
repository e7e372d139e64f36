"""``POST /servers/{id}/action`` move actions: states, policy, validation, the casts.

Through the app's own action dispatcher, which :func:`server_actions_move.register`
fills.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kumo.api.openstack import app as compute_app
from kumo.compute import task_states, vm_states
from kumo.objects.image import Image
from tests.unit.api.conftest import PUBLIC_IMAGE, StubCompute, StubConductor, call


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, conductor: StubConductor,
        compute: StubCompute) -> Iterator[compute_app.ComputeAPI]:
    casts: list[tuple[str, dict[str, Any]]] = []
    for name in ("resize_instance", "confirm_resize", "revert_resize"):
        monkeypatch.setattr(conductor, name, lambda ctxt, _n=name, **kw: casts.append(
            (_n, kw)), raising=False)
    for name in ("rebuild_instance", "snapshot_instance"):
        monkeypatch.setattr(compute, name, lambda ctxt, _n=name, **kw: casts.append(
            (_n, kw)), raising=False)
    recorded: list[str] = []
    monkeypatch.setattr(conductor, "instance_action_start",
                        lambda ctxt, **kw: recorded.append(kw["action"]), raising=False)
    images: dict[str, Image] = {}

    def image_create(ctxt: Any, values: dict[str, Any]) -> Image:
        image = Image(id="55555555-5555-4555-8555-555555555555", **values)
        images[image.id] = image
        return image

    monkeypatch.setattr(conductor, "image_create", image_create, raising=False)
    monkeypatch.setattr(conductor, "image_delete",
                        lambda ctxt, image_id: images.pop(image_id), raising=False)
    app = compute_app.app_factory(conductor=conductor, compute=compute,
                                  auth_strategy="noauth2")
    app.casts = casts  # type: ignore[attr-defined]
    app.images = images  # type: ignore[attr-defined]
    app.recorded = recorded  # type: ignore[attr-defined]
    yield app


def _action(api: Any, server_id: str, body: Any, token: str = "alice:project-a",
            **headers: str) -> Any:
    return call(api, "POST", f"/servers/{server_id}/action", body, token=token, **headers)


# block_migration "auto" is microversion 2.25's.
V2_25 = {"OpenStack-API-Version": "compute 2.25"}


def test_resize_sets_resize_prep_and_casts_to_the_conductor_with_the_new_flavor(
        api: Any, conductor: StubConductor) -> None:
    server = conductor.add_instance()

    response = _action(api, server.uuid, {"resize": {"flavorRef": "2"}})

    assert response.status_int == 202
    assert server.task_state == task_states.RESIZE_PREP
    (name, kwargs), = api.casts
    assert name == "resize_instance" and kwargs["flavor"]["flavorid"] == "2"
    assert api.recorded == ["resize"]


def test_resize_to_the_same_flavor_is_a_400(api: Any, conductor: StubConductor) -> None:
    server = conductor.add_instance()

    response = _action(api, server.uuid, {"resize": {"flavorRef": "1"}})

    assert response.status_int == 400
    assert "must change flavor" in response.json["badRequest"]["message"]
    assert server.task_state is None and not api.casts


@pytest.mark.parametrize("vm_state", [vm_states.PAUSED, vm_states.ERROR,
                                      vm_states.RESIZED])
def test_resize_in_a_forbidden_state_is_a_409_with_novas_message(
        api: Any, conductor: StubConductor, vm_state: str) -> None:
    server = conductor.add_instance(vm_state=vm_state)

    response = _action(api, server.uuid, {"resize": {"flavorRef": "2"}})

    assert response.status_int == 409
    assert response.json["conflictingRequest"]["message"] == (
        f"Cannot 'resize' instance {server.uuid} while it is in vm_state {vm_state}")


@pytest.mark.parametrize(("body", "nova_name"), [
    ({"confirmResize": None}, "confirm_resize"),
    ({"revertResize": None}, "revert_resize"),
    ({"os-migrateLive": {"host": None, "block_migration": "auto"}}, "live_migrate"),
    ({"createImage": {"name": "snap"}}, "createImage"),
])
def test_a_forbidden_state_is_a_409_under_novas_action_name(
        api: Any, conductor: StubConductor, body: dict[str, Any], nova_name: str) -> None:
    server = conductor.add_instance(vm_state=vm_states.BUILDING)

    response = _action(api, server.uuid, body, token="admin:admin", **V2_25)

    assert response.status_int == 409
    assert response.json["conflictingRequest"]["message"] == (
        f"Cannot '{nova_name}' instance {server.uuid} while it is in vm_state building")
    assert server.task_state is None and not api.casts


def test_resize_while_a_task_runs_is_a_409(api: Any, conductor: StubConductor) -> None:
    server = conductor.add_instance(task_state=task_states.REBOOTING)

    response = _action(api, server.uuid, {"resize": {"flavorRef": "2"}})

    assert response.status_int == 409
    assert "task_state rebooting" in response.json["conflictingRequest"]["message"]


def test_migrate_is_for_admins_only(api: Any, conductor: StubConductor) -> None:
    server = conductor.add_instance()

    assert _action(api, server.uuid, {"migrate": None}).status_int == 403
    response = _action(api, server.uuid, {"migrate": None}, token="admin:admin")

    assert response.status_int == 202
    assert api.casts == [("resize_instance", {"instance_uuid": server.uuid, "flavor": None})]


def test_confirm_and_revert_need_a_resized_server(api: Any, conductor: StubConductor) -> None:
    active = conductor.add_instance()
    resized = conductor.add_instance(vm_state=vm_states.RESIZED)

    assert _action(api, active.uuid, {"confirmResize": None}).status_int == 409
    assert _action(api, resized.uuid, {"confirmResize": None}).status_int == 204
    assert resized.task_state == task_states.RESIZE_CONFIRMING
    other = conductor.add_instance(vm_state=vm_states.RESIZED)
    assert _action(api, other.uuid, {"revertResize": None}).status_int == 202
    assert other.task_state == task_states.RESIZE_REVERTING
    assert [name for name, _ in api.casts] == ["confirm_resize", "revert_resize"]


def test_rebuild_answers_the_server_in_rebuild_and_casts_to_its_host(
        api: Any, conductor: StubConductor) -> None:
    server = conductor.add_instance(vm_state=vm_states.ERROR)

    response = _action(api, server.uuid, {"rebuild": {"imageRef": PUBLIC_IMAGE,
                                                      "name": "renamed"}})

    assert response.status_int == 202
    body = response.json["server"]
    assert body["status"] == "REBUILD" and body["name"] == "renamed" and body["adminPass"]
    (name, kwargs), = api.casts
    assert name == "rebuild_instance" and kwargs["host"] == "compute-1"
    assert kwargs["image"]["id"] == PUBLIC_IMAGE


def test_rebuild_with_an_unknown_image_is_a_400(api: Any, conductor: StubConductor) -> None:
    server = conductor.add_instance()

    response = _action(api, server.uuid, {"rebuild": {
        "imageRef": "99999999-9999-4999-8999-999999999999"}})

    assert response.status_int == 400 and server.task_state is None


def test_create_image_queues_a_snapshot_image_and_answers_its_location(
        api: Any, conductor: StubConductor) -> None:
    server = conductor.add_instance(vm_state=vm_states.STOPPED)

    response = _action(api, server.uuid, {"createImage": {"name": "snap",
                                                          "metadata": {"k": "v"}}})

    assert response.status_int == 202
    image, = api.images.values()
    assert response.headers["Location"].endswith(f"/images/{image.id}")
    assert image.status == "queued" and image.owner == "project-a"
    assert image.properties == {"k": "v", "instance_uuid": server.uuid,
                                "image_type": "snapshot", "base_image_ref": PUBLIC_IMAGE,
                                "user_id": "alice"}
    assert server.task_state == task_states.IMAGE_SNAPSHOT
    assert api.casts == [("snapshot_instance", {"instance": server, "image_id": image.id,
                                                "host": "compute-1"})]


def test_create_image_of_a_busy_server_is_a_409_and_leaves_no_image(
        api: Any, conductor: StubConductor) -> None:
    server = conductor.add_instance(task_state=task_states.REBOOTING)

    response = _action(api, server.uuid, {"createImage": {"name": "snap"}})

    assert response.status_int == 409 and not api.images


def test_delete_with_a_reclaim_interval_soft_deletes_and_restore_undoes_it(
        api: Any, conductor: StubConductor, compute: StubCompute,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from kumo.conf import CONF

    CONF.set_override("reclaim_instance_interval", 60)
    try:
        server = conductor.add_instance()
        monkeypatch.setattr(compute, "soft_delete_instance", lambda ctxt, **kw:
                            api.casts.append(("soft_delete_instance", kw)), raising=False)
        monkeypatch.setattr(compute, "restore_instance", lambda ctxt, **kw:
                            api.casts.append(("restore_instance", kw)), raising=False)

        assert call(api, "DELETE", f"/servers/{server.uuid}").status_int == 204
        assert server.task_state == task_states.SOFT_DELETING and server.deleted_at
        assert not compute.terminated
        assert _action(api, server.uuid, {"restore": None}).status_int == 409
        server.vm_state, server.task_state = vm_states.SOFT_DELETED, None
        assert _action(api, server.uuid, {"restore": None}).status_int == 202
        assert server.task_state == task_states.RESTORING
        assert [name for name, _ in api.casts] == ["soft_delete_instance",
                                                   "restore_instance"]
        server.vm_state, server.task_state = vm_states.SOFT_DELETED, None
        assert _action(api, server.uuid, {"forceDelete": None}).status_int == 202
        assert compute.terminated == [(server.uuid, "compute-1")]
    finally:
        CONF.clear_override("reclaim_instance_interval")


def test_shelve_queues_the_shelved_image_and_unshelve_of_offloaded_goes_to_the_conductor(
        api: Any, conductor: StubConductor, compute: StubCompute,
        monkeypatch: pytest.MonkeyPatch) -> None:
    server = conductor.add_instance()
    monkeypatch.setattr(compute, "shelve_instance", lambda ctxt, **kw:
                        api.casts.append(("shelve_instance", kw)), raising=False)
    monkeypatch.setattr(conductor, "unshelve_instance", lambda ctxt, **kw:
                        api.casts.append(("unshelve_instance", kw)), raising=False)

    assert _action(api, server.uuid, {"unshelve": None}).status_int == 409
    assert _action(api, server.uuid, {"shelve": None}).status_int == 202
    image, = api.images.values()
    assert image.name == f"{server.display_name}-shelved"
    assert server.task_state == task_states.SHELVING
    server.vm_state, server.task_state, server.host = (
        vm_states.SHELVED_OFFLOADED, None, None)
    assert _action(api, server.uuid, {"unshelve": None}).status_int == 202
    assert [name for name, _ in api.casts] == ["shelve_instance", "unshelve_instance"]
    assert api.recorded == ["shelve", "unshelve"]


def test_live_migration_is_for_admins_and_casts_the_named_host(
        api: Any, conductor: StubConductor, monkeypatch: pytest.MonkeyPatch) -> None:
    server = conductor.add_instance()
    monkeypatch.setattr(conductor, "live_migrate_instance", lambda ctxt, **kw:
                        api.casts.append(("live_migrate_instance", kw)), raising=False)
    body = {"os-migrateLive": {"host": "compute-2", "block_migration": "auto"}}

    assert _action(api, server.uuid, body, **V2_25).status_int == 403
    assert _action(api, server.uuid, {"os-migrateLive": {}}, token="admin:admin"
                   ).status_int == 400
    assert _action(api, server.uuid, body, token="admin:admin").status_int == 400  # 2.1
    assert _action(api, server.uuid, body, token="admin:admin", **V2_25).status_int == 202

    assert server.task_state == task_states.MIGRATING
    assert api.casts == [("live_migrate_instance", {
        "instance_uuid": server.uuid, "host": "compute-2", "block_migration": "auto"})]
    assert api.recorded == ["live-migration"]
