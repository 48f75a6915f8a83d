"""An ERP stock notice whose read could not be placed yet, read again by the relay.

A read of a position a movement of ours reached within the allowed clock skew (or one still on
its way to the ERP) cannot tell whether the ERP's figure counts that movement, so the position
keeps its own figure (`models.movements.reconcile`). Taken on a notice, that read would leave
what the ERP announced (a receipt, a count that found units gone) unread until some request
asked for the SKU past its TTL, however long that is. The notice queues `ERP_STOCK_REREAD`
instead, due once the skew has passed; the relay's ERP lane reads the SKUs again, then does
what the notice does: units that arrived go to the lines waiting, and work at positions left
short is routed again.
"""

from __future__ import annotations

from collections.abc import Sequence

from ordergate.models.outbox import OutboxTask
from ordergate.usecases import backorders, inventory, rerouting, short_spells
from ordergate.usecases.services import Services

READS = 5  # a position a movement of ours keeps reaching is left to the next read past the TTL
SHORTFALLS_PER_NOTICE = 25  # orders routed again before a notice is done; the backorder loop the rest


class StillMoving(Exception):
    """The read still could not be placed: tried again later (the relay's backoff)."""


async def reread(services: Services, task: OutboxTask) -> str:
    skus = sorted({str(sku) for sku in task.payload.get("skus", [])})
    still = await inventory.read_again(services, skus)
    if still and task.attempts + 1 < READS:
        # The read is one request for all: the SKUs it placed are acted on now, not held back by
        # those still moving (notices of a few seconds share the task: `inventory.read_later`).
        settled = [sku for sku in skus if sku not in still]
        if settled:
            await act_on(services, settled)
        raise StillMoving(f"a movement of ours to {', '.join(still)} is still too close to read")
    await act_on(services, skus)
    if still:
        return f"read {len(skus)} SKUs; {len(still)} left to the next read past the TTL"
    return f"read {len(skus)} SKUs"


async def act_on(services: Services, skus: Sequence[str]) -> None:
    """What a notice's read is followed by: units that arrived go to the oldest lines waiting for
    them, work at positions a count left short is routed again (at most `SHORTFALLS_PER_NOTICE`
    orders; the backorder loop's round does both again within its period), and the spells of short
    stock of these SKUs are noted as they stand after it: the nodes' queues hear at once."""
    await backorders.allocate_waiting(services, skus)
    await rerouting.route_shortfalls(services, skus, at_most=SHORTFALLS_PER_NOTICE)
    await short_spells.note_spells(services, skus)
