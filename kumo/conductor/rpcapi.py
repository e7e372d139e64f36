"""Client of kumo-conductor's RPC API: the database, as other services see it.

API version history:

* 1.0 - Initial version: service_register, service_heartbeat,
  service_get_all, service_get_by_host_and_binary, service_update,
  service_destroy.
* 1.1 - The server lifecycle (docs/compute-flow.md): flavor_get_all,
  flavor_get_by_flavor_id, flavor_create, image_create, image_update,
  image_delete, image_get, image_get_all, instance_create, instance_get,
  instance_get_all, instance_update, instance_fault_create, instance_destroy,
  compute_nodes_report, compute_node_get_all, compute_node_claim,
  compute_node_release; casts build_instances and reschedule_instance.
* 1.2 - Server actions (docs/compute-flow.md "Server actions"): calls
  instance_action_start, instance_action_event_start,
  instance_action_event_finish, instance_action_get_all,
  instance_action_get_by_request_id, instance_metadata_update,
  instance_metadata_delete.
* 1.3 - Move actions (docs/compute-flow.md "Move actions"): calls
  compute_node_claim_migration, compute_node_release_migration,
  compute_node_confirm_migration; casts resize_instance, confirm_resize,
  revert_resize, unshelve_instance, live_migrate_instance.
* 1.4 - Server groups, aggregates and availability zones (rpcapi_groups.py):
  instance_group_create/get/get_all/delete/members_add, aggregate_create/get/
  get_all/update/delete/host_add/host_delete/metadata_set,
  availability_zone_get_all.
* 1.5 - Keypairs and quotas (rpcapi_quotas.py).
* 1.6 - Networks: networks, fixed/floating IPs, VIFs, security groups (rpcapi_network.py).
* 1.7 - Reconcile and lifecycle leftovers (rpcapi_lifecycle.py).
* 1.8 - Flavor management, service and hypervisor reads (rpcapi_admin.py:
  flavor_update, flavor_destroy, flavor_extra_specs_update/_delete,
  flavor_access_get_all/_add/_remove, service_get, service_delete,
  hypervisor_get_all, instance_get_active_by_window);
  server tags (rpcapi_tags.py).
* 1.9 - This session's additions (each mixin's methods say which).
* 1.10 - Additions of the 2026-11-26 (second) session (each method says which).
* 1.11 - Additions of the 2026-11-26 (third) session (each method says which).
* 1.12 - Additions of the 2026-11-26 (fourth) session (each method says which).
"""

from __future__ import annotations

from typing import Any

from kumo import rpc
from kumo.conductor.rpcapi_admin import AdminAPIMixin
from kumo.conductor.rpcapi_boot import BootAPIMixin
from kumo.conductor.rpcapi_groups import GroupsAPIMixin
from kumo.conductor.rpcapi_lifecycle import LifecycleAPIMixin
from kumo.conductor.rpcapi_metadata import MetadataAPIMixin
from kumo.conductor.rpcapi_network import NetworkAPIMixin
from kumo.conductor.rpcapi_periodic import PeriodicAPIMixin
from kumo.conductor.rpcapi_quotas import QuotasAPIMixin
from kumo.conductor.rpcapi_server_views import ServerViewsAPIMixin
from kumo.conductor.rpcapi_tags import TagsAPIMixin

TOPIC = "conductor"

#: The calls made most, sent over RabbitMQ's direct reply-to first (kumo.rpc_direct;
#: the conductor serves the same names there): kumo-api's reads, and the writes of
#: a boot and a delete (kumo-api's and kumo-compute's), each one short transaction.
DIRECT_CALLS = frozenset({
    "instance_get", "instance_get_for_view", "instance_get_all_for_view",
    "flavor_get_all", "flavor_get_by_flavor_id",
    "instance_create_and_build", "instance_build_take", "instance_update_finishing_event",
    "instance_start_delete", "instance_destroy_finishing_event"})


