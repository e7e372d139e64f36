"""Network queries: networks, their fixed IPs, virtual interfaces and info caches.

A network's fixed IPs are rows created with the network, one per address of
its range (network, gateway and broadcast addresses ``reserved``). Handing
one out is a single guarded UPDATE::

    UPDATE fixed_ips SET instance_uuid=:u, allocated=true, ...
     WHERE id = (SELECT id FROM fixed_ips WHERE network_id=:n AND free LIMIT 1)
       AND allocated = false

so of two boots racing for the same row exactly one wins; the loser picks
again.

A released address stays *associated* with the server that held it
(``allocated`` false, ``instance_uuid`` kept, ``updated_at`` the release) for
``[DEFAULT] fixed_ip_disassociate_timeout`` seconds, as in nova-network: the
metadata service caches what it learnt about an address, and the old guest may
still hold a DHCP lease, so another server gets such an address only when no
other one is free. kumo-network disassociates the expired ones periodically.

A virtual interface's MAC is unique by constraint; a collision makes a new
MAC. Rows come back as plain dicts.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import random
import uuid as uuid_lib
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from oslo_config import cfg
from sqlalchemy import exc

from kumo import exception
from kumo.db import clock, models, quotas
from kumo.db.api import is_duplicate_entry, session

CONF = cfg.CONF

_networks = models.Network.__table__
_fixed_ips = models.FixedIp.__table__
_vifs = models.VirtualInterface.__table__
_caches = models.InstanceInfoCache.__table__
_floating_ips = models.FloatingIp.__table__
_instances = models.Instance.__table__
_sg_members = models.SecurityGroupInstanceAssociation.__table__

# Attempts before a lost race (another boot took the address we picked) is an error.
_ALLOCATION_ATTEMPTS = 100
# Serialises the overlap check of new networks (kumo.db.quotas.lock's scope).
_RANGES_LOCK = "network-ranges"
MAC_PREFIX = (0xFA, 0x16, 0x3E)
_NETWORK_FIELDS = frozenset(c.name for c in _networks.columns) - {"id"}


def _row(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


def generate_mac() -> str:
    """A random MAC with OpenStack's locally administered prefix fa:16:3e."""
    octets = [*MAC_PREFIX, *(random.randint(0x00, 0xFF) for _ in range(3))]
    return ":".join(f"{octet:02x}" for octet in octets)


# --- networks ------------------------------------------------------------------------------


def network_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The columns of a new network: derived addresses filled in from ``cidr``."""
    unknown = set(values) - _NETWORK_FIELDS
    if unknown:
        raise exception.Invalid(reason=f"unknown network fields {sorted(unknown)}")
    try:
        net = ipaddress.IPv4Network(values["cidr"], strict=False)
    except (KeyError, ValueError) as error:
        raise exception.Invalid(reason=f"invalid IPv4 range: {error}") from error
    if net.num_addresses < 4:
        raise exception.Invalid(reason=f"{net} is too small for a network (/30 at least)")
    columns = dict(values)
    columns.update(cidr=str(net), netmask=str(net.netmask),
                   broadcast=str(net.broadcast_address))
    columns.setdefault("uuid", str(uuid_lib.uuid4()))
    if not columns.get("gateway"):
        columns["gateway"] = str(net.network_address + 1)
    if ipaddress.IPv4Address(columns["gateway"]) not in net:
        raise exception.Invalid(reason=f"gateway {columns['gateway']} is outside {net}")
    columns["multi_host"] = bool(columns.get("multi_host"))
    return columns


def _check_no_network_overlaps(db_session: Any, net: ipaddress.IPv4Network) -> None:
    for cidr in db_session.execute(sa.select(_networks.c.cidr).order_by(_networks.c.id)
                                   ).scalars():
        if net.overlaps(ipaddress.IPv4Network(cidr, strict=False)):
            raise exception.CidrConflict(cidr=str(net), other=cidr)


def _check_range_is_free(db_session: Any, net: ipaddress.IPv4Network) -> None:
    """CidrConflict when ``net`` overlaps another network's fixed range or holds a
    floating IP (called under the ranges lock, so two creators cannot both pass)."""
    _check_no_network_overlaps(db_session, net)
    for address in db_session.execute(sa.select(_floating_ips.c.address)
                                      .order_by(_floating_ips.c.id)).scalars():
        if ipaddress.IPv4Address(address) in net:
            raise exception.FloatingRangeConflict(cidr=str(net), address=address)


def lock_ranges_and_check_floating(db_session: Any, net: ipaddress.IPv4Network) -> None:
    """For a new floating range: take the ranges lock and raise CidrConflict when
    ``net`` overlaps a network's fixed range."""
    quotas.lock(db_session, _RANGES_LOCK)
    _check_no_network_overlaps(db_session, net)


