"""customer email: a customer's opt-out of non-essential email, the language an order's emails
are written in, and where the email dispatcher starts in the event log

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both backends (SQLite takes one with a default): a batch on SQLite would
    # copy the table, and the copy would lose the indexes on lower(name), which it cannot reflect.
    op.add_column(
        "customers", sa.Column("email_opt_out", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("orders", sa.Column("locale", sa.String(length=35), nullable=True))
    # Email follows the event log from here: a gateway that had orders before does not email
    # their customers about the past; a new one emails about everything from its first event.
    op.execute(
        "INSERT INTO counters (name, value) SELECT 'email_dispatch', COALESCE("
        "(SELECT value FROM counters WHERE name = 'event_cursor'), 0)"
    )


def downgrade() -> None:
    op.execute("DELETE FROM counters WHERE name = 'email_dispatch'")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("locale")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("email_opt_out")
