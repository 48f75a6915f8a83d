"""Events become outbox tasks (webhook deliveries, emails): each follower of the event log reads
from a position of its own that only moves forward, and queues its tasks in the transaction
that moves it, so each event becomes each task exactly once across restarts and replicas."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from ordergate.models.emails import EMAIL_POSITION
from ordergate.models.events import OrderEvent
from ordergate.models.outbox import OutboxTask
from ordergate.models.scope import OrderScope
from ordergate.models.webhooks import DISPATCH_POSITION
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases import emails, webhooks_out
from ordergate.usecases.services import Services

EVERYTHING = OrderScope(everything=True)
DISPATCH_BATCH = 500

A = TypeVar("A")


@dataclass(frozen=True)
class Follower(Generic[A]):
    """A reader of the event log that turns events into outbox tasks. `audience` is read once
    per batch (None: nobody to tell, so the position skips to the head); `tasks` are what one
    event becomes for it."""

    name: str
    position: str  # its row in the counters table
    audience: Callable[[UnitOfWork], Awaitable[A | None]]
    tasks: Callable[[A, OrderEvent, datetime], Iterable[OutboxTask]]


WEBHOOKS: Follower[Any] = Follower(
    "webhook", DISPATCH_POSITION, webhooks_out.dispatch_audience, webhooks_out.dispatch_tasks
)
EMAILS: Follower[Any] = Follower("email", EMAIL_POSITION, emails.dispatch_audience, emails.dispatch_tasks)


async def dispatch_once(
    services: Services, follower: Follower[Any] = WEBHOOKS, limit: int = DISPATCH_BATCH
) -> int:
    """Turn the events after the follower's position into its tasks; returns how many events it
    read past (fewer than `limit`: it has caught up)."""
    async with services.store.read() as uow:
        position, head = await uow.positions.with_head(follower.position)
    if position is not None and position >= head:
        return 0  # nothing new: no write transaction, no lock
    now = services.clock()
    async with services.store.write() as uow:
        position = await uow.positions.claim(follower.position)
        audience = await follower.audience(uow)
        if audience is None:
            head = await uow.events.head()
            await uow.positions.advance(follower.position, max(position, head))
            return max(0, head - position)
        events = await uow.events.after(position, EVERYTHING, None, limit)
        for event in events:
            for task in follower.tasks(audience, event, now):
                uow.outbox.add(task)
        if events:
            await uow.positions.advance(follower.position, events[-1].cursor)
    return len(events)
