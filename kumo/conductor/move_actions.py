"""kumo-conductor's RPC endpoints of the move actions (resize, migrate, unshelve,
live migration).

The work is in :mod:`kumo.conductor.tasks.resize` and ``.shelve``; the destination claims in
:mod:`kumo.db.migration_claims`.
"""

from __future__ import annotations

from typing import Any

from kumo.conductor import rows
from kumo.conductor.task_pool import TaskPool
from kumo.conductor.tasks import live_migrate, resize, shelve
from kumo.db import migration_claims
from kumo.objects import compute_node as compute_node_obj


class MoveActionsMixin:
    """RPC API 1.3 of :class:`kumo.conductor.manager.ConductorManager` (docs/compute-flow.md)."""

    tasks: TaskPool  # set by ConductorManager

    def compute_node_claim_migration(self, context: Any, node_uuid: str, instance_uuid: str,
                                     resources: dict[str, int], limits: dict[str, Any]
                                     ) -> compute_node_obj.ComputeNode:
        return rows.compute_node(migration_claims.migration_claim(
            node_uuid, instance_uuid, resources, limits))

    def compute_node_release_migration(self, context: Any, instance_uuid: str) -> None:
        migration_claims.migration_claim_release(instance_uuid)

    def resize_instance(self, context: Any, instance_uuid: str,
                        flavor: dict[str, Any] | None, host: str | None = None) -> None:
        self.tasks.submit("resize_instance", context, resize.resize_instance,
                          instance_uuid, flavor, host)

    def confirm_resize(self, context: Any, instance_uuid: str) -> None:
        self.tasks.submit("confirm_resize", context, resize.confirm_resize, instance_uuid)

    def revert_resize(self, context: Any, instance_uuid: str) -> None:
        self.tasks.submit("revert_resize", context, resize.revert_resize, instance_uuid)

    def unshelve_instance(self, context: Any, instance_uuid: str,
                          **destination: Any) -> None:
        # 1.8: "availability_zone" and/or "host" (2.77/2.91), only the ones asked for.
        self.tasks.submit("unshelve_instance", context, shelve.unshelve_instance,
                          instance_uuid, destination)

    def live_migrate_instance(self, context: Any, instance_uuid: str, host: str | None,
                              block_migration: Any) -> None:
        self.tasks.submit("live_migrate_instance", context,
                          live_migrate.live_migrate_instance, instance_uuid, host,
                          block_migration)

    def compute_node_confirm_migration(self, context: Any, instance_uuid: str) -> None:
        migration_claims.migration_claim_confirm(instance_uuid)
