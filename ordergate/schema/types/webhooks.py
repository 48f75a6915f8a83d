"""Outgoing webhooks as an admin sees them: endpoints (never their secrets), deliveries and
the log of attempts."""

from __future__ import annotations

from datetime import datetime

import strawberry

from ordergate.models.outbox import OutboxTask
from ordergate.models.webhooks import WebhookAttempt, was_accepted
from ordergate.models.webhooks import WebhookEndpoint as WebhookEndpointRecord


@strawberry.type
class WebhookEndpoint:
    id: strawberry.ID
    url: str
    event_types: list[str] = strawberry.field(description="The event types sent; empty means every type.")
    description: str
    active: bool
    created_at: datetime
    created_by: str

    @classmethod
    def from_model(cls, record: WebhookEndpointRecord) -> WebhookEndpoint:
        return cls(
            id=strawberry.ID(record.id),
            url=record.url,
            event_types=list(record.event_types),
            description=record.description,
            active=record.active,
            created_at=record.created_at,
            created_by=record.created_by,
        )


@strawberry.type(description="One POST to an endpoint: its HTTP status, or the error when none came.")
class WebhookDeliveryAttempt:
    id: strawberry.ID
    endpoint_id: strawberry.ID
    event_id: strawberry.ID
    delivery_key: str = strawberry.field(description="The `X-Ordergate-Delivery` header sent.")
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    succeeded: bool

    @classmethod
    def from_model(cls, record: WebhookAttempt) -> WebhookDeliveryAttempt:
        return cls(
            id=strawberry.ID(record.id),
            endpoint_id=strawberry.ID(record.endpoint_id),
            event_id=strawberry.ID(record.event_id),
            delivery_key=record.task_key,
            attempted_at=record.attempted_at,
            status_code=record.status_code,
            error=record.error,
            duration_ms=record.duration_ms,
            succeeded=record.succeeded,
        )


@strawberry.type(description="One event owed to one endpoint, retried until accepted.")
class WebhookDelivery:
    id: strawberry.ID
    endpoint_id: strawberry.ID
    event_id: strawberry.ID
    delivery_key: str
    attempts: int = strawberry.field(description="Attempts since it was last (re)queued.")
    delivered: bool
    next_attempt_at: datetime | None = strawberry.field(description="Null once it is settled.")
    last_error: str | None

    @classmethod
    def from_model(cls, task: OutboxTask) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(task.id),
            endpoint_id=strawberry.ID(str(task.payload["endpoint_id"])),
            event_id=strawberry.ID(str(task.payload["event_id"])),
            delivery_key=task.key,
            attempts=task.attempts,
            delivered=task.done_at is not None and was_accepted(task.result),
            next_attempt_at=task.available_at if task.done_at is None else None,
            last_error=task.last_error,
        )
