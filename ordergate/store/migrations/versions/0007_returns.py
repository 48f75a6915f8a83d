"""returns and their lines

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ordergate.store.columns import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_returns",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=255), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=True),
        sa.Column("received_location_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.ForeignKeyConstraint(["received_location_id"], ["locations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("order_returns") as batch:
        batch.create_index("ix_order_returns_order_id", ["order_id"], unique=False)
    op.create_table(
        "order_return_lines",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("return_id", sa.String(length=36), nullable=False),
        sa.Column("order_line_id", sa.String(length=36), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("disposition", sa.String(length=16), nullable=True),
        sa.CheckConstraint("quantity > 0", name="ck_return_lines_quantity_positive"),
        sa.ForeignKeyConstraint(["order_line_id"], ["order_lines.id"]),
        sa.ForeignKeyConstraint(["return_id"], ["order_returns.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("order_return_lines") as batch:
        batch.create_index("ix_order_return_lines_return_id", ["return_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("order_return_lines") as batch:
        batch.drop_index("ix_order_return_lines_return_id")
    op.drop_table("order_return_lines")
    with op.batch_alter_table("order_returns") as batch:
        batch.drop_index("ix_order_returns_order_id")
    op.drop_table("order_returns")
