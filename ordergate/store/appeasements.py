"""Goodwill appeasements."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from ordergate.models.appeasements import Appeasement
from ordergate.store import tables
from ordergate.store.orders import group


class AppeasementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, appeasement: Appeasement) -> None:
        self.session.add(appeasement)
        await self.session.flush()

    async def by_id(self, appeasement_id: str) -> Appeasement | None:
        query = select(Appeasement).where(tables.appeasements.c.id == appeasement_id)
        return (await self.session.execute(query)).scalars().first()

    async def by_order_ids(self, ids: Sequence[str]) -> dict[str, list[Appeasement]]:
        if not ids:
            return {}
        query = (
            select(Appeasement)
            .where(tables.appeasements.c.order_id.in_(set(ids)))
            .order_by(tables.appeasements.c.issued_at, tables.appeasements.c.id)
        )
        return group(list((await self.session.execute(query)).scalars()), lambda a: a.order_id)
