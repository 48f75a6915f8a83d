"""return label voids: what the carrier voids a return label by (ShipEngine's label id, UPS's
shipment identification number), so a label bought for a parcel that came back without it is
voided and refunded

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (see 0023): labels bought before kept no such id, and are not voided.
    op.add_column("order_returns", sa.Column("label_carrier_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35 and later), as 0028 does.
    op.drop_column("order_returns", "label_carrier_id")
