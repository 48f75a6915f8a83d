"""per-line tax, shipping tax and the fraud screen's assessment

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(
            sa.Column("shipping_tax", sa.Numeric(precision=14, scale=2), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("risk_score", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("risk_reasons", sa.String(length=500), nullable=True))
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(
            sa.Column("tax", sa.Numeric(precision=14, scale=2), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_column("tax")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("risk_reasons")
        batch.drop_column("risk_score")
        batch.drop_column("shipping_tax")
