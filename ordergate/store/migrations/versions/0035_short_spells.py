"""short spells: when each position went short (fewer units on hand than allocated, work left
there) and when it was covered again; at most one open per position

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ordergate.store.columns import UTCDateTime

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "short_spells",
        sa.Column("id", sa.String(36), primary_key=True, nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("location_id", sa.String(36), sa.ForeignKey("locations.id"), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("most_missing", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ux_short_spells_open",
        "short_spells",
        ["sku", "location_id"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
        sqlite_where=sa.text("ended_at IS NULL"),
    )
    op.create_index("ix_short_spells_started", "short_spells", ["started_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_short_spells_started", table_name="short_spells")
    op.drop_index("ux_short_spells_open", table_name="short_spells")
    op.drop_table("short_spells")
