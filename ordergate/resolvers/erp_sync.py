"""Confirmed orders reach the ERP as sales orders, one per shipping location, through the
outbox: promised in the order's transaction, pushed by a relay until the ERP has them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ordergate.connectors.erp.base import SalesOrderLine, SalesOrderPush
from ordergate.connectors.errors import UpstreamUnavailable
from ordergate.models.location import Location
from ordergate.models.order import Order
from ordergate.models.outbox import ERP_SALES_ORDER, OutboxTask
from ordergate.models.scope import OrderScope
from ordergate.resolvers.services import Services
from ordergate.store.unit_of_work import UnitOfWork

EVERYTHING = OrderScope(everything=True)


def promise_sales_orders(uow: UnitOfWork, order: Order, locations: Sequence[Location], now: datetime) -> None:
    """Add one push per location to the outbox, in the order's own transaction. The key is
    also the ERP's idempotency key (Katana's `ecommerce_order_id`)."""
    for location in locations:
        uow.outbox.add(
            OutboxTask(
                kind=ERP_SALES_ORDER,
                key=f"{order.number}-{location.code}",
                payload={"order_id": order.id, "location_id": location.id},
                available_at=now,
                created_at=now,
            )
        )


async def push_sales_order(services: Services, task: OutboxTask) -> str:
    """The relay's handler for ERP_SALES_ORDER tasks: the ERP's id for the sales order."""
    erp = services.erp
    if erp is None:
        raise UpstreamUnavailable("erp", "no ERP is configured")
    return await erp.push_sales_order(await _sales_order(services, task))


async def _sales_order(services: Services, task: OutboxTask) -> SalesOrderPush:
    order_id, location_id = str(task.payload["order_id"]), str(task.payload["location_id"])
    async with services.store.read() as uow:
        order = (await uow.orders.by_ids([order_id], EVERYTHING))[order_id]
        location = (await uow.catalog.locations_by_ids([location_id]))[location_id]
        customer = (await uow.customers.by_ids([order.customer_id]))[order.customer_id]
        lines = (await uow.orders.lines_by_order_ids([order_id])).get(order_id, [])
        shares = (await uow.orders.fulfillment_orders_by_order_ids([order_id])).get(order_id, [])
        here = [fo.id for fo in shares if fo.location_id == location_id]
        fo_lines = await uow.orders.fulfillment_lines_by_fo_ids(here)
    if location.erp_id is None:
        raise LookupError(f"location {location.code} is not joined to an ERP location")
    price = {line.id: line.unit_price for line in lines}
    return SalesOrderPush(
        order_id=task.key,
        order_number=task.key,
        customer_name=customer.display_name,
        customer_email=customer.email,
        erp_location_id=location.erp_id,
        currency=order.currency,
        lines=[
            SalesOrderLine(sku=line.sku, quantity=line.quantity, unit_price=price[line.order_line_id])
            for fo_id in here
            for line in fo_lines.get(fo_id, [])
        ],
    )
