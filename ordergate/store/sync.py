"""Checkpoints of resumable imports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.models.sync import SyncCheckpoint
from ordergate.store.engine import insert_for


class SyncRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def checkpoint(self, name: str) -> SyncCheckpoint | None:
        return await self.session.get(SyncCheckpoint, name)

    async def advance(self, name: str, watermark: datetime | None, imported: int, now: datetime) -> None:
        """Move the checkpoint on under its row lock; the row is made first if it is missing,
        with ON CONFLICT DO NOTHING, so replicas starting together never fail on its key."""
        made = insert_for(self.session)(SyncCheckpoint).values(name=name, imported=0, updated_at=now)
        await self.session.execute(made.on_conflict_do_nothing(index_elements=["name"]))
        found = await self.session.get(SyncCheckpoint, name, with_for_update=True, populate_existing=True)
        assert found is not None
        if watermark is not None and (found.watermark is None or watermark > found.watermark):
            found.watermark = watermark
        found.imported += imported
        found.updated_at = now
        self.session.add(found)
