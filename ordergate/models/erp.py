"""What the ERP made of our orders: the sales order it holds for each (order, location)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(kw_only=True, eq=False)
class ErpSalesOrderRef:
    """The ERP's id for the sales order pushed under `key` (the outbox key, Katana's
    `ecommerce_order_id`); `erp_id` is None once the ERP's sales order was deleted."""

    key: str
    order_id: str
    location_id: str
    erp_id: str | None = None
    updated_at: datetime
