"""Following the event log: replay after a cursor, then live, with no gap or duplicate.

Live events come from the process's hub (`workers.hub`), which reads the log once for
every subscription; a replay reads the log directly. Visibility is applied to every event, so
a caller only ever receives events of orders it may see, and a customer only the events their
order's timeline shows (none of the staff-only ones, `models.events.shown_to`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from ordergate.models.errors import Forbidden, NotFound, Problem, ResumeRequired, ValidationFailed
from ordergate.models.events import OrderEvent, shown_to
from ordergate.models.identity import Permission, Principal
from ordergate.models.pagination import decode_cursor, encode_cursor
from ordergate.models.scope import order_scope
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases.feed import Behind, Delivered, may_see
from ordergate.usecases.inventory import SkuStock, availability, check_skus
from ordergate.usecases.services import Services

BATCH = 100
MAX_WATCHED_SKUS = 50

Replay = Callable[[UnitOfWork, int], Awaitable[list[OrderEvent]]]


def event_cursor(event: OrderEvent) -> str:
    return encode_cursor(event.cursor)


def _position(after: str) -> int:
    value = decode_cursor(after, 1)[0]
    if not isinstance(value, int) or value < 0:
        raise ValidationFailed(
            [Problem("INVALID_CURSOR", "the cursor is not one this API gave out", ("after",))]
        )
    return value


async def follow(
    services: Services, principal: Principal, order_id: str | None, after: str | None
) -> AsyncIterator[OrderEvent]:
    """An order's events (every visible order's, for the firehose) after `after`, or from now."""
    scope = order_scope(principal)
    if order_id is None and not principal.can(Permission.SUBSCRIBE_ALL_ORDERS):
        raise Forbidden("only agents and admins may follow every order")
    position = _position(after) if after else None
    if order_id is not None:
        async with services.store.read() as uow:
            if not await uow.orders.by_ids([order_id], scope):
                raise NotFound("no such order", field=("order_id",))

    def accepts(item: Delivered) -> bool:
        return (
            (order_id is None or item.event.order_id == order_id)
            and shown_to(principal, item.event.type)
            and may_see(scope, item)
        )

    async def replay(uow: UnitOfWork, cursor: int) -> list[OrderEvent]:
        return await uow.events.after(cursor, scope, order_id, BATCH)

    async for event in _stream(services, accepts, replay, position):
        if shown_to(principal, event.type):  # the replay reads every event, to keep its place
            yield event


async def follow_location(
    services: Services, principal: Principal, location_id: str, after: str | None
) -> AsyncIterator[OrderEvent]:
    """A node's queue as it changes: every event about one of its fulfilment orders."""
    if not principal.can(Permission.FULFIL):
        raise Forbidden("this role does not work fulfilment queues")
    position = _position(after) if after else None
    async with services.store.read() as uow:
        location = (await uow.catalog.locations_by_ids([location_id])).get(location_id)
    if location is None or not principal.works_at(location.code):
        raise NotFound("no such location among yours", field=("location_id",))

    def accepts(item: Delivered) -> bool:
        return item.event.location_id == location_id

    async def replay(uow: UnitOfWork, cursor: int) -> list[OrderEvent]:
        return await uow.events.at_location(cursor, location_id, BATCH)

    async for event in _stream(services, accepts, replay, position):
        yield event


async def _stream(
    services: Services, accepts: Callable[[Delivered], bool], replay: Replay, position: int | None
) -> AsyncIterator[OrderEvent]:
    # Register with the hub before reading the log: whatever the hub reads from now on is
    # queued for us, and whatever it read before is in the replay below. "From now" is the
    # hub's position, which costs no query: ten thousand subscribers start for free.
    async with services.hub.subscribe(accepts) as subscriber:
        if position is None:
            position = subscriber.start
        else:
            async with services.store.read() as uow:
                head = await uow.events.head()
            if position > head:
                raise ValidationFailed(
                    [Problem("INVALID_CURSOR", "the cursor is ahead of the event log", ("after",))]
                )
        while position < subscriber.start:
            async with services.store.read() as uow:
                batch = await replay(uow, position)
            for event in batch:
                position = event.cursor
                yield event
            if len(batch) < BATCH:
                break
        subscriber.live = True
        while True:
            try:
                item = await subscriber.next()
            except Behind:
                raise ResumeRequired(encode_cursor(position)) from None
            if item.event.cursor <= position:
                continue  # already replayed: the seam between the log and the hub
            position = item.event.cursor
            yield item.event


def _fingerprint(stock: SkuStock) -> tuple[object, ...]:
    return (
        stock.available,
        stock.stale,
        tuple(sorted((row.location.id, row.available) for row in stock.locations)),
    )


async def watch_availability(
    services: Services, principal: Principal, skus: Sequence[str], channel: str | None
) -> AsyncIterator[SkuStock]:
    """Each SKU's availability now, then again whenever it changes (an order, a hold, the
    ERP's word), at most once per wake-up. Changes are noticed on the broker's wake-up or, for
    stock the ERP changed without telling us, within the event poll."""
    wanted = check_skus(skus, MAX_WATCHED_SKUS)
    seen: dict[str, tuple[object, ...]] = {}
    async with services.broker.listen() as listener:
        while True:
            for stock in await availability(services, principal, wanted, None, channel):
                fingerprint = _fingerprint(stock)
                if seen.get(stock.sku) != fingerprint:
                    seen[stock.sku] = fingerprint
                    yield stock
            await listener.wait(services.policy.event_poll_seconds)
