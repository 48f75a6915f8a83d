"""storefront work waiting in the outbox, restated in the domain's words

Status pushes queued before this named BigCommerce's status id (`status_id`); they now name
the status (`status`) and the connector picks the id. Webhook deliveries taken in before this
kept the notice's scope and resource id; they now keep the order the notice is about
(`order_id`, none for a notice about anything else). Only work not yet done is restated:
done tasks are history. Nothing in the schema changes.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# BigCommerce's ids for the statuses ordergate sets, as they were stored (connectors/storefront).
STATUS_NAMES = {2: "SHIPPED", 3: "PARTIALLY_SHIPPED", 5: "CANCELLED", 8: "AWAITING_PICKUP", 10: "COMPLETED"}
ORDER_SCOPE_PREFIX = "store/order/"

outbox = sa.table(
    "outbox",
    sa.column("id", sa.String),
    sa.column("kind", sa.String),
    sa.column("payload", sa.JSON),
    sa.column("done_at", sa.DateTime),
)


def _restated(kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    if kind == "storefront.status" and "status_id" in payload and "status" not in payload:
        rest = {k: v for k, v in payload.items() if k != "status_id"}
        return {**rest, "status": STATUS_NAMES.get(int(payload["status_id"]), str(payload["status_id"]))}
    if kind == "storefront.delivery" and "order_id" not in payload:
        scope = str(payload.get("scope", ""))
        about_order = scope.startswith(ORDER_SCOPE_PREFIX) and payload.get("resource_id") is not None
        return {**payload, "order_id": str(payload["resource_id"]) if about_order else None}
    return None


def upgrade() -> None:
    connection = op.get_bind()
    pending = connection.execute(
        sa.select(outbox.c.id, outbox.c.kind, outbox.c.payload).where(
            outbox.c.kind.in_(["storefront.status", "storefront.delivery"]), outbox.c.done_at.is_(None)
        )
    ).all()
    for task_id, kind, payload in pending:
        restated = _restated(kind, dict(payload or {}))
        if restated is not None:
            connection.execute(outbox.update().where(outbox.c.id == task_id).values(payload=restated))


def downgrade() -> None:
    """Nothing to undo in the schema; restated payloads stay readable only by this revision on."""
