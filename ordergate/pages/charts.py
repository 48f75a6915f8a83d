"""Charts drawn on the server as SVG: the dashboard's figures need no script and no library."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from ordergate.models.metrics import Figures, NetworkMetrics, Span, SpellFigures
from ordergate.models.money import display

WIDTH, HEIGHT, PAD = 200, 40, 2


def polyline(values: Sequence[float]) -> str:
    """`points` for an SVG polyline of `values`, left to right across WIDTH, the largest at the
    top (PAD from the edge) and zero at the bottom; one value draws a flat line."""
    if not values:
        return ""
    top = max(max(values), 0) or 1
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)
    return " ".join(
        f"{PAD + index * step:.1f},{HEIGHT - PAD - (max(value, 0) / top) * (HEIGHT - 2 * PAD):.1f}"
        for index, value in enumerate(values)
    )


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    points: str = ""  # a sparkline per day, where the figure has one


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def duration(seconds: int | None) -> str:
    """A duration as a person reads it on a card: seconds, minutes, hours, then days (a spell of
    short stock lasts seconds to days; an order takes hours to ship)."""
    if seconds is None:
        return "n/a"
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    hours = seconds / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"


def figures(metrics: NetworkMetrics, currency: str) -> list[Card]:
    """The dashboard's cards for a DAY-grouped answer: totals, and a line per day (days without
    orders drawn as zero)."""
    days = [metrics.start + timedelta(days=n) for n in range((metrics.end - metrics.start).days + 1)]
    by_day = {row.key.day: row for row in metrics.rows}

    def daily(value: str) -> str:
        series: list[float] = []
        for day in days:
            row = by_day.get(day)
            series.append(float(_daily(row, value)) if row is not None else 0.0)
        return polyline(series)

    totals = metrics.totals
    to_ship, to_door = totals.span(Span.TO_SHIP), totals.span(Span.TO_DELIVERY)
    cost = totals.average_shipping_cost
    spells = totals.spells or SpellFigures()
    return [
        Card("Orders", str(totals.tally.orders), daily("orders")),
        Card("Revenue", display(totals.tally.revenue, currency), daily("revenue")),
        Card("Units", str(totals.tally.units), daily("units")),
        Card("Split rate", _percent(totals.split_rate)),
        Card("Shipping cost per order", "n/a" if cost is None else display(cost, currency)),
        Card("Order to ship, p50 / p90", f"{duration(to_ship.p50)} / {duration(to_ship.p90)}"),
        Card("Order to delivery, p50 / p90", f"{duration(to_door.p50)} / {duration(to_door.p90)}"),
        Card("On time", _percent(totals.on_time_rate)),
        Card("Shipped from stores", _percent(totals.ship_from_store_share)),
        Card("Pickup", _percent(totals.pickup_share)),
        Card("Cancelled", _percent(totals.cancellation_rate)),
        Card("Returned", _percent(totals.return_rate)),
        Card("Rerouted", _percent(totals.reroute_rate)),
        Card("Moved off short stock", _percent(totals.short_stock_reroute_rate)),
        Card("Refused for stock", str(totals.refusals or 0), daily("refusals")),
        Card("Positions gone short", str(spells.started), daily("spells")),
        Card("Time short, p50 / p90", f"{duration(spells.lasted.p50)} / {duration(spells.lasted.p90)}"),
    ]


def _daily(row: Figures, value: str) -> Decimal | int:
    if value == "refusals":
        return row.refusals or 0
    if value == "spells":
        return row.spells.started if row.spells else 0
    found: Decimal | int = getattr(row.tally, value)
    return found


def last_days(today: date, count: int = 30) -> tuple[date, date]:
    return today - timedelta(days=count - 1), today
