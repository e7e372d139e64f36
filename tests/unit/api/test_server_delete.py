"""DELETE /servers/{id} through conductor 1.11's instance_start_delete: one call for
one's own unlocked server; everything else decided on the server that call read."""

from __future__ import annotations

import oslo_policy.policy as oslo_policy

from kumo import policy
from kumo.api.openstack import app as compute_app
from kumo.compute import task_states
from tests.unit.api.conftest import StubCompute, StubConductor, call

API = compute_app.ComputeAPI


def _names(conductor: StubConductor) -> list[str]:
    return [name for name, _ in conductor.calls]


def test_deleting_ones_own_server_is_one_conductor_call(
        api: API, conductor: StubConductor, compute: StubCompute) -> None:
    instance = conductor.add_instance()
    assert call(api, "DELETE", f"/servers/{instance.uuid}").status_int == 204
    # The stub records the one call, then what it stands for.
    assert _names(conductor) == ["instance_start_delete", "instance_get", "instance_update",
                                 "instance_action_started"]
    [start] = conductor.called("instance_start_delete")
    assert start["owner"] == {"project_id": "project-a", "user_id": "alice"}
    assert start["allow_locked"] is False
    assert compute.terminated == [(instance.uuid, "compute-1")]


def test_a_colleagues_server_is_deleted_after_the_policy_saw_its_owner(
        api: API, conductor: StubConductor, compute: StubCompute) -> None:
    instance = conductor.add_instance()
    response = call(api, "DELETE", f"/servers/{instance.uuid}", token="carol:project-a")
    assert response.status_int == 204
    # Read in the one call (not written: another owner), then moved to deleting.
    [update] = conductor.called("instance_update")
    assert update["values"] == {"task_state": task_states.DELETING}
    assert compute.terminated == [(instance.uuid, "compute-1")]


def test_a_policy_on_the_owner_is_kept_nothing_written_for_a_403(
        api: API, conductor: StubConductor, compute: StubCompute) -> None:
    enforcer = policy.get_enforcer()
    enforcer.set_rules(oslo_policy.Rules.from_dict(
        {"os_compute_api:servers:delete": "user_id:%(user_id)s"}), overwrite=False,
        use_conf=False)
    instance = conductor.add_instance()
    response = call(api, "DELETE", f"/servers/{instance.uuid}", token="carol:project-a")
    assert response.status_int == 403
    assert not conductor.called("instance_update") and compute.terminated == []
    assert conductor.instances[instance.uuid].task_state is None
    # The owner still deletes it in one call.
    assert call(api, "DELETE", f"/servers/{instance.uuid}").status_int == 204
    assert len(conductor.called("instance_start_delete")) == 2


def test_a_locked_server_of_ones_own_is_409_and_left_alone(
        api: API, conductor: StubConductor, compute: StubCompute) -> None:
    instance = conductor.add_instance(locked=True)
    assert call(api, "DELETE", f"/servers/{instance.uuid}").status_int == 409
    assert conductor.instances[instance.uuid].task_state is None
    assert not conductor.called("instance_update") and compute.terminated == []


def test_a_server_mid_build_is_deleted_and_a_gone_one_is_404(
        api: API, conductor: StubConductor, compute: StubCompute) -> None:
    building = conductor.add_instance(vm_state="building", task_state="scheduling",
                                      host=None)
    assert call(api, "DELETE", f"/servers/{building.uuid}").status_int == 204
    assert conductor.called("instance_destroy") == [{"instance_uuid": building.uuid}]
    assert call(api, "DELETE", f"/servers/{building.uuid}").status_int == 404
    assert call(api, "DELETE",
                "/servers/00000000-0000-4000-8000-999999999999").status_int == 404
