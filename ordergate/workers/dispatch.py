"""Events become webhook deliveries: one task per event and endpoint that wants it, queued in
the outbox's webhooks lane, from a position that only moves forward."""

from __future__ import annotations

from ordergate.models.scope import OrderScope
from ordergate.models.webhooks import wants
from ordergate.usecases.services import Services
from ordergate.usecases.webhooks_out import delivery_task

EVERYTHING = OrderScope(everything=True)
DISPATCH_BATCH = 500


async def dispatch_once(services: Services, limit: int = DISPATCH_BATCH) -> int:
    """Turn the events after the dispatch position into delivery tasks; returns how many events
    it read past (fewer than `limit`: it has caught up)."""
    async with services.store.read() as uow:
        position, head = await uow.webhooks.position(), await uow.events.head()
    if position is not None and position >= head:
        return 0  # nothing new: no write transaction, no lock
    now = services.clock()
    created = 0
    async with services.store.write() as uow:
        position = await uow.webhooks.claim_position()
        targets = await uow.webhooks.endpoints(active_only=True)
        if not targets:
            head = await uow.events.head()
            await uow.webhooks.advance_position(max(position, head))
            return max(0, head - position)
        events = await uow.events.after(position, EVERYTHING, None, limit)
        for event in events:
            for endpoint in targets:
                if wants(endpoint, event.type):
                    uow.outbox.add(delivery_task(endpoint, event, now))
                    created += 1
        if events:
            await uow.webhooks.advance_position(events[-1].cursor)
    return len(events)
