"""Outgoing webhooks, landed on the outbox: each event becomes one delivery task per active
endpoint that wants its type, and the relay POSTs it, signed, until the receiver says 2xx.

- Dispatch follows the event log from a position kept in the `counters` table, read under its
  row lock and advanced in the transaction that adds the tasks: each event becomes each task
  exactly once, across restarts and replicas, and a second replica waits instead of doubling.
- Delivery (`deliver`, the relay's handler) records every attempt in the endpoint's log in its
  own short transaction; anything but 2xx raises, and the relay retries with exponential
  backoff from the database, which is the durable queue. Receivers order by the sequence:
  a retried event may arrive after a later one.
- Targets: an endpoint's URL must resolve, and only to addresses webhooks may reach
  (`models/targets.py`), when it is saved and again at each connection. A delivery refused at
  connection gives up at once, logged as "target not allowed": retrying cannot help until
  someone fixes the URL or its DNS, and then `replay_delivery` sends it again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from ordergate import tracing
from ordergate.connectors.errors import UpstreamUnavailable
from ordergate.connectors.webhooks.base import WebhookSendFailed, WebhookTargetRefused
from ordergate.connectors.webhooks.targets import TargetRefused, TargetUnresolvable
from ordergate.models.errors import Forbidden, NotFound, Problem, ValidationFailed
from ordergate.models.events import OrderEvent
from ordergate.models.identity import Permission, Principal
from ordergate.models.outbox import WEBHOOK_DELIVERY, OutboxTask, Permanent
from ordergate.models.pagination import Page, check_page, decode_time_cursor, encode_cursor
from ordergate.models.webhooks import (
    DISPATCH_POSITION,
    RegisterEndpoint,
    UpdateEndpoint,
    WebhookAttempt,
    WebhookEndpoint,
    accepted_result,
    check_registration,
    check_update,
    delivered,
    delivery_key,
    new_secret,
    normal_types,
    signature,
    target_problem,
    wants,
)
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases.events import event_cursor
from ordergate.usecases.services import Services

log = logging.getLogger("ordergate.webhooks_out")

USER_AGENT = "ordergate-webhooks/1"


class NotAccepted(Exception):
    """The receiver answered, but not with 2xx: the relay tries again later."""


@dataclass(frozen=True)
class EndpointChange:
    """An endpoint as saved, and its secret when this change made one (shown only then)."""

    endpoint: WebhookEndpoint
    secret: str | None = None


def _require_admin(principal: Principal) -> None:
    if not principal.can(Permission.MANAGE_WEBHOOKS):
        raise Forbidden("only admins manage webhooks")


async def register_endpoint(
    services: Services, principal: Principal, command: RegisterEndpoint
) -> EndpointChange:
    _require_admin(principal)
    if problems := check_registration(command):
        raise ValidationFailed(problems)
    await _check_target(services, command.url)
    endpoint = WebhookEndpoint(
        url=command.url,
        event_types=normal_types(command.event_types),
        secret=command.secret or new_secret(),
        description=command.description,
        created_at=services.clock(),
        created_by=principal.subject,
    )
    async with services.store.write() as uow:
        await uow.positions.claim(DISPATCH_POSITION)  # so it hears of events from now on, not of history
        uow.webhooks.add(endpoint)
    return EndpointChange(endpoint, endpoint.secret)


async def update_endpoint(
    services: Services, principal: Principal, command: UpdateEndpoint
) -> EndpointChange:
    """Deactivating stops pending retries too (they give up); a rotated secret signs every
    delivery from now on, retries included."""
    _require_admin(principal)
    if problems := check_update(command):
        raise ValidationFailed(problems)
    if command.url is not None:
        await _check_target(services, command.url)
    async with services.store.write() as uow:
        endpoint = await uow.webhooks.endpoint(command.id)
        if endpoint is None:
            raise NotFound("no such webhook endpoint", field=("id",))
        if command.url is not None:
            endpoint.url = command.url
        if command.event_types is not None:
            endpoint.event_types = normal_types(command.event_types)
        if command.description is not None:
            endpoint.description = command.description
        if command.active is not None:
            endpoint.active = command.active
        if command.rotate_secret:
            endpoint.secret = new_secret()
        uow.webhooks.add(endpoint)
    return EndpointChange(endpoint, endpoint.secret if command.rotate_secret else None)


async def _check_target(services: Services, url: str) -> None:
    """Resolved before it is saved; `deliver` judges it again at each connection."""
    try:
        await services.webhook_targets.check_url(url)
    except (TargetRefused, TargetUnresolvable):
        raise ValidationFailed([target_problem()]) from None


async def endpoints(services: Services, principal: Principal) -> list[WebhookEndpoint]:
    _require_admin(principal)
    async with services.store.read() as uow:
        return await uow.webhooks.endpoints()


def attempt_cursor(attempt: WebhookAttempt) -> str:
    return encode_cursor(attempt.attempted_at, attempt.id)


def _attempt_position(after: str) -> tuple[datetime, str]:
    return decode_time_cursor(after)


async def delivery_log(
    services: Services, principal: Principal, endpoint_id: str, first: int, after: str | None
) -> Page[WebhookAttempt]:
    """An endpoint's delivery attempts, newest first."""
    _require_admin(principal)
    check_page(first, services.policy.page_size_cap)
    position = _attempt_position(after) if after else None
    async with services.store.read() as uow:
        if await uow.webhooks.endpoint(endpoint_id) is None:
            raise NotFound("no such webhook endpoint", field=("endpoint_id",))
        rows, has_next = await uow.webhooks.attempt_page(endpoint_id, first, position)
        total = await uow.webhooks.count_attempts(endpoint_id)
    return Page(rows, has_next, total)


