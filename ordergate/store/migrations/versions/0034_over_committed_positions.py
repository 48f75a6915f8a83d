"""over-committed positions: a partial index of the positions where a count has left fewer units
on hand than are allocated, which the shortfall pass looks for every few seconds

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_positions_over_committed",
        "inventory_positions",
        ["sku", "location_id"],
        unique=False,
        postgresql_where=sa.text("allocated > on_hand"),
        sqlite_where=sa.text("allocated > on_hand"),
    )


def downgrade() -> None:
    op.drop_index("ix_positions_over_committed", table_name="inventory_positions")
