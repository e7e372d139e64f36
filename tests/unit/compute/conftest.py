"""Fixtures for kumo-compute: a fake driver and a recording conductor with the contract's API."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import oslo_messaging as messaging
import pytest

from kumo import context, exception, rpc
from kumo.compute import build_guard, power_state, task_states, vm_states
from kumo.compute import manager as compute_manager
from kumo.compute import rpcapi as compute_rpcapi
from kumo.compute.build_guard import BUILD_TAKEN
from kumo.conf import CONF
from kumo.objects.compute_node import ComputeNode
from kumo.objects.instance import Instance
from kumo.objects.service import Service
from kumo.virt.fake import driver as fake_driver

HOST = "cmp1"
UNSET = object()


class StubConductor:
    """Records the calls kumo-compute makes, with the signatures of docs/compute-flow.md.

    ``instances`` plays the database: instance_get_all answers from it and a
    guarded instance_update checks against it. ``fail`` maps a method name to
    the exception its next calls raise.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.instances: dict[str, Instance] = {}
        self.fail: dict[str, BaseException] = {}
        self.service_id: int | None = None
        self.called = threading.Condition()

    def _record(self, method: str, **kwargs: Any) -> None:
        with self.called:
            self.calls.append((method, kwargs))
            self.called.notify_all()
        if method in self.fail:
            raise self.fail[method]

    def wait_for(self, method: str, timeout: float = 5.0) -> dict[str, Any]:
        """The arguments of the first call of ``method``, waiting for it if need be."""
        with self.called:
            self.called.wait_for(lambda: self.methods().count(method) > 0, timeout)
        return self.calls_of(method)[0]

    def methods(self) -> list[str]:
        return [method for method, _ in self.calls]

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.calls if name == method]

    def state_updates(self) -> list[dict[str, Any]]:
        """The instance_update calls, less the ones by which a build takes its attempt
        (kumo.compute.build_guard)."""
        return [update for update in self.calls_of("instance_update")
                if set(update["values"]) != {"system_metadata"}
                or BUILD_TAKEN not in update["values"]["system_metadata"]]

    def wait_for_state_update(self, timeout: float = 5.0) -> dict[str, Any]:
        """The first of :meth:`state_updates`, waiting for it if need be."""
        with self.called:
            self.called.wait_for(self.state_updates, timeout)
        return self.state_updates()[0]

    # -- the contract's methods ---------------------------------------------------

    def instance_action_event_start(self, ctxt: Any, instance_uuid: str, request_id: str,
                                    event: str, host: str | None = None) -> None:
        self._record("instance_action_event_start", instance_uuid=instance_uuid,
                     request_id=request_id, event=event, host=host)

    def instance_action_event_finish(self, ctxt: Any, instance_uuid: str, request_id: str,
                                     event: str, host: str | None = None,
                                     result: str | None = None,
                                     traceback: str | None = None) -> None:
        self._record("instance_action_event_finish", instance_uuid=instance_uuid,
                     request_id=request_id, event=event, host=host, result=result,
                     traceback=traceback)

    def instance_get(self, ctxt: Any, instance_uuid: str, project_id: Any = None) -> Instance:
        self._record("instance_get", instance_uuid=instance_uuid, project_id=project_id)
        if instance_uuid not in self.instances:
            raise exception.InstanceNotFound(instance_id=instance_uuid)
        return self.instances[instance_uuid]

    def instance_get_all(self, ctxt: Any, filters: dict[str, Any] | None = None,
                         sort_keys: Any = None, sort_dirs: Any = None, limit: Any = None,
                         marker: Any = None) -> list[Instance]:
        self._record("instance_get_all", filters=filters)
        host = (filters or {}).get("host")
        return [instance for instance in self.instances.values()
                if host is None or instance.host == host]

    def instance_update(self, ctxt: Any, instance_uuid: str, values: dict[str, Any],
                        expected_task_state: Any = UNSET,
                        expected_vm_state: Any = UNSET) -> Instance:
        self._record("instance_update", instance_uuid=instance_uuid, values=values,
                     expected_task_state=expected_task_state,
                     expected_vm_state=expected_vm_state)
        instance = self.instances.get(instance_uuid)
        if instance is None:
            raise exception.InstanceNotFound(instance_id=instance_uuid)
        if expected_task_state is not UNSET:
            expected = (expected_task_state if isinstance(expected_task_state, list)
                        else [expected_task_state])
            if instance.task_state not in expected:
                error = (exception.UnexpectedDeletingTaskStateError
                         if instance.task_state == task_states.DELETING
                         else exception.UnexpectedTaskStateError)
                raise error(instance_uuid=instance_uuid, expected=expected,
                            actual=instance.task_state)
        for name, value in values.items():
            if name != "launched_at":
                setattr(instance, name, value)
        return instance

    def instance_update_finishing_event(self, ctxt: Any, instance_uuid: str,
                                        values: dict[str, Any], event: dict[str, Any],
                                        **guard: Any) -> None:
        """Conductor 1.9's update + event finish in one call, recorded as the two
        calls it stands for (in their order)."""
        self.instance_update(ctxt, instance_uuid, values, **guard)
        self.instance_action_event_finish(ctxt, instance_uuid, event["request_id"],
                                          event["event"], host=event.get("host"),
                                          result=event.get("result"))

    def instance_destroy_finishing_event(self, ctxt: Any, instance_uuid: str,
                                         event: dict[str, Any]) -> None:
        """Conductor 1.9's destroy + event finish in one call, recorded as the two."""
        self.instance_destroy(ctxt, instance_uuid)
        self.instance_action_event_finish(ctxt, instance_uuid, event["request_id"],
                                          event["event"], host=event.get("host"),
                                          result=event.get("result"))

    def instance_build_take(self, ctxt: Any, instance_uuid: str, host: str, node: str,
                            token: str, event: dict[str, Any] | None = None) -> str | None:
        """Conductor 1.10's check-and-take of a build attempt with its event start,
        recorded as the three calls it stands for (in their order)."""
        if event is not None:
            self.instance_action_event_start(ctxt, instance_uuid, event["request_id"],
                                             event["event"], host=event.get("host"))
        current = self.instance_get(ctxt, instance_uuid)
        reason = build_guard.stale_reason(current, host, node, token)
        if reason is not None:
            return reason
        try:
            self.instance_update(ctxt, instance_uuid,
                                 {"system_metadata": {BUILD_TAKEN: token}},
                                 expected_task_state=task_states.SPAWNING)
        except (exception.InstanceNotFound, exception.UnexpectedTaskStateError) as error:
            return f"it changed meanwhile ({error})"
        return None

    def instance_fault_create(self, ctxt: Any, instance_uuid: str, code: int, message: str,
                              details: str | None = None, host: str | None = None) -> None:
        self._record("instance_fault_create", instance_uuid=instance_uuid, code=code,
                     message=message, details=details, host=host)

    def instance_destroy(self, ctxt: Any, instance_uuid: str) -> None:
        self._record("instance_destroy", instance_uuid=instance_uuid)
        instance = self.instances.pop(instance_uuid, None)
        if instance is None:
            raise exception.InstanceNotFound(instance_id=instance_uuid)

    def reschedule_instance(self, ctxt: Any, instance_uuid: str, host: str, node: str,
                            fault: dict[str, Any]) -> None:
        self._record("reschedule_instance", instance_uuid=instance_uuid, host=host,
                     node=node, fault=fault)

    def compute_nodes_report(self, ctxt: Any, host: str, service_id: int | None,
                             nodes: list[dict[str, Any]]) -> list[ComputeNode]:
        self._record("compute_nodes_report", host=host, service_id=service_id, nodes=nodes)
        return []

    def service_get_by_host_and_binary(self, ctxt: Any, host: str, binary: str) -> Service:
        self._record("service_get_by_host_and_binary", host=host, binary=binary)
        if self.service_id is None:
            raise exception.HostBinaryNotFound(host=host, binary=binary)
        return Service(id=self.service_id, host=host, binary=binary)


