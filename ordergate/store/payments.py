"""The payments ledger."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from ordergate.models.payments import PaymentKind, PaymentTransaction
from ordergate.store import tables
from ordergate.store.orders import group

# entries made in the same instant (a storefront's sale: authorised and captured) in the order
# money moves: authorised, captured, refunded, voided
_LIFECYCLE = sa.case(
    {kind.value: rank for rank, kind in enumerate(PaymentKind)},
    value=tables.payment_transactions.c.kind,
    else_=9,
)


class PaymentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_order_ids(self, ids: Sequence[str]) -> dict[str, list[PaymentTransaction]]:
        if not ids:
            return {}
        query = (
            select(PaymentTransaction)
            .where(tables.payment_transactions.c.order_id.in_(set(ids)))
            .order_by(
                tables.payment_transactions.c.created_at,
                _LIFECYCLE,
                tables.payment_transactions.c.id,
            )
        )
        return group(list((await self.session.execute(query)).scalars()), lambda entry: entry.order_id)
