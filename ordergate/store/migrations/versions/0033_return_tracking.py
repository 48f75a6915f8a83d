"""return tracking: the carrier's tracking of a return label kept on its return (its status as
of its newest scan, and when the carrier first had the parcel), found by the label's tracking
number as carriers' webhooks name it

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ordergate.store.columns import UTCDateTime

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (see 0023): labels tracked before this revision start with nothing kept,
    # and their next scan brings it.
    op.add_column("order_returns", sa.Column("label_tracking", sa.String(length=32), nullable=True))
    op.add_column("order_returns", sa.Column("label_tracked_at", UTCDateTime(), nullable=True))
    op.add_column("order_returns", sa.Column("label_picked_up_at", UTCDateTime(), nullable=True))
    op.create_index(
        "ix_order_returns_label_tracking_number", "order_returns", ["label_tracking_number"], unique=False
    )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35 and later), as 0028 does.
    op.drop_index("ix_order_returns_label_tracking_number", table_name="order_returns")
    op.drop_column("order_returns", "label_picked_up_at")
    op.drop_column("order_returns", "label_tracked_at")
    op.drop_column("order_returns", "label_tracking")
