"""Query: reads, each one resolver call."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry

from ordergate.models.errors import DomainError
from ordergate.models.fulfillment import FulfillmentOrderStatus
from ordergate.models.metrics import MAX_RANGE_DAYS, MetricsGroup
from ordergate.models.order import OrderStatus
from ordergate.models.short_spells import ShortOrder
from ordergate.schema.context import Info, principal, services
from ordergate.schema.inputs import DestinationInput, LineInput, OrderFilter, OrderSortInput
from ordergate.schema.selection import Tree, selection_tree, subtree
from ordergate.schema.types.audit import AuditRecord
from ordergate.schema.types.catalog import Customer, Location, Product
from ordergate.schema.types.common import Connection, user_errors
from ordergate.schema.types.inventory import SkuAvailability
from ordergate.schema.types.metrics import NetworkMetricsReport
from ordergate.schema.types.network import RoutingPolicy, SafetyStockLevel, SetRoutingPolicyInput
from ordergate.schema.types.order import FulfillmentOrder, Order, PageParts
from ordergate.schema.types.routing import DeliveryOption
from ordergate.schema.types.short_positions import SHORT_PAGE, ShortPositionType
from ordergate.schema.types.webhooks import WebhookDeliveryAttempt, WebhookEndpoint
from ordergate.schema.types.what_if import SimulateRoutingPayload
from ordergate.usecases import (
    audit,
    backorders,
    catalog,
    fulfillment,
    inventory,
    metrics,
    network,
    orders,
    reads,
    routing,
    short_positions,
    webhooks_out,
    what_if,
)


def parts_wanted(node: Tree) -> reads.PartsWanted:
    """What a page's orders show besides themselves, read up front so that those fields resolve
    without a task each (a board of 100 orders asked ~650 awaitable fields of graphql-core)."""
    work, customer = node.get("fulfillmentOrders", {}), node.get("customer", {})
    return reads.PartsWanted(
        lines="lines" in node,
        backorders="quantityBackordered" in node.get("lines", {}),
        fulfillment_orders="fulfillmentOrders" in node,
        fulfillment_lines="lines" in work,
        locations="location" in work,
        shipments="shipments" in node,
        customers="customer" in node,
        storefront="displayName" in customer or "storefront" in customer,
    )


@strawberry.type
class OrderCount:
    status: OrderStatus
    count: int


@strawberry.type
class Query:
    @strawberry.field(description="The active catalogue, by SKU.")
    async def products(self, info: Info, first: int = 50, after: str | None = None) -> Connection[Product]:
        page = await catalog.products(services(info), principal(info), first, after)
        return Connection.of(page, Product.from_model, catalog.product_cursor, after=after)

    @strawberry.field(description="One order; NOT_FOUND when it does not exist or is not the caller's.")
    async def order(self, info: Info, id: strawberry.ID) -> Order | None:
        return Order.from_model(await orders.order(services(info), principal(info), str(id)))

    @strawberry.field(
        description="Orders the caller may see that match the filter (every field given must match), newest "
        "first unless `sort` says otherwise. A cursor is good for the sort it was given out with."
    )
    async def orders(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        filter: OrderFilter | None = None,
        sort: OrderSortInput | None = None,
    ) -> Connection[Order]:
        criteria = (filter or OrderFilter()).to_criteria()
        order = (sort or OrderSortInput()).to_sort()
        page = await orders.orders(services(info), principal(info), criteria, first, after, order)
        wanted = parts_wanted(subtree(selection_tree(info), "edges", "node"))
        parts = PageParts(await reads.order_parts(services(info), page.items, wanted)) if page.items else None
        return Connection.of(
            page, lambda r: Order.from_model(r, parts), lambda r: orders.order_cursor(r, order), after=after
        )

    @strawberry.field(
        description="The audit trail, newest first: by order, by actor (a subject), and in a time range "
        "[since, until); agents and admins. totalCount is this page's."
    )
    async def audit_trail(
        self,
        info: Info,
        order_id: strawberry.ID | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[AuditRecord]:
        page = await audit.audit_trail(
            services(info),
            principal(info),
            order_id=str(order_id) if order_id else None,
            actor=actor,
            since=since,
            until=until,
            first=first,
            after=after,
        )
        return Connection.of(page, AuditRecord.from_model, audit.entry_cursor, after=after)

    @strawberry.field(description="The routing policy in force (staff).")
    async def routing_policy(self, info: Info) -> RoutingPolicy:
        return RoutingPolicy.from_model(await network.routing_policy(services(info), principal(info)))

    @strawberry.field(
        description="A SKU's safety stock at every location (staff): set for the SKU, or the location's own."
    )
    async def safety_stock(self, info: Info, sku: str) -> list[SafetyStockLevel]:
        levels = await network.safety_stock(services(info), principal(info), sku.strip())
        return [SafetyStockLevel.from_model(level) for level in levels]

    @strawberry.field(description="How many visible orders are in each status.")
    async def order_counts(self, info: Info) -> list[OrderCount]:
        counts = await orders.order_counts(services(info), principal(info))
        return [OrderCount(status=status, count=count) for status, count in counts.items()]

    @strawberry.field(
        description="Network KPIs of the orders placed from `from` to `to` (UTC days, both included; "
        f"at most {MAX_RANGE_DAYS} days, else INVALID_RANGE), per UTC day or per day and channel or "
        "location, with the totals; computed in the database (agents, admins)."
    )
    async def network_metrics(
        self,
        info: Info,
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date,
        group_by: MetricsGroup = MetricsGroup.DAY,
    ) -> NetworkMetricsReport:
        report = await metrics.network_metrics(services(info), principal(info), from_, to, group_by)
        return NetworkMetricsReport.from_model(report, services(info).policy.currency)

    @strawberry.field(
        description="Routing what-if (agents, admins): the orders placed in [from, to) replayed, each "
        "against the stock it saw, under the policy in force and under `policy`, with the figures of "
        f"both; changes nothing. At most {what_if.MAX_ORDERS} orders (PERIOD_TOO_LARGE); INVALID_RANGE "
        "unless from < to; the policy is checked as setRoutingPolicy checks it."
    )
    async def simulate_routing(
        self,
        info: Info,
        policy: SetRoutingPolicyInput,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
    ) -> SimulateRoutingPayload:
        limits = {item.channel: item.limit for item in policy.split_limits}
        weights = policy.weights.to_weights()
        try:
            simulation = await what_if.simulate_routing(
                services(info), principal(info), weights, policy.max_split, limits, from_, to
            )
        except DomainError as refused:
            return SimulateRoutingPayload(user_errors=user_errors(refused.problems, info))
        return SimulateRoutingPayload.from_model(simulation, services(info).policy.currency)

    @strawberry.field
    async def customer(self, info: Info, id: strawberry.ID) -> Customer | None:
        return Customer.from_model(await catalog.customer(services(info), principal(info), str(id)))

    @strawberry.field(
        description="Customers whose email or name starts with `search`, newest first (agents, admins)."
    )
    async def customers(
        self, info: Info, search: str | None = None, first: int = 50, after: str | None = None
    ) -> Connection[Customer]:
        page = await catalog.customers(services(info), principal(info), search, first, after)
        return Connection.of(page, Customer.from_model, catalog.customer_cursor, after=after)

    @strawberry.field(description="Every node of the network.")
    async def locations(self, info: Info) -> list[Location]:
        return [Location.from_model(r) for r in await catalog.locations(services(info), principal(info))]

    @strawberry.field(
        description="Available to sell and to promise, per SKU, across the network and per location."
    )
    async def availability(
        self,
        info: Info,
        skus: list[str],
        destination: DestinationInput | None = None,
        channel: str | None = None,
    ) -> list[SkuAvailability]:
        where = destination.to_destination() if destination else None
        answers = await inventory.availability(services(info), principal(info), skus, where, channel)
        promiser = backorders.Promiser(services(info), answers, channel, where)
        built: dict[str, Location] = {}
        return [SkuAvailability.from_model(answer, promiser, built) for answer in answers]

    @strawberry.field(
        description=(
            "A location's fulfilment work in the order it is to be started: by startsOn, the day "
            "the node is to start on it, then oldest first; associates see their own locations."
        )
    )
    async def fulfillment_orders(
        self,
        info: Info,
        location_id: strawberry.ID,
        status: list[FulfillmentOrderStatus] | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[FulfillmentOrder]:
        page = await fulfillment.queue(
            services(info), principal(info), str(location_id), status or [], first, after
        )
        return Connection.of(page, FulfillmentOrder.from_model, fulfillment.queue_cursor, after=after)

    @strawberry.field(
        description="Positions where the ERP's last count left fewer units on hand than orders hold, "
        "by SKU and node, with the work holding them and why it is still there: what the shortfall "
        "pass (after every ERP notice and backorder round) could not move. Every node's for agents "
        "and admins; one of theirs (`locationId`, its id or code) for an associate. Ten a page by "
        "default, so a page with every holder's order stays within the query cost limit. `orderBy: "
        "LONGEST_SHORT` lists the positions short the longest first (the earliest shortSince; those "
        "no pass has noted yet last); a cursor pages only the order it came from."
    )
    async def short_positions(
        self,
        info: Info,
        location_id: strawberry.ID | None = None,
        first: int = SHORT_PAGE,
        after: str | None = None,
        order_by: ShortOrder = ShortOrder.SKU,
    ) -> Connection[ShortPositionType]:
        page = await short_positions.short_positions(
            services(info),
            principal(info),
            str(location_id) if location_id is not None else None,
            first,
            after,
            order_by,
        )
        return Connection.of(
            page, ShortPositionType.from_model, short_positions.position_cursor(order_by), after=after
        )

    @strawberry.field(
        description="Before checkout: the best ways to ship these lines, and stores to pick them up."
    )
    async def fulfillment_options(
        self, info: Info, lines: list[LineInput], destination: DestinationInput, channel: str | None = None
    ) -> list[DeliveryOption]:
        options = await routing.delivery_options(
            services(info),
            principal(info),
            [line.to_command() for line in lines],
            destination.to_destination(),
            channel,
        )
        currency = services(info).policy.currency
        return [DeliveryOption.from_model(option, currency) for option in options]

    @strawberry.field(description="Every registered webhook endpoint, oldest first (admins).")
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        records = await webhooks_out.endpoints(services(info), principal(info))
        return [WebhookEndpoint.from_model(record) for record in records]

    @strawberry.field(description="An endpoint's delivery attempts, newest first (admins).")
    async def webhook_deliveries(
        self, info: Info, endpoint_id: strawberry.ID, first: int = 50, after: str | None = None
    ) -> Connection[WebhookDeliveryAttempt]:
        page = await webhooks_out.delivery_log(
            services(info), principal(info), str(endpoint_id), first, after
        )
        return Connection.of(
            page, WebhookDeliveryAttempt.from_model, webhooks_out.attempt_cursor, after=after
        )
