"""kumo-conductor's endpoint methods for kumo-network's data (RPC API 1.6):
networks, fixed IPs and virtual interfaces, and the instances' info caches.

Mixed into :class:`kumo.conductor.manager.ConductorManager`; the queries (and
the guarded allocation) live in :mod:`kumo.db.networks`.
"""

from __future__ import annotations

from typing import Any

from kumo.conductor import rows
from kumo.db import floating_ips as floating_db
from kumo.db import network_quotas as network_quota_db
from kumo.db import networks as network_db
from kumo.db import security_groups as secgroup_db


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row as JSON-able values (datetimes as ISO 8601 text, naive UTC)."""
    return {key: value.isoformat() if hasattr(value, "isoformat") else value
            for key, value in row.items()}


class NetworkMixin:
    """Networks, fixed IPs, VIFs and info caches (1.6)."""

    def network_create(self, context: Any, values: dict[str, Any]) -> dict[str, Any]:
        return _plain(network_db.network_create(rows.plain(values)))

    def network_get(self, context: Any, network_uuid: str) -> dict[str, Any]:
        return _plain(network_db.network_get(network_uuid))

    def network_get_all(self, context: Any, project_id: str | None = None,
                        include_shared: bool = True) -> list[dict[str, Any]]:
        return [_plain(row) for row in network_db.network_get_all(project_id, include_shared)]

    def network_delete(self, context: Any, network_uuid: str) -> None:
        network_db.network_delete(network_uuid)

    def network_associate(self, context: Any, network_uuid: str,
                          values: dict[str, Any]) -> dict[str, Any]:
        return _plain(network_db.network_associate(network_uuid, values))

    def network_add_to_project(self, context: Any, project_id: str,
                               network_uuid: str | None = None) -> dict[str, Any]:
        return _plain(network_db.network_add_to_project(project_id, network_uuid))

    def network_get_or_create_for_project(self, context: Any, project_id: str,
                                          values: dict[str, Any]) -> dict[str, Any]:
        return _plain(network_db.project_vlan_network(project_id, rows.plain(values)))

    def fixed_ip_allocate(self, context: Any, instance_uuid: str, network_uuid: str,
                          host: str | None = None, address: str | None = None,
                          mac: str | None = None) -> dict[str, Any]:
        return _plain(network_db.fixed_ip_allocate(instance_uuid, network_uuid, host=host,
                                                   address=address, mac=mac))

    def fixed_ips_get_all(self, context: Any, network_uuid: str | None = None,
                          allocated_only: bool = True) -> list[dict[str, Any]]:
        return [_plain(row) for row in network_db.fixed_ips_get_all(network_uuid,
                                                                    allocated_only)]

    def instance_network_info(self, context: Any, instance_uuid: str) -> list[dict[str, Any]]:
        return network_db.instance_network_info(instance_uuid)

    def network_deallocate_for_instance(self, context: Any, instance_uuid: str) -> list[str]:
        return network_db.deallocate_for_instance(instance_uuid)

    def instance_info_cache_update(self, context: Any, instance_uuid: str,
                                   network_info: list[dict[str, Any]]) -> None:
        network_db.info_cache_update(instance_uuid, rows.plain(network_info))

    def instance_info_cache_get(self, context: Any,
                                instance_uuids: list[str]) -> dict[str, list[dict[str, Any]]]:
        return network_db.info_cache_get(list(instance_uuids))

    def fixed_ip_get_by_address(self, context: Any, address: str) -> dict[str, Any]:
        return _plain(network_db.fixed_ip_get_by_address(address))

    def fixed_ip_set_reserved(self, context: Any, address: str,
                              reserved: bool) -> dict[str, Any]:
        return _plain(network_db.fixed_ip_set_reserved(address, reserved))

    def fixed_ip_disassociate_all_by_timeout(self, context: Any, timeout: int) -> int:
        return network_db.fixed_ip_disassociate_all_by_timeout(timeout)

    def network_quota_usage(self, context: Any, project_id: str,
                            user_id: str | None = None) -> dict[str, int]:
        return network_quota_db.usage(project_id, user_id)

    # -- floating IPs ---------------------------------------------------------------------

    def floating_ip_bulk_create(self, context: Any, pool: str, ip_range: str,
                                interface: str | None = None) -> list[dict[str, Any]]:
        return [_plain(r) for r in floating_db.floating_ip_bulk_create(pool, ip_range,
                                                                       interface)]

    def floating_ip_bulk_destroy(self, context: Any, ip_range: str) -> int:
        return floating_db.floating_ip_bulk_destroy(ip_range)

    def floating_ip_get_all(self, context: Any,
                            project_id: str | None = None) -> list[dict[str, Any]]:
        return [_plain(r) for r in floating_db.floating_ip_get_all(project_id)]

    def floating_ip_get(self, context: Any, address: str,
                        project_id: str | None = None) -> dict[str, Any]:
        return _plain(floating_db.floating_ip_get(address, project_id))

    def floating_ip_pools(self, context: Any) -> list[str]:
        return floating_db.floating_ip_pools()

    def floating_ip_allocate(self, context: Any, project_id: str,
                             pool: str) -> dict[str, Any]:
        return _plain(floating_db.floating_ip_allocate(project_id, pool))

    def floating_ip_associate(self, context: Any, address: str, project_id: str,
                              instance_uuid: str, fixed_address: str | None = None,
                              host: str | None = None) -> dict[str, Any]:
        return _plain(floating_db.floating_ip_associate(address, project_id, instance_uuid,
                                                        fixed_address, host))

    def floating_ip_disassociate(self, context: Any, address: str,
                                 project_id: str | None = None) -> dict[str, Any]:
        return _plain(floating_db.floating_ip_disassociate(address, project_id))

    def floating_ip_deallocate(self, context: Any, address: str,
                               project_id: str | None = None) -> None:
        floating_db.floating_ip_deallocate(address, project_id)

    # -- security groups ------------------------------------------------------------------

    def security_group_create(self, context: Any, project_id: str, name: str,
                              description: str | None = None,
                              user_id: str | None = None) -> dict[str, Any]:
        return _plain(secgroup_db.security_group_create(project_id, name, description,
                                                        user_id))

    def security_group_ensure_default(self, context: Any, project_id: str,
                                      user_id: str | None = None) -> dict[str, Any]:
        return _plain(secgroup_db.security_group_ensure_default(project_id, user_id))

    def security_group_get(self, context: Any, group_id: int,
                           project_id: str | None = None) -> dict[str, Any]:
        return _plain(secgroup_db.security_group_get(group_id, project_id))

    def security_group_get_all(self, context: Any,
                               project_id: str | None = None) -> list[dict[str, Any]]:
        return [_plain(g) for g in secgroup_db.security_group_get_all(project_id)]

    def security_group_update(self, context: Any, group_id: int, values: dict[str, Any],
                              project_id: str | None = None) -> dict[str, Any]:
        return _plain(secgroup_db.security_group_update(group_id, rows.plain(values),
                                                        project_id))

    def security_group_delete(self, context: Any, group_id: int,
                              project_id: str | None = None) -> None:
        secgroup_db.security_group_delete(group_id, project_id)

    def security_group_rule_create(self, context: Any,
                                   values: dict[str, Any]) -> dict[str, Any]:
        return _plain(secgroup_db.security_group_rule_create(rows.plain(values)))

    def security_group_rule_get(self, context: Any, rule_id: int) -> dict[str, Any]:
        return _plain(secgroup_db.security_group_rule_get(rule_id))

    def security_group_rule_delete(self, context: Any, rule_id: int) -> None:
        secgroup_db.security_group_rule_delete(rule_id)

    def security_group_add_instance(self, context: Any, group_id: int,
                                    instance_uuid: str) -> None:
        secgroup_db.security_group_add_instance(group_id, instance_uuid)

    def security_groups_by_name(self, context: Any, project_id: str, names: list[str],
                                user_id: str | None = None) -> list[dict[str, Any]]:
        return [_plain(g) for g in secgroup_db.security_groups_by_name(
            project_id, list(names), user_id)]

    def security_group_add_instances(self, context: Any, group_ids: list[int],
                                     instance_uuids: list[str]) -> None:
        secgroup_db.security_group_add_instances(list(group_ids), list(instance_uuids))

    def security_group_remove_instance(self, context: Any, group_id: int,
                                       instance_uuid: str) -> None:
        secgroup_db.security_group_remove_instance(group_id, instance_uuid)

    def security_groups_of_instance(self, context: Any,
                                    instance_uuid: str) -> list[dict[str, Any]]:
        return [_plain(g) for g in secgroup_db.security_groups_of_instance(instance_uuid)]

    def instance_firewalls(self, context: Any) -> list[dict[str, Any]]:
        return secgroup_db.instance_firewalls()
