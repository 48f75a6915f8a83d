"""Spells of short stock noted as the shortfall pass finds them (`models.short_spells`): after each
pass (an ERP notice's, the backorder loop's round), a position still short with no spell open gets
one, and the node's queue is told which of its work may come up short (FULFILLMENT_STOCK_SHORT);
a spell whose position is covered again is closed, and the work still there told so
(FULFILLMENT_STOCK_COVERED). A spell starts and ends when the gateway sees it: within the loop's
period (`ORDERGATE_BACKORDER_SECONDS`), at once after a notice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from ordergate.models.events import EventType
from ordergate.models.replanning import SHORTFALL, WorkHere
from ordergate.models.short_spells import Key, SpellChanges, spells_changed
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases.services import Services


async def note_spells(services: Services, skus: Sequence[str] | None = None) -> SpellChanges:
    """Open and close the spells of these SKUs' positions (or every position's) as the stored
    figures stand now, and tell the work at each; what changed. A look that changes nothing writes
    nothing (the loop's round looks every few seconds)."""
    async with services.store.read() as uow:
        changes = await _changes(uow, skus)
    if not changes:
        return changes
    now = services.clock()
    async with services.store.write() as uow:
        changes = await _changes(uow, skus)  # as they stand under this transaction
        opened = await uow.short_spells.start(changes.opened, now)
        closed = [spell.key for spell in await uow.short_spells.end([s.id for s in changes.closed], now)]
        await uow.short_spells.deepen(changes.deeper)
        await _tell(uow, await uow.orders.work_at(opened), EventType.FULFILLMENT_STOCK_SHORT, changes, now)
        await _tell(uow, await uow.orders.work_at(closed), EventType.FULFILLMENT_STOCK_COVERED, changes, now)
    return changes


async def _changes(uow: UnitOfWork, skus: Sequence[str] | None) -> SpellChanges:
    return spells_changed(await uow.short_spells.open_spells(skus), await uow.inventory.over_committed(skus))


async def _tell(
    uow: UnitOfWork, work: Iterable[WorkHere], kind: EventType, changes: SpellChanges, now: datetime
) -> None:
    """One event per piece of work at the position, on its order's stream, naming its node."""
    work = list(work)
    if not work:
        return
    orders = await uow.orders.lock_many([w.order_id for w in work])
    pieces = await uow.orders.fulfillment_orders_by_ids(sorted({w.fulfillment_order_id for w in work}))
    for here in sorted(work, key=lambda w: (w.order_id, w.fulfillment_order_id, w.sku)):
        key: Key = (here.sku, here.location_id)
        data: dict[str, Any] = {
            "fulfillment_order_id": here.fulfillment_order_id,
            "sku": here.sku,
            "quantity": here.quantity,
        }
        if kind is EventType.FULFILLMENT_STOCK_SHORT:
            data["missing"] = changes.opened[key]
        await uow.events.append(
            orders[here.order_id],
            kind,
            actor=SHORTFALL,
            occurred_at=now,
            data=data,
            fulfillment_order=pieces[here.fulfillment_order_id],
        )
