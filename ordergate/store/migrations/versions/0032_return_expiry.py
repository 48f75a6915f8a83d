"""return expiry: every return approved before this revision whose label was bought is looked
at once by the relay's expiry handler, which expires it if its label's time has run out (the
carrier never picked the parcel up) and otherwise promises the look for when it runs out.
Returns approved from now on are promised their look when their label is bought.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from ordergate.store.columns import UTCDateTime

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

KIND = "return.expiry"  # models.outbox.RETURN_EXPIRY, as this revision wrote it
returns = sa.table(
    "order_returns",
    sa.column("id", sa.String),
    sa.column("status", sa.String),
    sa.column("label_status", sa.String),
)
outbox = sa.table(
    "outbox",
    sa.column("id", sa.String),
    sa.column("kind", sa.String),
    sa.column("key", sa.String),
    sa.column("payload", sa.JSON),
    sa.column("attempts", sa.Integer),
    sa.column("available_at", UTCDateTime()),
    sa.column("done_at", UTCDateTime()),
    sa.column("created_at", UTCDateTime()),
)


def upgrade() -> None:
    connection = op.get_bind()
    waiting = connection.execute(
        sa.select(returns.c.id).where(returns.c.status == "APPROVED", returns.c.label_status == "PURCHASED")
    )
    now = datetime.now(UTC)
    rows = [
        {
            "id": str(uuid.uuid4()),
            "kind": KIND,
            "key": f"{return_id}:{KIND}:{uuid.uuid4()}",
            "payload": {"return_id": return_id},
            "attempts": 0,
            "available_at": now,
            "created_at": now,
        }
        for (return_id,) in waiting
    ]
    if rows:
        connection.execute(outbox.insert(), rows)


def downgrade() -> None:
    # Before this revision no gateway has a handler for these: looks still waiting go with it.
    op.execute(outbox.delete().where(outbox.c.kind == KIND, outbox.c.done_at.is_(None)))
