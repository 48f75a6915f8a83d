"""ERP sales order references

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ordergate.store.columns import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erp_sales_orders",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("location_id", sa.String(length=36), nullable=False),
        sa.Column("erp_id", sa.String(length=64), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("erp_sales_orders") as batch:
        batch.create_index("ix_erp_sales_orders_order_id", ["order_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("erp_sales_orders") as batch:
        batch.drop_index("ix_erp_sales_orders_order_id")
    op.drop_table("erp_sales_orders")