def network_create(values: Mapping[str, Any]) -> dict[str, Any]:
    """Create a network and one fixed_ips row per address of its range.

    :raises CidrConflict: the range overlaps another network's or a floating IP.
    :raises NetworkExists: the uuid, cidr or VLAN is taken.
    """
    columns = network_values(values)
    net = ipaddress.IPv4Network(columns["cidr"])
    reserved = {net.network_address, net.broadcast_address,
                ipaddress.IPv4Address(columns["gateway"])}
    try:
        with session() as db_session:
            quotas.lock(db_session, _RANGES_LOCK)
            _check_range_is_free(db_session, net)
            network_id = db_session.execute(
                sa.insert(_networks).values(**columns).returning(_networks.c.id)).scalar_one()
            db_session.execute(sa.insert(_fixed_ips), [
                {"network_id": network_id, "address": str(address),
                 "reserved": address in reserved, "allocated": False, "leased": False}
                for address in net])
    except exc.IntegrityError as error:
        if is_duplicate_entry(error):
            raise exception.NetworkExists(
                reason=f"cidr {columns['cidr']} or VLAN {columns.get('vlan')}") from error
        raise
    return network_get(columns["uuid"])


def network_get(network_uuid: str) -> dict[str, Any]:
    """:raises NetworkNotFound:"""
    with session() as db_session:
        row = db_session.execute(sa.select(_networks).where(
            _networks.c.uuid == network_uuid)).first()
    if row is None:
        raise exception.NetworkNotFound(network_id=network_uuid)
    return _row(row)


def network_get_all(project_id: str | None = None,
                    include_shared: bool = True) -> list[dict[str, Any]]:
    """Every network, or those a project may use (its own, and shared ones
    without a project when ``include_shared``)."""
    query = sa.select(_networks).order_by(_networks.c.id)
    if project_id is not None:
        owned = _networks.c.project_id == project_id
        query = query.where(sa.or_(owned, _networks.c.project_id.is_(None))
                            if include_shared else owned)
    with session() as db_session:
        return [_row(row) for row in db_session.execute(query)]


def network_delete(network_uuid: str) -> None:
    """Delete a network with its fixed IPs.

    :raises NetworkInUse: an address of it is allocated (released ones still
        associated with their server do not count).
    :raises NetworkNotFound:
    """
    network = network_get(network_uuid)
    with session() as db_session:
        in_use = db_session.execute(sa.select(sa.func.count()).select_from(_fixed_ips).where(
            _fixed_ips.c.network_id == network["id"],
            _fixed_ips.c.allocated.is_(True))).scalar_one()
        if in_use:
            raise exception.NetworkInUse(network_id=network_uuid)
        db_session.execute(sa.delete(_vifs).where(_vifs.c.network_id == network["id"]))
        db_session.execute(sa.delete(_fixed_ips).where(
            _fixed_ips.c.network_id == network["id"]))
        db_session.execute(sa.delete(_networks).where(_networks.c.id == network["id"]))


