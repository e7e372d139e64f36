"""kumo-conductor's RPC endpoint: database access on behalf of other services, and tasks.

The endpoint checks and converts; the queries live in ``kumo.db``, the
orchestration (build, reschedule) in :mod:`kumo.conductor.tasks`.
"""

from __future__ import annotations

from typing import Any

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log as logging

from kumo import exception, manager
from kumo.conductor import rows, task_pool
from kumo.conductor.admin import AdminMixin
from kumo.conductor.boot import BootMixin, drop_shelve_snapshot, update_guard
from kumo.conductor.groups import GroupsMixin
from kumo.conductor.lifecycle import LifecycleMixin
from kumo.conductor.metadata import MetadataMixin
from kumo.conductor.move_actions import MoveActionsMixin
from kumo.conductor.network import NetworkMixin
from kumo.conductor.periodic import PeriodicMixin
from kumo.conductor.quotas import QuotasMixin
from kumo.conductor.rpcapi import DIRECT_CALLS, UNSET
from kumo.conductor.server_actions import ServerActionsMixin
from kumo.conductor.server_views import ServerViewsMixin
from kumo.conductor.tags import TagsMixin
from kumo.conductor.tasks import build
from kumo.db import api as db
from kumo.db import compute_nodes as compute_node_db
from kumo.db import flavors as flavor_db
from kumo.db import images as image_db
from kumo.db import instance_groups as group_db
from kumo.db import instances as instance_db
from kumo.image import api as image_api
from kumo.image import local as image_store
from kumo.objects import compute_node as compute_node_obj
from kumo.objects import flavor as flavor_obj
from kumo.objects import image as image_obj
from kumo.objects import instance as instance_obj
from kumo.objects import service as service_obj

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

# Values a service may change on its own row through service_update.
_UPDATABLE_SERVICE_FIELDS = frozenset(
    {"disabled", "disabled_reason", "forced_down", "topic", "version"}
)


