"""The outbox: tasks added with the change that promised them, claimed by one relay at a time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from ordergate.models.outbox import OutboxTask


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, task: OutboxTask) -> None:
        self.session.add(task)

    async def due(self, now: datetime, limit: int) -> list[OutboxTask]:
        """Tasks whose time has come, oldest first, row-locked; on PostgreSQL another
        replica's relay skips the rows this one holds instead of waiting for them."""
        query = (
            select(OutboxTask)
            .where(col(OutboxTask.done_at).is_(None), col(OutboxTask.available_at) <= now)
            .order_by(col(OutboxTask.available_at), col(OutboxTask.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.execute(query)).scalars())

    async def by_kind(self, kind: str) -> list[OutboxTask]:
        query = select(OutboxTask).where(col(OutboxTask.kind) == kind).order_by(col(OutboxTask.created_at))
        return list((await self.session.execute(query)).scalars())
