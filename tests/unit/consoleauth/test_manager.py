"""kumo-consoleauth: tokens live for their TTL, are checked against the server's
display on every use, and die with their server."""

from __future__ import annotations

from typing import Any

import pytest

from kumo import context, exception
from kumo.consoleauth.manager import ConsoleAuthManager
from kumo.consoleauth.tokens import TokenStore
from kumo.objects.instance import Instance

UUID = "11111111-2222-4333-8444-555555555555"


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_expires_after_its_ttl() -> None:
    clock = Clock()
    store = TokenStore(lambda: 600, clock=clock)
    store.add("t1", {"instance_uuid": UUID, "port": 1})
    clock.now += 599
    assert store.get("t1") == {"instance_uuid": UUID, "port": 1}
    clock.now += 1
    assert store.get("t1") is None
    assert len(store) == 0


def test_tokens_of_a_server_are_dropped_together() -> None:
    store = TokenStore(lambda: 600)
    store.add("a", {"instance_uuid": UUID})
    store.add("b", {"instance_uuid": UUID})
    store.add("c", {"instance_uuid": "other"})
    assert store.discard_instance(UUID) == 2
    assert (store.get("a"), store.get("b")) == (None, None)
    assert store.get("c") is not None


class StubConductor:
    def __init__(self) -> None:
        self.instances = {UUID: Instance(uuid=UUID, host="cmp1")}

    def instance_get(self, ctxt: Any, instance_uuid: str) -> Instance:
        if instance_uuid not in self.instances:
            raise exception.InstanceNotFound(instance_id=instance_uuid)
        return self.instances[instance_uuid]


class StubCompute:
    port = 5900

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []

    def validate_console_port(self, ctxt: Any, **kwargs: Any) -> bool:
        self.asked.append(kwargs)
        return kwargs["port"] == self.port


@pytest.fixture
def manager() -> ConsoleAuthManager:
    return ConsoleAuthManager(host="ca", conductor=StubConductor(), compute=StubCompute())


def _authorize(manager: ConsoleAuthManager, token: str = "tok-1", port: int = 5900) -> None:
    manager.authorize_console(context.get_admin_context(), token=token, console_type="novnc",
                              host="127.0.0.1", port=port, internal_access_path=None,
                              instance_uuid=UUID, access_url="http://x/?token=tok-1")


def test_check_token_validates_the_port_with_the_compute_host(
        manager: ConsoleAuthManager) -> None:
    ctxt = context.get_admin_context()
    _authorize(manager)
    info = manager.check_token(ctxt, token="tok-1")
    assert info is not None and (info["host"], info["port"]) == ("127.0.0.1", 5900)
    assert manager.compute.asked[-1]["host"] == "cmp1"
    assert manager.check_token(ctxt, token="nope") is None
    manager.compute.port = 5999  # the guest restarted on another port
    assert manager.check_token(ctxt, token="tok-1") is None
    manager.compute.port = 5900
    assert manager.check_token(ctxt, token="tok-1") is None  # dropped for good


def test_tokens_of_a_deleted_server_stop_working(manager: ConsoleAuthManager) -> None:
    ctxt = context.get_admin_context()
    _authorize(manager, "tok-a")
    _authorize(manager, "tok-b")
    manager.delete_tokens_for_instance(ctxt, instance_uuid=UUID)
    assert manager.check_token(ctxt, token="tok-a") is None
    _authorize(manager, "tok-c")
    del manager.conductor.instances[UUID]
    assert manager.check_token(ctxt, token="tok-c") is None


def test_token_of_a_server_moved_to_another_host_stops_working(
        manager: ConsoleAuthManager) -> None:
    # The old host's port 5900 may now be another guest's display.
    ctxt = context.get_admin_context()
    _authorize(manager)
    manager.conductor.instances[UUID] = Instance(uuid=UUID, host="cmp2")
    assert manager.check_token(ctxt, token="tok-1") is None
