"""storefront imports: an imported order's source reference (unique) and sync checkpoints

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ordergate.store.columns import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("source_ref", sa.String(length=128), nullable=True))
        batch.create_index("ix_orders_source_ref", ["source_ref"], unique=True)
    op.create_table(
        "sync_checkpoints",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("watermark", UTCDateTime(), nullable=True),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("sync_checkpoints")
    with op.batch_alter_table("orders") as batch:
        batch.drop_index("ix_orders_source_ref")
        batch.drop_column("source_ref")