class ConductorManager(ServerActionsMixin, MoveActionsMixin, GroupsMixin, NetworkMixin,
                       QuotasMixin, AdminMixin, LifecycleMixin, TagsMixin, MetadataMixin,
                       BootMixin, ServerViewsMixin, PeriodicMixin, manager.Manager):
    target = messaging.Target(version="1.12")
    #: Served over the direct path too (kumo.service, kumo.rpc_direct).
    DIRECT_CALLS = DIRECT_CALLS

    def __init__(self, host: str | None = None, binary: str | None = None) -> None:
        super().__init__(host=host, binary=binary)
        self.tasks = task_pool.TaskPool(CONF.conductor.task_workers)
        # One facade (and so one Glance client and session) for every image call.
        self.images = image_api.ImageAPI(conductor=self)

    def cleanup_host(self) -> None:
        # Tasks already started are work in flight: the stop waits for them
        # (within graceful_shutdown_timeout).
        self.tasks.shutdown()
        super().cleanup_host()

    # --- services (1.0) ------------------------------------------------------------------

    def service_register(self, context: Any, host: str, binary: str, topic: str | None,
                         service_version: int) -> service_obj.Service:
        service = self._service_register(host, binary, topic, service_version)
        if binary == "kumo-compute":
            compute_node_db.compute_nodes_adopt(host, service.id)
        return service

    def _service_register(self, host: str, binary: str, topic: str | None,
                          service_version: int) -> service_obj.Service:
        try:
            row = db.service_get_by_host_and_binary(host, binary)
        except exception.HostBinaryNotFound:
            try:
                row = db.service_create(
                    {"host": host, "binary": binary, "topic": topic,
                     "version": service_version}
                )
                LOG.info("Registered service %s on %s", binary, host)
                return service_obj.Service.from_row(row)
            except exception.ServiceExists:
                # Another process of the same host and binary won the race.
                row = db.service_get_by_host_and_binary(host, binary)
        if row["topic"] != topic or row["version"] != service_version:
            row = db.service_update(row["id"], {"topic": topic, "version": service_version})
        return service_obj.Service.from_row(row)

    def service_heartbeat(self, context: Any, service_id: int) -> service_obj.Service:
        return service_obj.Service.from_row(db.service_heartbeat(service_id))

    def service_get_all(self, context: Any, binary: str | None = None,
                        host: str | None = None) -> list[service_obj.Service]:
        rows_ = db.service_get_all(binary=binary, host=host)
        return [service_obj.Service.from_row(row) for row in rows_]

    def service_get_by_host_and_binary(self, context: Any, host: str,
                                       binary: str) -> service_obj.Service:
        return service_obj.Service.from_row(db.service_get_by_host_and_binary(host, binary))

    def service_update(self, context: Any, service_id: int,
                       values: dict[str, Any]) -> service_obj.Service:
        unknown = set(values) - _UPDATABLE_SERVICE_FIELDS
        if unknown:
            raise exception.Invalid(reason=f"cannot update service fields {sorted(unknown)}")
        return service_obj.Service.from_row(db.service_update(service_id, values))

    def service_destroy(self, context: Any, service_id: int) -> None:
        db.service_destroy(service_id)

    # --- flavors (1.1) -------------------------------------------------------------------

    def flavor_get_all(self, context: Any, is_public: bool | None = None,
                       min_memory_mb: int | None = None, min_disk: int | None = None,
                       project_id: str | None = None) -> list[flavor_obj.Flavor]:
        return [rows.flavor(row) for row in flavor_db.flavor_get_all(
            is_public=is_public, min_memory_mb=min_memory_mb, min_disk=min_disk,
            project_id=project_id)]

    def flavor_get_by_flavor_id(self, context: Any, flavor_id: str,
                                project_id: str | None = None) -> flavor_obj.Flavor:
        return rows.flavor(flavor_db.flavor_get_by_flavor_id(flavor_id, project_id=project_id))

    def flavor_create(self, context: Any, values: dict[str, Any]) -> flavor_obj.Flavor:
        return rows.flavor(flavor_db.flavor_create(rows.plain(values)))

    # --- images (1.1) --------------------------------------------------------------------

    def image_create(self, context: Any, values: dict[str, Any]) -> image_obj.Image:
        return rows.image(image_db.image_create(rows.plain(values)))

    def image_update(self, context: Any, image_id: str,
                     values: dict[str, Any]) -> image_obj.Image:
        return rows.image(image_db.image_update(image_id, rows.plain(values)))

    # With [image] backend = glance the reads and deletes go to Glance: a boot, a
    # rebuild or an unshelve then uses Glance's images, and a deleted server's
    # shelved snapshot is deleted there.

    def image_delete(self, context: Any, image_id: str) -> None:
        glance = self.images.glance
        if glance is not None:
            glance.delete(context, image_id)
            return
        image_db.image_delete(image_id)
        image_store.LocalStore().delete(image_id)

    def image_get(self, context: Any, image_id: str,
                  project_id: str | None = None) -> image_obj.Image:
        glance = self.images.glance
        if glance is not None:
            return rows.image(glance.show(context, image_id, project_id=project_id))
        return rows.image(image_db.image_get(image_id, project_id=project_id))

    def image_get_all(self, context: Any, project_id: str | None = None,
                      filters: dict[str, Any] | None = None) -> list[image_obj.Image]:
        glance = self.images.glance
        if glance is not None:
            return [rows.image(image) for image in
                    glance.list(context, project_id=project_id, filters=filters)]
        return [rows.image(row) for row in image_db.image_get_all(project_id, filters)]

    # --- instances (1.1) -----------------------------------------------------------------

    def instance_create(self, context: Any, values_list: list[dict[str, Any]]
                        ) -> list[instance_obj.Instance]:
        return [rows.instance(row) for row in
                instance_db.instance_create([rows.plain(v) for v in values_list])]

    def instance_get(self, context: Any, instance_uuid: str,
                     project_id: str | None = None) -> instance_obj.Instance:
        return rows.instance(instance_db.instance_get(instance_uuid, project_id=project_id))

    def instance_get_all(self, context: Any, filters: dict[str, Any] | None = None,
                         sort_keys: list[str] | None = None,
                         sort_dirs: list[str] | None = None, limit: int | None = None,
                         marker: str | None = None) -> list[instance_obj.Instance]:
        return [rows.instance(row) for row in instance_db.instance_get_all(
            filters=filters, sort_keys=sort_keys, sort_dirs=sort_dirs, limit=limit,
            marker=marker)]

    def instance_update(self, context: Any, instance_uuid: str, values: dict[str, Any],
                        expected_task_state: Any = UNSET,
                        expected_vm_state: Any = UNSET) -> instance_obj.Instance:
        guard = update_guard(expected_task_state, expected_vm_state)
        return rows.instance(
            instance_db.instance_update(instance_uuid, rows.plain(values), **guard))

    def instance_fault_create(self, context: Any, instance_uuid: str, code: int,
                              message: str | None, details: str | None = None,
                              host: str | None = None) -> instance_obj.InstanceFault:
        return rows.fault(instance_db.instance_fault_create(
            instance_uuid, code, message, details=details, host=host))

    def instance_destroy(self, context: Any, instance_uuid: str) -> instance_obj.Instance:
        instance = rows.instance(instance_db.instance_destroy(instance_uuid))
        group_db.members_delete_by_instance(instance_uuid)
        drop_shelve_snapshot(self, context, instance_uuid, instance.system_metadata)
        return instance

    # --- compute nodes (1.1) -------------------------------------------------------------

    def compute_nodes_report(self, context: Any, host: str, service_id: int | None,
                             nodes: list[dict[str, Any]]
                             ) -> list[compute_node_obj.ComputeNode]:
        if service_id is None:
            # kumo-compute reports before its first heartbeat registered it.
            try:
                service_id = db.service_get_by_host_and_binary(host, "kumo-compute")["id"]
            except exception.HostBinaryNotFound:
                service_id = None
        return [rows.compute_node(row) for row in
                compute_node_db.compute_nodes_report(host, service_id, nodes)]

    def compute_node_get_all(self, context: Any, changed_since: Any = None
                             ) -> list[compute_node_obj.ComputeNode]:
        return [rows.compute_node(row) for row in
                compute_node_db.compute_node_get_all(changed_since=changed_since)]

    def compute_node_claim(self, context: Any, node_uuid: str, instance_uuid: str,
                           resources: dict[str, int], limits: dict[str, Any]
                           ) -> compute_node_obj.ComputeNode:
        return rows.compute_node(compute_node_db.compute_node_claim(
            node_uuid, instance_uuid, resources, limits))

    def compute_node_release(self, context: Any, node_uuid: str,
                             instance_uuid: str) -> compute_node_obj.ComputeNode:
        return rows.compute_node(compute_node_db.compute_node_release(node_uuid, instance_uuid))

    # --- tasks (1.1) ---------------------------------------------------------------------

    def build_instances(self, context: Any, instance_uuids: list[str],
                        request_spec: dict[str, Any]) -> None:
        self.tasks.submit("build_instances", context, build.build_instances,
                          instance_uuids, request_spec)

    def reschedule_instance(self, context: Any, instance_uuid: str, host: str, node: str,
                            fault: dict[str, Any]) -> None:
        self.tasks.submit("reschedule_instance", context, build.reschedule_instance,
                          instance_uuid, host, node, fault)
