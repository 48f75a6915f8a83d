"""return labels and closing returns

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ordergate.store.columns import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COLUMNS = (
    ("refunded_at", UTCDateTime()),
    ("closed_at", UTCDateTime()),
    ("closed_by", sa.String(length=255)),
    ("label_status", sa.String(length=16)),
    ("label_shipment_id", sa.String(length=36)),
    ("label_carrier", sa.String(length=32)),
    ("label_service", sa.String(length=64)),
    ("label_tracking_number", sa.String(length=64)),
    ("label_url", sa.String(length=512)),
    ("label_error", sa.String(length=500)),
    ("label_created_at", UTCDateTime()),
)


def upgrade() -> None:
    with op.batch_alter_table("order_returns") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("order_returns") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
