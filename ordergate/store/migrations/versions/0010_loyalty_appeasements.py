"""loyalty points and goodwill appeasements

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ordergate.store.columns import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "loyalty_entries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("loyalty_entries") as batch:
        batch.create_index("ix_loyalty_entries_customer_id", ["customer_id"], unique=False)
        batch.create_index("ix_loyalty_entries_order_id", ["order_id"], unique=False)
    op.create_table(
        "appeasements",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("issued_by", sa.String(length=255), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("appeasements") as batch:
        batch.create_index("ix_appeasements_order_id", ["order_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appeasements") as batch:
        batch.drop_index("ix_appeasements_order_id")
    op.drop_table("appeasements")
    with op.batch_alter_table("loyalty_entries") as batch:
        batch.drop_index("ix_loyalty_entries_order_id")
        batch.drop_index("ix_loyalty_entries_customer_id")
    op.drop_table("loyalty_entries")
