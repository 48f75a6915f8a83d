"""outbox: how often each task was leased (a handler knows whether an earlier lease may have
done its work already)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (see 0023). Tasks already in the table may have been leased by a relay
    # before the upgrade: each counts as leased once, so that its handler looks before it acts.
    op.add_column("outbox", sa.Column("leases", sa.Integer(), nullable=False, server_default=sa.text("1")))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("leases")
