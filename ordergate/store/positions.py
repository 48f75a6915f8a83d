"""Where each follower of the event log (webhook dispatch, email dispatch) has got to: a named
row of the `counters` table, claimed under its row lock and advanced in the transaction that
acts on what it read past."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from ordergate.models.events import Counter
from ordergate.store import tables
from ordergate.store.events import EVENT_CURSOR


class PositionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, name: str) -> int | None:
        query = select(tables.counters.c.value).where(tables.counters.c.name == name)
        value = (await self.session.execute(query)).scalar_one_or_none()
        return None if value is None else int(value)

    async def claim(self, name: str) -> int:
        """The position, row-locked to commit, so one follower at a time reads past it. Made at
        the log's head the first time it is asked for: a follower hears of what happens after
        it started, not of history."""
        locked = await self.session.execute(
            sa.update(Counter)
            .where(tables.counters.c.name == name)
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
                self.session.add(Counter(name=name, value=head))
        except sa.exc.IntegrityError:
            return await self.claim(name)  # another follower made it first: wait for its lock
        return int(head)

    async def advance(self, name: str, value: int) -> None:
        await self.session.execute(
            sa.update(Counter).where(tables.counters.c.name == name).values(value=value)
        )
