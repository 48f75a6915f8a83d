"""Which ERP sales order stands for each (order, location) we pushed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from ordergate.models.erp import ErpSalesOrderRef
from ordergate.store import tables


class ErpRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def sales_order(self, key: str) -> ErpSalesOrderRef | None:
        return await self.session.get(ErpSalesOrderRef, key)

    async def sales_orders_of(self, order_id: str, location_id: str) -> dict[str, ErpSalesOrderRef]:
        """Every sales order remembered for the order's units at the location, by key."""
        query = select(ErpSalesOrderRef).where(
            tables.erp_sales_orders.c.order_id == order_id,
            tables.erp_sales_orders.c.location_id == location_id,
        )
        return {ref.key: ref for ref in (await self.session.execute(query)).scalars()}

    async def remember(
        self, key: str, *, order_id: str, location_id: str, erp_id: str | None, now: datetime
    ) -> ErpSalesOrderRef:
        """Record (or replace) the ERP's id for `key`; None says the ERP no longer holds one."""
        ref = await self.session.get(ErpSalesOrderRef, key, with_for_update=True)
        if ref is None:
            ref = ErpSalesOrderRef(key=key, order_id=order_id, location_id=location_id, updated_at=now)
        ref.erp_id, ref.updated_at = erp_id, now
        self.session.add(ref)
        return ref
