"""Webhook endpoints, their delivery log, and where the dispatcher has got to in the event log."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from ordergate.models.events import Counter, OrderEvent
from ordergate.models.outbox import WEBHOOK_DELIVERY, OutboxTask
from ordergate.models.webhooks import DISPATCH_POSITION, WebhookAttempt, WebhookEndpoint
from ordergate.store import tables
from ordergate.store.events import EVENT_CURSOR


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, record: WebhookEndpoint | WebhookAttempt) -> None:
        self.session.add(record)

    async def endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        return await self.session.get(WebhookEndpoint, endpoint_id)

    async def endpoints(self, *, active_only: bool = False) -> list[WebhookEndpoint]:
        query = select(WebhookEndpoint).order_by(
            tables.webhook_endpoints.c.created_at, tables.webhook_endpoints.c.id
        )
        if active_only:
            query = query.where(tables.webhook_endpoints.c.active)
        return list((await self.session.execute(query)).scalars())

    async def attempt(self, attempt_id: str) -> WebhookAttempt | None:
        return await self.session.get(WebhookAttempt, attempt_id)

    async def attempt_page(
        self, endpoint_id: str, first: int, after: tuple[datetime, str] | None
    ) -> tuple[list[WebhookAttempt], bool]:
        """Newest first, keyed on (attempted_at, id)."""
        query = (
            select(WebhookAttempt)
            .where(tables.webhook_attempts.c.endpoint_id == endpoint_id)
            .order_by(tables.webhook_attempts.c.attempted_at.desc(), tables.webhook_attempts.c.id.desc())
            .limit(first + 1)
        )
        if after is not None:
            query = query.where(
                sa.tuple_(tables.webhook_attempts.c.attempted_at, tables.webhook_attempts.c.id)
                < sa.tuple_(*after)
            )
        rows = list((await self.session.execute(query)).scalars())
        return rows[:first], len(rows) > first

    async def count_attempts(self, endpoint_id: str) -> int:
        query = (
            select(sa.func.count())
            .select_from(WebhookAttempt)
            .where(tables.webhook_attempts.c.endpoint_id == endpoint_id)
        )
        return int((await self.session.execute(query)).scalar_one())

    async def delivery(self, task_id: str) -> OutboxTask | None:
        task = await self.session.get(OutboxTask, task_id, with_for_update=True)
        return task if task is not None and task.kind == WEBHOOK_DELIVERY else None

    async def delivery_by_key(self, key: str) -> OutboxTask | None:
        query = (
            select(OutboxTask)
            .where(tables.outbox.c.kind == WEBHOOK_DELIVERY, tables.outbox.c.key == key)
            .with_for_update()
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def event(self, event_id: str) -> OrderEvent | None:
        return await self.session.get(OrderEvent, event_id)

    async def position(self) -> int | None:
        query = select(tables.counters.c.value).where(tables.counters.c.name == DISPATCH_POSITION)
        value = (await self.session.execute(query)).scalar_one_or_none()
        return None if value is None else int(value)

    async def claim_position(self) -> int:
        """The dispatcher's position in the event log, row-locked to commit, so one dispatcher
        at a time reads past it. Made at the log's head the first time it is asked for: the
        first endpoint hears of what happens after it was registered, not of history."""
        locked = await self.session.execute(
            sa.update(Counter)
            .where(tables.counters.c.name == DISPATCH_POSITION)
            .values(value=tables.counters.c.value)
            .returning(tables.counters.c.value)
        )
        value = locked.scalar_one_or_none()
        if value is not None:
            return int(value)
        head = (
            await self.session.execute(
                select(tables.counters.c.value).where(tables.counters.c.name == EVENT_CURSOR)
            )
        ).scalar_one_or_none() or 0
        try:
            async with self.session.begin_nested():
                self.session.add(Counter(name=DISPATCH_POSITION, value=head))
        except sa.exc.IntegrityError:
            return await self.claim_position()  # another dispatcher made it first: wait for its lock
        return int(head)

    async def advance_position(self, value: int) -> None:
        await self.session.execute(
            sa.update(Counter).where(tables.counters.c.name == DISPATCH_POSITION).values(value=value)
        )
