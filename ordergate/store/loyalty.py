"""The loyalty points ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from ordergate.models.loyalty import LoyaltyEntry
from ordergate.store import tables


class LoyaltyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, entry: LoyaltyEntry) -> None:
        self.session.add(entry)

    async def held_by_order(self, order_id: str) -> int:
        query = select(sa.func.coalesce(sa.func.sum(tables.loyalty_entries.c.points), 0)).where(
            tables.loyalty_entries.c.order_id == order_id
        )
        return int((await self.session.execute(query)).scalar_one())

    async def balances(self, customer_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """Points and entry count per customer."""
        if not customer_ids:
            return {}
        query = (
            select(
                tables.loyalty_entries.c.customer_id,
                sa.func.sum(tables.loyalty_entries.c.points),
                sa.func.count(tables.loyalty_entries.c.id),
            )
            .where(tables.loyalty_entries.c.customer_id.in_(set(customer_ids)))
            .group_by(tables.loyalty_entries.c.customer_id)
        )
        return {row[0]: (int(row[1]), int(row[2])) for row in await self.session.execute(query)}

    async def page(
        self, customer_id: str, first: int, after: tuple[datetime, str] | None
    ) -> tuple[list[LoyaltyEntry], bool]:
        """Newest first."""
        query = select(LoyaltyEntry).where(tables.loyalty_entries.c.customer_id == customer_id)
        if after is not None:
            query = query.where(
                sa.tuple_(tables.loyalty_entries.c.created_at, tables.loyalty_entries.c.id)
                < sa.tuple_(after[0], after[1])
            )
        query = query.order_by(
            tables.loyalty_entries.c.created_at.desc(), tables.loyalty_entries.c.id.desc()
        ).limit(first + 1)
        rows = list((await self.session.execute(query)).scalars())
        return rows[:first], len(rows) > first
