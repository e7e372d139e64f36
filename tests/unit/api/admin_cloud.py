"""A compute API over the real conductor served on the fake bus, for the admin
resources' tests (flavors, services, hypervisors, usage)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import oslo_messaging as messaging
import pytest
import sqlalchemy as sa
import webob

from kumo.api.openstack import api_version
from kumo.api.openstack import app as compute_app
from kumo.conductor import manager as conductor_manager
from kumo.conductor import rpcapi as conductor_rpcapi
from kumo.context import get_admin_context
from kumo.db import api as db
from kumo.db import instances as instance_db
from kumo.db import models
from tests.unit.api.conftest import StubCompute
from tests.unit.api.conftest import call as _call

ADMIN = "admin:admin-project"
MEMBER = "alice:project-a"


class Cloud:
    """The API, the conductor client it uses, and direct database helpers."""

    def __init__(self, api: compute_app.ComputeAPI,
                 conductor: conductor_rpcapi.ConductorAPI) -> None:
        self.api = api
        self.conductor = conductor
        self.ctxt = get_admin_context()

    def call(self, method: str, path: str, body: Any = None, token: str | None = ADMIN,
             version: str | None = None) -> webob.Response:
        headers = {"OpenStack-API-Version": f"compute {version}"} if version else {}
        return _call(self.api, method, path, body, token=token, **headers)

    def add_service(self, host: str, binary: str = "kumo-compute", **values: Any
                    ) -> dict[str, Any]:
        row = db.service_create({"host": host, "binary": binary, "topic": binary})
        db.service_heartbeat(row["id"])
        if values:
            row = db.service_update(row["id"], values)
        return row

    def add_node(self, host: str, name: str, service_id: int | None, **values: Any
                 ) -> dict[str, Any]:
        report = {"hypervisor_hostname": name, "vcpus": 8, "memory_mb": 16384,
                  "local_gb": 100, "hypervisor_type": "fake", "hypervisor_version": 1000,
                  "cpu_info": {"arch": "x86_64"}, "host_ip": "192.0.2.1", **values}
        return self.conductor.compute_nodes_report(self.ctxt, host, service_id, [report])[0]

    def add_server(self, project_id: str = "project-a", host: str | None = "cmp1",
                   node: str | None = "cmp1-node", launched_at: datetime.datetime | None = None,
                   terminated_at: datetime.datetime | None = None, deleted: bool = False,
                   **values: Any) -> dict[str, Any]:
        flavor = {"flavorid": "1", "name": "m1.tiny", "memory_mb": 512, "vcpus": 1,
                  "root_gb": 1, "ephemeral_gb": 0, "swap": 0}
        defaults: dict[str, Any] = {
            "project_id": project_id, "user_id": "alice", "display_name": "web",
            "vm_state": "active", "host": host, "node": node, "memory_mb": 512, "vcpus": 1,
            "root_gb": 1, "ephemeral_gb": 0, "flavor": flavor, "launched_at": launched_at,
            "terminated_at": terminated_at}
        defaults.update(values)
        [instance] = instance_db.instance_create([defaults])
        if deleted:
            instance_db.instance_destroy(instance["uuid"])
            instances = models.Instance.__table__
            with db.session() as db_session:
                db_session.execute(sa.update(instances).where(
                    instances.c.uuid == instance["uuid"]).values(terminated_at=terminated_at))
        return instance


def make_cloud(rpc_servers: Callable[[messaging.Target, list[Any]], None]) -> Cloud:
    """Serve a conductor (its database must be set up) and build the API over its client."""
    rpc_servers(messaging.Target(topic=conductor_rpcapi.TOPIC, server="conductor-host"),
                [conductor_manager.ConductorManager(host="conductor-host")])
    conductor = conductor_rpcapi.ConductorAPI()
    api = compute_app.app_factory(conductor=conductor, compute=StubCompute(),
                                  auth_strategy="noauth2")
    return Cloud(api, conductor)


@pytest.fixture(name="cloud")
def cloud_fixture(conductor_db: None, rpc_servers: Callable[..., None],
          monkeypatch: pytest.MonkeyPatch) -> Cloud:
    # These resources implement their microversions ahead of the declared maximum.
    monkeypatch.setattr(api_version, "MAX", api_version.APIVersion("2.104"))
    return make_cloud(rpc_servers)
