"""Webhook endpoints and their delivery log."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from ordergate.models.outbox import WEBHOOK_DELIVERY, OutboxTask
from ordergate.models.webhooks import WebhookAttempt, WebhookEndpoint
from ordergate.store import tables


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
