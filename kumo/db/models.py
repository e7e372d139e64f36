"""SQLAlchemy models of kumo's database: one class per table.

Conventions an operator can rely on:

* Every DateTime column holds naive UTC (see :mod:`kumo.db.clock`).
* Tables whose rows keep a history (services, compute nodes, instances and what
  hangs off them, key pairs) are soft-deleted: ``deleted`` is 0 while a row is
  live and is set to the row's own id when it is deleted, with ``deleted_at``.
  Unique constraints include ``deleted``, so a name can be reused once the old
  row is gone while the old row is kept for auditing and archiving.
* Definitions (flavors, quotas, server groups, aggregates) are deleted for real;
  their child rows go with them (ON DELETE CASCADE). Instances keep a snapshot of
  their flavor, so deleting a flavor never changes a server.
* JSON documents (``stats``, ``flavor``, ``system_metadata``, ``rules``) are
  stored as text; the query modules encode and decode them.

The schema itself is created by the alembic migrations in ``migrations/``; a
test checks that they and these models agree.
"""

from __future__ import annotations

import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kumo.db.clock import utcnow

NAMING_CONVENTION = {
    "pk": "pk_%(table_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}

# Lengths used throughout, so that a column means the same thing everywhere.
NAME = 255
UUID = 36
IP_ADDRESS = 39


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    """created_at set on insert, updated_at on every update."""

    created_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, onupdate=utcnow)


class SoftDeleteMixin:
    """deleted = 0 while the row is live, = id once soft-deleted (see module docstring)."""

    deleted_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    deleted: Mapped[int] = mapped_column(Integer, default=0)


# --- services and hypervisors ------------------------------------------------------------


