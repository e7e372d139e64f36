"""LifecycleSync: which lifecycle events turn into a one-server power-state sync."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from kumo import exception, objects
from kumo.compute import manager as compute_manager
from kumo.compute import task_states, vm_states
from kumo.objects.instance import Instance
from kumo.virt.libvirt import power_sync

objects.register_all()

HOST = "cmp1"


class Conductor:
    """The one conductor call the listener makes, answered from a dict."""

    def __init__(self, instances: dict[str, Instance]) -> None:
        self.instances = instances

    def instance_get(self, ctxt: Any, instance_uuid: str) -> Instance:
        try:
            return self.instances[instance_uuid]
        except KeyError:
            raise exception.InstanceNotFound(instance_id=instance_uuid) from None


class Manager:
    """What LifecycleSync uses of kumo-compute's manager: host, conductor, the sync
    (the real choice of idle servers over a recording one-server sync)."""

    _sync_idle_power_state = compute_manager.ComputeManager._sync_idle_power_state

    def __init__(self, instances: dict[str, Instance]) -> None:
        self.host = HOST
        self.conductor = Conductor(instances)
        self.synced: list[str] = []

    def _sync_power_state(self, ctxt: Any, instance: Instance) -> None:
        self.synced.append(instance.uuid)


def _instance(**values: Any) -> Instance:
    fields = dict(uuid=str(uuid.uuid4()), host=HOST, vm_state=vm_states.ACTIVE,
                  task_state=None, power_state=1)
    fields.update(values)
    return Instance(**fields)


@pytest.fixture
def servers() -> dict[str, Instance]:
    return {i.uuid: i for i in (
        _instance(display_name="idle"),
        _instance(display_name="busy", task_state=task_states.POWERING_OFF),
        _instance(display_name="elsewhere", host="cmp2"),
        _instance(display_name="building", vm_state=vm_states.BUILDING),
    )}


def _by_name(servers: dict[str, Instance], name: str) -> str:
    return next(u for u, i in servers.items() if i.display_name == name)


def test_only_idle_servers_of_this_host_are_synced(servers) -> None:
    manager = Manager(servers)
    listener = power_sync.LifecycleSync(manager)
    for server_uuid in [*servers, str(uuid.uuid4())]:  # and one the database lacks
        listener(server_uuid, 4)
    listener.stop_and_wait()
    assert manager.synced == [_by_name(servers, "idle")]


def test_a_failing_sync_does_not_stop_later_events(servers) -> None:
    manager = Manager(servers)
    calls: list[str] = []

    def flaky(ctxt: Any, instance: Instance) -> None:
        calls.append(instance.uuid)
        if len(calls) == 1:
            raise exception.UnexpectedTaskStateError(
                instance_uuid=instance.uuid, expected=None, actual="x")

    manager._sync_power_state = flaky  # type: ignore[method-assign]
    listener = power_sync.LifecycleSync(manager)
    idle = _by_name(servers, "idle")
    listener(idle, 4)
    listener(idle, 1)
    listener.stop_and_wait()
    assert calls == [idle, idle]
