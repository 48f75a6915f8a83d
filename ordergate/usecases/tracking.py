"""Carrier tracking reaching our shipments: status normalised, scans kept, one order event per
change of status, and nothing twice when a carrier repeats itself."""

from __future__ import annotations

from collections.abc import Sequence

from ordergate.connectors.carriers.base import TrackingUpdate
from ordergate.models.events import EventType
from ordergate.models.scope import OrderScope
from ordergate.models.shipment import ShipmentEvent, TrackingStatus
from ordergate.usecases.fulfillment import derive_order_statuses
from ordergate.usecases.services import Services

EVERYTHING = OrderScope(everything=True)
SYSTEM = "carrier"


async def apply_updates(services: Services, carrier: str, updates: Sequence[TrackingUpdate]) -> int:
    """Store what the carrier says; returns how many shipments changed status."""
    if not updates:
        return 0
    now = services.clock()
    changed = 0
    async with services.store.write() as uow:
        shipments = await uow.orders.shipments_by_tracking([u.tracking_number for u in updates], carrier)
        known = await uow.orders.shipment_events_by_shipment_ids([s.id for s in shipments.values()])
        for update in updates:
            shipment = shipments.get(update.tracking_number)
            if shipment is None:
                continue  # not ours (or not yet recorded): the carrier's retry will find it
            seen = {(e.occurred_at, e.raw_code) for e in known.get(shipment.id, [])}
            for scan in update.events:
                if (scan.occurred_at, scan.raw_code) not in seen:
                    uow.save(
                        ShipmentEvent(
                            shipment_id=shipment.id,
                            occurred_at=scan.occurred_at,
                            status=scan.status,
                            raw_code=scan.raw_code[:64],
                            description=scan.description[:512] or scan.status.value,
                            location=scan.location[:255] if scan.location else None,
                        )
                    )
                    seen.add((scan.occurred_at, scan.raw_code))
            if update.estimated_delivery is not None:
                shipment.estimated_delivery = update.estimated_delivery
            if shipment.status is not update.status:
                shipment.status, shipment.raw_status = update.status, update.raw_status[:64]
                uow.save(shipment)
                order = await uow.orders.lock(shipment.order_id, EVERYTHING)
                if order is not None:
                    await uow.events.append(
                        order,
                        EventType(f"SHIPMENT_{update.status.value}"),
                        actor=SYSTEM,
                        occurred_at=now,
                        data={"tracking_number": shipment.tracking_number, "carrier": carrier},
                    )
                    if update.status is TrackingStatus.DELIVERED:
                        await uow.flush()
                        lines = (await uow.orders.lines_by_order_ids([order.id])).get(order.id, [])
                        await derive_order_statuses(uow, order, lines, actor=SYSTEM, now=now)
                changed += 1
            uow.save(shipment)
    return changed
