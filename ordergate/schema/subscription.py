"""Subscription: async generators over the event log (fanned out by the process's hub) and
over availability, woken by the broker."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from ordergate.schema.context import Info, principal, services
from ordergate.schema.types.inventory import SkuAvailability
from ordergate.schema.types.order import FulfillmentOrderEventMessage, OrderEventMessage
from ordergate.usecases import backorders, events


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="An order's events after `after` (or from now), then live. Without "
        "`orderId`: every order's (agents and admins). A customer receives the events their "
        "order's timeline shows, none of the staff-only ones. A subscriber that falls too far behind "
        "gets RESUME_REQUIRED with `extensions.resumeAfter` and subscribes again from there."
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

    @strawberry.subscription(
        description="A node's queue as it changes: new work routed to it and every move of its "
        "fulfilment orders (associates of the location, agents, admins)."
    )
    async def fulfillment_order_events(
        self, info: Info, location_id: strawberry.ID, after: str | None = None
    ) -> AsyncGenerator[FulfillmentOrderEventMessage, None]:
        stream = events.follow_location(services(info), principal(info), str(location_id), after)
        async for record in stream:
            info.context.fresh_loaders()
            yield FulfillmentOrderEventMessage.from_model(record)

    @strawberry.subscription(
        description="Each SKU's availability now, then again whenever it changes; for product "
        "pages that stay live."
    )
    async def availability_changed(
        self, info: Info, skus: list[str], channel: str | None = None
    ) -> AsyncGenerator[SkuAvailability, None]:
        async for stock in events.watch_availability(services(info), principal(info), skus, channel):
            yield SkuAvailability.from_model(stock, backorders.Promiser(services(info), [stock], channel))
