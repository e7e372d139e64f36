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
    pass


def downgrade() -> None:
    pass
