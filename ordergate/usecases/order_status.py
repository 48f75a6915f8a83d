"""An order's statuses as its lines and parcels imply them, and what its storefront hears.

Fulfilment, tracking, cancellation, edits and releasing a hold all end here: the order's
fulfilment status follows its lines; its status follows the lifecycle event they imply
(`models.lifecycle.derive_status`): complete once every unit is out and every parcel delivered,
cancelled once every unit is. A held order is not completed while held (the hold stands until
an agent releases it): the release derives its status again, so a parcel delivered during the
hold completes the order then."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ordergate.connectors.storefront.base import PushedStatus
from ordergate.models.events import EventType
from ordergate.models.lifecycle import derive_status, fulfillment_status
from ordergate.models.order import Order, OrderLine, OrderStatus, imported
from ordergate.models.outbox import STOREFRONT_STATUS, OutboxTask
from ordergate.models.shipment import TrackingStatus
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases.orders import line_quantities


async def derive(
    uow: UnitOfWork, order: Order, lines: Sequence[OrderLine], *, actor: str, now: datetime
) -> None:
    """The (locked) order's fulfilment status from its lines, and its status from the lines and
    its parcels: COMPLETED once every unit is out and every shipment delivered."""
    quantities = line_quantities(lines)
    shipments = (await uow.orders.shipments_by_order_ids([order.id])).get(order.id, [])
    in_transit = any(shipment.status is not TrackingStatus.DELIVERED for shipment in shipments)
    order.fulfillment_status = fulfillment_status(quantities)
    before, order.status = order.status, derive_status(order.status, quantities, in_transit=in_transit)
    if order.status is OrderStatus.COMPLETED and before is not OrderStatus.COMPLETED:
        await uow.events.append(order, EventType.ORDER_COMPLETED, actor=actor, occurred_at=now)
        promise_status(uow, order, PushedStatus.COMPLETED, now)
    order.updated_at = now
    uow.save(order)


def promise_status(uow: UnitOfWork, order: Order, status: PushedStatus, now: datetime) -> None:
    """The storefront that sold the order hears its new status (the outbox's
    `storefront.status` task); an order taken elsewhere tells no one."""
    if not imported(order):
        return
    uow.outbox.add(
        OutboxTask(
            kind=STOREFRONT_STATUS,
            key=f"{order.id}:{status.value}",
            payload={"order_id": order.id, "status": status.value},
            available_at=now,
            created_at=now,
        )
    )
