"""locations set through the API (their time zone and opening hours) and safety stock per SKU
and node

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ordergate.store.columns import UTCDateTime

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (see 0023): a batch copy on SQLite would lose expression indexes.
    op.add_column("locations", sa.Column("time_zone", sa.String(length=64), nullable=True))
    op.add_column("locations", sa.Column("hours", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    op.create_table(
        "safety_stock",
        sa.Column("sku", sa.String(64), primary_key=True, nullable=False),
        sa.Column(
            "location_id", sa.String(36), sa.ForeignKey("locations.id"), primary_key=True, nullable=False
        ),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("quantity >= 0", name="ck_safety_stock_not_negative"),
    )


def downgrade() -> None:
    op.drop_table("safety_stock")
    with op.batch_alter_table("locations", schema=None) as batch_op:
        batch_op.drop_column("hours")
        batch_op.drop_column("time_zone")
