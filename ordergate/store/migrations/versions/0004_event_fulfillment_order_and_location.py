"""order events name their fulfilment order and its node (a node's queue follows them)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("order_events") as batch:
        batch.add_column(sa.Column("fulfillment_order_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("location_id", sa.String(length=36), nullable=True))
        batch.create_index("ix_order_events_location_id", ["location_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("order_events") as batch:
        batch.drop_index("ix_order_events_location_id")
        batch.drop_column("location_id")
        batch.drop_column("fulfillment_order_id")
