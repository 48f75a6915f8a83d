"""Subscription: async generators over the event log, woken by the broker."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from ordergate.resolvers import events
from ordergate.schema.context import Info, principal, services
from ordergate.schema.types.order import OrderEventMessage


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="An order's events after `after` (or from now), then live. Without "
        "`orderId`: every order's (agents and admins)."
    )
    async def order_events(
        self, info: Info, order_id: strawberry.ID | None = None, after: str | None = None
    ) -> AsyncGenerator[OrderEventMessage, None]:
        stream = events.follow(
            services(info), principal(info), str(order_id) if order_id is not None else None, after
        )
        async for record in stream:
            info.context.fresh_loaders()
            yield OrderEventMessage.from_model(record)
