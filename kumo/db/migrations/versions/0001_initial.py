"""Initial schema: services, compute nodes, instances, flavors, key pairs, quotas,
server groups and aggregates.

Revision ID: 0001
Revises:
Create Date: 2024-01-01 00:00:00

Written out table by table, not derived from kumo.db.models: a migration
describes the schema as it was at this revision, whatever the models say later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

NAME = 255
UUID = 36
IP_ADDRESS = 39


def _timestamps() -> list[sa.Column]:
    return [sa.Column("created_at", sa.DateTime()), sa.Column("updated_at", sa.DateTime())]


def _soft_delete() -> list[sa.Column]:
    return [
        sa.Column("deleted_at", sa.DateTime()),
        sa.Column("deleted", sa.Integer(), nullable=False),
    ]


def _id(table: str) -> list[sa.Column | sa.PrimaryKeyConstraint]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    ]


def _name(column: str, nullable: bool = False) -> sa.Column:
    return sa.Column(column, sa.String(NAME), nullable=nullable)


def upgrade() -> None:
    _services_and_compute_nodes()
    _instances()
    _flavors()
    _key_pairs()
    _quotas()
    _server_groups()
    _aggregates()


def _services_and_compute_nodes() -> None:
    op.create_table(
        "services",
        *_id("services"),
        sa.Column("uuid", sa.String(UUID), nullable=False),
        _name("host"),
        _name("binary"),
        _name("topic", nullable=True),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        _name("disabled_reason", nullable=True),
        sa.Column("forced_down", sa.Boolean(), nullable=False),
        sa.Column("last_seen_up", sa.DateTime()),
        sa.Column("version", sa.Integer(), nullable=False),
        *_timestamps(),
        *_soft_delete(),
        sa.UniqueConstraint("host", "binary", "deleted", name="uq_services_host_binary_deleted"),
        sa.UniqueConstraint("uuid", name="uq_services_uuid"),
    )

    op.create_table(
        "compute_nodes",
        *_id("compute_nodes"),
        sa.Column("uuid", sa.String(UUID), nullable=False),
        sa.Column("service_id", sa.Integer()),
        _name("host"),
        _name("hypervisor_hostname"),
        _name("hypervisor_type"),
        sa.Column("hypervisor_version", sa.Integer(), nullable=False),
        sa.Column("vcpus", sa.Integer(), nullable=False),
        sa.Column("memory_mb", sa.Integer(), nullable=False),
        sa.Column("local_gb", sa.Integer(), nullable=False),
        sa.Column("vcpus_used", sa.Integer(), nullable=False),
        sa.Column("memory_mb_used", sa.Integer(), nullable=False),
        sa.Column("local_gb_used", sa.Integer(), nullable=False),
        sa.Column("free_ram_mb", sa.Integer()),
        sa.Column("free_disk_gb", sa.Integer()),
        sa.Column("running_vms", sa.Integer(), nullable=False),
        sa.Column("cpu_allocation_ratio", sa.Float()),
        sa.Column("ram_allocation_ratio", sa.Float()),
        sa.Column("disk_allocation_ratio", sa.Float()),
        sa.Column("host_ip", sa.String(IP_ADDRESS)),
        sa.Column("cpu_info", sa.Text(), nullable=False),
        sa.Column("stats", sa.Text(), nullable=False),
        sa.Column("disk_available_least", sa.Integer()),
        sa.Column("mapped", sa.Integer(), nullable=False),
        *_timestamps(),
        *_soft_delete(),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name="fk_compute_nodes_service_id_services"
        ),
        sa.UniqueConstraint(
            "host",
            "hypervisor_hostname",
            "deleted",
            name="uq_compute_nodes_host_hypervisor_hostname_deleted",
        ),
        sa.UniqueConstraint("uuid", name="uq_compute_nodes_uuid"),
    )
    op.create_index("ix_compute_nodes_service_id", "compute_nodes", ["service_id"])


def _instances() -> None:
    op.create_table(
        "instances",
        *_id("instances"),
        sa.Column("uuid", sa.String(UUID), nullable=False),
        _name("project_id"),
        _name("user_id"),
        _name("display_name", nullable=True),
        sa.Column("display_description", sa.Text()),
        _name("hostname", nullable=True),
        _name("reservation_id", nullable=True),
        sa.Column("launch_index", sa.Integer()),
        _name("vm_state"),
        _name("task_state", nullable=True),
        sa.Column("power_state", sa.Integer()),
        _name("host", nullable=True),
        _name("node", nullable=True),
        _name("availability_zone", nullable=True),
        sa.Column("flavor_id", sa.Integer()),
        sa.Column("memory_mb", sa.Integer(), nullable=False),
        sa.Column("vcpus", sa.Integer(), nullable=False),
        sa.Column("root_gb", sa.Integer(), nullable=False),
        sa.Column("ephemeral_gb", sa.Integer(), nullable=False),
        sa.Column("swap", sa.Integer(), nullable=False),
        sa.Column("flavor", sa.Text()),
        _name("image_ref", nullable=True),
        _name("kernel_id", nullable=True),
        _name("ramdisk_id", nullable=True),
        _name("key_name", nullable=True),
        sa.Column("key_data", sa.Text()),
        sa.Column("user_data", sa.Text()),
        _name("config_drive", nullable=True),
        sa.Column("access_ip_v4", sa.String(IP_ADDRESS)),
        sa.Column("access_ip_v6", sa.String(IP_ADDRESS)),
        sa.Column("locked", sa.Boolean(), nullable=False),
        _name("locked_by", nullable=True),
        sa.Column("launched_at", sa.DateTime()),
        sa.Column("terminated_at", sa.DateTime()),
        sa.Column("scheduled_at", sa.DateTime()),
        sa.Column("progress", sa.Integer()),
        sa.Column("cleaned", sa.Boolean(), nullable=False),
        sa.Column("shutdown_terminate", sa.Boolean(), nullable=False),
        sa.Column("auto_disk_config", sa.Boolean(), nullable=False),
        sa.Column("ephemeral_key_uuid", sa.String(UUID)),
        sa.Column("system_metadata", sa.Text()),
        *_timestamps(),
        *_soft_delete(),
        sa.UniqueConstraint("uuid", name="uq_instances_uuid"),
    )
    op.create_index("ix_instances_project_id", "instances", ["project_id"])
    op.create_index("ix_instances_host", "instances", ["host"])
    op.create_index("ix_instances_deleted_created_at", "instances", ["deleted", "created_at"])

    op.create_table(
        "instance_metadata",
        *_id("instance_metadata"),
        sa.Column("instance_uuid", sa.String(UUID), nullable=False),
        _name("key"),
        _name("value", nullable=True),
        *_timestamps(),
        *_soft_delete(),
        sa.ForeignKeyConstraint(
            ["instance_uuid"],
            ["instances.uuid"],
            name="fk_instance_metadata_instance_uuid_instances",
        ),
        sa.UniqueConstraint(
            "instance_uuid",
            "key",
            "deleted",
            name="uq_instance_metadata_instance_uuid_key_deleted",
        ),
    )
    op.create_index("ix_instance_metadata_instance_uuid", "instance_metadata", ["instance_uuid"])

    op.create_table(
        "instance_faults",
        *_id("instance_faults"),
        sa.Column("instance_uuid", sa.String(UUID), nullable=False),
        sa.Column("code", sa.Integer(), nullable=False),
        _name("message", nullable=True),
        sa.Column("details", sa.Text()),
        _name("host", nullable=True),
        *_timestamps(),
        *_soft_delete(),
        sa.ForeignKeyConstraint(
            ["instance_uuid"],
            ["instances.uuid"],
            name="fk_instance_faults_instance_uuid_instances",
        ),
    )
    op.create_index("ix_instance_faults_instance_uuid", "instance_faults", ["instance_uuid"])

    op.create_table(
        "instance_actions",
        *_id("instance_actions"),
        _name("action"),
        sa.Column("instance_uuid", sa.String(UUID), nullable=False),
        _name("request_id"),
        _name("user_id", nullable=True),
        _name("project_id", nullable=True),
        sa.Column("start_time", sa.DateTime()),
        sa.Column("finish_time", sa.DateTime()),
        _name("message", nullable=True),
        *_timestamps(),
        *_soft_delete(),
        sa.ForeignKeyConstraint(
            ["instance_uuid"],
            ["instances.uuid"],
            name="fk_instance_actions_instance_uuid_instances",
        ),
    )
    op.create_index("ix_instance_actions_instance_uuid", "instance_actions", ["instance_uuid"])
    op.create_index(
        "ix_instance_actions_instance_uuid_request_id",
        "instance_actions",
        ["instance_uuid", "request_id"],
    )

    op.create_table(
        "instance_actions_events",
        *_id("instance_actions_events"),
        sa.Column("action_id", sa.Integer(), nullable=False),
        _name("event"),
        _name("result", nullable=True),
        sa.Column("traceback", sa.Text()),
        sa.Column("start_time", sa.DateTime()),
        sa.Column("finish_time", sa.DateTime()),
        _name("host", nullable=True),
        sa.Column("details", sa.Text()),
        *_timestamps(),
        *_soft_delete(),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["instance_actions.id"],
            name="fk_instance_actions_events_action_id_instance_actions",
        ),
    )
    op.create_index(
        "ix_instance_actions_events_action_id", "instance_actions_events", ["action_id"]
    )


def _flavors() -> None:
    op.create_table(
        "flavors",
        *_id("flavors"),
        _name("flavorid"),
        _name("name"),
        sa.Column("memory_mb", sa.Integer(), nullable=False),
        sa.Column("vcpus", sa.Integer(), nullable=False),
        sa.Column("root_gb", sa.Integer(), nullable=False),
        sa.Column("ephemeral_gb", sa.Integer(), nullable=False),
        sa.Column("swap", sa.Integer(), nullable=False),
        sa.Column("rxtx_factor", sa.Float(), nullable=False),
        sa.Column("vcpu_weight", sa.Integer()),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text()),
        *_timestamps(),
        sa.UniqueConstraint("flavorid", name="uq_flavors_flavorid"),
        sa.UniqueConstraint("name", name="uq_flavors_name"),
    )

    op.create_table(
        "flavor_extra_specs",
        *_id("flavor_extra_specs"),
        sa.Column("flavor_id", sa.Integer(), nullable=False),
        _name("key"),
        _name("value", nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["flavor_id"],
            ["flavors.id"],
            name="fk_flavor_extra_specs_flavor_id_flavors",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("flavor_id", "key", name="uq_flavor_extra_specs_flavor_id_key"),
    )
    op.create_index("ix_flavor_extra_specs_flavor_id", "flavor_extra_specs", ["flavor_id"])

    op.create_table(
        "flavor_projects",
        *_id("flavor_projects"),
        sa.Column("flavor_id", sa.Integer(), nullable=False),
        _name("project_id"),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["flavor_id"],
            ["flavors.id"],
            name="fk_flavor_projects_flavor_id_flavors",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "flavor_id", "project_id", name="uq_flavor_projects_flavor_id_project_id"
        ),
    )
    op.create_index("ix_flavor_projects_flavor_id", "flavor_projects", ["flavor_id"])


def _key_pairs() -> None:
    op.create_table(
        "key_pairs",
        *_id("key_pairs"),
        _name("name"),
        _name("user_id"),
        _name("fingerprint"),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("type", sa.String(4), nullable=False),
        *_timestamps(),
        *_soft_delete(),
        sa.UniqueConstraint(
            "user_id", "name", "deleted", name="uq_key_pairs_user_id_name_deleted"
        ),
        sa.CheckConstraint("type IN ('ssh', 'x509')", name="ck_key_pairs_type"),
    )


def _quotas() -> None:
    op.create_table(
        "quotas",
        *_id("quotas"),
        _name("project_id"),
        _name("resource"),
        sa.Column("hard_limit", sa.Integer()),
        *_timestamps(),
        sa.UniqueConstraint("project_id", "resource", name="uq_quotas_project_id_resource"),
    )

    op.create_table(
        "project_user_quotas",
        *_id("project_user_quotas"),
        _name("project_id"),
        _name("user_id"),
        _name("resource"),
        sa.Column("hard_limit", sa.Integer()),
        *_timestamps(),
        sa.UniqueConstraint(
            "user_id",
            "project_id",
            "resource",
            name="uq_project_user_quotas_user_id_project_id_resource",
        ),
    )
    op.create_index("ix_project_user_quotas_project_id", "project_user_quotas", ["project_id"])

    op.create_table(
        "quota_classes",
        *_id("quota_classes"),
        _name("class_name"),
        _name("resource"),
        sa.Column("hard_limit", sa.Integer()),
        *_timestamps(),
        sa.UniqueConstraint("class_name", "resource", name="uq_quota_classes_class_name_resource"),
    )

    op.create_table(
        "quota_usages",
        *_id("quota_usages"),
        _name("project_id"),
        _name("user_id", nullable=True),
        _name("resource"),
        sa.Column("in_use", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("until_refresh", sa.Integer()),
        *_timestamps(),
    )
    op.create_index(
        "ix_quota_usages_project_id_user_id", "quota_usages", ["project_id", "user_id"]
    )

    op.create_table(
        "reservations",
        *_id("reservations"),
        sa.Column("uuid", sa.String(UUID), nullable=False),
        sa.Column("usage_id", sa.Integer(), nullable=False),
        _name("project_id"),
        _name("user_id", nullable=True),
        _name("resource"),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("expire", sa.DateTime()),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["usage_id"],
            ["quota_usages.id"],
            name="fk_reservations_usage_id_quota_usages",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("uuid", name="uq_reservations_uuid"),
    )
    op.create_index("ix_reservations_usage_id", "reservations", ["usage_id"])
    op.create_index("ix_reservations_expire", "reservations", ["expire"])


def _server_groups() -> None:
    op.create_table(
        "instance_groups",
        *_id("instance_groups"),
        sa.Column("uuid", sa.String(UUID), nullable=False),
        _name("name", nullable=True),
        _name("user_id"),
        _name("project_id"),
        _name("policy"),
        sa.Column("rules", sa.Text()),
        *_timestamps(),
        sa.UniqueConstraint("uuid", name="uq_instance_groups_uuid"),
    )

    op.create_table(
        "instance_group_member",
        *_id("instance_group_member"),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("instance_uuid", sa.String(UUID), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["instance_groups.id"],
            name="fk_instance_group_member_group_id_instance_groups",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "group_id", "instance_uuid", name="uq_instance_group_member_group_id_instance_uuid"
        ),
    )
    op.create_index("ix_instance_group_member_group_id", "instance_group_member", ["group_id"])
    op.create_index(
        "ix_instance_group_member_instance_uuid", "instance_group_member", ["instance_uuid"]
    )


def _aggregates() -> None:
    op.create_table(
        "aggregates",
        *_id("aggregates"),
        sa.Column("uuid", sa.String(UUID), nullable=False),
        _name("name"),
        *_timestamps(),
        sa.UniqueConstraint("uuid", name="uq_aggregates_uuid"),
        sa.UniqueConstraint("name", name="uq_aggregates_name"),
    )

    op.create_table(
        "aggregate_hosts",
        *_id("aggregate_hosts"),
        sa.Column("aggregate_id", sa.Integer(), nullable=False),
        _name("host"),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["aggregate_id"],
            ["aggregates.id"],
            name="fk_aggregate_hosts_aggregate_id_aggregates",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("host", "aggregate_id", name="uq_aggregate_hosts_host_aggregate_id"),
    )
    op.create_index("ix_aggregate_hosts_aggregate_id", "aggregate_hosts", ["aggregate_id"])

    op.create_table(
        "aggregate_metadata",
        *_id("aggregate_metadata"),
        sa.Column("aggregate_id", sa.Integer(), nullable=False),
        _name("key"),
        _name("value"),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["aggregate_id"],
            ["aggregates.id"],
            name="fk_aggregate_metadata_aggregate_id_aggregates",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("aggregate_id", "key", name="uq_aggregate_metadata_aggregate_id_key"),
    )
    op.create_index("ix_aggregate_metadata_aggregate_id", "aggregate_metadata", ["aggregate_id"])
    op.create_index("ix_aggregate_metadata_key", "aggregate_metadata", ["key"])


# Children before the tables they refer to.
_TABLES_CHILDREN_FIRST = (
    "aggregate_metadata",
    "aggregate_hosts",
    "aggregates",
    "instance_group_member",
    "instance_groups",
    "reservations",
    "quota_usages",
    "quota_classes",
    "project_user_quotas",
    "quotas",
    "key_pairs",
    "flavor_projects",
    "flavor_extra_specs",
    "flavors",
    "instance_actions_events",
    "instance_actions",
    "instance_faults",
    "instance_metadata",
    "instances",
    "compute_nodes",
    "services",
)


def downgrade() -> None:
    for table in _TABLES_CHILDREN_FIRST:
        op.drop_table(table)
