"""Network KPIs: the counts and sums the store adds up per group, and the rates, averages and
percentiles made from them.

The figures describe a cohort: the orders placed (`created_at`) on the UTC days of the range,
with whatever has happened to them since. Stock-out refusals are counted on the UTC day they
were refused. Every rate is a ratio of two of the tallied counts; a ratio over nothing is
None, never zero. Percentiles are nearest-rank: the p-th of n sorted values is the one at rank
ceil(p * n / 100), an actual observation, so a figure can be checked by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from ordergate.models.errors import Problem, ValidationFailed

MAX_RANGE_DAYS = 366
PERCENTILES = (50, 90)
CENT = Decimal("0.01")


class MetricsGroup(StrEnum):
    DAY = "DAY"  # one row per UTC day
    CHANNEL = "CHANNEL"  # one row per UTC day and sales channel
    LOCATION = "LOCATION"  # one row per UTC day and location with a fulfilment order


class Span(StrEnum):
    """The two durations measured per order, in whole seconds from its `created_at`."""

    TO_SHIP = "TO_SHIP"  # to its first FULFILLMENT_SHIPPED or FULFILLMENT_PICKED_UP event
    TO_DELIVERY = "TO_DELIVERY"  # to the last first-DELIVERED scan of its shipments, all delivered


def nearest_rank(percentile: int, count: int) -> int:
    """The 1-based rank of the percentile among `count` sorted values: ceil(p * n / 100),
    in integer arithmetic as the SQL computes it."""
    return (percentile * count + 99) // 100


def check_range(start: date, end: date) -> None:
    """INVALID_RANGE unless `start` <= `end` and the range spans at most MAX_RANGE_DAYS days."""
    if end < start:
        raise ValidationFailed([Problem("INVALID_RANGE", "`to` is before `from`", ("to",))])
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise ValidationFailed(
            [Problem("INVALID_RANGE", f"a range spans at most {MAX_RANGE_DAYS} days", ("to",))]
        )


@dataclass(frozen=True)
class GroupKey:
    """Which row: the day and the channel or location code (None where not grouped by it);
    the totals row has neither."""

    day: date | None = None
    channel: str | None = None
    location_code: str | None = None


@dataclass(frozen=True)
class Tally:
    """What the store counts and sums for one group of orders."""

    orders: int = 0
    units: int = 0
    revenue: Decimal = Decimal("0.00")
    split: int = 0  # orders with more than one fulfilment order (rejected ones left out)
    shipped: int = 0  # orders with at least one shipment
    shipments: int = 0
    shipping_cost: Decimal = Decimal("0.00")  # the carriers' cost of those shipments
    from_store: int = 0  # shipped orders with a shipment from a STORE location
    pickup: int = 0  # orders placed for pickup
    cancelled: int = 0  # orders whose status is CANCELLED
    handed_over: int = 0  # orders shipped or picked up (an event of either kind)
    returned: int = 0  # of those, orders with a return requested
    delivered_promised: int = 0  # orders with a promise and every shipment delivered
    on_time: int = 0  # of those, the last delivery on or before the promised day (UTC)
    rerouted: int = 0  # orders whose work moved to another location after routing (ORDER_REROUTED)
    rerouted_short: int = 0  # of those, moved by the gateway off a position a count left short


@dataclass(frozen=True)
class Percentiles:
    count: int = 0  # orders measured
    p50: int | None = None  # seconds
    p90: int | None = None


@dataclass(frozen=True)
class SpellFigures:
    """Spells of short stock (`models.short_spells`) started in a row."""

    started: int = 0
    lasted: Percentiles = field(default_factory=Percentiles)  # of those that have ended


@dataclass(frozen=True)
class Figures:
    """One row of the answer."""

    key: GroupKey
    tally: Tally = field(default_factory=Tally)
    spans: dict[Span, Percentiles] = field(default_factory=dict)
    refusals: int | None = 0  # None where refusals cannot be placed (a location's row)
    spells: SpellFigures | None = field(default_factory=SpellFigures)  # None in a channel's row

    def span(self, span: Span) -> Percentiles:
        return self.spans.get(span, Percentiles())

    @property
    def split_rate(self) -> float | None:
        return ratio(self.tally.split, self.tally.orders)

    @property
    def average_shipments(self) -> float | None:
        return ratio(self.tally.shipments, self.tally.shipped)

    @property
    def average_shipping_cost(self) -> Decimal | None:
        if not self.tally.shipped:
            return None
        return (self.tally.shipping_cost / self.tally.shipped).quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def on_time_rate(self) -> float | None:
        return ratio(self.tally.on_time, self.tally.delivered_promised)

    @property
    def ship_from_store_share(self) -> float | None:
        return ratio(self.tally.from_store, self.tally.shipped)

    @property
    def pickup_share(self) -> float | None:
        return ratio(self.tally.pickup, self.tally.orders)

    @property
    def cancellation_rate(self) -> float | None:
        return ratio(self.tally.cancelled, self.tally.orders)

    @property
    def return_rate(self) -> float | None:
        return ratio(self.tally.returned, self.tally.handed_over)

    @property
    def reroute_rate(self) -> float | None:
        return ratio(self.tally.rerouted, self.tally.orders)

    @property
    def short_stock_reroute_rate(self) -> float | None:
        return ratio(self.tally.rerouted_short, self.tally.orders)


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class NetworkMetrics:
    start: date
    end: date
    group: MetricsGroup
    totals: Figures
    rows: list[Figures]


def assemble(
    start: date,
    end: date,
    group: MetricsGroup,
    tallies: dict[GroupKey, Tally],
    spans: dict[GroupKey, dict[Span, Percentiles]],
    refusals: dict[GroupKey, int],
    spells: dict[GroupKey, SpellFigures] | None = None,
) -> NetworkMetrics:
    """The answer from what the store counted: `tallies` and `spans` per row key and for the
    totals (`GroupKey()`), `refusals` per (day, channel), `spells` of short stock per row key
    (none per channel) and for the totals. Rows in key order; a day with only refusals or spells
    still has its row (a location's row has no refusals to show, a channel's no spells)."""
    spells = spells or {}
    by_day: dict[GroupKey, int] = {}
    for key, count in refusals.items():
        row_key = key if group is MetricsGroup.CHANNEL else GroupKey(day=key.day)
        by_day[row_key] = by_day.get(row_key, 0) + count
    keys = {key for key in (*tallies, *spans) if key != GroupKey()}
    if group is not MetricsGroup.LOCATION:
        keys |= set(by_day)
    if group is not MetricsGroup.CHANNEL:
        keys |= {key for key in spells if key != GroupKey()}
    rows = [
        Figures(
            key,
            tallies.get(key, Tally()),
            spans.get(key, {}),
            None if group is MetricsGroup.LOCATION else by_day.get(key, 0),
            None if group is MetricsGroup.CHANNEL else spells.get(key, SpellFigures()),
        )
        for key in sorted(keys, key=_order)
    ]
    totals = Figures(
        GroupKey(),
        tallies.get(GroupKey(), Tally()),
        spans.get(GroupKey(), {}),
        sum(refusals.values()),
        spells.get(GroupKey(), SpellFigures()),
    )
    return NetworkMetrics(start, end, group, totals, rows)


def _order(key: GroupKey) -> tuple[date, str]:
    return key.day or date.min, key.channel or key.location_code or ""
