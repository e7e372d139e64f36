"""The local image store's metadata: images and image_properties.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NAME = 255
UUID = 36


def upgrade() -> None:
    op.create_table(
        "images",
        sa.Column("id", sa.String(UUID), nullable=False),
        sa.Column("name", sa.String(NAME)),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("visibility", sa.String(30), nullable=False),
        sa.Column("owner", sa.String(NAME)),
        sa.Column("disk_format", sa.String(30)),
        sa.Column("container_format", sa.String(30)),
        sa.Column("size", sa.BigInteger()),
        sa.Column("checksum", sa.String(32)),
        sa.Column("min_disk", sa.Integer(), nullable=False),
        sa.Column("min_ram", sa.Integer(), nullable=False),
        sa.Column("protected", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime()),
        sa.Column("updated_at", sa.DateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_images"),
    )
    op.create_index("ix_images_visibility_owner", "images", ["visibility", "owner"])

    op.create_table(
        "image_properties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.String(UUID), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("value", sa.Text()),
        sa.Column("created_at", sa.DateTime()),
        sa.Column("updated_at", sa.DateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_image_properties"),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["images.id"],
            name="fk_image_properties_image_id_images",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("image_id", "name", name="uq_image_properties_image_id_name"),
    )
    op.create_index("ix_image_properties_image_id", "image_properties", ["image_id"])


def downgrade() -> None:
    op.drop_table("image_properties")
    op.drop_table("images")
