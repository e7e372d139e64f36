"""The fake virt driver behaves like a hypervisor: nodes, guests, power states, failures."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kumo import context, exception, virt
from kumo.compute import power_state
from kumo.conf import CONF
from kumo.objects.instance import Instance
from kumo.virt import driver as virt_driver
from kumo.virt.fake import driver as fake_driver

HOST = "cmp1"
IMAGE = {"id": "img-1", "properties": {}, "min_ram": 0, "min_disk": 0, "size": 0}


@pytest.fixture
def flags() -> Iterator[Callable[..., None]]:
    """Override [fake] options until the test ends."""
    overridden: list[str] = []

    def set_flags(**values: Any) -> None:
        for name, value in values.items():
            CONF.set_override(name, value, group="fake")
            overridden.append(name)

    yield set_flags
    for name in overridden:
        CONF.clear_override(name, group="fake")


@pytest.fixture
def driver() -> fake_driver.FakeDriver:
    fake = virt.load_driver("fake")
    assert isinstance(fake, fake_driver.FakeDriver)
    fake.init_host(HOST)
    return fake


@pytest.fixture
def ctxt() -> context.RequestContext:
    return context.get_admin_context()


def make_instance(**values: Any) -> Instance:
    fields = {"uuid": str(uuid.uuid4()), "display_name": "vm", "vcpus": 1,
              "memory_mb": 512}
    fields.update(values)
    return Instance(**fields)


def spawned(driver: fake_driver.FakeDriver, ctxt: Any, node: str = HOST) -> Instance:
    instance = make_instance()
    driver.spawn(ctxt, instance, IMAGE, [], node)
    return instance


def test_one_node_is_named_after_the_host(driver: fake_driver.FakeDriver) -> None:
    assert driver.get_available_nodes() == [HOST]


def test_several_nodes_are_numbered_from_zero(driver: fake_driver.FakeDriver,
                                               flags: Callable[..., None]) -> None:
    flags(node_count=3)
    assert driver.get_available_nodes() == [f"{HOST}-node0", f"{HOST}-node1",
                                             f"{HOST}-node2"]


def test_node_resources_come_from_the_fake_options(driver: fake_driver.FakeDriver,
                                                   flags: Callable[..., None]) -> None:
    flags(node_count=2, vcpus=8, memory_mb=4096, local_gb=50)
    resources = driver.get_node_resources(f"{HOST}-node1")
    assert set(resources) == set(virt_driver.NODE_RESOURCE_KEYS)
    assert resources["hypervisor_hostname"] == f"{HOST}-node1"
    assert resources["hypervisor_type"] == "fake"
    assert (resources["vcpus"], resources["memory_mb"], resources["local_gb"]) == (8, 4096, 50)
    assert json.loads(resources["cpu_info"])["topology"]["cores"] == 8
    assert resources["host_ip"]


def test_resources_of_an_unknown_node_are_not_found(driver: fake_driver.FakeDriver) -> None:
    with pytest.raises(exception.ComputeNodeNotFound):
        driver.get_node_resources("elsewhere")


def test_spawned_guest_runs_on_its_node(driver: fake_driver.FakeDriver, ctxt: Any,
                                        flags: Callable[..., None]) -> None:
    flags(node_count=2)
    instance = spawned(driver, ctxt, node=f"{HOST}-node1")
    assert driver.get_info(instance) == power_state.RUNNING
    assert driver.list_instance_uuids() == [instance.uuid]
    assert driver.list_instance_uuids(node=f"{HOST}-node1") == [instance.uuid]
    assert driver.list_instance_uuids(node=f"{HOST}-node0") == []
    assert "booted on" in driver.get_console_output(ctxt, instance)


def test_spawn_on_an_unknown_node_fails(driver: fake_driver.FakeDriver, ctxt: Any) -> None:
    with pytest.raises(exception.ComputeNodeNotFound):
        driver.spawn(ctxt, make_instance(), IMAGE, [], "elsewhere")


def test_spawn_of_an_existing_guest_is_refused(driver: fake_driver.FakeDriver,
                                               ctxt: Any) -> None:
    instance = spawned(driver, ctxt)
    with pytest.raises(exception.InstanceInvalidState):
        driver.spawn(ctxt, instance, IMAGE, [], HOST)


def test_spawn_fails_on_the_nodes_told_to_fail(driver: fake_driver.FakeDriver, ctxt: Any,
                                               flags: Callable[..., None]) -> None:
    flags(node_count=2, fail_spawn_on_nodes=[f"{HOST}-node0"])
    instance = make_instance()
    with pytest.raises(exception.InstanceFaultInjected):
        driver.spawn(ctxt, instance, IMAGE, [], f"{HOST}-node0")
    assert driver.list_instance_uuids() == []
    driver.spawn(ctxt, instance, IMAGE, [], f"{HOST}-node1")
    assert driver.list_instance_uuids() == [instance.uuid]


def test_spawn_takes_the_spawn_delay(driver: fake_driver.FakeDriver, ctxt: Any,
                                     flags: Callable[..., None]) -> None:
    flags(spawn_delay=0.2)
    began = time.monotonic()
    spawned(driver, ctxt)
    assert time.monotonic() - began >= 0.2


def test_destroy_removes_the_guest_and_a_missing_one_is_fine(
        driver: fake_driver.FakeDriver, ctxt: Any) -> None:
    instance = spawned(driver, ctxt)
    driver.destroy(ctxt, instance)
    assert driver.list_instance_uuids() == []
    driver.destroy(ctxt, instance)
    with pytest.raises(exception.InstanceNotFound):
        driver.get_info(instance)


def test_power_off_and_on(driver: fake_driver.FakeDriver, ctxt: Any) -> None:
    instance = spawned(driver, ctxt)
    driver.power_off(ctxt, instance)
    assert driver.get_info(instance) == power_state.SHUTDOWN
    driver.power_off(ctxt, instance)
    assert driver.get_info(instance) == power_state.SHUTDOWN
    driver.power_on(ctxt, instance)
    assert driver.get_info(instance) == power_state.RUNNING


@pytest.mark.parametrize(("operation", "state", "undo"), [
    ("pause", power_state.PAUSED, "unpause"),
    ("suspend", power_state.SUSPENDED, "resume"),
])
def test_pause_and_suspend_are_undone_to_running(
        driver: fake_driver.FakeDriver, ctxt: Any, operation: str, state: int,
        undo: str) -> None:
    instance = spawned(driver, ctxt)
    getattr(driver, operation)(ctxt, instance)
    assert driver.get_info(instance) == state
    getattr(driver, undo)(ctxt, instance)
    assert driver.get_info(instance) == power_state.RUNNING


def test_reboot_runs_a_stopped_guest(driver: fake_driver.FakeDriver, ctxt: Any) -> None:
    instance = spawned(driver, ctxt)
    driver.power_off(ctxt, instance)
    driver.reboot(ctxt, instance, virt_driver.REBOOT_HARD)
    assert driver.get_info(instance) == power_state.RUNNING


@pytest.mark.parametrize("operation", ["pause", "unpause", "suspend", "resume"])
def test_power_operations_the_state_does_not_allow_are_refused(
        driver: fake_driver.FakeDriver, ctxt: Any, operation: str) -> None:
    instance = spawned(driver, ctxt)
    driver.power_off(ctxt, instance)
    with pytest.raises(exception.InstanceInvalidState):
        getattr(driver, operation)(ctxt, instance)
    assert driver.get_info(instance) == power_state.SHUTDOWN


@pytest.mark.parametrize("operation", ["power_off", "power_on", "pause", "unpause",
                                       "suspend", "resume", "get_console_output"])
def test_operations_on_a_missing_guest_are_not_found(
        driver: fake_driver.FakeDriver, ctxt: Any, operation: str) -> None:
    with pytest.raises(exception.InstanceNotFound):
        getattr(driver, operation)(ctxt, make_instance())


def test_reboot_and_snapshot_of_a_missing_guest_are_not_found(
        driver: fake_driver.FakeDriver, ctxt: Any) -> None:
    with pytest.raises(exception.InstanceNotFound):
        driver.reboot(ctxt, make_instance(), virt_driver.REBOOT_SOFT)
    with pytest.raises(exception.InstanceNotFound):
        driver.snapshot(ctxt, make_instance(), "img-2")


def test_snapshot_is_recorded(driver: fake_driver.FakeDriver, ctxt: Any) -> None:
    instance = spawned(driver, ctxt)
    assert driver.snapshot(ctxt, instance, "img-2")["disk_format"] == "raw"
    assert driver.snapshots == {"img-2": instance.uuid}


def test_concurrent_spawns_and_destroys_keep_every_guest(
        driver: fake_driver.FakeDriver, ctxt: Any, flags: Callable[..., None]) -> None:
    flags(node_count=4, spawn_delay=0.01)
    nodes = driver.get_available_nodes()
    instances = [make_instance() for _ in range(64)]
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            instance = instances[index]
            driver.spawn(ctxt, instance, IMAGE, [], nodes[index % len(nodes)])
            driver.pause(ctxt, instance)
            driver.unpause(ctxt, instance)
            if index % 2:
                driver.destroy(ctxt, instance)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(driver.list_instance_uuids()) == sorted(
        instance.uuid for index, instance in enumerate(instances) if index % 2 == 0)
    assert sum(len(driver.list_instance_uuids(node)) for node in nodes) == 32


def test_concurrent_spawns_of_one_server_leave_one_guest(
        driver: fake_driver.FakeDriver, ctxt: Any, flags: Callable[..., None]) -> None:
    flags(spawn_delay=0.05)
    instance = make_instance()
    outcomes: list[str] = []

    def spawn() -> None:
        try:
            driver.spawn(ctxt, instance, IMAGE, [], HOST)
            outcomes.append("spawned")
        except exception.InstanceInvalidState:
            outcomes.append("refused")

    threads = [threading.Thread(target=spawn) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert outcomes.count("spawned") == 1
    assert driver.list_instance_uuids() == [instance.uuid]