class Service(Base, TimestampMixin, SoftDeleteMixin):
    """One running kumo daemon on one host; it heartbeats through the conductor."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("host", "binary", "deleted"), UniqueConstraint("uuid"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(UUID))
    host: Mapped[str] = mapped_column(String(NAME))
    binary: Mapped[str] = mapped_column(String(NAME))
    topic: Mapped[str | None] = mapped_column(String(NAME))
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(NAME))
    forced_down: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_up: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, default=0)


class ComputeNode(Base, TimestampMixin, SoftDeleteMixin):
    """A hypervisor (node) managed by a kumo-compute service and its resources."""

    __tablename__ = "compute_nodes"
    __table_args__ = (
        UniqueConstraint("host", "hypervisor_hostname", "deleted"),
        UniqueConstraint("uuid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(UUID))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"), index=True)
    host: Mapped[str] = mapped_column(String(NAME))
    hypervisor_hostname: Mapped[str] = mapped_column(String(NAME))
    hypervisor_type: Mapped[str] = mapped_column(String(NAME))
    hypervisor_version: Mapped[int] = mapped_column(Integer)
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    local_gb: Mapped[int] = mapped_column(Integer)
    vcpus_used: Mapped[int] = mapped_column(Integer, default=0)
    memory_mb_used: Mapped[int] = mapped_column(Integer, default=0)
    local_gb_used: Mapped[int] = mapped_column(Integer, default=0)
    free_ram_mb: Mapped[int | None] = mapped_column(Integer)
    free_disk_gb: Mapped[int | None] = mapped_column(Integer)
    running_vms: Mapped[int] = mapped_column(Integer, default=0)
    # None means "use the scheduler's configured ratio".
    cpu_allocation_ratio: Mapped[float | None] = mapped_column(Float)
    ram_allocation_ratio: Mapped[float | None] = mapped_column(Float)
    disk_allocation_ratio: Mapped[float | None] = mapped_column(Float)
    host_ip: Mapped[str | None] = mapped_column(String(IP_ADDRESS))
    cpu_info: Mapped[str] = mapped_column(Text, default="{}")
    stats: Mapped[str] = mapped_column(Text, default="{}")
    disk_available_least: Mapped[int | None] = mapped_column(Integer)
    mapped: Mapped[int] = mapped_column(Integer, default=0)


# --- instances and what hangs off them ---------------------------------------------------


class Instance(Base, TimestampMixin, SoftDeleteMixin):
    """A server. The flavor it was built with is copied in, so flavor changes never leak."""

    __tablename__ = "instances"
    __table_args__ = (
        UniqueConstraint("uuid"),
        Index("ix_instances_project_id", "project_id"),
        Index("ix_instances_host", "host"),
        Index("ix_instances_deleted_created_at", "deleted", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(UUID))
    project_id: Mapped[str] = mapped_column(String(NAME))
    user_id: Mapped[str] = mapped_column(String(NAME))
    display_name: Mapped[str | None] = mapped_column(String(NAME))
    display_description: Mapped[str | None] = mapped_column(Text)
    hostname: Mapped[str | None] = mapped_column(String(NAME))
    reservation_id: Mapped[str | None] = mapped_column(String(NAME))
    launch_index: Mapped[int | None] = mapped_column(Integer)

    vm_state: Mapped[str] = mapped_column(String(NAME))
    task_state: Mapped[str | None] = mapped_column(String(NAME))
    power_state: Mapped[int | None] = mapped_column(Integer)

    host: Mapped[str | None] = mapped_column(String(NAME))
    node: Mapped[str | None] = mapped_column(String(NAME))
    availability_zone: Mapped[str | None] = mapped_column(String(NAME))

    # Flavor snapshot: flavors.id at build time (no foreign key, the flavor may go
    # away), the sizes the scheduler and quotas count, and the whole flavor as JSON.
    flavor_id: Mapped[int | None] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    vcpus: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer, default=0)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    swap: Mapped[int] = mapped_column(Integer, default=0)
    flavor: Mapped[str | None] = mapped_column(Text)

    image_ref: Mapped[str | None] = mapped_column(String(NAME))
    kernel_id: Mapped[str | None] = mapped_column(String(NAME))
    ramdisk_id: Mapped[str | None] = mapped_column(String(NAME))
    key_name: Mapped[str | None] = mapped_column(String(NAME))
    key_data: Mapped[str | None] = mapped_column(Text)
    user_data: Mapped[str | None] = mapped_column(Text)
    config_drive: Mapped[str | None] = mapped_column(String(NAME))
    access_ip_v4: Mapped[str | None] = mapped_column(String(IP_ADDRESS))
    access_ip_v6: Mapped[str | None] = mapped_column(String(IP_ADDRESS))

    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_by: Mapped[str | None] = mapped_column(String(NAME))
    launched_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    terminated_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    scheduled_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    progress: Mapped[int | None] = mapped_column(Integer)
    cleaned: Mapped[bool] = mapped_column(Boolean, default=False)
    shutdown_terminate: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_disk_config: Mapped[bool] = mapped_column(Boolean, default=False)
    ephemeral_key_uuid: Mapped[str | None] = mapped_column(String(UUID))
    system_metadata: Mapped[str | None] = mapped_column(Text)


class InstanceMetadata(Base, TimestampMixin, SoftDeleteMixin):
    """User-set key/value metadata of a server (``PUT /servers/{id}/metadata``)."""

    __tablename__ = "instance_metadata"
    __table_args__ = (UniqueConstraint("instance_uuid", "key", "deleted"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(ForeignKey("instances.uuid"), index=True)
    key: Mapped[str] = mapped_column(String(NAME))
    value: Mapped[str | None] = mapped_column(String(NAME))


class InstanceFault(Base, TimestampMixin, SoftDeleteMixin):
    """Why a server went to ERROR; the newest one is the API's ``fault``."""

    __tablename__ = "instance_faults"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(ForeignKey("instances.uuid"), index=True)
    code: Mapped[int] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(String(NAME))
    details: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(NAME))


