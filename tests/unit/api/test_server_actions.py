"""``POST /servers/{id}/action`` (power actions, lock, console), os-instance-actions and
``/servers/{id}/metadata`` over stub clients."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from kumo import exception
from kumo.api.openstack import app as compute_app
from kumo.compute import task_states
from tests.unit.api.conftest import UNSET, StubCompute, StubConductor, call

API = compute_app.ComputeAPI
T1 = datetime.datetime(2026, 1, 2, 3, 4, 5)


class ActionsConductor(StubConductor):
    """The stub conductor with the vm_state guard and the 1.2 methods."""

    def __init__(self) -> None:
        super().__init__()
        self.actions: list[dict[str, Any]] = []

    def instance_update(self, ctxt: Any, instance_uuid: str, values: dict[str, Any],
                        expected_task_state: Any = UNSET,
                        expected_vm_state: Any = UNSET) -> Any:
        instance = self.instances[instance_uuid]
        if expected_vm_state is not UNSET and instance.vm_state not in expected_vm_state:
            raise exception.UnexpectedTaskStateError(
                instance_uuid=instance_uuid, expected=expected_vm_state,
                actual=instance.vm_state)
        return super().instance_update(ctxt, instance_uuid, values,
                                       expected_task_state=expected_task_state)

    def instance_action_start(self, ctxt: Any, instance_uuid: str, action: str,
                              request_id: str, user_id: str, project_id: str) -> dict:
        row = {"action": action, "instance_uuid": instance_uuid, "request_id": request_id,
               "user_id": user_id, "project_id": project_id,
               "start_time": T1.isoformat(), "message": None, "id": len(self.actions),
               "events": [{"event": f"compute_{action}_instance", "result": "Success",
                           "traceback": None, "start_time": T1.isoformat(),
                           "finish_time": T1.isoformat(), "host": "compute-1"}]}
        self.actions.insert(0, row)
        return row

    def instance_action_get_all(self, ctxt: Any, instance_uuid: str) -> list[dict]:
        return [a for a in self.actions if a["instance_uuid"] == instance_uuid]

    def instance_action_get_by_request_id(self, ctxt: Any, instance_uuid: str,
                                          request_id: str) -> dict | None:
        return next((a for a in self.actions if a["instance_uuid"] == instance_uuid
                     and a["request_id"] == request_id), None)

    def instance_metadata_update(self, ctxt: Any, instance_uuid: str,
                                 metadata: dict[str, Any], delete: bool = False) -> dict:
        self._record("instance_metadata_update", instance_uuid=instance_uuid,
                     metadata=metadata, delete=delete)
        instance = self.instances[instance_uuid]
        instance.metadata = dict(metadata) if delete else {**instance.metadata, **metadata}
        return dict(instance.metadata)

    def instance_metadata_delete(self, ctxt: Any, instance_uuid: str, key: str) -> dict:
        self._record("instance_metadata_delete", instance_uuid=instance_uuid, key=key)
        instance = self.instances[instance_uuid]
        instance.metadata = {k: v for k, v in instance.metadata.items() if k != key}
        return dict(instance.metadata)


class ActionsCompute(StubCompute):
    def __init__(self) -> None:
        super().__init__()
        self.casts: list[tuple[str, str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        if not name.endswith("_instance"):
            raise AttributeError(name)

        def cast(ctxt: Any, instance: Any, host: str, **kwargs: Any) -> None:
            self.casts.append((name, instance.uuid, {"host": host, **kwargs}))

        return cast

    def get_console_output(self, ctxt: Any, instance: Any, tail_length: Any,
                           host: str) -> str:
        self.casts.append(("get_console_output", instance.uuid, {"tail_length": tail_length}))
        return "line 1\n\x07line 2\n"


@pytest.fixture
def conductor() -> ActionsConductor:
    return ActionsConductor()


@pytest.fixture
def compute() -> ActionsCompute:
    return ActionsCompute()


def _action(api: API, server_id: str, body: Any, token: str = "alice:project-a") -> Any:
    return call(api, "POST", f"/servers/{server_id}/action", body, token=token)


def _conflict(response: Any) -> str:
    assert response.status_int == 409, response.text
    return response.json["conflictingRequest"]["message"]


# --- power actions -----------------------------------------------------------------------

POWER = [
    ("os-stop", "active", "powering-off", "stop_instance", "stop"),
    ("os-stop", "error", "powering-off", "stop_instance", "stop"),
    ("os-start", "stopped", "powering-on", "start_instance", "start"),
    ("pause", "active", "pausing", "pause_instance", "pause"),
    ("unpause", "paused", "unpausing", "unpause_instance", "unpause"),
    ("suspend", "active", "suspending", "suspend_instance", "suspend"),
    ("resume", "suspended", "resuming", "resume_instance", "resume"),
]


@pytest.mark.parametrize("name, vm_state, task, cast, recorded", POWER)
def test_a_power_action_sets_its_task_records_it_and_casts(
        api: API, conductor: ActionsConductor, compute: ActionsCompute, name: str,
        vm_state: str, task: str, cast: str, recorded: str) -> None:
    server = conductor.add_instance(vm_state=vm_state)
    response = _action(api, server.uuid, {name: None})

    assert response.status_int == 202, response.text
    assert response.body == b""
    assert server.task_state == task
    [update] = conductor.called("instance_update")
    assert update["expected_task_state"] == [None]
    assert compute.casts == [(cast, server.uuid, {"host": "compute-1"})]
    [action] = conductor.actions
    assert (action["action"], action["user_id"], action["project_id"]) == (
        recorded, "alice", "project-a")
    assert action["request_id"] == response.headers["x-openstack-request-id"]


@pytest.mark.parametrize("name, allowed", [
    ("os-stop", "active"), ("os-start", "stopped"), ("pause", "active"),
    ("unpause", "paused"), ("suspend", "active"), ("resume", "suspended")])
def test_a_power_action_in_a_forbidden_vm_state_is_a_409_naming_it(
        api: API, conductor: ActionsConductor, compute: ActionsCompute, name: str,
        allowed: str) -> None:
    vm_state = "shelved"
    server = conductor.add_instance(vm_state=vm_state)
    nova_name = {"os-stop": "stop", "os-start": "start"}.get(name, name)
    assert _conflict(_action(api, server.uuid, {name: None})) == (
        f"Cannot '{nova_name}' instance {server.uuid} while it is in vm_state {vm_state}")
    assert compute.casts == [] and conductor.actions == []


def test_an_action_while_another_runs_is_a_409_naming_the_task_state(
        api: API, conductor: ActionsConductor) -> None:
    server = conductor.add_instance(task_state="powering-off")
    assert _conflict(_action(api, server.uuid, {"pause": None})) == (
        f"Cannot 'pause' instance {server.uuid} while it is in task_state powering-off")


def test_a_lost_race_is_a_409_naming_the_state_the_winner_set(
        api: API, conductor: ActionsConductor, compute: ActionsCompute,
        monkeypatch: pytest.MonkeyPatch) -> None:
    server = conductor.add_instance()
    original = conductor.instance_update

    def racing(ctxt: Any, instance_uuid: str, values: dict, **guard: Any) -> Any:
        server.task_state = "powering-off"  # another request got there first
        return original(ctxt, instance_uuid, values, **guard)

    monkeypatch.setattr(conductor, "instance_update", racing)
    assert _conflict(_action(api, server.uuid, {"os-stop": None})) == (
        f"Cannot 'stop' instance {server.uuid} while it is in task_state powering-off")
    assert compute.casts == []


def test_a_never_launched_server_cannot_be_stopped(api: API,
                                                   conductor: ActionsConductor) -> None:
    server = conductor.add_instance(vm_state="error", launched_at=None)
    assert _conflict(_action(api, server.uuid, {"os-stop": None})) == (
        f"Cannot 'stop' instance {server.uuid} while it is in launched_at None")


def test_a_server_without_a_host_is_not_ready(api: API, conductor: ActionsConductor) -> None:
    server = conductor.add_instance(host=None)
    assert _conflict(_action(api, server.uuid, {"os-stop": None})) == (
        f"Instance {server.uuid} is not ready")


# --- reboot ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, vm_state, task, status", [
    ("SOFT", "active", task_states.REBOOTING, "REBOOT"),
    ("soft", "active", task_states.REBOOTING, "REBOOT"),
    ("HARD", "active", task_states.REBOOTING_HARD, "HARD_REBOOT"),
    ("Hard", "stopped", task_states.REBOOTING_HARD, "SHUTOFF"),
    ("HARD", "error", task_states.REBOOTING_HARD, "ERROR"),
    ("HARD", "paused", task_states.REBOOTING_HARD, "PAUSED"),
    ("HARD", "suspended", task_states.REBOOTING_HARD, "SUSPENDED"),
])
def test_reboot(api: API, conductor: ActionsConductor, compute: ActionsCompute, kind: str,
                vm_state: str, task: str, status: str) -> None:
    server = conductor.add_instance(vm_state=vm_state)
    response = _action(api, server.uuid, {"reboot": {"type": kind}})
    assert response.status_int == 202, response.text
    assert server.task_state == task
    assert compute.casts == [("reboot_instance", server.uuid,
                              {"host": "compute-1", "reboot_type": kind.upper()})]
    shown = call(api, "GET", f"/servers/{server.uuid}").json["server"]
    assert shown["status"] == status


def test_a_soft_reboot_of_a_stopped_server_is_a_409(api: API,
                                                   conductor: ActionsConductor) -> None:
    server = conductor.add_instance(vm_state="stopped")
    assert _conflict(_action(api, server.uuid, {"reboot": {"type": "SOFT"}})) == (
        f"Cannot 'reboot' instance {server.uuid} while it is in vm_state stopped")


def test_a_hard_reboot_may_interrupt_a_soft_one(api: API, conductor: ActionsConductor) -> None:
    server = conductor.add_instance(task_state=task_states.REBOOTING)
    assert _conflict(_action(api, server.uuid, {"reboot": {"type": "SOFT"}})) == (
        f"Cannot 'reboot' instance {server.uuid} while it is in task_state rebooting")
    assert _action(api, server.uuid, {"reboot": {"type": "HARD"}}).status_int == 202


@pytest.mark.parametrize("body", [{"reboot": {}}, {"reboot": {"type": "WARM"}},
                                  {"reboot": None}])
def test_reboot_body_is_validated(api: API, conductor: ActionsConductor, body: Any) -> None:
    server = conductor.add_instance()
    assert _action(api, server.uuid, body).status_int == 400


# --- dispatch ----------------------------------------------------------------------------


def test_an_unknown_action_is_a_400(api: API, conductor: ActionsConductor) -> None:
    server = conductor.add_instance()
    response = _action(api, server.uuid, {"fly": None})
    assert response.status_int == 400
    assert response.json["badRequest"]["message"] == "There is no such action: fly"
    response = _action(api, server.uuid, {"pause": None, "lock": None})
    assert response.json["badRequest"]["message"] == "Malformed request body"


def test_an_action_on_an_unknown_or_foreign_server_is_a_404(
        api: API, conductor: ActionsConductor) -> None:
    server = conductor.add_instance(project_id="project-b")
    assert _action(api, server.uuid, {"pause": None}).status_int == 404
    assert _action(api, "00000000-0000-4000-8000-999999999999",
                   {"pause": None}).status_int == 404


# --- lock --------------------------------------------------------------------------------


def test_a_locked_server_refuses_non_admins_only(api: API, conductor: ActionsConductor,
                                                 compute: ActionsCompute) -> None:
    server = conductor.add_instance()
    assert _action(api, server.uuid, {"lock": None}).status_int == 202
    assert (server.locked, server.locked_by) == (True, "owner")
    assert _conflict(_action(api, server.uuid, {"os-stop": None})) == (
        f"Instance {server.uuid} is locked")
    assert _action(api, server.uuid, {"os-stop": None}, token="admin:admin").status_int == 202
    assert [a["action"] for a in conductor.actions] == ["stop", "lock"]


def test_an_admin_lock_cannot_be_lifted_by_the_owner(api: API,
                                                     conductor: ActionsConductor) -> None:
    server = conductor.add_instance()
    assert _action(api, server.uuid, {"lock": None}, token="admin:admin").status_int == 202
    assert server.locked_by == "admin"
    response = _action(api, server.uuid, {"unlock": None})
    assert response.status_int == 403
    assert "unlock_override" in response.json["forbidden"]["message"]
    assert _action(api, server.uuid, {"unlock": None}, token="admin:admin").status_int == 202
    assert (server.locked, server.locked_by) == (False, None)


def test_the_owner_unlocks_its_own_lock(api: API, conductor: ActionsConductor) -> None:
    server = conductor.add_instance(locked=True, locked_by="owner")
    assert _action(api, server.uuid, {"unlock": None}).status_int == 202
    assert server.locked is False


# --- console -----------------------------------------------------------------------------


def test_console_output(api: API, conductor: ActionsConductor,
                        compute: ActionsCompute) -> None:
    server = conductor.add_instance()
    response = _action(api, server.uuid, {"os-getConsoleOutput": {"length": "5"}})
    assert response.status_int == 200
    assert response.json == {"output": "line 1\nline 2\n"}
    assert compute.casts == [("get_console_output", server.uuid, {"tail_length": 5})]
    assert _action(api, server.uuid, {"os-getConsoleOutput": {}}).status_int == 200
    assert compute.casts[-1][2] == {"tail_length": None}


@pytest.mark.parametrize("length", [-2, "x", 1.5])
def test_console_output_length_is_validated(api: API, conductor: ActionsConductor,
                                            length: Any) -> None:
    server = conductor.add_instance()
    response = _action(api, server.uuid, {"os-getConsoleOutput": {"length": length}})
    assert response.status_int == 400


# --- os-instance-actions -----------------------------------------------------------------


def test_instance_actions_list_and_show(api: API, conductor: ActionsConductor) -> None:
    server = conductor.add_instance()
    request_id = _action(api, server.uuid, {"pause": None}).headers["x-openstack-request-id"]

    listed = call(api, "GET", f"/servers/{server.uuid}/os-instance-actions")
    assert listed.status_int == 200
    assert listed.json == {"instanceActions": [{
        "action": "pause", "instance_uuid": server.uuid, "request_id": request_id,
        "user_id": "alice", "project_id": "project-a",
        "start_time": "2026-01-02T03:04:05.000000", "message": None}]}

    path = f"/servers/{server.uuid}/os-instance-actions/{request_id}"
    shown = call(api, "GET", path).json["instanceAction"]
    assert "events" not in shown and shown["action"] == "pause"
    as_admin = call(api, "GET", path, token="admin:admin").json["instanceAction"]
    assert as_admin["events"] == [{
        "event": "compute_pause_instance", "result": "Success", "traceback": None,
        "start_time": "2026-01-02T03:04:05.000000",
        "finish_time": "2026-01-02T03:04:05.000000"}]

    missing = call(api, "GET", f"/servers/{server.uuid}/os-instance-actions/req-nope")
    assert missing.status_int == 404
    assert missing.json["itemNotFound"]["message"] == "Action req-nope not found"
    other = conductor.add_instance(project_id="project-b")
    assert call(api, "GET", f"/servers/{other.uuid}/os-instance-actions").status_int == 404


# --- metadata ----------------------------------------------------------------------------


def test_metadata_crud(api: API, conductor: ActionsConductor) -> None:
    server = conductor.add_instance(metadata={"a": "1"})
    base = f"/servers/{server.uuid}/metadata"
    assert call(api, "GET", base).json == {"metadata": {"a": "1"}}
    response = call(api, "POST", base, {"metadata": {"b": "2"}})
    assert (response.status_int, response.json) == (200, {"metadata": {"a": "1", "b": "2"}})
    assert conductor.called("instance_metadata_update")[-1]["delete"] is False
    response = call(api, "PUT", base, {"metadata": {"c": "3"}})
    assert response.json == {"metadata": {"c": "3"}}
    assert conductor.called("instance_metadata_update")[-1]["delete"] is True
    response = call(api, "PUT", f"{base}/d", {"meta": {"d": "4"}})
    assert (response.status_int, response.json) == (200, {"meta": {"d": "4"}})
    assert call(api, "GET", f"{base}/d").json == {"meta": {"d": "4"}}
    assert call(api, "DELETE", f"{base}/c").status_int == 204
    assert server.metadata == {"d": "4"}
    missing = call(api, "GET", f"{base}/c")
    assert (missing.status_int, missing.json["itemNotFound"]["message"]) == (
        404, "Metadata item was not found")
    assert call(api, "DELETE", f"{base}/c").status_int == 404


@pytest.mark.parametrize("method, suffix, body, message", [
    ("PUT", "/x", {"meta": {"y": "1"}}, "Request body and URI mismatch"),
    ("PUT", "/x", {"meta": {"x": "1", "y": "2"}}, None),
    ("PUT", "/x", {"meta": {}}, None),
    ("PUT", "/x", {"metadata": {"x": "1"}}, None),
    ("PUT", "", {"metadata": {"k": "v" * 256}}, None),
    ("PUT", "", {"metadata": {"k" * 256: "v"}}, None),
    ("PUT", "", {"metadata": {"": "v"}}, None),
    ("POST", "", {"metadata": {"k": 1}}, None),
    ("POST", "", {"meta": {"k": "v"}}, None),
    ("POST", "", None, None),
])
def test_metadata_bodies_are_validated(api: API, conductor: ActionsConductor, method: str,
                                       suffix: str, body: Any, message: str | None) -> None:
    server = conductor.add_instance()
    response = call(api, method, f"/servers/{server.uuid}/metadata{suffix}", body)
    assert response.status_int == 400, response.text
    if message:
        assert response.json["badRequest"]["message"] == message
    assert conductor.called("instance_metadata_update") == []


def test_metadata_of_a_building_or_locked_server_cannot_change(
        api: API, conductor: ActionsConductor) -> None:
    building = conductor.add_instance(vm_state="building", task_state="spawning")
    assert _conflict(call(api, "POST", f"/servers/{building.uuid}/metadata",
                          {"metadata": {"a": "1"}})) == (
        f"Cannot 'update metadata' instance {building.uuid} while it is in vm_state building")
    locked = conductor.add_instance(locked=True, locked_by="owner", metadata={"a": "1"})
    assert _conflict(call(api, "DELETE", f"/servers/{locked.uuid}/metadata/a")) == (
        f"Instance {locked.uuid} is locked")


def test_metadata_beyond_the_quota_is_a_403(api: API, conductor: ActionsConductor) -> None:
    server = conductor.add_instance()
    response = call(api, "PUT", f"/servers/{server.uuid}/metadata",
                    {"metadata": {f"k{i}": "v" for i in range(129)}})
    assert response.status_int == 403
    assert response.json["forbidden"]["message"] == (
        "Maximum number of metadata items exceeds 128")
