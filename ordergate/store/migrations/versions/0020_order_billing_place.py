"""where an order is billed (country and postal code only), so the fraud screen can run again
when the order changes after placement

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bill_country_code", sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column("bill_postal_code", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("bill_postal_code")
        batch_op.drop_column("bill_country_code")
