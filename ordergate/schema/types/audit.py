"""The audit trail as staff read it."""

from __future__ import annotations

import json
from datetime import datetime

import strawberry

from ordergate.models.audit import AuditEntry


@strawberry.type(description="One field a change touched: its value before and after, as text (JSON).")
class FieldChange:
    record: str = strawberry.field(description="The kind of record: Order, OrderLine, FulfillmentOrder, ...")
    record_id: str
    field: str
    before: str | None = strawberry.field(description="JSON; null where the record was new.")
    after: str | None = strawberry.field(description="JSON; null where the record was deleted.")


@strawberry.type(
    description="Who changed what, when and from which request (X-Request-ID), field by field: one per "
    "write transaction of a state-changing request, per order it touched. Append-only; staff only."
)
class AuditRecord:
    id: strawberry.ID
    occurred_at: datetime
    actor: str = strawberry.field(
        description="The caller's subject (a token's `sub`, a carrier, a customer)."
    )
    role: str
    operation: str = strawberry.field(description="The mutation (or webhook, or page) that made the change.")
    request_id: str | None
    order_id: strawberry.ID | None
    changes: list[FieldChange]
    omitted: int = strawberry.field(description="Field changes beyond the 200 kept.")

    @classmethod
    def from_model(cls, entry: AuditEntry) -> AuditRecord:
        return cls(
            id=strawberry.ID(entry.id),
            occurred_at=entry.occurred_at,
            actor=entry.actor,
            role=entry.role,
            operation=entry.operation,
            request_id=entry.request_id,
            order_id=strawberry.ID(entry.order_id) if entry.order_id else None,
            changes=[
                FieldChange(
                    record=str(c["record"]),
                    record_id=str(c["id"]),
                    field=str(c["field"]),
                    before=None if c["before"] is None else json.dumps(c["before"]),
                    after=None if c["after"] is None else json.dumps(c["after"]),
                )
                for c in entry.changes
            ],
            omitted=entry.omitted,
        )
