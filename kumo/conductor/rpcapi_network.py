"""Client methods of kumo-conductor for kumo-network's data (RPC API 1.6).

Mixed into :class:`kumo.conductor.rpcapi.ConductorAPI`; the endpoint is
:class:`kumo.conductor.network.NetworkMixin`. Rows come back as dicts.
"""

from __future__ import annotations

from typing import Any

VERSION = "1.6"


class NetworkAPIMixin:
    """Networks, fixed IPs, VIFs and info caches."""

    call: Any

    def network_create(self, ctxt: Any, values: dict[str, Any]) -> dict[str, Any]:
        """Create a network and its fixed IPs; raises NetworkExists, Invalid."""
        return self.call(ctxt, "network_create", {"values": values}, version=VERSION)

    def network_get(self, ctxt: Any, network_uuid: str) -> dict[str, Any]:
        """Raises NetworkNotFound."""
        return self.call(ctxt, "network_get", {"network_uuid": network_uuid},
                         version=VERSION)

    def network_get_all(self, ctxt: Any, project_id: str | None = None,
                        include_shared: bool = True) -> list[dict[str, Any]]:
        """Every network, or a project's (with shared ones unless told otherwise)."""
        return self.call(ctxt, "network_get_all", {"project_id": project_id,
                                                   "include_shared": include_shared},
                         version=VERSION)

    def network_delete(self, ctxt: Any, network_uuid: str) -> None:
        """Raises NetworkNotFound, NetworkInUse."""
        return self.call(ctxt, "network_delete", {"network_uuid": network_uuid},
                         version=VERSION)

    def network_get_or_create_for_project(self, ctxt: Any, project_id: str,
                                          values: dict[str, Any]) -> dict[str, Any]:
        """The project's VLAN network, made on first use (see kumo.db.networks)."""
        return self.call(ctxt, "network_get_or_create_for_project",
                         {"project_id": project_id, "values": values}, version=VERSION)

    def fixed_ip_allocate(self, ctxt: Any, instance_uuid: str, network_uuid: str,
                          host: str | None = None, address: str | None = None,
                          mac: str | None = None) -> dict[str, Any]:
        """A VIF with a fixed IP for the instance on the network (idempotent); raises
        NoMoreFixedIps, FixedIpAlreadyInUse, FixedIpNotFoundForNetwork."""
        return self.call(ctxt, "fixed_ip_allocate", {
            "instance_uuid": instance_uuid, "network_uuid": network_uuid, "host": host,
            "address": address, "mac": mac}, version=VERSION)

    def fixed_ips_get_all(self, ctxt: Any, network_uuid: str | None = None,
                          allocated_only: bool = True) -> list[dict[str, Any]]:
        """Fixed IPs with ``network_uuid``, ``mac`` and ``instance_hostname``."""
        return self.call(ctxt, "fixed_ips_get_all", {"network_uuid": network_uuid,
                                                     "allocated_only": allocated_only},
                         version=VERSION)

    def instance_network_info(self, ctxt: Any, instance_uuid: str) -> list[dict[str, Any]]:
        """The instance's VIFs as network_info."""
        return self.call(ctxt, "instance_network_info", {"instance_uuid": instance_uuid},
                         version=VERSION)

    def network_deallocate_for_instance(self, ctxt: Any, instance_uuid: str) -> list[str]:
        """Release everything of the instance; the uuids of the networks it was on."""
        return self.call(ctxt, "network_deallocate_for_instance",
                         {"instance_uuid": instance_uuid}, version=VERSION)

    def instance_info_cache_update(self, ctxt: Any, instance_uuid: str,
                                   network_info: list[dict[str, Any]]) -> None:
        return self.call(ctxt, "instance_info_cache_update", {
            "instance_uuid": instance_uuid, "network_info": network_info}, version=VERSION)

    def instance_info_cache_get(self, ctxt: Any,
                                instance_uuids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """``{uuid: network_info}`` for the instances (empty lists when unknown)."""
        return self.call(ctxt, "instance_info_cache_get", {"instance_uuids": instance_uuids},
                         version=VERSION)

    def fixed_ip_get_by_address(self, ctxt: Any, address: str) -> dict[str, Any]:
        """A fixed IP with ``cidr`` and ``instance_hostname``; raises NotFound."""
        return self.call(ctxt, "fixed_ip_get_by_address", {"address": address},
                         version=VERSION)

    def fixed_ip_set_reserved(self, ctxt: Any, address: str, reserved: bool) -> dict[str, Any]:
        """Reserve or unreserve a free fixed IP; raises FixedIpAlreadyInUse, NotFound."""
        return self.call(ctxt, "fixed_ip_set_reserved", {"address": address,
                                                         "reserved": reserved},
                         version=VERSION)

    def fixed_ip_disassociate_all_by_timeout(self, ctxt: Any, timeout: int) -> int:
        """1.10: disassociate released fixed IPs held longer than ``timeout`` s."""
        return self.call(ctxt, "fixed_ip_disassociate_all_by_timeout",
                         {"timeout": timeout}, version="1.10")

    def network_quota_usage(self, ctxt: Any, project_id: str,
                            user_id: str | None = None) -> dict[str, int]:
        """1.10: ``floating_ips``, ``security_groups`` and ``security_group_rules``
        in use by the project (os-quota-sets detail)."""
        return self.call(ctxt, "network_quota_usage",
                         {"project_id": project_id, "user_id": user_id}, version="1.10")

    def floating_ip_bulk_create(self, ctxt: Any,
            pool: str, ip_range: str, interface: str | None = None) -> Any:
        """Add a CIDR's host addresses to a pool; raises Conflict."""
        return self.call(ctxt, "floating_ip_bulk_create", {
            "pool": pool, "ip_range": ip_range, "interface": interface}, version=VERSION)

    def floating_ip_bulk_destroy(self, ctxt: Any, ip_range: str) -> Any:
        """Remove a range's unallocated floating IPs; how many."""
        return self.call(ctxt, "floating_ip_bulk_destroy", {"ip_range": ip_range}, version=VERSION)

    def floating_ip_get_all(self, ctxt: Any, project_id: str | None = None) -> Any:
        """Floating IPs, with ``fixed_ip``/``instance_uuid`` when associated."""
        return self.call(ctxt, "floating_ip_get_all", {"project_id": project_id}, version=VERSION)

    def floating_ip_get(self, ctxt: Any, address: str, project_id: str | None = None) -> Any:
        """Raises NotFound."""
        return self.call(ctxt, "floating_ip_get", {
            "address": address, "project_id": project_id}, version=VERSION)

    def floating_ip_pools(self, ctxt: Any) -> Any:
        """The pool names."""
        return self.call(ctxt, "floating_ip_pools", {}, version=VERSION)

    def floating_ip_allocate(self, ctxt: Any, project_id: str, pool: str) -> Any:
        """A free address of the pool for the project (guarded); NotFound when none."""
        return self.call(ctxt, "floating_ip_allocate", {
            "project_id": project_id, "pool": pool}, version=VERSION)

    def floating_ip_associate(self, ctxt: Any,
            address: str, project_id: str, instance_uuid: str, fixed_address: str | None = None,
            host: str | None = None) -> Any:
        """Point a project's floating IP at an instance's fixed IP."""
        return self.call(ctxt, "floating_ip_associate", {
            "address": address, "project_id": project_id, "instance_uuid": instance_uuid,
            "fixed_address": fixed_address, "host": host}, version=VERSION)

    def floating_ip_disassociate(self, ctxt: Any,
            address: str, project_id: str | None = None) -> Any:
        """Unpoint a floating IP (it stays the project's)."""
        return self.call(ctxt, "floating_ip_disassociate", {
            "address": address, "project_id": project_id}, version=VERSION)

    def floating_ip_deallocate(self, ctxt: Any,
            address: str, project_id: str | None = None) -> Any:
        """Give a floating IP back to its pool."""
        return self.call(ctxt, "floating_ip_deallocate", {
            "address": address, "project_id": project_id}, version=VERSION)

    def security_group_create(self, ctxt: Any,
            project_id: str, name: str, description: str | None = None,
            user_id: str | None = None) -> Any:
        """Raises Conflict on a duplicate name."""
        return self.call(ctxt, "security_group_create", {
            "project_id": project_id, "name": name, "description": description,
            "user_id": user_id}, version=VERSION)

    def security_group_ensure_default(self, ctxt: Any,
            project_id: str, user_id: str | None = None) -> Any:
        """The project's default group, made on first use."""
        return self.call(ctxt, "security_group_ensure_default", {
            "project_id": project_id, "user_id": user_id}, version=VERSION)

    def security_group_get(self, ctxt: Any, group_id: int, project_id: str | None = None) -> Any:
        """A group with its ``rules``; raises NotFound."""
        return self.call(ctxt, "security_group_get", {
            "group_id": group_id, "project_id": project_id}, version=VERSION)

    def security_group_get_all(self, ctxt: Any, project_id: str | None = None) -> Any:
        """Every group (of a project), with ``rules``."""
        return self.call(ctxt, "security_group_get_all", {
            "project_id": project_id}, version=VERSION)

    def security_group_delete(self, ctxt: Any,
            group_id: int, project_id: str | None = None) -> Any:
        """Raises Conflict while instances use it."""
        return self.call(ctxt, "security_group_delete", {
            "group_id": group_id, "project_id": project_id}, version=VERSION)

    def security_group_rule_create(self, ctxt: Any, values: dict[str, Any]) -> Any:
        """Add an ingress rule to ``values['parent_group_id']``."""
        return self.call(ctxt, "security_group_rule_create", {"values": values}, version=VERSION)

    def security_group_rule_get(self, ctxt: Any, rule_id: int) -> Any:
        """Raises NotFound."""
        return self.call(ctxt, "security_group_rule_get", {"rule_id": rule_id}, version=VERSION)

    def security_group_rule_delete(self, ctxt: Any, rule_id: int) -> Any:
        """Raises NotFound."""
        return self.call(ctxt, "security_group_rule_delete", {"rule_id": rule_id}, version=VERSION)

    def security_group_add_instance(self, ctxt: Any, group_id: int, instance_uuid: str) -> Any:
        """Idempotent."""
        return self.call(ctxt, "security_group_add_instance", {
            "group_id": group_id, "instance_uuid": instance_uuid}, version=VERSION)

    def security_group_remove_instance(self, ctxt: Any, group_id: int, instance_uuid: str) -> Any:
        """Idempotent."""
        return self.call(ctxt, "security_group_remove_instance", {
            "group_id": group_id, "instance_uuid": instance_uuid}, version=VERSION)

    def security_groups_of_instance(self, ctxt: Any, instance_uuid: str) -> Any:
        """The instance's groups, with ``rules``."""
        return self.call(ctxt, "security_groups_of_instance", {
            "instance_uuid": instance_uuid}, version=VERSION)

    def instance_firewalls(self, ctxt: Any) -> Any:
        """Per fixed IP of a grouped instance: its ingress rules."""
        return self.call(ctxt, "instance_firewalls", {}, version=VERSION)

    # -- 1.9 -------------------------------------------------------------------------------

    def network_associate(self, ctxt: Any, network_uuid: str,
                          values: dict[str, Any]) -> dict[str, Any]:
        """Set or clear (None) a network's ``project_id``/``host``; raises
        NetworkNotFound."""
        return self.call(ctxt, "network_associate", {"network_uuid": network_uuid,
                                                     "values": values}, version="1.9")

    def network_add_to_project(self, ctxt: Any, project_id: str,
                               network_uuid: str | None = None) -> dict[str, Any]:
        """Give the project that network, or the first one without a project."""
        return self.call(ctxt, "network_add_to_project", {
            "project_id": project_id, "network_uuid": network_uuid}, version="1.9")

    def security_groups_by_name(self, ctxt: Any, project_id: str, names: list[str],
                                user_id: str | None = None) -> list[dict[str, Any]]:
        """The project's groups of those names (``default`` made on first use);
        raises NotFound naming an unknown one."""
        return self.call(ctxt, "security_groups_by_name", {
            "project_id": project_id, "names": names, "user_id": user_id}, version="1.9")

    def security_group_add_instances(self, ctxt: Any, group_ids: list[int],
                                     instance_uuids: list[str]) -> None:
        """Every instance into every group, at once (idempotent)."""
        return self.call(ctxt, "security_group_add_instances", {
            "group_ids": group_ids, "instance_uuids": instance_uuids}, version="1.9")

    def security_group_update(self, ctxt: Any, group_id: int, values: dict[str, Any],
                              project_id: str | None = None) -> dict[str, Any]:
        """New ``name``/``description``; raises NotFound, Conflict."""
        return self.call(ctxt, "security_group_update", {
            "group_id": group_id, "values": values, "project_id": project_id},
            version="1.9")
