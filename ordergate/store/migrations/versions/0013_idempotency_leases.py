"""idempotency keys claimed ahead of their work: the attempt holding one, and its lease

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ordergate.store.columns import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        # keys kept before this were all done: no attempt holds them any more
        batch.add_column(sa.Column("attempt", sa.String(length=36), nullable=False, server_default=""))
        batch.add_column(sa.Column("leased_until", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("leased_until")
        batch.drop_column("attempt")