async def replay_delivery(services: Services, principal: Principal, delivery_id: str) -> OutboxTask:
    """Send one delivery again, now: `delivery_id` is the delivery's id or one of its attempts'.
    Its backoff starts afresh, and the new attempt joins the log."""
    _require_admin(principal)
    async with services.store.write() as uow:
        task = await uow.webhooks.delivery(delivery_id)
        if task is None and (attempt := await uow.webhooks.attempt(delivery_id)) is not None:
            task = await uow.webhooks.delivery_by_key(attempt.task_key)
        if task is None:
            raise NotFound("no such webhook delivery", field=("id",))
        endpoint = await uow.webhooks.endpoint(str(task.payload["endpoint_id"]))
        if endpoint is None or not endpoint.active:
            raise ValidationFailed(
                [Problem("ENDPOINT_INACTIVE", "activate the endpoint before replaying to it", ("id",))]
            )
        uow.outbox.requeue(task, services.clock())
    return task


async def dispatch_audience(uow: UnitOfWork) -> list[WebhookEndpoint] | None:
    """The endpoints dispatch queues deliveries for (`workers.dispatch`); None: there are none."""
    return await uow.webhooks.endpoints(active_only=True) or None


def dispatch_tasks(endpoints: list[WebhookEndpoint], event: OrderEvent, now: datetime) -> list[OutboxTask]:
    """One delivery per endpoint that wants the event's type."""
    return [delivery_task(endpoint, event, now) for endpoint in endpoints if wants(endpoint, event.type)]


def delivery_task(endpoint: WebhookEndpoint, event: OrderEvent, now: datetime) -> OutboxTask:
    return OutboxTask(
        kind=WEBHOOK_DELIVERY,
        key=delivery_key(endpoint.id, event.id),
        payload={"endpoint_id": endpoint.id, "event_id": event.id},
        available_at=now,
        created_at=now,
    )


def delivery_body(event: OrderEvent) -> bytes:
    return json.dumps(
        {
            "id": event.id,
            "type": event.type,
            "orderId": event.order_id,
            "sequence": event.seq,
            "cursor": event_cursor(event),
            "occurredAt": event.occurred_at.isoformat(),
            "data": event.data,
        },
        separators=(",", ":"),
    ).encode()


def delivery_headers(
    endpoint: WebhookEndpoint, event: OrderEvent, key: str, payload: bytes, now: datetime
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Ordergate-Event-Id": event.id,
        "X-Ordergate-Event-Type": event.type,
        "X-Ordergate-Sequence": str(event.seq),
        "X-Ordergate-Order-Id": event.order_id,
        "X-Ordergate-Delivery": key,
        "X-Ordergate-Signature": signature(endpoint.secret, int(now.timestamp()), payload),
    }


async def deliver(services: Services, task: OutboxTask) -> str:
    """The relay's handler for WEBHOOK_DELIVERY: one signed POST, logged; 2xx or raise."""
    async with services.store.read() as uow:
        endpoint = await uow.webhooks.endpoint(str(task.payload["endpoint_id"]))
        event = await uow.events.by_id(str(task.payload["event_id"]))
    if endpoint is None:
        raise Permanent("the endpoint was removed")
    if not endpoint.active:
        raise Permanent("the endpoint is deactivated")
    if event is None:
        raise Permanent("the event is gone")
    sender = services.webhook_sender
    if sender is None:
        raise UpstreamUnavailable("webhooks", "no webhook sender is configured")
    payload, now = delivery_body(event), services.clock()
    attempt = WebhookAttempt(endpoint_id=endpoint.id, event_id=event.id, task_key=task.key, attempted_at=now)
    # Receivers are third parties: the span is ours, no `traceparent` goes to them.
    with tracing.span(
        "webhook delivery",
        tracing.SpanKind.CLIENT,
        {
            "ordergate.webhook.endpoint_id": endpoint.id,
            "ordergate.webhook.event_type": event.type,
            "ordergate.webhook.delivery": task.key,
            "ordergate.outbox.attempt": task.attempts + 1,
            "http.request.method": "POST",
            "url.full": tracing.safe_url(endpoint.url),
        },
    ) as span:
        try:
            status, attempt.duration_ms = await sender.post(
                endpoint.url, payload, delivery_headers(endpoint, event, task.key, payload, now)
            )
        except WebhookSendFailed as error:
            attempt.error, attempt.duration_ms = error.message[:500], error.duration_ms
            await _log(services, attempt)
            if isinstance(error, WebhookTargetRefused):
                raise Permanent(error.message) from None  # until the URL or its DNS is fixed and replayed
            raise
        tracing.client_outcome(span, status, None if delivered(status) else "not_accepted")
    attempt.status_code = status
    await _log(services, attempt)
    if not delivered(status):
        raise NotAccepted(f"HTTP {status}")
    return accepted_result(status)


async def _log(services: Services, attempt: WebhookAttempt) -> None:
    async with services.store.write() as uow:
        uow.webhooks.add(attempt)
