"""Returns and their lines."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from ordergate.models.returns import OrderReturn, ReturnLine
from ordergate.store import tables
from ordergate.store.orders import group


class ReturnRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, order_return: OrderReturn, lines: Sequence[ReturnLine]) -> None:
        self.session.add(order_return)
        await self.session.flush()
        self.session.add_all(lines)
        await self.session.flush()

    async def lock(self, return_id: str) -> OrderReturn | None:
        """The return, locked, as it is once the lock is held: a record this session read
        before is refreshed, not handed back as it was (a return an agent closed meanwhile)."""
        query = (
            select(OrderReturn)
            .where(tables.order_returns.c.id == return_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(query)).scalars().first()

    async def by_ids(self, ids: Sequence[str]) -> dict[str, OrderReturn]:
        if not ids:
            return {}
        query = select(OrderReturn).where(tables.order_returns.c.id.in_(set(ids)))
        return {r.id: r for r in (await self.session.execute(query)).scalars()}

    async def by_labels(self, carrier: str, tracking_numbers: Sequence[str]) -> dict[str, OrderReturn]:
        """The returns whose labels the carrier sold under these tracking numbers, by number."""
        if not tracking_numbers:
            return {}
        query = select(OrderReturn).where(
            tables.order_returns.c.label_tracking_number.in_(set(tracking_numbers)),
            tables.order_returns.c.label_carrier == carrier,
        )
        found = (await self.session.execute(query)).scalars()
        return {r.label_tracking_number: r for r in found if r.label_tracking_number is not None}

    async def by_order_ids(self, ids: Sequence[str]) -> dict[str, list[OrderReturn]]:
        if not ids:
            return {}
        query = (
            select(OrderReturn)
            .where(tables.order_returns.c.order_id.in_(set(ids)))
            .order_by(tables.order_returns.c.requested_at, tables.order_returns.c.id)
        )
        return group(list((await self.session.execute(query)).scalars()), lambda r: r.order_id)

    async def lines_by_return_ids(self, ids: Sequence[str]) -> dict[str, list[ReturnLine]]:
        if not ids:
            return {}
        query = (
            select(ReturnLine)
            .where(tables.order_return_lines.c.return_id.in_(set(ids)))
            .order_by(tables.order_return_lines.c.id)
        )
        return group(list((await self.session.execute(query)).scalars()), lambda line: line.return_id)
