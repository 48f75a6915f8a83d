"""Checkpoints of resumable imports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.models.sync import SyncCheckpoint


class SyncRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def checkpoint(self, name: str) -> SyncCheckpoint | None:
        return await self.session.get(SyncCheckpoint, name)

    async def advance(self, name: str, watermark: datetime | None, imported: int, now: datetime) -> None:
        found = await self.session.get(SyncCheckpoint, name, with_for_update=True)
        if found is None:
            found = SyncCheckpoint(name=name, updated_at=now)
        if watermark is not None and (found.watermark is None or watermark > found.watermark):
            found.watermark = watermark
        found.imported += imported
        found.updated_at = now
        self.session.add(found)
