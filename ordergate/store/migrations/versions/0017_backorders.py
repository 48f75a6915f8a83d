"""selling against incoming supply: a selling policy per product, and backordered units

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ordergate.store.columns import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("selling_policy", sa.String(length=16), nullable=False, server_default="ON_HAND")
        )
        batch_op.add_column(sa.Column("release_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("policy_channels", sa.JSON(), nullable=False, server_default="[]"))
    op.create_table(
        "backorders",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("order_line_id", sa.String(length=36), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("quantity_allocated", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("release_on", sa.Date(), nullable=True),
        sa.Column("promised_on", sa.Date(), nullable=True),
        sa.Column("placed_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.ForeignKeyConstraint(["order_line_id"], ["order_lines.id"]),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_backorders_order_id", "backorders", ["order_id"])
    op.create_index("ix_backorders_waiting", "backorders", ["sku", "status", "placed_at"])


def downgrade() -> None:
    op.drop_index("ix_backorders_waiting", table_name="backorders")
    op.drop_index("ix_backorders_order_id", table_name="backorders")
    op.drop_table("backorders")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("policy_channels")
        batch_op.drop_column("release_on")
        batch_op.drop_column("selling_policy")
