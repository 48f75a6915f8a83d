"""The loyalty points ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from ordergate.models.loyalty import LoyaltyEntry


class LoyaltyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, entry: LoyaltyEntry) -> None:
        self.session.add(entry)

    async def held_by_order(self, order_id: str) -> int:
        query = select(sa.func.coalesce(sa.func.sum(col(LoyaltyEntry.points)), 0)).where(
            col(LoyaltyEntry.order_id) == order_id
        )
        return int((await self.session.execute(query)).scalar_one())

    async def balances(self, customer_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """Points and entry count per customer."""
        if not customer_ids:
            return {}
        query = (
            select(
                col(LoyaltyEntry.customer_id),
                sa.func.sum(col(LoyaltyEntry.points)),
                sa.func.count(col(LoyaltyEntry.id)),
            )
            .where(col(LoyaltyEntry.customer_id).in_(set(customer_ids)))
            .group_by(col(LoyaltyEntry.customer_id))
        )
        return {row[0]: (int(row[1]), int(row[2])) for row in await self.session.execute(query)}

    async def page(
        self, customer_id: str, first: int, after: tuple[datetime, str] | None
    ) -> tuple[list[LoyaltyEntry], bool]:
        """Newest first."""
        query = select(LoyaltyEntry).where(col(LoyaltyEntry.customer_id) == customer_id)
        if after is not None:
            query = query.where(
                sa.tuple_(col(LoyaltyEntry.created_at), col(LoyaltyEntry.id)) < sa.tuple_(after[0], after[1])
            )
        query = query.order_by(col(LoyaltyEntry.created_at).desc(), col(LoyaltyEntry.id).desc()).limit(
            first + 1
        )
        rows = list((await self.session.execute(query)).scalars())
        return rows[:first], len(rows) > first
