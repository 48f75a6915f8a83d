"""Carrier tracking reaching our shipments: status normalised, scans kept, one order event per
change of status, and nothing twice when a carrier repeats itself. Tracking of a return's label
is kept on the return (`usecases.returns.track_label`)."""

from __future__ import annotations

from collections.abc import Sequence

from ordergate.connectors.carriers.base import TrackingUpdate
from ordergate.models.events import EventType
from ordergate.models.scope import OrderScope
from ordergate.models.shipment import ShipmentEvent, TrackingStatus
from ordergate.usecases import order_status, returns
from ordergate.usecases.services import Services

EVERYTHING = OrderScope(everything=True)
SYSTEM = returns.CARRIER  # the actor of what a carrier's tracking changes


async def apply_updates(services: Services, carrier: str, updates: Sequence[TrackingUpdate]) -> int:
    """Store what the carrier says; returns how many shipments changed status. A message whose
    newest scan is older than one already kept (a retry, or deliveries out of order) adds the
    scans it has that are new and moves no status back: a delivered parcel stays delivered."""
    if not updates:
        return 0
    now = services.clock()
    changed = 0
    missed: list[TrackingUpdate] = []
    async with services.store.write() as uow:
        shipments = await uow.orders.shipments_by_tracking([u.tracking_number for u in updates], carrier)
        known = await uow.orders.shipment_events_by_shipment_ids([s.id for s in shipments.values()])
        newest = {sid: max(e.occurred_at for e in events) for sid, events in known.items() if events}
        for update in updates:
            shipment = shipments.get(update.tracking_number)
            if shipment is None:
                missed.append(update)  # a return's label, or not ours (or not recorded yet)
                continue
            seen = {(e.occurred_at, e.raw_code) for e in known.get(shipment.id, [])}
            said_at = max((scan.occurred_at for scan in update.events), default=None)
            before = newest.get(shipment.id)
            stale = said_at is not None and before is not None and said_at < before
            if said_at is not None and not stale:
                newest[shipment.id] = said_at
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
            if update.estimated_delivery is not None and not stale:
                shipment.estimated_delivery = update.estimated_delivery
            if shipment.status is not update.status and not stale:
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
                        await order_status.derive(uow, order, lines, actor=SYSTEM, now=now)
                changed += 1
            uow.save(shipment)
    return changed + await _track_returns(services, carrier, missed)


async def _track_returns(services: Services, carrier: str, updates: Sequence[TrackingUpdate]) -> int:
    """Updates that name no shipment of ours may name a return's label: each is kept on its
    return in a transaction of its own (`returns.track_label`). Any other is not ours, or not
    recorded yet: the carrier's retry will find it. How many returns changed."""
    if not updates:
        return 0
    async with services.store.read() as uow:
        found = await uow.returns.by_labels(carrier, [update.tracking_number for update in updates])
    changed = 0
    for update in updates:
        order_return = found.get(update.tracking_number)
        if order_return is not None and await returns.track_label(services, order_return.id, update):
            changed += 1
    return changed
