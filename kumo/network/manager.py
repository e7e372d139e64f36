"""kumo-network's RPC endpoint: the network managers of nova-network.

``[network] network_manager`` picks one of:

* :class:`FlatManager` — networks made by the operator, one shared bridge,
  no DHCP (addresses are injected into the guest);
* :class:`FlatDHCPManager` — the same with the gateway address on the bridge
  and a dnsmasq serving each instance its fixed IP;
* :class:`VlanManager` — a network per project (VLAN, bridge, subnet, dnsmasq),
  created the first time the project boots a server.

An endpoint allocates through the conductor (rows and the guarded allocation
are the conductor's) and then converges this host's plumbing with
:mod:`kumo.network.host`. RPC API 1.1: allocate_for_instance,
deallocate_for_instance, get_instance_nw_info, sync_host.
"""

from __future__ import annotations

import threading
from typing import Any

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log as logging
from oslo_service import periodic_task

from kumo import context as kumo_context
from kumo import exception, manager, privileged
from kumo.network import host as host_net

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


class NetworkManager(manager.Manager):
    """Base of the managers: allocation, release and convergence."""

    target = messaging.Target(version="1.1")
    layout = host_net.Layout(dhcp=False, vlan=False)

    def __init__(self, host: str | None = None, binary: str | None = None,
                 conductor: Any = None, start_privsep: bool = True) -> None:
        """``conductor`` (a conductor RPC client) and ``start_privsep`` are for
        tests; a service starts the privileged helper daemon in init_host."""
        super().__init__(host=host, binary=binary or "kumo-network")
        self._conductor = conductor
        self._start_privsep = start_privsep
        self._privsep_started = False
        # Convergence reads the whole state and rewrites it: one at a time.
        self._converge_lock = threading.Lock()

    @property
    def conductor(self) -> Any:
        if self._conductor is None:
            from kumo.conductor import rpcapi as conductor_rpcapi

            self._conductor = conductor_rpcapi.ConductorAPI()
        return self._conductor

    # -- lifecycle -----------------------------------------------------------

    def init_host(self) -> None:
        """Rebuild this host's bridges, dnsmasq and iptables rules from the database
        (nothing is touched while the cloud has no networks)."""
        try:
            self.sync_host(kumo_context.get_admin_context())
        except Exception as exc:
            LOG.warning("Could not rebuild this host's networking (retried "
                        "periodically): %s", exc)

    @periodic_task.periodic_task(spacing=60, run_immediately=False)
    def _periodic_sync(self, context: Any) -> None:
        # Heals what changed behind our back (a dnsmasq that died, rules flushed).
        self.sync_host(context)

    @periodic_task.periodic_task(spacing=60, run_immediately=False)
    def _disassociate_stale_fixed_ips(self, context: Any) -> None:
        # A released address is held by its old server for a while (kumo.db.networks);
        # ending the holds is idempotent, so every kumo-network may do it.
        count = self.conductor.fixed_ip_disassociate_all_by_timeout(
            context, timeout=CONF.fixed_ip_disassociate_timeout)
        if count:
            LOG.info("Disassociated %d stale fixed IPs", count)

    # -- RPC API ---------------------------------------------------------------

    def allocate_for_instance(self, context: Any, instance_uuid: str, project_id: str,
                              host: str | None = None,
                              requested_networks: Any = "auto",
                              macs: list[str] | None = None) -> list[dict[str, Any]]:
        """Give the instance a VIF and fixed IP on each of its networks; returns its
        network_info. Idempotent: a retried call returns what the first one gave.

        ``requested_networks``: ``"auto"`` (the project's networks), ``"none"``
        or ``[{"uuid": ..., "fixed_ip": ...}]``.
        """
        wanted = self._networks_for(context, project_id, requested_networks)
        try:
            for index, (network, address) in enumerate(wanted):
                mac = macs[index] if macs and index < len(macs) else None
                self.conductor.fixed_ip_allocate(
                    context, instance_uuid=instance_uuid, network_uuid=network["uuid"],
                    host=host, address=address, mac=mac)
        except Exception:
            self.conductor.network_deallocate_for_instance(context,
                                                           instance_uuid=instance_uuid)
            raise
        network_info = self.conductor.instance_network_info(context,
                                                            instance_uuid=instance_uuid)
        self.conductor.instance_info_cache_update(context, instance_uuid=instance_uuid,
                                                  network_info=network_info)
        if wanted:
            self.sync_host(context)
            self._tell_serving_hosts(context, [network for network, _ in wanted], host)
        LOG.info("Server %s: %s", instance_uuid, ", ".join(
            f"{vif['address']} {ip['address']} on {vif['network']['label']}"
            for vif in network_info for subnet in vif["network"]["subnets"]
            for ip in subnet["ips"]) or "no networks")
        return network_info

    def deallocate_for_instance(self, context: Any, instance_uuid: str,
                                host: str | None = None) -> None:
        """Release the instance's fixed (and floating) IPs and VIFs. Idempotent."""
        released = self.conductor.network_deallocate_for_instance(
            context, instance_uuid=instance_uuid)
        if released:
            self.sync_host(context)
            self._tell_serving_hosts(context, self.conductor.network_get_all(context), host)
            LOG.info("Server %s released its addresses on %s", instance_uuid,
                     ", ".join(released))

    def _tell_serving_hosts(self, context: Any, networks: list[dict[str, Any]],
                            instance_host: str | None) -> None:
        """Make every kumo-network converge now (rather than at its next periodic
        sync) when another host serves the change: a network associated with
        another host (os-networks associate_host), or a multi-host network whose
        instance runs on another host (a call that reached this kumo-network on
        the shared topic)."""
        elsewhere = instance_host not in (None, self.host)
        if any(n.get("host") not in (None, "", self.host)
               or (elsewhere and (n.get("multi_host") or CONF.network.multi_host))
               for n in networks):
            from kumo.network import rpcapi

            rpcapi.NetworkAPI().refresh(context)

    def get_instance_nw_info(self, context: Any,
                             instance_uuid: str) -> list[dict[str, Any]]:
        return self.conductor.instance_network_info(context, instance_uuid=instance_uuid)

    def sync_host(self, context: Any) -> list[str]:
        """Converge this host on the database; the uuids of networks that failed."""
        with self._converge_lock:
            networks = self.conductor.network_get_all(context)
            if not networks and not self._privsep_started:
                # A cloud without networks: touch nothing on this host (no
                # privileged helper, no iptables chains).
                return []
            fixed_ips = self.conductor.fixed_ips_get_all(context)
            if self._start_privsep and not self._privsep_started:
                privileged.start_daemon()
            self._privsep_started = True
            return host_net.converge(
                networks, fixed_ips, self.host, self.layout, namespace=CONF.network.namespace,
                floating=self.conductor.floating_ip_get_all(context),
                firewalls=self.conductor.instance_firewalls(context))

    # -- network choice ----------------------------------------------------------

    def _networks_for(self, context: Any, project_id: str, requested: Any,
                      ) -> list[tuple[dict[str, Any], str | None]]:
        """(network, requested address or None) for each network to plug."""
        if requested in (None, "auto"):
            return [(network, None) for network in self._auto_networks(context, project_id)]
        if requested == "none":
            return []
        chosen = []
        for request in requested:
            network = self.conductor.network_get(context, network_uuid=request["uuid"])
            if network["project_id"] not in (None, project_id):
                raise exception.NetworkNotFound(network_id=request["uuid"])
            chosen.append((network, request.get("fixed_ip")))
        return chosen

    def _auto_networks(self, context: Any, project_id: str) -> list[dict[str, Any]]:
        """The project's own networks, else the shared ones (no project)."""
        networks = self.conductor.network_get_all(context, project_id=project_id)
        owned = [n for n in networks if n["project_id"] == project_id]
        chosen = owned or networks
        if not chosen:
            raise exception.Invalid(reason=f"no network is available to project "
                                           f"{project_id}; create one with kumo-manage "
                                           "network create")
        return chosen


