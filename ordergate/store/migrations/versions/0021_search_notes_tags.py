"""staff notes and tags on orders, customers and fulfilment orders; indexes for the order search
(by update time, total, storefront reference, and the start of a customer's name)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ordergate.store.columns import UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notes",
        sa.Column("id", sa.String(36), primary_key=True, nullable=False),
        sa.Column("target_kind", sa.String(32), nullable=False),
        sa.Column("target_id", sa.String(36), nullable=False),
        sa.Column("body", sa.String(2000), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_notes_target", "notes", ["target_kind", "target_id", "created_at"])
    op.create_table(
        "tags",
        sa.Column("id", sa.String(36), primary_key=True, nullable=False),
        sa.Column("target_kind", sa.String(32), nullable=False),
        sa.Column("target_id", sa.String(36), nullable=False),
        sa.Column("tag", sa.String(40), nullable=False),
        sa.Column("added_by", sa.String(255), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("target_kind", "target_id", "tag", name="uq_tags_target_tag"),
    )
    op.create_index("ix_tags_kind_tag_target", "tags", ["target_kind", "tag", "target_id"])
    op.create_index("ix_orders_updated_at_id", "orders", ["updated_at", "id"])
    op.create_index("ix_orders_total_id", "orders", ["total", "id"])
    op.create_index("ix_orders_external_reference", "orders", ["external_reference"])
    op.create_index("ix_customers_first_name_lower", "customers", [sa.text("lower(first_name)")])
    op.create_index("ix_customers_last_name_lower", "customers", [sa.text("lower(last_name)")])


def downgrade() -> None:
    op.drop_index("ix_customers_last_name_lower", table_name="customers")
    op.drop_index("ix_customers_first_name_lower", table_name="customers")
    op.drop_index("ix_orders_external_reference", table_name="orders")
    op.drop_index("ix_orders_total_id", table_name="orders")
    op.drop_index("ix_orders_updated_at_id", table_name="orders")
    op.drop_index("ix_tags_kind_tag_target", table_name="tags")
    op.drop_table("tags")
    op.drop_index("ix_notes_target", table_name="notes")
    op.drop_table("notes")
