"""orders refused at placement for want of stock, one row each, for the network metrics

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ordergate.store.columns import UTCDateTime

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "refusals",
        sa.Column("id", sa.String(36), primary_key=True, nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
    )
    op.create_index("ix_refusals_occurred_at", "refusals", ["occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_refusals_occurred_at", table_name="refusals")
    op.drop_table("refusals")