class FlatManager(NetworkManager):
    """Shared bridge, no DHCP: the guest gets its address injected."""


class FlatDHCPManager(NetworkManager):
    """Shared bridge with the gateway on it and dnsmasq handing out the fixed IPs."""

    layout = host_net.Layout(dhcp=True, vlan=False)


class VlanManager(NetworkManager):
    """One VLAN, bridge and subnet per project, with DHCP, made on first use."""

    layout = host_net.Layout(dhcp=True, vlan=True)

    def _auto_networks(self, context: Any, project_id: str) -> list[dict[str, Any]]:
        network = self.conductor.network_get_or_create_for_project(
            context, project_id=project_id,
            values={"fixed_range": CONF.network.fixed_range_v4,
                    "network_size": CONF.network.network_size,
                    "vlan_start": CONF.network.vlan_start,
                    "bridge_interface": CONF.network.vlan_interface,
                    "multi_host": CONF.network.multi_host})
        return [network]


MANAGERS: dict[str, type[NetworkManager]] = {
    "flat": FlatManager, "flatdhcp": FlatDHCPManager, "vlan": VlanManager,
}


def load_manager(**kwargs: Any) -> NetworkManager:
    """The manager ``[network] network_manager`` names."""
    return MANAGERS[CONF.network.network_manager](**kwargs)
