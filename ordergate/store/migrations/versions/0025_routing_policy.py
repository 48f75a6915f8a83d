"""the routing policy as data (weights, split limits), set through the API

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ordergate.store.columns import UTCDateTime

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "routing_policy",
        sa.Column("id", sa.String(16), primary_key=True, nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("max_split", sa.Integer(), nullable=False),
        sa.Column("split_limits", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("routing_policy")
