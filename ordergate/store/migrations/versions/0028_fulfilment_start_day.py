"""fulfilment orders: the day the node is to start on each (its capacity per day is counted by
that day, so work taken past a full day counts on the day it is started)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (see 0023). Work opened before this kept no start day: each counts on the
    # (UTC) day it was opened, which is what capacity was counted by until now.
    op.add_column("fulfillment_orders", sa.Column("starts_on", sa.Date(), nullable=True))
    op.execute("UPDATE fulfillment_orders SET starts_on = date(created_at)")
    op.create_index(
        "ix_fulfillment_orders_location_starts_on", "fulfillment_orders", ["location_id", "starts_on"]
    )


def downgrade() -> None:
    op.drop_index("ix_fulfillment_orders_location_starts_on", table_name="fulfillment_orders")
    # Plain DROP COLUMN (SQLite 3.35 and later): a batch would copy the table, and the copy could
    # not replace it while the tables that reference it hold rows.
    op.drop_column("fulfillment_orders", "starts_on")
