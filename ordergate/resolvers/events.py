"""Following the event log: replay after a cursor, then live, with no gap or duplicate."""

from __future__ import annotations

from collections.abc import AsyncIterator

from ordergate.models.errors import Forbidden, NotFound, Problem, ValidationFailed
from ordergate.models.events import OrderEvent
from ordergate.models.identity import Permission, Principal
from ordergate.models.pagination import decode_cursor, encode_cursor
from ordergate.models.scope import order_scope
from ordergate.resolvers.services import Services

BATCH = 100


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
    """Events after `after` (or from now), then each new one as it commits. Visibility is
    applied on every read, so a caller only ever receives events of orders it may see."""
    scope = order_scope(principal)
    if order_id is None and not principal.can(Permission.SUBSCRIBE_ALL_ORDERS):
        raise Forbidden("only agents and admins may follow every order")
    position = _position(after) if after else None
    if order_id is not None:
        async with services.store.read() as uow:
            if not await uow.orders.by_ids([order_id], scope):
                raise NotFound("no such order", field=("orderId",))
    # Listen before reading the head, so a commit in between still wakes us.
    async with services.broker.listen() as listener:
        async with services.store.read() as uow:
            head = await uow.events.head()
        if position is None:
            position = head
        elif position > head:
            raise ValidationFailed(
                [Problem("INVALID_CURSOR", "the cursor is ahead of the event log", ("after",))]
            )
        while True:
            async with services.store.read() as uow:
                batch = await uow.events.after(position, scope, order_id, BATCH)
            for event in batch:
                position = event.cursor
                yield event
            if len(batch) < BATCH:
                await listener.wait(services.policy.event_poll_seconds)