def network_associate(network_uuid: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Set (or clear, with None) a network's ``project_id`` and/or ``host``
    (os-networks' associate and disassociate actions).

    :raises NetworkNotFound:
    """
    columns = {key: values[key] for key in ("project_id", "host") if key in values}
    network = network_get(network_uuid)
    if columns:
        with session() as db_session:
            db_session.execute(sa.update(_networks).where(_networks.c.id == network["id"])
                               .values(**columns))
    return network_get(network_uuid)


def network_add_to_project(project_id: str, network_uuid: str | None = None) -> dict[str, Any]:
    """Give the project a network: ``network_uuid``, or the first one no project
    has (one guarded UPDATE, so two projects never get the same one).

    :raises NetworkNotFound: no such network, or none is left without a project.
    """
    if network_uuid is not None:
        return network_associate(network_uuid, {"project_id": project_id})
    free = (sa.select(_networks.c.id).where(_networks.c.project_id.is_(None))
            .order_by(_networks.c.id).limit(1).scalar_subquery())
    for _ in range(_ALLOCATION_ATTEMPTS):
        with session() as db_session:
            taken = db_session.execute(
                sa.update(_networks).where(_networks.c.id == free,
                                           _networks.c.project_id.is_(None))
                .values(project_id=project_id).returning(_networks.c.uuid)
            ).scalar_one_or_none()
            if taken is not None:
                return network_get(taken)
            left = db_session.execute(sa.select(sa.func.count()).select_from(_networks)
                                      .where(_networks.c.project_id.is_(None))).scalar_one()
        if not left:
            break
    raise exception.NetworkNotFound(network_id="(any network without a project)")


def project_vlan_network(project_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The project's VLAN network, created from ``values`` (minus ``vlan``/``cidr``:
    the next free VLAN id from ``vlan_start`` and the next free subnet of
    ``fixed_range`` sized ``network_size``) on first use. Safe against races:
    a concurrent creator's duplicate VLAN or range makes us re-read or retry."""
    values = dict(values)
    fixed_range = ipaddress.IPv4Network(values.pop("fixed_range"))
    prefix = 32 - (int(values.pop("network_size")) - 1).bit_length()
    vlan_start = int(values.pop("vlan_start"))
    for _ in range(_ALLOCATION_ATTEMPTS):
        owned = network_get_all(project_id, include_shared=False)
        if owned:
            return owned[0]
        taken = network_get_all()
        vlans = {n["vlan"] for n in taken if n["vlan"] is not None}
        cidrs = [ipaddress.IPv4Network(n["cidr"]) for n in taken]
        vlan = next(v for v in range(vlan_start, 4095) if v not in vlans)
        subnet = next((s for s in fixed_range.subnets(new_prefix=prefix)
                       if not any(s.overlaps(c) for c in cidrs)), None)
        if subnet is None:
            raise exception.Invalid(reason=f"no free subnet left in {fixed_range}")
        try:
            made = network_create({**values, "project_id": project_id, "vlan": vlan,
                                   "cidr": str(subnet), "bridge": f"br{vlan}",
                                   "label": values.get("label") or f"vlan{vlan}"})
        except exception.FloatingRangeConflict:
            raise  # the next free subnet holds floating IPs: trying again cannot help
        except exception.NetworkExists:  # CidrConflict too: a racing creator's range
            continue
        return _keep_first_project_network(project_id, made)
    raise exception.Conflict(f"Could not create a network for project {project_id}")


def _keep_first_project_network(project_id: str, made: dict[str, Any]) -> dict[str, Any]:
    """Two first boots of a project may each have created its network (neither
    saw the other's uncommitted row): the oldest wins, the other is removed
    again (unless an address of it was handed out meanwhile)."""
    owned = network_get_all(project_id, include_shared=False)
    if owned[0]["uuid"] == made["uuid"]:
        return made
    try:
        network_delete(made["uuid"])
    except exception.NetworkInUse:
        return made
    return owned[0]


# --- fixed IPs and virtual interfaces ------------------------------------------------------


def _free_fixed_ip(network_id: int, instance_uuid: str) -> sa.ScalarSelect:
    """The address to hand ``instance_uuid`` next: one it held itself (a build
    rescheduled after a release), else one associated with nobody (never-used
    first, then the one released longest ago: a guest that lost an address may
    still hold a DHCP lease on it), and only when none is left one still
    associated with another server, released longest ago."""
    holder = _fixed_ips.c.instance_uuid
    return (sa.select(_fixed_ips.c.id)
            .where(_fixed_ips.c.network_id == network_id,
                   _fixed_ips.c.allocated.is_(False),
                   _fixed_ips.c.reserved.is_(False))
            .order_by(sa.case((holder == instance_uuid, 0), (holder.is_(None), 1), else_=2),
                      sa.nulls_first(_fixed_ips.c.updated_at.asc()), _fixed_ips.c.id)
            .limit(1).scalar_subquery())


def _create_vif(instance_uuid: str, network_id: int, mac: str | None) -> dict[str, Any]:
    for _ in range(_ALLOCATION_ATTEMPTS):
        values = {"uuid": str(uuid_lib.uuid4()), "address": (mac or generate_mac()).lower(),
                  "network_id": network_id, "instance_uuid": instance_uuid}
        try:
            with session() as db_session:
                values["id"] = db_session.execute(
                    sa.insert(_vifs).values(**values).returning(_vifs.c.id)).scalar_one()
            return values
        except exc.IntegrityError as error:
            if not is_duplicate_entry(error) or mac:
                raise exception.Conflict(
                    f"MAC address {values['address']} is already in use") from error
    raise exception.Conflict("Could not generate a unique MAC address")


def _delete_vif(vif_id: int) -> None:
    with session() as db_session:
        db_session.execute(sa.delete(_vifs).where(_vifs.c.id == vif_id))


def _take_fixed_ip(network: dict[str, Any], instance_uuid: str, vif_id: int,
                   host: str | None, address: str | None) -> str:
    values = {"instance_uuid": instance_uuid, "allocated": True, "host": host,
              "virtual_interface_id": vif_id, "updated_at": clock.utcnow()}
    free = _fixed_ips.c.allocated.is_(False)
    for _ in range(_ALLOCATION_ATTEMPTS):
        if address is not None:
            # A requested address must be associated with nobody else (nova-network's
            # rule): one another server released lately is still in use.
            target = sa.and_(_fixed_ips.c.network_id == network["id"],
                             _fixed_ips.c.address == address,
                             sa.or_(_fixed_ips.c.instance_uuid.is_(None),
                                    _fixed_ips.c.instance_uuid == instance_uuid))
        else:
            target = _fixed_ips.c.id == _free_fixed_ip(network["id"], instance_uuid)
        with session() as db_session:
            updated = db_session.execute(sa.update(_fixed_ips).where(target, free)
                                         .values(**values).returning(_fixed_ips.c.address))
            taken = updated.scalar_one_or_none()
            if taken is not None:
                return taken
            if address is not None:
                exists = db_session.execute(sa.select(_fixed_ips.c.reserved).where(
                    _fixed_ips.c.network_id == network["id"],
                    _fixed_ips.c.address == address)).first()
                if exists is None:
                    raise exception.FixedIpNotFoundForNetwork(address=address,
                                                              network_id=network["uuid"])
                raise exception.FixedIpAlreadyInUse(address=address,
                                                    network_id=network["uuid"])
            left = db_session.execute(sa.select(sa.func.count()).select_from(_fixed_ips).where(
                _fixed_ips.c.network_id == network["id"], free,
                _fixed_ips.c.reserved.is_(False))).scalar_one()
            if not left:
                raise exception.NoMoreFixedIps(network_id=network["uuid"])
        # Another boot took the row we picked between our SELECT and UPDATE: pick again.
    raise exception.NoMoreFixedIps(network_id=network["uuid"])


def fixed_ip_allocate(instance_uuid: str, network_uuid: str, host: str | None = None,
                      address: str | None = None, mac: str | None = None) -> dict[str, Any]:
    """Give the instance a VIF (new MAC) on the network and a fixed IP on it.

    Idempotent per (instance, network): an instance that already has a VIF on
    the network gets it back unchanged.

    :raises NoMoreFixedIps: the range is exhausted.
    :raises FixedIpAlreadyInUse: ``address`` belongs to someone else.
    """
    network = network_get(network_uuid)
    for vif in _vifs_of(instance_uuid):
        if vif["network_id"] == network["id"]:
            return vif
    vif = _create_vif(instance_uuid, network["id"], mac)
    try:
        _take_fixed_ip(network, instance_uuid, vif["id"], host, address)
    except BaseException:
        _delete_vif(vif["id"])
        raise
    return vif


def _vifs_of(instance_uuid: str) -> list[dict[str, Any]]:
    with session() as db_session:
        return [_row(r) for r in db_session.execute(
            sa.select(_vifs).where(_vifs.c.instance_uuid == instance_uuid)
            .order_by(_vifs.c.id))]


def instance_network_info(instance_uuid: str) -> list[dict[str, Any]]:
    """The instance's VIFs as network_info: ``id``, ``address`` (MAC) and
    ``network`` (``id``, ``label``, ``bridge``, ``vlan``, ``multi_host``,
    ``subnets``: ``cidr``, ``gateway``, ``dns``, ``ips`` [{``address``}])."""
    with session() as db_session:
        rows = db_session.execute(
            sa.select(_vifs.c.uuid.label("vif_uuid"), _vifs.c.address.label("mac"),
                      _vifs.c.id.label("vif_id"), _networks)
            .join(_networks, _networks.c.id == _vifs.c.network_id)
            .where(_vifs.c.instance_uuid == instance_uuid).order_by(_vifs.c.id)).all()
        ips = db_session.execute(
            sa.select(_fixed_ips.c.virtual_interface_id, _fixed_ips.c.address)
            .where(_fixed_ips.c.instance_uuid == instance_uuid)
            .order_by(_fixed_ips.c.id)).all()
        floating = db_session.execute(
            sa.select(_fixed_ips.c.address.label("fixed"), _floating_ips.c.address)
            .join(_fixed_ips, _fixed_ips.c.id == _floating_ips.c.fixed_ip_id)
            .where(_fixed_ips.c.instance_uuid == instance_uuid)).all()
    floating_of: dict[str, list[str]] = {}
    for row in floating:
        floating_of.setdefault(row.fixed, []).append(row.address)
    info = []
    for row in rows:
        dns = [d for d in (row.dns1, row.dns2) if d]
        addresses = [{"address": ip.address, "type": "fixed", "version": 4,
                      "floating_ips": [{"address": f, "type": "floating", "version": 4}
                                       for f in floating_of.get(ip.address, [])]}
                     for ip in ips if ip.virtual_interface_id == row.vif_id]
        info.append({
            "id": row.vif_uuid, "address": row.mac,
            "network": {"id": row.uuid, "label": row.label, "bridge": row.bridge,
                        "bridge_interface": row.bridge_interface, "vlan": row.vlan,
                        "multi_host": bool(row.multi_host), "project_id": row.project_id,
                        "subnets": [{"cidr": row.cidr, "gateway": row.gateway,
                                     "dns": dns, "ips": addresses}]},
        })
    return info


def deallocate_for_instance(instance_uuid: str) -> list[str]:
    """Release the instance's fixed IPs (and the floating IPs on them; the fixed
    ones stay associated with it for ``fixed_ip_disassociate_timeout``) and delete
    its VIFs — and its security group memberships when the server is being
    deleted (or is gone); returns the uuids of the networks it was on. Idempotent."""
    with session() as db_session:
        network_uuids = list(db_session.execute(
            sa.select(_networks.c.uuid).distinct()
            .join(_vifs, _vifs.c.network_id == _networks.c.id)
            .where(_vifs.c.instance_uuid == instance_uuid)).scalars())
        fixed_ids = sa.select(_fixed_ips.c.id).where(
            _fixed_ips.c.instance_uuid == instance_uuid).scalar_subquery()
        db_session.execute(sa.update(_floating_ips).where(
            _floating_ips.c.fixed_ip_id.in_(fixed_ids)).values(fixed_ip_id=None, host=None))
        released = {"virtual_interface_id": None, "allocated": False, "leased": False,
                    "host": None, "updated_at": clock.utcnow()}
        if CONF.fixed_ip_disassociate_timeout <= 0:
            released["instance_uuid"] = None
        db_session.execute(sa.update(_fixed_ips).where(
            _fixed_ips.c.instance_uuid == instance_uuid,
            # A second release must not restart the hold of an address.
            _fixed_ips.c.allocated.is_(True)).values(**released))
        db_session.execute(sa.delete(_vifs).where(_vifs.c.instance_uuid == instance_uuid))
        db_session.execute(sa.delete(_caches).where(_caches.c.instance_uuid == instance_uuid))
        # A failed build being rescheduled keeps its security groups (the next
        # host's allocation is guarded by them); a server going away leaves them.
        live = db_session.execute(sa.select(_instances.c.id).where(
            _instances.c.uuid == instance_uuid, _instances.c.deleted == 0,
            sa.or_(_instances.c.task_state.is_(None),
                   _instances.c.task_state != "deleting"))).first()
        if live is None:
            db_session.execute(sa.delete(_sg_members).where(
                _sg_members.c.instance_uuid == instance_uuid))
    return network_uuids


def fixed_ips_get_all(network_uuid: str | None = None,
                      allocated_only: bool = True) -> list[dict[str, Any]]:
    """Fixed IPs with their network's uuid, the VIF's MAC and the instance's
    hostname: what a dnsmasq hosts file and the firewall are built from."""
    query = (sa.select(_fixed_ips, _networks.c.uuid.label("network_uuid"),
                       _vifs.c.address.label("mac"),
                       _instances.c.hostname.label("instance_hostname"))
             .join(_networks, _networks.c.id == _fixed_ips.c.network_id)
             .outerjoin(_vifs, _vifs.c.id == _fixed_ips.c.virtual_interface_id)
             .outerjoin(_instances, sa.and_(_instances.c.uuid == _fixed_ips.c.instance_uuid,
                                            _instances.c.deleted == 0))
             .order_by(_fixed_ips.c.id))
    if network_uuid is not None:
        query = query.where(_networks.c.uuid == network_uuid)
    if allocated_only:
        query = query.where(_fixed_ips.c.allocated.is_(True))
    with session() as db_session:
        return [_row(row) for row in db_session.execute(query)]


# --- info cache ----------------------------------------------------------------------------


def info_cache_update(instance_uuid: str, network_info: list[dict[str, Any]]) -> None:
    """Store the network_info an instance was given (insert or replace)."""
    text = json.dumps(network_info, sort_keys=True)
    with session() as db_session:
        updated = db_session.execute(sa.update(_caches).where(
            _caches.c.instance_uuid == instance_uuid).values(network_info=text))
        if updated.rowcount:
            return
    try:
        with session() as db_session:
            db_session.execute(sa.insert(_caches).values(instance_uuid=instance_uuid,
                                                        network_info=text))
    except exc.IntegrityError as error:
        if not is_duplicate_entry(error):
            raise
        info_cache_update(instance_uuid, network_info)


def info_cache_get(instance_uuids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """``{instance uuid: network_info}`` (empty list for instances without one)."""
    found: dict[str, list[dict[str, Any]]] = {uuid: [] for uuid in instance_uuids}
    if not instance_uuids:
        return found
    with session() as db_session:
        for row in db_session.execute(sa.select(_caches).where(
                _caches.c.instance_uuid.in_(instance_uuids))):
            found[row.instance_uuid] = json.loads(row.network_info or "[]")
    return found


def fixed_ip_get_by_address(address: str) -> dict[str, Any]:
    """A fixed IP with its network's ``cidr`` and the instance's ``instance_hostname``.

    :raises NotFound:
    """
    query = (sa.select(_fixed_ips, _networks.c.cidr, _networks.c.uuid.label("network_uuid"),
                       _instances.c.hostname.label("instance_hostname"))
             .join(_networks, _networks.c.id == _fixed_ips.c.network_id)
             .outerjoin(_instances, sa.and_(_instances.c.uuid == _fixed_ips.c.instance_uuid,
                                            _instances.c.deleted == 0))
             .where(_fixed_ips.c.address == address).order_by(_fixed_ips.c.id))
    with session() as db_session:
        row = db_session.execute(query).first()
    if row is None:
        raise exception.NotFound(f"Fixed IP {address} not found.")
    return _row(row)


def fixed_ip_set_reserved(address: str, reserved: bool) -> dict[str, Any]:
    """Reserve (never hand out) or unreserve a free fixed IP; a guarded UPDATE, so
    an address allocated meanwhile is left alone.

    :raises NotFound: :raises FixedIpAlreadyInUse: it is allocated.
    """
    row = fixed_ip_get_by_address(address)
    with session() as db_session:
        updated = db_session.execute(sa.update(_fixed_ips).where(
            _fixed_ips.c.id == row["id"], _fixed_ips.c.allocated.is_(False))
            .values(reserved=reserved))
    if not updated.rowcount:
        raise exception.FixedIpAlreadyInUse(address=address, network_id=row["network_uuid"])
    return fixed_ip_get_by_address(address)


def fixed_ip_disassociate_all_by_timeout(timeout: int) -> int:
    """Disassociate the released fixed IPs whose hold (``timeout`` seconds since
    the release) is over; how many. A guarded UPDATE: an address taken again
    meanwhile is ``allocated`` and left alone."""
    cutoff = clock.utcnow() - datetime.timedelta(seconds=max(int(timeout), 0))
    with session() as db_session:
        result = db_session.execute(sa.update(_fixed_ips).where(
            _fixed_ips.c.allocated.is_(False), _fixed_ips.c.instance_uuid.is_not(None),
            sa.or_(_fixed_ips.c.updated_at.is_(None), _fixed_ips.c.updated_at <= cutoff))
            .values(instance_uuid=None))
    return int(result.rowcount or 0)
