"""What the ERP made of our orders: the sales order it holds for each (order, location)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from ordergate.models.columns import UTCDateTime


class ErpSalesOrderRef(SQLModel, table=True):
    """The ERP's id for the sales order pushed under `key` (the outbox key, Katana's
    `ecommerce_order_id`); `erp_id` is None once the ERP's sales order was deleted."""

    __tablename__ = "erp_sales_orders"

    key: str = Field(primary_key=True, max_length=128)
    order_id: str = Field(foreign_key="orders.id", index=True, max_length=36)
    location_id: str = Field(max_length=36)
    erp_id: str | None = Field(default=None, max_length=64)
    updated_at: datetime = Field(sa_type=UTCDateTime)
