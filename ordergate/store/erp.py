"""Which ERP sales order stands for each (order, location) we pushed."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from ordergate.models.erp import ErpSalesOrderRef
from ordergate.store import tables
from ordergate.store.engine import insert_for


class ErpRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def sales_order(self, key: str) -> ErpSalesOrderRef | None:
        return await self.session.get(ErpSalesOrderRef, key)

    async def sales_orders_of(self, order_id: str) -> dict[str, ErpSalesOrderRef]:
        """Every sales order remembered for the order's units, at every location, by key."""
        query = select(ErpSalesOrderRef).where(tables.erp_sales_orders.c.order_id == order_id)
        return {ref.key: ref for ref in (await self.session.execute(query)).scalars()}

    async def remember(
        self, key: str, *, order_id: str, location_id: str, erp_id: str | None, now: datetime
    ) -> None:
        """Record (or replace) the ERP's id for `key`; None says the ERP no longer holds one. One
        INSERT ... ON CONFLICT (key) DO UPDATE: a concurrent remember of the same key waits for
        the first and then replaces it, as the locking read it replaces would."""
        values = {
            "key": key,
            "order_id": order_id,
            "location_id": location_id,
            "erp_id": erp_id,
            "updated_at": now,
        }
        await self.session.execute(_upsert(insert_for(self.session)), values)


@functools.cache
def _upsert(insert: Any) -> Any:
    """The upsert of one reference, in the dialect `insert` speaks, built once per process."""
    statement = insert(tables.erp_sales_orders)
    return statement.on_conflict_do_update(
        index_elements=["key"],
        set_={"erp_id": statement.excluded.erp_id, "updated_at": statement.excluded.updated_at},
    )
