"""nova-network's data: networks, fixed and floating IPs, VIFs, security groups.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 02:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NAME = 255
UUID = 36
IP = 39
CIDR = 43


def _timestamps() -> list[sa.Column]:
    return [sa.Column("created_at", sa.DateTime()), sa.Column("updated_at", sa.DateTime())]


def _fk(table: str, column: str, referred: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{referred}.id"],
                                   name=f"fk_{table}_{column}_{referred}", ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "networks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(UUID), nullable=False),
        sa.Column("label", sa.String(NAME)),
        sa.Column("cidr", sa.String(CIDR), nullable=False),
        sa.Column("netmask", sa.String(IP)),
        sa.Column("gateway", sa.String(IP)),
        sa.Column("broadcast", sa.String(IP)),
        sa.Column("dns1", sa.String(IP)),
        sa.Column("dns2", sa.String(IP)),
        sa.Column("bridge", sa.String(NAME)),
        sa.Column("bridge_interface", sa.String(NAME)),
        sa.Column("vlan", sa.Integer()),
        sa.Column("project_id", sa.String(NAME)),
        sa.Column("multi_host", sa.Boolean(), nullable=False),
        sa.Column("host", sa.String(NAME)),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_networks"),
        sa.UniqueConstraint("uuid", name="uq_networks_uuid"),
        sa.UniqueConstraint("vlan", name="uq_networks_vlan"),
        sa.UniqueConstraint("cidr", name="uq_networks_cidr"),
    )
    op.create_index("ix_networks_project_id", "networks", ["project_id"])

    op.create_table(
        "fixed_ips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(IP), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("instance_uuid", sa.String(UUID)),
        sa.Column("virtual_interface_id", sa.Integer()),
        sa.Column("host", sa.String(NAME)),
        sa.Column("allocated", sa.Boolean(), nullable=False),
        sa.Column("leased", sa.Boolean(), nullable=False),
        sa.Column("reserved", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_fixed_ips"),
        _fk("fixed_ips", "network_id", "networks", "CASCADE"),
        sa.UniqueConstraint("network_id", "address", name="uq_fixed_ips_network_id_address"),
    )
    op.create_index("ix_fixed_ips_instance_uuid", "fixed_ips", ["instance_uuid"])
    op.create_index("ix_fixed_ips_network_id_allocated", "fixed_ips",
                    ["network_id", "allocated"])

    op.create_table(
        "virtual_interfaces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(UUID), nullable=False),
        sa.Column("address", sa.String(17), nullable=False),
        sa.Column("network_id", sa.Integer()),
        sa.Column("instance_uuid", sa.String(UUID), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_virtual_interfaces"),
        _fk("virtual_interfaces", "network_id", "networks", "CASCADE"),
        sa.UniqueConstraint("address", name="uq_virtual_interfaces_address"),
        sa.UniqueConstraint("uuid", name="uq_virtual_interfaces_uuid"),
    )
    op.create_index("ix_virtual_interfaces_instance_uuid", "virtual_interfaces",
                    ["instance_uuid"])

    op.create_table(
        "instance_info_caches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_uuid", sa.String(UUID), nullable=False),
        sa.Column("network_info", sa.Text()),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_instance_info_caches"),
        sa.UniqueConstraint("instance_uuid", name="uq_instance_info_caches_instance_uuid"),
    )

    op.create_table(
        "floating_ips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(IP), nullable=False),
        sa.Column("fixed_ip_id", sa.Integer()),
        sa.Column("project_id", sa.String(NAME)),
        sa.Column("host", sa.String(NAME)),
        sa.Column("auto_assigned", sa.Boolean(), nullable=False),
        sa.Column("pool", sa.String(NAME), nullable=False),
        sa.Column("interface", sa.String(NAME)),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_floating_ips"),
        _fk("floating_ips", "fixed_ip_id", "fixed_ips", "SET NULL"),
        sa.UniqueConstraint("address", name="uq_floating_ips_address"),
    )
    op.create_index("ix_floating_ips_project_id", "floating_ips", ["project_id"])
    op.create_index("ix_floating_ips_pool", "floating_ips", ["pool"])

    op.create_table(
        "security_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("description", sa.String(NAME)),
        sa.Column("user_id", sa.String(NAME)),
        sa.Column("project_id", sa.String(NAME), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_security_groups"),
        sa.UniqueConstraint("project_id", "name", name="uq_security_groups_project_id_name"),
    )

    op.create_table(
        "security_group_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parent_group_id", sa.Integer(), nullable=False),
        sa.Column("protocol", sa.String(16)),
        sa.Column("from_port", sa.Integer()),
        sa.Column("to_port", sa.Integer()),
        sa.Column("cidr", sa.String(CIDR)),
        sa.Column("group_id", sa.Integer()),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_security_group_rules"),
        _fk("security_group_rules", "parent_group_id", "security_groups", "CASCADE"),
        _fk("security_group_rules", "group_id", "security_groups", "CASCADE"),
    )
    op.create_index("ix_security_group_rules_parent_group_id", "security_group_rules",
                    ["parent_group_id"])

    op.create_table(
        "security_group_instance_association",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("security_group_id", sa.Integer(), nullable=False),
        sa.Column("instance_uuid", sa.String(UUID), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_security_group_instance_association"),
        sa.ForeignKeyConstraint(["security_group_id"], ["security_groups.id"],
                                name="fk_sg_instance_association_security_group_id",
                                ondelete="CASCADE"),
        sa.UniqueConstraint("security_group_id", "instance_uuid",
                            name="uq_sg_instance_association_group_instance"),
    )
    op.create_index("ix_security_group_instance_association_instance_uuid",
                    "security_group_instance_association", ["instance_uuid"])


def downgrade() -> None:
    for table in ("security_group_instance_association", "security_group_rules",
                  "security_groups", "floating_ips", "instance_info_caches",
                  "virtual_interfaces", "fixed_ips", "networks"):
        op.drop_table(table)
