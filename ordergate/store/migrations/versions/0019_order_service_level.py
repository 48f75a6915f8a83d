"""the service level a shipped order was bought with (a delivery option: STANDARD or EXPRESS)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("service_level", sa.String(length=16), nullable=True))
    # Every shipped order placed before options could be chosen went the standard way.
    op.execute("UPDATE orders SET service_level = 'STANDARD' WHERE delivery_method = 'SHIP'")


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("service_level")
