"""Tables and columns added for consoles, metadata, networking and speed work.

Each area adds its operations in its own _upgrade_<area>()/_downgrade_<area>() pair
and calls them from upgrade()/downgrade().

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