class InstanceAction(Base, TimestampMixin, SoftDeleteMixin):
    """One user request on a server (``os-instance-actions``)."""

    __tablename__ = "instance_actions"
    __table_args__ = (
        Index("ix_instance_actions_instance_uuid_request_id", "instance_uuid", "request_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(NAME))
    instance_uuid: Mapped[str] = mapped_column(ForeignKey("instances.uuid"), index=True)
    request_id: Mapped[str] = mapped_column(String(NAME))
    user_id: Mapped[str | None] = mapped_column(String(NAME))
    project_id: Mapped[str | None] = mapped_column(String(NAME))
    start_time: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    finish_time: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    message: Mapped[str | None] = mapped_column(String(NAME))


class InstanceActionEvent(Base, TimestampMixin, SoftDeleteMixin):
    """One step of an instance action (``compute_build_and_run_instance``, …)."""

    __tablename__ = "instance_actions_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("instance_actions.id"), index=True)
    event: Mapped[str] = mapped_column(String(NAME))
    result: Mapped[str | None] = mapped_column(String(NAME))
    traceback: Mapped[str | None] = mapped_column(Text)
    start_time: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    finish_time: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    host: Mapped[str | None] = mapped_column(String(NAME))
    details: Mapped[str | None] = mapped_column(Text)


# --- flavors -----------------------------------------------------------------------------


class Flavor(Base, TimestampMixin):
    """A server size. ``flavorid`` is the API's id; ``id`` is internal."""

    __tablename__ = "flavors"
    __table_args__ = (UniqueConstraint("flavorid"), UniqueConstraint("name"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flavorid: Mapped[str] = mapped_column(String(NAME))
    name: Mapped[str] = mapped_column(String(NAME))
    memory_mb: Mapped[int] = mapped_column(Integer)
    vcpus: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer, default=0)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    swap: Mapped[int] = mapped_column(Integer, default=0)
    rxtx_factor: Mapped[float] = mapped_column(Float, default=1.0)
    vcpu_weight: Mapped[int | None] = mapped_column(Integer)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(Text)


class FlavorExtraSpec(Base, TimestampMixin):
    """A key/value extra spec of a flavor (``hw:cpu_policy``, aggregate matches, …)."""

    __tablename__ = "flavor_extra_specs"
    __table_args__ = (UniqueConstraint("flavor_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flavor_id: Mapped[int] = mapped_column(
        ForeignKey("flavors.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(NAME))
    value: Mapped[str | None] = mapped_column(String(NAME))


class FlavorProject(Base, TimestampMixin):
    """A project allowed to use a private flavor (``os-flavor-access``)."""

    __tablename__ = "flavor_projects"
    __table_args__ = (UniqueConstraint("flavor_id", "project_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flavor_id: Mapped[int] = mapped_column(
        ForeignKey("flavors.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str] = mapped_column(String(NAME))


# --- images ------------------------------------------------------------------------------


class Image(Base, TimestampMixin):
    """A disk image of the embedded local image store (its bytes: ``[image] local_store_path``).

    Deleted for real, with its properties: an instance keeps its ``image_ref``
    and whatever it copied, not a reference to this row.
    """

    __tablename__ = "images"
    __table_args__ = (Index("ix_images_visibility_owner", "visibility", "owner"),)

    id: Mapped[str] = mapped_column(String(UUID), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(NAME))
    status: Mapped[str] = mapped_column(String(30))
    visibility: Mapped[str] = mapped_column(String(30), default="private")
    owner: Mapped[str | None] = mapped_column(String(NAME))
    disk_format: Mapped[str | None] = mapped_column(String(30))
    container_format: Mapped[str | None] = mapped_column(String(30))
    size: Mapped[int | None] = mapped_column(BigInteger)
    checksum: Mapped[str | None] = mapped_column(String(32))
    min_disk: Mapped[int] = mapped_column(Integer, default=0)
    min_ram: Mapped[int] = mapped_column(Integer, default=0)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)


class ImageProperty(Base, TimestampMixin):
    """A key/value property of an image (``hw_disk_bus``, ``os_hash_value``, …)."""

    __tablename__ = "image_properties"
    __table_args__ = (UniqueConstraint("image_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[str] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(NAME))
    value: Mapped[str | None] = mapped_column(Text)


# --- key pairs ---------------------------------------------------------------------------


class KeyPair(Base, TimestampMixin, SoftDeleteMixin):
    """A user's SSH public key or X.509 certificate, injected into servers by name."""

    __tablename__ = "key_pairs"
    __table_args__ = (
        UniqueConstraint("user_id", "name", "deleted"),
        CheckConstraint("type IN ('ssh', 'x509')", name="type"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME))
    user_id: Mapped[str] = mapped_column(String(NAME))
    fingerprint: Mapped[str] = mapped_column(String(NAME))
    public_key: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(4), default="ssh")


# --- quotas ------------------------------------------------------------------------------


class Quota(Base, TimestampMixin):
    """A project's limit for one resource; absent means the quota class default."""

    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("project_id", "resource"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(NAME))
    resource: Mapped[str] = mapped_column(String(NAME))
    hard_limit: Mapped[int | None] = mapped_column(Integer)


class ProjectUserQuota(Base, TimestampMixin):
    """A limit for one user within a project."""

    __tablename__ = "project_user_quotas"
    __table_args__ = (
        UniqueConstraint("user_id", "project_id", "resource"),
        Index("ix_project_user_quotas_project_id", "project_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(NAME))
    user_id: Mapped[str] = mapped_column(String(NAME))
    resource: Mapped[str] = mapped_column(String(NAME))
    hard_limit: Mapped[int | None] = mapped_column(Integer)


class QuotaClass(Base, TimestampMixin):
    """A named set of default limits; class ``default`` applies to every project."""

    __tablename__ = "quota_classes"
    __table_args__ = (UniqueConstraint("class_name", "resource"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_name: Mapped[str] = mapped_column(String(NAME))
    resource: Mapped[str] = mapped_column(String(NAME))
    hard_limit: Mapped[int | None] = mapped_column(Integer)


class QuotaUsage(Base, TimestampMixin):
    """How much of a resource a project (or one user in it) uses and has reserved."""

    __tablename__ = "quota_usages"
    __table_args__ = (Index("ix_quota_usages_project_id_user_id", "project_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(NAME))
    user_id: Mapped[str | None] = mapped_column(String(NAME))
    resource: Mapped[str] = mapped_column(String(NAME))
    in_use: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    until_refresh: Mapped[int | None] = mapped_column(Integer)


class Reservation(Base, TimestampMixin):
    """A pending change of a quota usage, committed or rolled back, or expired."""

    __tablename__ = "reservations"
    __table_args__ = (UniqueConstraint("uuid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(UUID))
    usage_id: Mapped[int] = mapped_column(
        ForeignKey("quota_usages.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str] = mapped_column(String(NAME))
    user_id: Mapped[str | None] = mapped_column(String(NAME))
    resource: Mapped[str] = mapped_column(String(NAME))
    delta: Mapped[int] = mapped_column(Integer)
    expire: Mapped[datetime.datetime | None] = mapped_column(DateTime, index=True)


# --- server groups -----------------------------------------------------------------------


class InstanceGroup(Base, TimestampMixin):
    """A server group with its placement policy (affinity, anti-affinity, soft-…)."""

    __tablename__ = "instance_groups"
    __table_args__ = (UniqueConstraint("uuid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(UUID))
    name: Mapped[str | None] = mapped_column(String(NAME))
    user_id: Mapped[str] = mapped_column(String(NAME))
    project_id: Mapped[str] = mapped_column(String(NAME))
    policy: Mapped[str] = mapped_column(String(NAME))
    rules: Mapped[str | None] = mapped_column(Text)


class InstanceGroupMember(Base, TimestampMixin):
    """A server in a server group."""

    __tablename__ = "instance_group_member"
    __table_args__ = (UniqueConstraint("group_id", "instance_uuid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("instance_groups.id", ondelete="CASCADE"), index=True
    )
    instance_uuid: Mapped[str] = mapped_column(String(UUID), index=True)
    # The host the member was placed on, recorded under the group's lock at build
    # time (before the server's own row says so): the anti-affinity guard reads it.
    host: Mapped[str | None] = mapped_column(String(NAME))


# --- host aggregates ---------------------------------------------------------------------


class Aggregate(Base, TimestampMixin):
    """A host aggregate; its ``availability_zone`` metadata makes it a zone."""

    __tablename__ = "aggregates"
    __table_args__ = (UniqueConstraint("uuid"), UniqueConstraint("name"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(UUID))
    name: Mapped[str] = mapped_column(String(NAME))


class AggregateHost(Base, TimestampMixin):
    """A host (compute service host name) in an aggregate."""

    __tablename__ = "aggregate_hosts"
    __table_args__ = (UniqueConstraint("host", "aggregate_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    aggregate_id: Mapped[int] = mapped_column(
        ForeignKey("aggregates.id", ondelete="CASCADE"), index=True
    )
    host: Mapped[str] = mapped_column(String(NAME))


class AggregateMetadata(Base, TimestampMixin):
    """A key/value of an aggregate, matched by flavor extra specs and image properties."""

    __tablename__ = "aggregate_metadata"
    __table_args__ = (
        UniqueConstraint("aggregate_id", "key"),
        Index("ix_aggregate_metadata_key", "key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    aggregate_id: Mapped[int] = mapped_column(
        ForeignKey("aggregates.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(NAME))
    value: Mapped[str] = mapped_column(String(NAME))


# --- nova-network: networks, addresses, interfaces, security groups ----------------------
# (kumo-network's data; see kumo/db/networks.py and docs/network.md)


class Network(Base, TimestampMixin):
    """A fixed network: its IPv4 range, bridge, optional VLAN and owning project.

    Operators create and delete networks (kumo-manage, os-networks); the vlan
    manager also creates one per project on first use. Deleted for real, with
    its fixed IPs; a network with allocated addresses cannot be deleted.
    """

    __tablename__ = "networks"
    __table_args__ = (UniqueConstraint("uuid"), UniqueConstraint("vlan"),
                      UniqueConstraint("cidr"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(UUID))
    label: Mapped[str | None] = mapped_column(String(NAME))
    cidr: Mapped[str] = mapped_column(String(43))
    netmask: Mapped[str | None] = mapped_column(String(IP_ADDRESS))
    gateway: Mapped[str | None] = mapped_column(String(IP_ADDRESS))
    broadcast: Mapped[str | None] = mapped_column(String(IP_ADDRESS))
    dns1: Mapped[str | None] = mapped_column(String(IP_ADDRESS))
    dns2: Mapped[str | None] = mapped_column(String(IP_ADDRESS))
    bridge: Mapped[str | None] = mapped_column(String(NAME))
    bridge_interface: Mapped[str | None] = mapped_column(String(NAME))
    vlan: Mapped[int | None] = mapped_column(Integer)
    project_id: Mapped[str | None] = mapped_column(String(NAME), index=True)
    multi_host: Mapped[bool] = mapped_column(Boolean, default=False)
    # The kumo-network host serving the network when it is not multi_host.
    host: Mapped[str | None] = mapped_column(String(NAME))


class FixedIp(Base, TimestampMixin):
    """One address of a network; allocated to an instance by a guarded UPDATE."""

    __tablename__ = "fixed_ips"
    __table_args__ = (
        UniqueConstraint("network_id", "address"),
        Index("ix_fixed_ips_instance_uuid", "instance_uuid"),
        Index("ix_fixed_ips_network_id_allocated", "network_id", "allocated"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(IP_ADDRESS))
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"))
    instance_uuid: Mapped[str | None] = mapped_column(String(UUID))
    virtual_interface_id: Mapped[int | None] = mapped_column(Integer)
    # The compute host of the instance (multi_host networks serve it there).
    host: Mapped[str | None] = mapped_column(String(NAME))
    allocated: Mapped[bool] = mapped_column(Boolean, default=False)
    leased: Mapped[bool] = mapped_column(Boolean, default=False)
    # Network, gateway and broadcast addresses: never handed out.
    reserved: Mapped[bool] = mapped_column(Boolean, default=False)


class VirtualInterface(Base, TimestampMixin):
    """An instance's NIC on one network: its MAC (unique) and uuid."""

    __tablename__ = "virtual_interfaces"
    __table_args__ = (UniqueConstraint("address"), UniqueConstraint("uuid"),
                      Index("ix_virtual_interfaces_instance_uuid", "instance_uuid"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(UUID))
    address: Mapped[str] = mapped_column(String(17))
    network_id: Mapped[int | None] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"))
    instance_uuid: Mapped[str] = mapped_column(String(UUID))


class InstanceInfoCache(Base, TimestampMixin):
    """The network_info (JSON list of VIFs) last given to an instance."""

    __tablename__ = "instance_info_caches"
    __table_args__ = (UniqueConstraint("instance_uuid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(String(UUID))
    network_info: Mapped[str | None] = mapped_column(Text)


class FloatingIp(Base, TimestampMixin):
    """A public address of a pool; allocated to a project, associated to a fixed IP."""

    __tablename__ = "floating_ips"
    __table_args__ = (UniqueConstraint("address"),
                      Index("ix_floating_ips_project_id", "project_id"),
                      Index("ix_floating_ips_pool", "pool"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(IP_ADDRESS))
    fixed_ip_id: Mapped[int | None] = mapped_column(
        ForeignKey("fixed_ips.id", ondelete="SET NULL"))
    project_id: Mapped[str | None] = mapped_column(String(NAME))
    host: Mapped[str | None] = mapped_column(String(NAME))
    auto_assigned: Mapped[bool] = mapped_column(Boolean, default=False)
    pool: Mapped[str] = mapped_column(String(NAME))
    interface: Mapped[str | None] = mapped_column(String(NAME))


class SecurityGroup(Base, TimestampMixin):
    """A project's named set of ingress rules."""

    __tablename__ = "security_groups"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME))
    description: Mapped[str | None] = mapped_column(String(NAME))
    user_id: Mapped[str | None] = mapped_column(String(NAME))
    project_id: Mapped[str] = mapped_column(String(NAME))


class SecurityGroupRule(Base, TimestampMixin):
    """An ingress rule: protocol and ports from a CIDR or from a source group's members."""

    __tablename__ = "security_group_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_group_id: Mapped[int] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), index=True)
    protocol: Mapped[str | None] = mapped_column(String(16))
    from_port: Mapped[int | None] = mapped_column(Integer)
    to_port: Mapped[int | None] = mapped_column(Integer)
    cidr: Mapped[str | None] = mapped_column(String(43))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"))


class SecurityGroupInstanceAssociation(Base, TimestampMixin):
    """A security group applied to an instance."""

    __tablename__ = "security_group_instance_association"
    # Names spelled out: the conventional ones exceed PostgreSQL's 63 characters.
    __table_args__ = (UniqueConstraint("security_group_id", "instance_uuid",
                                       name="uq_sg_instance_association_group_instance"),
                      Index("ix_security_group_instance_association_instance_uuid",
                            "instance_uuid"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    security_group_id: Mapped[int] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE",
                   name="fk_sg_instance_association_security_group_id"))
    instance_uuid: Mapped[str] = mapped_column(String(UUID))


# --- server tags (microversion 2.26) -----------------------------------------------------


class Tag(Base):
    """A tag of a server (``/servers/{id}/tags``): one row per (server, tag), no
    history: a removed tag is deleted."""

    __tablename__ = "tags"
    __table_args__ = (Index("ix_tags_tag", "tag"),)

    resource_id: Mapped[str] = mapped_column(String(UUID), primary_key=True)
    tag: Mapped[str] = mapped_column(String(80), primary_key=True)
