"""Tables and columns the API surface needs (groups, aggregates, keypairs, quotas, ...).

Each area adds its operations in its own _upgrade_<area>()/_downgrade_<area>() pair.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 02:20:00
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _upgrade_groups()
    _upgrade_tags()


def downgrade() -> None:
    _downgrade_tags()
    _downgrade_groups()


# --- server groups: the host each member was placed on (the anti-affinity guard) -------


def _upgrade_groups() -> None:
    with op.batch_alter_table("instance_group_member") as batch:
        batch.add_column(sa.Column("host", sa.String(255)))


def _downgrade_groups() -> None:
    with op.batch_alter_table("instance_group_member") as batch:
        batch.drop_column("host")


# --- server tags (microversion 2.26) ------------------------------------------------------


def _upgrade_tags() -> None:
    op.create_table(
        "tags",
        sa.Column("resource_id", sa.String(36), nullable=False),
        sa.Column("tag", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("resource_id", "tag", name="pk_tags"),
    )
    op.create_index("ix_tags_tag", "tags", ["tag"])


def _downgrade_tags() -> None:
    op.drop_index("ix_tags_tag", table_name="tags")
    op.drop_table("tags")