class _Unset:
    """The type of :data:`UNSET`."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


#: "Argument not given": instance_update sends ``expected_*`` only when the caller
#: gave one (None is a real expectation: "no task running").
UNSET: Any = _Unset()


class ConductorAPI(GroupsAPIMixin, NetworkAPIMixin, QuotasAPIMixin, AdminAPIMixin,
                   LifecycleAPIMixin, TagsAPIMixin, MetadataAPIMixin, BootAPIMixin,
                   ServerViewsAPIMixin, PeriodicAPIMixin, rpc.RPCAPIBase):
    TOPIC = TOPIC
    SERVICE = "conductor"
    VERSION = "1.12"
    # Re-sent after a conductor that took them died (kumo.rpc): guarded or whole-state
    # writes, which a second run leaves as the first did.
    IDEMPOTENT = frozenset({"instance_update", "instance_destroy", "compute_nodes_report",
                            "service_heartbeat", "boot_sources"})
    DIRECT = DIRECT_CALLS

    def service_register(self, ctxt: Any, host: str, binary: str, topic: str | None,
                         service_version: int) -> Any:
        """Create the service row of (host, binary), or return the existing one."""
        return self.call(ctxt, "service_register", {
            "host": host, "binary": binary, "topic": topic,
            "service_version": service_version})

    def service_heartbeat(self, ctxt: Any, service_id: int) -> Any:
        """Record that the service is alive now (by the conductor's clock)."""
        return self.call(ctxt, "service_heartbeat", {"service_id": service_id})

    def service_get_all(self, ctxt: Any, binary: str | None = None,
                        host: str | None = None) -> list[Any]:
        return self.call(ctxt, "service_get_all", {"binary": binary, "host": host})

    def service_get_by_host_and_binary(self, ctxt: Any, host: str, binary: str) -> Any:
        return self.call(ctxt, "service_get_by_host_and_binary",
                         {"host": host, "binary": binary})

    def service_update(self, ctxt: Any, service_id: int, values: dict[str, Any]) -> Any:
        return self.call(ctxt, "service_update", {"service_id": service_id, "values": values})

    def service_destroy(self, ctxt: Any, service_id: int) -> None:
        self.call(ctxt, "service_destroy", {"service_id": service_id})

    # --- flavors (1.1) -------------------------------------------------------------------

    def flavor_get_all(self, ctxt: Any, is_public: bool | None = None,
                       min_memory_mb: int | None = None, min_disk: int | None = None,
                       project_id: str | None = None) -> list[Any]:
        """[Flavor] ordered by flavorid; private ones only for a project with access."""
        return self.call(ctxt, "flavor_get_all", {
            "is_public": is_public, "min_memory_mb": min_memory_mb, "min_disk": min_disk,
            "project_id": project_id}, version="1.1")

    def flavor_get_by_flavor_id(self, ctxt: Any, flavor_id: str,
                                project_id: str | None = None) -> Any:
        """Flavor; raises FlavorNotFound (also for a private one the project may not use)."""
        return self.call(ctxt, "flavor_get_by_flavor_id",
                         {"flavor_id": flavor_id, "project_id": project_id}, version="1.1")

    def flavor_create(self, ctxt: Any, values: dict[str, Any]) -> Any:
        """Flavor; raises FlavorExists."""
        return self.call(ctxt, "flavor_create", {"values": values}, version="1.1")

    # --- images (1.1) --------------------------------------------------------------------

    def image_create(self, ctxt: Any, values: dict[str, Any]) -> Any:
        return self.call(ctxt, "image_create", {"values": values}, version="1.1")

    def image_update(self, ctxt: Any, image_id: str, values: dict[str, Any]) -> Any:
        """Image; ``values["properties"]``, when given, replaces the whole set."""
        return self.call(ctxt, "image_update", {"image_id": image_id, "values": values},
                         version="1.1")

    def image_delete(self, ctxt: Any, image_id: str) -> None:
        """Delete the image's metadata and its bytes in the local store."""
        self.call(ctxt, "image_delete", {"image_id": image_id}, version="1.1")

    def image_get(self, ctxt: Any, image_id: str, project_id: str | None = None) -> Any:
        """Image; raises ImageNotFound, also for one the project may not see."""
        return self.call(ctxt, "image_get", {"image_id": image_id, "project_id": project_id},
                         version="1.1")

    def image_get_all(self, ctxt: Any, project_id: str | None = None,
                      filters: dict[str, Any] | None = None) -> list[Any]:
        return self.call(ctxt, "image_get_all", {"project_id": project_id, "filters": filters},
                         version="1.1")

    # --- instances (1.1) -----------------------------------------------------------------

    def instance_create(self, ctxt: Any, values_list: list[dict[str, Any]]) -> list[Any]:
        """[Instance], one per values dict, vm_state building, task_state scheduling."""
        return self.call(ctxt, "instance_create", {"values_list": values_list}, version="1.1")

    def instance_get(self, ctxt: Any, instance_uuid: str,
                     project_id: str | None = None) -> Any:
        """Instance with metadata and the newest fault; raises InstanceNotFound."""
        return self.call(ctxt, "instance_get",
                         {"instance_uuid": instance_uuid, "project_id": project_id},
                         version="1.1")

    def instance_get_all(self, ctxt: Any, filters: dict[str, Any] | None = None,
                         sort_keys: list[str] | None = None,
                         sort_dirs: list[str] | None = None, limit: int | None = None,
                         marker: str | None = None) -> list[Any]:
        """[Instance]; raises MarkerNotFound for an unknown marker."""
        return self.call(ctxt, "instance_get_all", {
            "filters": filters, "sort_keys": sort_keys, "sort_dirs": sort_dirs,
            "limit": limit, "marker": marker}, version="1.1")

    def instance_update(self, ctxt: Any, instance_uuid: str, values: dict[str, Any],
                        expected_task_state: Any = UNSET,
                        expected_vm_state: Any = UNSET) -> Any:
        """Guarded update; raises UnexpectedTaskStateError /
        UnexpectedDeletingTaskStateError when the instance is not in an expected state."""
        args: dict[str, Any] = {"instance_uuid": instance_uuid, "values": values}
        if expected_task_state is not UNSET:
            args["expected_task_state"] = expected_task_state
        if expected_vm_state is not UNSET:
            args["expected_vm_state"] = expected_vm_state
        return self.call(ctxt, "instance_update", args, version="1.1")

    def instance_fault_create(self, ctxt: Any, instance_uuid: str, code: int,
                              message: str | None, details: str | None = None,
                              host: str | None = None) -> Any:
        return self.call(ctxt, "instance_fault_create", {
            "instance_uuid": instance_uuid, "code": code, "message": message,
            "details": details, "host": host}, version="1.1")

    def instance_destroy(self, ctxt: Any, instance_uuid: str) -> Any:
        """Soft-delete the instance and release its claim (idempotent)."""
        return self.call(ctxt, "instance_destroy", {"instance_uuid": instance_uuid},
                         version="1.1")

    # --- compute nodes (1.1) -------------------------------------------------------------

    def compute_nodes_report(self, ctxt: Any, host: str, service_id: int | None,
                             nodes: list[dict[str, Any]]) -> list[Any]:
        return self.call(ctxt, "compute_nodes_report",
                         {"host": host, "service_id": service_id, "nodes": nodes},
                         version="1.1")

    def compute_node_get_all(self, ctxt: Any, changed_since: Any = None) -> list[Any]:
        return self.call(ctxt, "compute_node_get_all", {"changed_since": changed_since},
                         version="1.1")

    def compute_node_claim(self, ctxt: Any, node_uuid: str, instance_uuid: str,
                           resources: dict[str, int], limits: dict[str, Any]) -> Any:
        """ComputeNode; raises ComputeResourcesUnavailable when it does not fit."""
        return self.call(ctxt, "compute_node_claim", {
            "node_uuid": node_uuid, "instance_uuid": instance_uuid,
            "resources": resources, "limits": limits}, version="1.1")

    def compute_node_release(self, ctxt: Any, node_uuid: str, instance_uuid: str) -> Any:
        return self.call(ctxt, "compute_node_release",
                         {"node_uuid": node_uuid, "instance_uuid": instance_uuid},
                         version="1.1")

    # --- tasks (1.1) ---------------------------------------------------------------------

    def build_instances(self, ctxt: Any, instance_uuids: list[str],
                        request_spec: dict[str, Any]) -> None:
        """Schedule and build the instances (cast)."""
        self.cast(ctxt, "build_instances",
                  {"instance_uuids": instance_uuids, "request_spec": request_spec},
                  version="1.1")

    def reschedule_instance(self, ctxt: Any, instance_uuid: str, host: str, node: str,
                            fault: dict[str, Any]) -> None:
        """A spawn on host/node failed: try the next alternate, or ERROR (cast)."""
        self.cast(ctxt, "reschedule_instance", {
            "instance_uuid": instance_uuid, "host": host, "node": node, "fault": fault},
            version="1.1")

    # --- server actions (1.2) ------------------------------------------------------------

    def instance_action_start(self, ctxt: Any, instance_uuid: str, action: str,
                              request_id: str, user_id: str | None,
                              project_id: str | None) -> dict[str, Any]:
        """Record a user's request on a server (os-instance-actions); idempotent per
        request. Raises InstanceNotFound."""
        return self.call(ctxt, "instance_action_start", {
            "instance_uuid": instance_uuid, "action": action, "request_id": request_id,
            "user_id": user_id, "project_id": project_id}, version="1.2")

    def instance_action_event_start(self, ctxt: Any, instance_uuid: str, request_id: str,
                                    event: str, host: str | None = None) -> dict[str, Any]:
        """Record that a step of the request's action began; raises InstanceActionNotFound."""
        return self.call(ctxt, "instance_action_event_start", {
            "instance_uuid": instance_uuid, "request_id": request_id, "event": event,
            "host": host}, version="1.2")

    def instance_action_event_finish(self, ctxt: Any, instance_uuid: str, request_id: str,
                                     event: str, host: str | None = None,
                                     result: str | None = None,
                                     traceback: str | None = None) -> dict[str, Any]:
        """Record how a step ended (``Success``/``Error``); raises InstanceActionNotFound."""
        return self.call(ctxt, "instance_action_event_finish", {
            "instance_uuid": instance_uuid, "request_id": request_id, "event": event,
            "host": host, "result": result, "traceback": traceback}, version="1.2")

    def instance_action_get_all(self, ctxt: Any, instance_uuid: str) -> list[dict[str, Any]]:
        """The server's actions (dicts), newest first, each with its ``events``."""
        return self.call(ctxt, "instance_action_get_all", {"instance_uuid": instance_uuid},
                         version="1.2")

    def instance_action_get_by_request_id(self, ctxt: Any, instance_uuid: str,
                                          request_id: str) -> dict[str, Any] | None:
        """The request's action (a dict with ``events``), or None."""
        return self.call(ctxt, "instance_action_get_by_request_id", {
            "instance_uuid": instance_uuid, "request_id": request_id}, version="1.2")

    def instance_metadata_update(self, ctxt: Any, instance_uuid: str,
                                 metadata: dict[str, Any],
                                 delete: bool = False) -> dict[str, Any]:
        """Set these metadata keys (``delete``: and remove all others); returns the
        server's metadata. Raises InstanceNotFound."""
        return self.call(ctxt, "instance_metadata_update", {
            "instance_uuid": instance_uuid, "metadata": metadata, "delete": delete},
            version="1.2")

    def instance_metadata_delete(self, ctxt: Any, instance_uuid: str,
                                 key: str) -> dict[str, Any]:
        """Remove one metadata key; returns the server's metadata."""
        return self.call(ctxt, "instance_metadata_delete",
                         {"instance_uuid": instance_uuid, "key": key}, version="1.2")

    # --- move actions (1.3) --------------------------------------------------------------

    def compute_node_claim_migration(self, ctxt: Any, node_uuid: str, instance_uuid: str,
                                     resources: dict[str, int],
                                     limits: dict[str, Any]) -> Any:
        """ComputeNode; the destination claim of a move, beside the server's own claim.

        Raises ComputeResourcesUnavailable when it does not fit.
        """
        return self.call(ctxt, "compute_node_claim_migration", {
            "node_uuid": node_uuid, "instance_uuid": instance_uuid,
            "resources": resources, "limits": limits}, version="1.3")

    def compute_node_release_migration(self, ctxt: Any, instance_uuid: str) -> None:
        """Give back the server's destination claim (idempotent)."""
        self.call(ctxt, "compute_node_release_migration", {"instance_uuid": instance_uuid},
                  version="1.3")

    def resize_instance(self, ctxt: Any, instance_uuid: str,
                        flavor: dict[str, Any] | None, host: str | None = None) -> None:
        """Schedule the server (in task resize_prep) elsewhere with ``flavor`` (None: a
        migration, same flavor) and move it there (cast); ``host`` (1.8, microversion
        2.56's cold migration to a named host) limits the choice to that host."""
        args: dict[str, Any] = {"instance_uuid": instance_uuid, "flavor": flavor}
        if host is None:
            self.cast(ctxt, "resize_instance", args, version="1.3")
        else:
            self.cast(ctxt, "resize_instance", {**args, "host": host}, version="1.8")

    def confirm_resize(self, ctxt: Any, instance_uuid: str) -> None:
        """Keep the resized server where it is: give back the source claim (cast)."""
        self.cast(ctxt, "confirm_resize", {"instance_uuid": instance_uuid}, version="1.3")

    def revert_resize(self, ctxt: Any, instance_uuid: str) -> None:
        """Move the resized server back to its source node and old flavor (cast)."""
        self.cast(ctxt, "revert_resize", {"instance_uuid": instance_uuid}, version="1.3")

    def unshelve_instance(self, ctxt: Any, instance_uuid: str, **destination: Any) -> None:
        """Schedule the offloaded server (in task unshelving) and start it there (cast);
        ``availability_zone`` / ``host`` (1.8, microversions 2.77 / 2.91), when given,
        say where (a zone None unpins the server)."""
        args = {"instance_uuid": instance_uuid}
        if not destination:
            self.cast(ctxt, "unshelve_instance", args, version="1.3")
        else:
            self.cast(ctxt, "unshelve_instance", {**args, **destination}, version="1.8")

    def compute_node_confirm_migration(self, ctxt: Any, instance_uuid: str) -> None:
        """The move is done: give back the source claim, keep the destination's."""
        self.call(ctxt, "compute_node_confirm_migration", {"instance_uuid": instance_uuid},
                  version="1.3")

    def live_migrate_instance(self, ctxt: Any, instance_uuid: str, host: str | None,
                              block_migration: Any) -> None:
        """Place the server (task migrating) on another node, on ``host`` if given,
        and move it there running (cast)."""
        self.cast(ctxt, "live_migrate_instance", {
            "instance_uuid": instance_uuid, "host": host,
            "block_migration": block_migration}, version="1.3")
