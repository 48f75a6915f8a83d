"""Email to customers as staff see it: each email an order sent or is sending, and how it went."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import strawberry

from ordergate.usecases.emails import EmailRecord


@strawberry.enum(description="Where an email is: waiting to be sent, failing and retried, or settled.")
class EmailStatus(StrEnum):
    QUEUED = "QUEUED"
    FAILING = "FAILING"
    SENT = "SENT"
    SKIPPED = "SKIPPED"
    GAVE_UP = "GAVE_UP"


@strawberry.type(description="One email to the customer about one event of the order, sent once.")
class OrderEmail:
    id: strawberry.ID
    event_id: strawberry.ID
    kind: str = strawberry.field(description="What it tells: order_confirmed, shipped, refunded, ...")
    to: str
    status: EmailStatus
    attempts: int = strawberry.field(description="Sends tried; the server took it on the last if SENT.")
    last_error: str | None = strawberry.field(description="Why the last try failed, while it is retried.")
    result: str | None = strawberry.field(description="The Message-ID sent, or why it was skipped.")
    created_at: datetime
    settled_at: datetime | None
    next_attempt_at: datetime | None = strawberry.field(description="Null once it is settled.")

    @classmethod
    def from_model(cls, record: EmailRecord) -> OrderEmail:
        task = record.task
        return cls(
            id=strawberry.ID(task.id),
            event_id=strawberry.ID(str(task.payload.get("event_id", ""))),
            kind=record.kind,
            to=record.to,
            status=EmailStatus(record.status),
            attempts=task.attempts,
            last_error=task.last_error,
            result=task.result,
            created_at=task.created_at,
            settled_at=task.done_at,
            next_attempt_at=task.available_at if task.done_at is None else None,
        )