@pytest.fixture
def flags() -> Iterator[Callable[..., None]]:
    """Override options (``group`` keyword, default [fake]) until the test ends."""
    overridden: list[tuple[str, str]] = []

    def set_flags(group: str = "fake", **values: Any) -> None:
        for name, value in values.items():
            CONF.set_override(name, value, group=group)
            overridden.append((name, group))

    yield set_flags
    for name, group in overridden:
        CONF.clear_override(name, group=group)


@pytest.fixture
def conductor() -> StubConductor:
    return StubConductor()


@pytest.fixture
def driver() -> fake_driver.FakeDriver:
    fake = fake_driver.FakeDriver()
    fake.init_host(HOST)
    return fake


@pytest.fixture
def compute(conductor: StubConductor,
            driver: fake_driver.FakeDriver) -> compute_manager.ComputeManager:
    return compute_manager.ComputeManager(host=HOST, driver=driver, conductor=conductor)


def serve(topic: str, server: str | None, endpoint: Any) -> messaging.MessageHandlingServer:
    """An RPC server of ``endpoint`` on ``topic`` (the fake bus), started."""
    rpc_server = rpc.get_server(messaging.Target(topic=topic, server=server), [endpoint])
    rpc_server.start()
    return rpc_server


def stop(rpc_server: messaging.MessageHandlingServer) -> None:
    rpc_server.stop()
    rpc_server.wait()


@pytest.fixture
def compute_on_bus(fake_bus: None,
                   compute: compute_manager.ComputeManager) -> Iterator[None]:
    """The ``compute`` manager served on kumo-compute's topic for HOST."""
    rpc_server = serve(compute_rpcapi.TOPIC, HOST, compute)
    yield
    stop(rpc_server)


@pytest.fixture
def ctxt() -> context.RequestContext:
    return context.RequestContext(request_id="req-42", project_id="p1", user_id="u1")


@pytest.fixture
def make_instance(conductor: StubConductor) -> Callable[..., Instance]:
    """An instance row of this host, known to the stub conductor."""

    def make(**values: Any) -> Instance:
        fields: dict[str, Any] = {
            "uuid": str(uuid.uuid4()), "project_id": "p1", "user_id": "u1",
            "display_name": "vm", "vm_state": vm_states.BUILDING,
            "task_state": task_states.SPAWNING, "power_state": power_state.NOSTATE,
            "host": HOST, "node": HOST, "vcpus": 1, "memory_mb": 512, "root_gb": 1,
            "deleted": False,
        }
        fields.update(values)
        instance = Instance(**fields)
        conductor.instances[instance.uuid] = instance
        return instance

    return make


REQUEST_SPEC = {"project_id": "p1", "user_id": "u1", "flavor": {},
                "image": {"id": "img-1", "properties": {}, "min_ram": 0, "min_disk": 0,
                          "size": 0},
                "availability_zone": None, "num_instances": 1, "scheduler_hints": {},
                "ignore_hosts": [], "instance_group": None}
