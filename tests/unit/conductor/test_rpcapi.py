"""The conductor's database API over the bus: objects out, kumo errors back as themselves."""

from __future__ import annotations

from typing import Any

import pytest

from kumo import context, exception
from kumo.compute import task_states, vm_states
from kumo.conductor import rpcapi
from kumo.image import api as image_api
from kumo.image import local
from kumo.objects import compute_node, flavor, image, instance


def _boot(conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext, count: int = 1,
          **values: Any) -> list[Any]:
    tiny = conductor.flavor_get_by_flavor_id(ctxt, "1")
    flavor_values = {name: getattr(tiny, name) for name in tiny.obj_fields
                     if tiny.obj_attr_is_set(name) and name not in ("created_at", "updated_at")}
    return conductor.instance_create(ctxt, [
        {"project_id": "p1", "user_id": "u1", "display_name": f"vm-{index}",
         "flavor": flavor_values, "flavor_id": tiny.id, "memory_mb": tiny.memory_mb,
         "vcpus": tiny.vcpus, "root_gb": tiny.root_gb, "metadata": {"k": "v"},
         "launch_index": index, **values}
        for index in range(count)])


@pytest.fixture
def tiny(conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> Any:
    return conductor.flavor_create(ctxt, {"name": "m1.tiny", "flavorid": "1", "memory_mb": 512,
                                          "vcpus": 1, "root_gb": 1,
                                          "extra_specs": {"hw:cpu_policy": "shared"}})


def test_client_and_endpoint_speak_the_same_newest_version() -> None:
    from kumo.conductor import manager

    assert rpcapi.ConductorAPI.VERSION == manager.ConductorManager.target.version == "1.12"


def test_flavors_over_rpc(conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
                          tiny: Any) -> None:
    conductor.flavor_create(ctxt, {"name": "private", "flavorid": "9", "memory_mb": 1,
                                   "vcpus": 1, "is_public": False})

    assert isinstance(tiny, flavor.Flavor) and tiny.extra_specs == {"hw:cpu_policy": "shared"}
    assert [f.name for f in conductor.flavor_get_all(ctxt, project_id="p1")] == ["m1.tiny"]
    assert len(conductor.flavor_get_all(ctxt)) == 2
    with pytest.raises(exception.FlavorExists):
        conductor.flavor_create(ctxt, {"name": "m1.tiny", "memory_mb": 1, "vcpus": 1})
    with pytest.raises(exception.FlavorNotFound):
        conductor.flavor_get_by_flavor_id(ctxt, "9", project_id="p1")


def test_instances_over_rpc(conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
                            tiny: Any) -> None:
    created = _boot(conductor, ctxt, count=2)

    assert all(isinstance(i, instance.Instance) for i in created)
    got = conductor.instance_get(ctxt, created[0].uuid, project_id="p1")
    assert (got.vm_state, got.task_state) == (vm_states.BUILDING, task_states.SCHEDULING)
    assert got.flavor.extra_specs == {"hw:cpu_policy": "shared"}
    assert got.metadata == {"k": "v"} and got.fault is None
    listed = conductor.instance_get_all(ctxt, filters={"project_id": "p1"},
                                        sort_keys=["display_name"], sort_dirs=["asc"],
                                        limit=1, marker=created[0].uuid)
    assert [i.display_name for i in listed] == ["vm-1"]
    with pytest.raises(exception.MarkerNotFound):
        conductor.instance_get_all(ctxt, marker="00000000-0000-0000-0000-000000000000")


def test_instance_update_sends_the_guard_only_when_given(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext, tiny: Any) -> None:
    uuid = _boot(conductor, ctxt)[0].uuid

    # Unguarded: goes through whatever the task state.
    conductor.instance_update(ctxt, uuid, {"display_name": "renamed"})
    # None is a real expectation ("no task"), not "unguarded".
    with pytest.raises(exception.UnexpectedTaskStateError):
        conductor.instance_update(ctxt, uuid, {"task_state": task_states.DELETING},
                                  expected_task_state=None)
    updated = conductor.instance_update(
        ctxt, uuid, {"task_state": task_states.DELETING},
        expected_task_state=[None, task_states.SCHEDULING])
    assert updated.task_state == task_states.DELETING
    with pytest.raises(exception.UnexpectedDeletingTaskStateError):
        conductor.instance_update(ctxt, uuid, {"task_state": task_states.SPAWNING},
                                  expected_task_state=task_states.SCHEDULING)


def test_faults_and_destroy_over_rpc(conductor: rpcapi.ConductorAPI,
                                     ctxt: context.RequestContext, tiny: Any) -> None:
    uuid = _boot(conductor, ctxt)[0].uuid

    fault = conductor.instance_fault_create(ctxt, uuid, 500, "boom", details="trace",
                                            host="h1")
    assert isinstance(fault, instance.InstanceFault)
    assert conductor.instance_get(ctxt, uuid).fault.message == "boom"
    destroyed = conductor.instance_destroy(ctxt, uuid)
    assert destroyed.deleted and destroyed.vm_state == vm_states.DELETED
    with pytest.raises(exception.InstanceNotFound):
        conductor.instance_get(ctxt, uuid)


def test_claims_over_rpc(conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
                         tiny: Any) -> None:
    nodes = conductor.compute_nodes_report(ctxt, "host1", None, [{
        "hypervisor_hostname": "node1", "hypervisor_type": "fake", "hypervisor_version": 1,
        "vcpus": 1, "memory_mb": 1024, "local_gb": 10, "cpu_info": "{}", "host_ip": None,
        "cpu_allocation_ratio": None, "ram_allocation_ratio": None,
        "disk_allocation_ratio": None}])
    node = nodes[0]
    first, second = (i.uuid for i in _boot(conductor, ctxt, count=2))
    limits = {"vcpus": 1, "memory_mb": 1024, "disk_gb": 10}
    resources = {"vcpus": 1, "memory_mb": 512, "disk_gb": 1}

    assert isinstance(node, compute_node.ComputeNode)
    claimed = conductor.compute_node_claim(ctxt, node.uuid, first, resources, limits)
    assert claimed.vcpus_used == 1
    with pytest.raises(exception.ComputeResourcesUnavailable):
        conductor.compute_node_claim(ctxt, node.uuid, second, resources, limits)
    assert conductor.compute_node_release(ctxt, node.uuid, first).vcpus_used == 0
    assert conductor.compute_node_release(ctxt, node.uuid, first).vcpus_used == 0
    assert len(conductor.compute_node_get_all(ctxt, changed_since=node.updated_at)) == 1


def test_images_over_rpc_and_the_image_api(conductor: rpcapi.ConductorAPI,
                                           ctxt: context.RequestContext, tmp_path: Any) -> None:
    store = local.LocalStore(tmp_path)
    created = conductor.image_create(ctxt, {"name": "cirros", "visibility": "public",
                                            "disk_format": "raw"})
    private = conductor.image_create(ctxt, {"name": "mine", "owner": "p2"})
    conductor.image_update(ctxt, created.id, {"status": "active"})
    images = image_api.ImageAPI(conductor=conductor, store=store)

    assert isinstance(created, image.Image)
    assert images.get(ctxt, created.id, project_id="p1").status == "active"
    assert [i.name for i in images.get_all(ctxt, project_id="p1")] == ["cirros"]
    with pytest.raises(exception.ImageNotFound):
        images.get(ctxt, private.id, project_id="p1")
    conductor.image_delete(ctxt, private.id)
    assert [i.name for i in images.get_all(ctxt)] == ["cirros"]


def test_report_without_a_service_id_finds_the_compute_service(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    service = conductor.service_register(ctxt, "host1", "kumo-compute", "compute", 1)

    node = conductor.compute_nodes_report(ctxt, "host1", None, [{
        "hypervisor_hostname": "node1", "hypervisor_type": "fake", "hypervisor_version": 1,
        "vcpus": 1, "memory_mb": 1024, "local_gb": 10}])[0]

    assert node.service_id == service.id


def test_nodes_reported_before_the_service_registered_are_adopted_by_it(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    conductor.compute_nodes_report(ctxt, "host2", None, [{
        "hypervisor_hostname": "node2", "hypervisor_type": "fake", "hypervisor_version": 1,
        "vcpus": 1, "memory_mb": 1024, "local_gb": 10}])

    service = conductor.service_register(ctxt, "host2", "kumo-compute", "compute", 1)

    [node] = [n for n in conductor.compute_node_get_all(ctxt) if n.host == "host2"]
    assert node.service_id == service.id
