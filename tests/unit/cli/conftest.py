"""The real compute API over the real conductor manager (SQLite, no bus), served
on a loopback port so that the CLI talks HTTP to it as it would to a cloud."""

from __future__ import annotations

import threading
import wsgiref.simple_server
from collections.abc import Iterator
from typing import Any

import pytest

from kumo import policy
from kumo.api.openstack import app as compute_app
from kumo.conductor import boot
from kumo.conf import CONF
from kumo.context import get_admin_context
from tests.unit.api.conftest import StubCompute

# How long a "build" takes here: long enough for --poll to see BUILD first.
BUILD_SECONDS = 0.6


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _ThreadingServer(wsgiref.simple_server.WSGIServer):
    daemon_threads = True

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self._serve_one, args=(request, client_address),
                                  daemon=True)
        thread.start()

    def _serve_one(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        finally:
            self.shutdown_request(request)


class BuildingConductor:
    """The conductor manager; build_instances makes the servers ACTIVE a moment later,
    as scheduler and compute would."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager
        self.timers: list[threading.Timer] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.manager, name)

    def instance_create_and_build(self, ctxt: Any, values_list: list[dict[str, Any]],
                                  min_count: int, request_spec: dict[str, Any]) -> list[str]:
        # The manager's own would call its build_instances, not this double's.
        return boot.create_then_build(self, ctxt, values_list, min_count, request_spec)

    def build_instances(self, ctxt: Any, instance_uuids: list[str],
                        request_spec: dict[str, Any]) -> None:
        def finish() -> None:
            for uuid in instance_uuids:
                self.manager.instance_update(ctxt, uuid, {
                    "vm_state": "active", "task_state": None, "power_state": 1})

        timer = threading.Timer(BUILD_SECONDS, finish)
        self.timers.append(timer)
        timer.start()

    def stop(self) -> None:
        """Cancel the builds still pending (the database goes away with the test)."""
        for timer in self.timers:
            timer.cancel()
            timer.join()


@pytest.fixture
def cli_cloud(conductor_db: None) -> Iterator[str]:
    """The compute endpoint URL (``…/v2.1``) of an API with flavor m1.small and image tiny."""
    from kumo.conductor import manager

    CONF([], project="kumo", default_config_files=[], default_config_dirs=[])
    policy.reset()
    conductor = BuildingConductor(manager.ConductorManager(host="conductor-host"))
    ctxt = get_admin_context()
    conductor.flavor_create(ctxt, values={"name": "m1.small", "flavorid": "2",
                                          "memory_mb": 2048, "vcpus": 1, "root_gb": 20})
    conductor.image_create(ctxt, values={
        "name": "tiny", "status": "active", "visibility": "public", "owner": "admin",
        "size": 1024, "disk_format": "raw", "container_format": "bare"})
    app = compute_app.app_factory(conductor=conductor, compute=StubCompute(),
                                  auth_strategy="noauth2")
    server = wsgiref.simple_server.make_server("127.0.0.1", 0, app,
                                               server_class=_ThreadingServer,
                                               handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v2.1"
    finally:
        server.shutdown()
        server.server_close()
        conductor.stop()
        policy.reset()
