"""Network KPIs: one row of figures per UTC day (and channel or location), and the totals."""

from __future__ import annotations

from datetime import date

import strawberry

from ordergate.models.metrics import Figures, MetricsGroup, NetworkMetrics, Span
from ordergate.models.metrics import Percentiles as DomainPercentiles
from ordergate.schema.types.common import Money


@strawberry.type(description="Nearest-rank percentiles of a duration, in whole seconds.")
class DurationPercentiles:
    count: int = strawberry.field(description="Orders (or spells of short stock) measured.")
    p50_seconds: int | None = strawberry.field(
        description="The value at rank ceil(0.5 n) of the n sorted durations; null when n is 0."
    )
    p90_seconds: int | None = strawberry.field(
        description="The value at rank ceil(0.9 n) of the n sorted durations; null when n is 0."
    )

    @classmethod
    def from_model(cls, figures: DomainPercentiles) -> DurationPercentiles:
        return cls(count=figures.count, p50_seconds=figures.p50, p90_seconds=figures.p90)


@strawberry.type(
    description="The figures of the orders placed (createdAt) in a row's UTC day, channel or location "
    "(or in the whole range, for the totals), with whatever has happened to them since. A rate "
    "or average is null when its denominator is 0."
)
class MetricsRow:
    day: date | None = strawberry.field(description="The UTC day; null in the totals.")
    channel: str | None = strawberry.field(description="The sales channel, when grouped by CHANNEL.")
    location_code: str | None = strawberry.field(
        description="The location, when grouped by LOCATION: the orders with a fulfilment order there "
        "(rejected ones aside), so an order split across locations counts in each of their rows."
    )
    orders: int = strawberry.field(description="Orders placed.")
    units: int = strawberry.field(description="Units ordered (the sum of the orders' line quantities).")
    revenue: Money = strawberry.field(
        description="The sum of the orders' totals (tax and shipping included)."
    )
    split_rate: float | None = strawberry.field(
        description="Orders with more than one fulfilment order (rejected ones aside) / orders."
    )
    average_shipments: float | None = strawberry.field(
        description="Shipments / orders with at least one shipment."
    )
    average_shipping_cost: Money | None = strawberry.field(
        description="The carriers' cost of the shipments / orders with at least one shipment, to the "
        "cent (half up); a shipment without a recorded cost adds nothing."
    )
    order_to_ship: DurationPercentiles = strawberry.field(
        description="From the order's createdAt to its first FULFILLMENT_SHIPPED or "
        "FULFILLMENT_PICKED_UP event, over the orders that have one."
    )
    order_to_delivery: DurationPercentiles = strawberry.field(
        description="From the order's createdAt to its delivery: the latest of its shipments' first "
        "DELIVERED scans, over the orders whose every shipment has one."
    )
    on_time_rate: float | None = strawberry.field(
        description="Of the delivered orders (as in orderToDelivery) with a promised day, those delivered "
        "on or before it (UTC day of the delivery)."
    )
    ship_from_store_share: float | None = strawberry.field(
        description="Orders with a shipment from a STORE location / orders with at least one shipment."
    )
    pickup_share: float | None = strawberry.field(description="Orders placed for PICKUP / orders.")
    cancellation_rate: float | None = strawberry.field(
        description="Orders whose status is CANCELLED (wholly cancelled) / orders."
    )
    return_rate: float | None = strawberry.field(
        description="Of the orders shipped or picked up (as in orderToShip), those with a return requested."
    )
    reroute_rate: float | None = strawberry.field(
        description="Orders whose work moved to another location after routing (ORDER_REROUTED: a "
        "location's rejection, an agent's routeOrder, stock a count left short) / orders."
    )
    short_stock_reroute_rate: float | None = strawberry.field(
        description="Orders the gateway moved off a location whose ERP count left their units short "
        "(see shortPositions) / orders."
    )
    stock_out_refusals: int | None = strawberry.field(
        description="placeOrder attempts refused with INSUFFICIENT_STOCK or SPLIT_LIMIT_EXCEEDED on the "
        "row's UTC day (and channel); each attempt counts. Null in a location's row: a refused order "
        "has no location."
    )
    short_spells: int | None = strawberry.field(
        description="Spells of short stock started on the row's UTC day (at the row's location): each "
        "time the gateway found a SKU at a node with fewer units on hand than orders hold there, after "
        "moving what work it could (see shortPositions' shortSince). Null in a channel's row: stock has "
        "no channel."
    )
    time_short: DurationPercentiles | None = strawberry.field(
        description="How long those spells lasted, from the gateway finding the position short to "
        "finding it covered again, over the ones that have ended. Null in a channel's row."
    )

    @classmethod
    def from_model(cls, figures: Figures, currency: str) -> MetricsRow:
        cost = figures.average_shipping_cost
        return cls(
            day=figures.key.day,
            channel=figures.key.channel,
            location_code=figures.key.location_code,
            orders=figures.tally.orders,
            units=figures.tally.units,
            revenue=Money.of(figures.tally.revenue, currency),
            split_rate=figures.split_rate,
            average_shipments=figures.average_shipments,
            average_shipping_cost=None if cost is None else Money.of(cost, currency),
            order_to_ship=DurationPercentiles.from_model(figures.span(Span.TO_SHIP)),
            order_to_delivery=DurationPercentiles.from_model(figures.span(Span.TO_DELIVERY)),
            on_time_rate=figures.on_time_rate,
            ship_from_store_share=figures.ship_from_store_share,
            pickup_share=figures.pickup_share,
            cancellation_rate=figures.cancellation_rate,
            return_rate=figures.return_rate,
            reroute_rate=figures.reroute_rate,
            short_stock_reroute_rate=figures.short_stock_reroute_rate,
            stock_out_refusals=figures.refusals,
            short_spells=None if figures.spells is None else figures.spells.started,
            time_short=None
            if figures.spells is None
            else DurationPercentiles.from_model(figures.spells.lasted),
        )


@strawberry.type(description="Network KPIs over a range of UTC days.")
class NetworkMetricsReport:
    from_: date = strawberry.field(name="from", description="The first UTC day, included.")
    to: date = strawberry.field(description="The last UTC day, included.")
    group_by: MetricsGroup
    totals: MetricsRow = strawberry.field(description="The whole range, each order counted once.")
    rows: list[MetricsRow] = strawberry.field(
        description="One per UTC day (and channel or location) with orders, refusals or spells of short "
        "stock, in day order."
    )

    @classmethod
    def from_model(cls, report: NetworkMetrics, currency: str) -> NetworkMetricsReport:
        return cls(
            from_=report.start,
            to=report.end,
            group_by=report.group,
            totals=MetricsRow.from_model(report.totals, currency),
            rows=[MetricsRow.from_model(row, currency) for row in report.rows],
        )
