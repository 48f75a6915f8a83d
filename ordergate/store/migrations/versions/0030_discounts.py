"""discounts: what a storefront's coupons and discounts took off an imported sale, on the order
and shared over its lines (before, it was dropped, and the order cost more here than the
shopper paid)

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None
TABLES = ("orders", "order_lines")


def upgrade() -> None:
    # Plain ADD COLUMN (see 0023): no discount on anything before.
    for table in TABLES:
        op.add_column(
            table,
            sa.Column(
                "discount", sa.Numeric(precision=14, scale=2), nullable=False, server_default=sa.text("0")
            ),
        )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35 and later), as 0028 does.
    for table in TABLES:
        op.drop_column(table, "discount")
