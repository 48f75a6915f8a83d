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
        value = (await self.session.execute(_VALUE, {"counter": name})).scalar_one_or_none()
        return None if value is None else int(value)

    async def with_head(self, name: str) -> tuple[int | None, int]:
        """The position (None before it is first claimed) and the log's head, in one read."""
        rows = await self.session.execute(_VALUES, {"counters": [name, EVENT_CURSOR]})
        values = {str(counter): int(value) for counter, value in rows.all()}
        return values.get(name), values.get(EVENT_CURSOR, 0)

    async def claim(self, name: str) -> int:
        """The position, row-locked to commit, so one follower at a time reads past it. Made at
        the log's head the first time it is asked for: a follower hears of what happens after
        it started, not of history."""
        locked = await self.session.execute(_CLAIM, {"counter": name})
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
        await self.session.execute(_ADVANCE, {"counter": name, "to": value})


# Built once per process (see `store.engine.by_keys`); values are given at execution.
_COUNTER = tables.counters.c
_VALUE = sa.select(_COUNTER.value).where(_COUNTER.name == sa.bindparam("counter"))
_VALUES = sa.select(_COUNTER.name, _COUNTER.value).where(
    _COUNTER.name.in_(sa.bindparam("counters", expanding=True))
)
_CLAIM = (  # a no-op update: the row lock, held to commit
    sa.update(tables.counters)
    .where(_COUNTER.name == sa.bindparam("counter"))
    .values(value=_COUNTER.value)
    .returning(_COUNTER.value)
)
_ADVANCE = (
    sa.update(tables.counters)
    .where(_COUNTER.name == sa.bindparam("counter"))
    .values(value=sa.bindparam("to", type_=sa.Integer))
)
