"""networkMetrics against a hand-computed network: five orders placed over two UTC days (and two
just outside them), with fulfilment orders, shipments and their costs, carrier scans, handover
events, a cancellation, a return and stock-out refusals written with known timestamps, so every
figure below is worked out by hand in the comments beside it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa

from ordergate.models.metrics import MAX_RANGE_DAYS, nearest_rank
from ordergate.store import tables
from ordergate.usecases.services import Services
from tests.builders import a_line, a_token, an_order_input
from tests.clock import moving
from tests.contract import operation
from tests.graphql_client import error_codes, execute

AGENT = a_token("agent")
DAY1, DAY2 = date(2026, 11, 2), date(2026, 11, 3)

ROW = """
  day channel locationCode orders units revenue { amount currency } splitRate averageShipments
  averageShippingCost { amount currency }
  orderToShip { count p50Seconds p90Seconds } orderToDelivery { count p50Seconds p90Seconds }
  onTimeRate shipFromStoreShare pickupShare cancellationRate returnRate rerouteRate
  shortStockRerouteRate stockOutRefusals shortSpells timeShort { count p50Seconds p90Seconds }
"""
METRICS = f"""
query Metrics($from: Date!, $to: Date!, $groupBy: MetricsGroup! = DAY) {{
  networkMetrics(from: $from, to: $to, groupBy: $groupBy) {{
    from to groupBy totals {{ {ROW} }} rows {{ {ROW} }}
  }}
}}
"""


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def _location(location_id: str, code: str, kind: str) -> dict[str, Any]:
    return {
        "id": location_id,
        "code": code,
        "name": code,
        "type": kind,
        "line1": "1 Main St",
        "city": "Dallas",
        "postal_code": "75201",
        "country_code": "US",
        "latitude": 32.78,
        "longitude": -96.8,
        "ships": True,
        "pickup_enabled": True,
        "channels": ["web", "pos"],
        "capacity_per_day": 100,
        "priority": 1,
        "handling_days": 1,
        "safety_stock": 0,
        "active": True,
    }


def _order(order_id: str, created: datetime, total: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": order_id,
        "number": f"T-{order_id}",
        "channel": "web",
        "customer_id": "kpi-customer",
        "email": "kpi@example.com",
        "status": "COMPLETED",
        "fulfillment_status": "FULFILLED",
        "payment_status": "PAID",
        "delivery_method": "SHIP",
        "currency": "USD",
        "subtotal": Decimal(total),
        "tax": Decimal("0.00"),
        "shipping_total": Decimal("0.00"),
        "shipping_tax": Decimal("0.00"),
        "total": Decimal(total),
        "event_seq": 0,
        "placed_by": "test",
        "created_at": created,
        "updated_at": created,
    } | fields


def _line(order_id: str, position: int, quantity: int) -> dict[str, Any]:
    return {
        "id": f"{order_id}-l{position}",
        "order_id": order_id,
        "position": position,
        "sku": "MUG-BLUE",
        "name": "Mug",
        "quantity": quantity,
        "unit_price": Decimal("1.00"),
        "tax": Decimal("0.00"),
        "quantity_fulfilled": 0,
        "quantity_cancelled": 0,
        "quantity_returned": 0,
    }


def _fo(fo_id: str, order_id: str, location_id: str, status: str, method: str = "SHIP") -> dict[str, Any]:
    created = at(2, 0)
    return {
        "id": fo_id,
        "order_id": order_id,
        "location_id": location_id,
        "status": status,
        "delivery_method": method,
        "created_at": created,
        "updated_at": created,
    }


def _shipment(shipment_id: str, order_id: str, fo_id: str, cost: str | None) -> dict[str, Any]:
    return {
        "id": shipment_id,
        "order_id": order_id,
        "fulfillment_order_id": fo_id,
        "carrier": "ups",
        "service": "ground",
        "tracking_number": f"1Z{shipment_id}",
        "status": "IN_TRANSIT",
        "cost": None if cost is None else Decimal(cost),
        "currency": "USD",
        "created_at": at(2, 0),
    }


def _scan(shipment_id: str, status: str, when: datetime) -> dict[str, Any]:
    return {
        "id": f"{shipment_id}-{status[:3]}-{when:%d%H%M}",
        "shipment_id": shipment_id,
        "occurred_at": when,
        "status": status,
        "description": status,
    }


def _spell(
    spell_id: str, location_id: str, started: datetime, ended: datetime | None, sku: str = "MUG"
) -> dict[str, Any]:
    return {
        "id": spell_id,
        "sku": sku,
        "location_id": location_id,
        "started_at": started,
        "ended_at": ended,
        "most_missing": 1,
    }


def _events(
    rows: Sequence[tuple[str, str, datetime] | tuple[str, str, datetime, str]],
) -> Iterator[dict[str, Any]]:
    for cursor, (order_id, kind, when, *by) in enumerate(rows, start=900001):
        yield {
            "id": f"event-{cursor}",
            "cursor": cursor,
            "order_id": order_id,
            "seq": cursor,
            "type": kind,
            "occurred_at": when,
            "actor": by[0] if by else "test",
            "data": {},
        }


NETWORK: list[tuple[sa.Table, list[dict[str, Any]]]] = [
    (tables.customers, [{"id": "kpi-customer", "email": "kpi@example.com", "created_at": at(1, 0)}]),
    (
        tables.locations,
        [_location("kpi-dc", "KPI-DC", "DISTRIBUTION_CENTER"), _location("kpi-st", "KPI-ST", "STORE")],
    ),
    (
        tables.orders,
        [
            _order("a", at(2, 10), "100.00", promised_on=date(2026, 11, 4)),
            _order("b", at(2, 12), "50.25", promised_on=date(2026, 11, 3)),
            _order("c", at(2, 20), "30.00", channel="pos", delivery_method="PICKUP"),
            _order("d", at(3, 9), "20.00", status="CANCELLED", fulfillment_status="UNFULFILLED"),
            _order(
                "e", at(3, 11), "75.50", channel="pos", status="IN_PROGRESS", promised_on=date(2026, 11, 5)
            ),
            _order("f", at(4, 0), "999.00"),  # the day after the range
            _order("g", at(1, 23, 59, 59), "888.00"),  # the second before it
        ],
    ),
    (
        tables.order_lines,
        [
            *[_line("a", 0, 2), _line("a", 1, 1)],
            *[_line("b", 0, 1), _line("b", 1, 1)],
            *[_line("c", 0, 1), _line("d", 0, 4), _line("e", 0, 1), _line("f", 0, 9), _line("g", 0, 8)],
        ],
    ),
    (
        tables.fulfillment_orders,
        [
            _fo("a0", "a", "kpi-st", "REJECTED"),  # re-routed: neither a split nor the store's order
            _fo("a1", "a", "kpi-dc", "SHIPPED"),
            _fo("b1", "b", "kpi-dc", "SHIPPED"),
            _fo("b2", "b", "kpi-st", "SHIPPED"),
            _fo("c1", "c", "kpi-st", "PICKED_UP", "PICKUP"),
            _fo("d1", "d", "kpi-dc", "CANCELLED"),
            _fo("e1", "e", "kpi-st", "SHIPPED"),
            _fo("f1", "f", "kpi-dc", "SHIPPED"),
        ],
    ),
    (
        tables.shipments,
        [
            _shipment("sa1", "a", "a1", "7.50"),
            _shipment("sb1", "b", "b1", "5.00"),
            _shipment("sb2", "b", "b2", "6.01"),
            _shipment("se1", "e", "e1", "4.99"),
            _shipment("sf1", "f", "f1", "100.00"),
        ],
    ),
    (
        tables.shipment_events,
        [
            _scan("sa1", "IN_TRANSIT", at(2, 18)),
            _scan("sa1", "DELIVERED", at(3, 10)),  # a: 24h after it was placed
            _scan("sa1", "DELIVERED", at(4, 10)),  # a repeated scan: the first one counts
            _scan("sb1", "DELIVERED", at(3, 20)),
            _scan("sb2", "DELIVERED", at(4, 8)),  # b: its last shipment, 44h after; promised the 3rd
            _scan("se1", "IN_TRANSIT", at(3, 15)),  # e: not delivered yet
            _scan("sf1", "DELIVERED", at(5, 8)),
        ],
    ),
    (
        tables.order_events,
        list(
            _events(
                [
                    ("a", "FULFILLMENT_SHIPPED", at(2, 16)),  # a: 6h = 21600 s
                    ("b", "FULFILLMENT_SHIPPED", at(2, 18, 30)),
                    ("b", "FULFILLMENT_SHIPPED", at(2, 13)),  # b: its first, 1h = 3600 s
                    ("c", "FULFILLMENT_PICKED_UP", at(2, 21)),  # c: 1h = 3600 s
                    ("d", "ORDER_CANCELLED", at(3, 9, 30)),
                    ("e", "FULFILLMENT_SHIPPED", at(3, 11, 0, 30)),  # e: 30 s
                    ("f", "FULFILLMENT_SHIPPED", at(4, 1)),
                    ("b", "ORDER_REROUTED", at(2, 12), "agent-1"),  # b: moved by an agent
                    ("e", "ORDER_REROUTED", at(3, 10), "system:shortfalls"),  # e: off short stock
                    ("e", "ORDER_REROUTED", at(3, 10, 30), "agent-1"),  # and again: one order
                    ("f", "ORDER_REROUTED", at(4, 2), "system:shortfalls"),  # f: outside the range
                ]
            )
        ),
    ),
    (
        tables.order_returns,
        [
            {
                "id": "ra",
                "order_id": "a",
                "status": "REQUESTED",
                "requested_by": "kpi",
                "requested_at": at(4, 9),
            }
        ],
    ),
    (
        tables.refusals,
        [
            {"id": "r1", "channel": "web", "reason": "INSUFFICIENT_STOCK", "occurred_at": at(2, 10, 30)},
            {
                "id": "r2",
                "channel": "web",
                "reason": "SPLIT_LIMIT_EXCEEDED",
                "occurred_at": at(2, 23, 59, 59),
            },
            {"id": "r3", "channel": "pos", "reason": "INSUFFICIENT_STOCK", "occurred_at": at(3, 0)},
            {"id": "r4", "channel": "web", "reason": "INSUFFICIENT_STOCK", "occurred_at": at(4, 0)},
        ],
    ),
    (
        tables.short_spells,
        [
            _spell(
                "s0", "kpi-dc", datetime(2026, 11, 1, 23, 59, 59, tzinfo=UTC), at(2, 1)
            ),  # before the range
            _spell("s1", "kpi-dc", at(2, 9), at(2, 9, 10)),  # 600 s
            _spell("s2", "kpi-st", at(2, 23), at(3, 1)),  # 7200 s, counted on the day it started
            _spell("s3", "kpi-dc", at(3, 5), None, sku="PLATE"),  # still short
            _spell("s4", "kpi-dc", at(3, 12), at(3, 12, 0, 30)),  # 30 s
            _spell("s5", "kpi-st", at(4, 0), at(4, 1)),  # the next day, at midnight
            _spell("s6", "kpi-dc", at(5, 10), None),  # a day with no orders
        ],
    ),
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def network(module_services: Services) -> None:
    """The hand-computed network, written once per module and backend for the reports below,
    which only read it (on the module's gateway)."""
    async with module_services.store.write() as uow:
        for table, rows in NETWORK:
            for row in rows:  # one by one: rows leave out different optional columns
                await uow.session.execute(sa.insert(table).values(row))


async def metrics(client: httpx.AsyncClient, start: date, end: date, group: str = "DAY") -> dict[str, Any]:
    variables = {"from": start.isoformat(), "to": end.isoformat(), "groupBy": group}
    body = await execute(client, METRICS, variables, token=AGENT)
    assert "errors" not in body, body
    report: dict[str, Any] = body["data"]["networkMetrics"]
    return report


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


def rate(numerator: int, denominator: int) -> float:
    return float(Fraction(numerator, denominator))


TOTALS = {
    "day": None,
    "channel": None,
    "locationCode": None,
    "orders": 5,  # a b c d e
    "units": 11,  # 3 + 2 + 1 + 4 + 1
    "revenue": usd("275.75"),  # 100.00 + 50.25 + 30.00 + 20.00 + 75.50
    "splitRate": rate(1, 5),  # b
    "averageShipments": rate(4, 3),  # a 1, b 2, e 1 over a b e
    "averageShippingCost": usd("7.83"),  # (7.50 + 5.00 + 6.01 + 4.99) / 3 = 7.8333
    "orderToShip": {"count": 4, "p50Seconds": 3600, "p90Seconds": 21600},  # 30 3600 3600 21600
    "orderToDelivery": {"count": 2, "p50Seconds": 86400, "p90Seconds": 158400},  # a 24h, b 44h
    "onTimeRate": rate(1, 2),  # a on time, b a day late
    "shipFromStoreShare": rate(2, 3),  # b (one of two), e
    "pickupShare": rate(1, 5),  # c
    "cancellationRate": rate(1, 5),  # d
    "returnRate": rate(1, 4),  # a, of a b c e
    "rerouteRate": rate(2, 5),  # b, e
    "shortStockRerouteRate": rate(1, 5),  # e
    "stockOutRefusals": 3,  # r1 r2 r3
    "shortSpells": 4,  # s1 s2 s3 s4
    "timeShort": {"count": 3, "p50Seconds": 600, "p90Seconds": 7200},  # 30 600 7200 (s3 goes on)
}
DAY_ONE = {
    "day": "2026-11-02",
    "channel": None,
    "locationCode": None,
    "orders": 3,
    "units": 6,
    "revenue": usd("180.25"),
    "splitRate": rate(1, 3),
    "averageShipments": rate(3, 2),
    "averageShippingCost": usd("9.26"),  # 18.51 / 2 = 9.255, half up
    "orderToShip": {"count": 3, "p50Seconds": 3600, "p90Seconds": 21600},
    "orderToDelivery": {"count": 2, "p50Seconds": 86400, "p90Seconds": 158400},
    "onTimeRate": rate(1, 2),
    "shipFromStoreShare": rate(1, 2),
    "pickupShare": rate(1, 3),
    "cancellationRate": 0.0,
    "returnRate": rate(1, 3),
    "rerouteRate": rate(1, 3),
    "shortStockRerouteRate": 0.0,
    "stockOutRefusals": 2,
    "shortSpells": 2,  # s1 s2
    "timeShort": {"count": 2, "p50Seconds": 600, "p90Seconds": 7200},
}
DAY_TWO = {
    "day": "2026-11-03",
    "channel": None,
    "locationCode": None,
    "orders": 2,
    "units": 5,
    "revenue": usd("95.50"),
    "splitRate": 0.0,
    "averageShipments": 1.0,
    "averageShippingCost": usd("4.99"),
    "orderToShip": {"count": 1, "p50Seconds": 30, "p90Seconds": 30},
    "orderToDelivery": {"count": 0, "p50Seconds": None, "p90Seconds": None},
    "onTimeRate": None,  # nothing delivered
    "shipFromStoreShare": 1.0,
    "pickupShare": 0.0,
    "cancellationRate": rate(1, 2),
    "returnRate": 0.0,
    "rerouteRate": rate(1, 2),
    "shortStockRerouteRate": rate(1, 2),
    "stockOutRefusals": 1,
    "shortSpells": 2,  # s3 s4
    "timeShort": {"count": 1, "p50Seconds": 30, "p90Seconds": 30},
}


@pytest.mark.asyncio(loop_scope="module")  # the module's gateway: reports, read
@pytest.mark.usefixtures("network")
async def test_every_figure_by_day_matches_the_hand_computed_network(
    module_client: httpx.AsyncClient,
) -> None:
    report = await metrics(module_client, DAY1, DAY2)

    assert (report["from"], report["to"], report["groupBy"]) == ("2026-11-02", "2026-11-03", "DAY")
    assert report["totals"] == TOTALS
    assert report["rows"] == [DAY_ONE, DAY_TWO]


@pytest.mark.asyncio(loop_scope="module")  # the module's gateway: reports, read
@pytest.mark.usefixtures("network")
async def test_by_channel_each_day_splits_into_its_channels_with_their_refusals(
    module_client: httpx.AsyncClient,
) -> None:
    report = await metrics(module_client, DAY1, DAY2, "CHANNEL")

    assert report["totals"] == TOTALS
    assert [
        (r["day"], r["channel"], r["orders"], r["revenue"]["amount"], r["stockOutRefusals"])
        for r in report["rows"]
    ] == [
        ("2026-11-02", "pos", 1, "30.00", 0),
        ("2026-11-02", "web", 2, "150.25", 2),
        ("2026-11-03", "pos", 1, "75.50", 1),
        ("2026-11-03", "web", 1, "20.00", 0),
    ]
    assert {(r["shortSpells"], r["timeShort"] is None) for r in report["rows"]} == {
        (None, True)
    }  # no channel
    web_day_one = report["rows"][1]
    assert web_day_one["orderToShip"] == {"count": 2, "p50Seconds": 3600, "p90Seconds": 21600}
    assert web_day_one["averageShippingCost"] == usd("9.26")


@pytest.mark.asyncio(loop_scope="module")  # the module's gateway: reports, read
@pytest.mark.usefixtures("network")
async def test_by_location_an_order_counts_at_every_location_that_works_on_it(
    module_client: httpx.AsyncClient,
) -> None:
    report = await metrics(module_client, DAY1, DAY2, "LOCATION")

    assert report["totals"] == TOTALS  # each order once
    assert [
        (r["day"], r["locationCode"], r["orders"], r["units"], r["revenue"]["amount"], r["stockOutRefusals"])
        for r in report["rows"]
    ] == [
        ("2026-11-02", "KPI-DC", 2, 5, "150.25", None),  # a (not at the store: rejected there), b
        ("2026-11-02", "KPI-ST", 2, 3, "80.25", None),  # b, c
        ("2026-11-03", "KPI-DC", 1, 4, "20.00", None),  # d
        ("2026-11-03", "KPI-ST", 1, 1, "75.50", None),  # e
    ]
    assert [(r["shortSpells"], r["timeShort"]) for r in report["rows"]] == [
        (1, {"count": 1, "p50Seconds": 600, "p90Seconds": 600}),  # s1
        (1, {"count": 1, "p50Seconds": 7200, "p90Seconds": 7200}),  # s2
        (2, {"count": 1, "p50Seconds": 30, "p90Seconds": 30}),  # s3 (going on), s4
        (0, {"count": 0, "p50Seconds": None, "p90Seconds": None}),
    ]
    store_day_one = report["rows"][1]
    assert store_day_one["splitRate"] == rate(1, 2)
    assert store_day_one["pickupShare"] == rate(1, 2)


@pytest.mark.asyncio(loop_scope="module")  # the module's gateway: reports, read
@pytest.mark.usefixtures("network")
async def test_a_day_with_only_refusals_has_a_row_and_the_edges_of_the_range_hold(
    module_client: httpx.AsyncClient,
) -> None:
    report = await metrics(module_client, date(2026, 11, 4), date(2026, 11, 4))

    assert report["totals"]["orders"] == 1  # f, placed at midnight
    assert report["totals"]["revenue"] == usd("999.00")
    assert report["totals"]["stockOutRefusals"] == 1  # r4, at midnight
    assert [(r["day"], r["orders"], r["stockOutRefusals"]) for r in report["rows"]] == [("2026-11-04", 1, 1)]
    assert (report["totals"]["shortSpells"], report["totals"]["timeShort"]["p50Seconds"]) == (1, 3600)  # s5


@pytest.mark.asyncio(loop_scope="module")  # the module's gateway: reports, read
@pytest.mark.usefixtures("network")
async def test_a_day_with_only_a_spell_of_short_stock_has_a_row_by_day_and_by_location_not_by_channel(
    module_client: httpx.AsyncClient,
) -> None:
    day = date(2026, 11, 5)
    by_day, by_location, by_channel = [
        await metrics(module_client, day, day, g) for g in ("DAY", "LOCATION", "CHANNEL")
    ]

    assert [(r["day"], r["orders"], r["shortSpells"]) for r in by_day["rows"]] == [("2026-11-05", 0, 1)]  # s6
    assert [(r["locationCode"], r["shortSpells"]) for r in by_location["rows"]] == [("KPI-DC", 1)]
    assert by_channel["rows"] == []
    assert by_channel["totals"]["shortSpells"] == 1
    assert by_day["totals"]["timeShort"] == {"count": 0, "p50Seconds": None, "p90Seconds": None}  # it goes on


@pytest.mark.asyncio(loop_scope="module")  # the module's gateway: reports, read
async def test_an_empty_range_gives_zeros_and_nulls(module_client: httpx.AsyncClient) -> None:
    report = await metrics(module_client, date(2020, 1, 1), date(2020, 12, 31))

    assert report["rows"] == []
    totals = report["totals"]
    assert (totals["orders"], totals["units"], totals["revenue"], totals["stockOutRefusals"]) == (
        0,
        0,
        usd("0.00"),
        0,
    )
    assert totals["orderToShip"] == {"count": 0, "p50Seconds": None, "p90Seconds": None}
    assert (totals["shortSpells"], totals["timeShort"]["count"]) == (0, 0)
    rates = ("splitRate", "averageShipments", "averageShippingCost", "onTimeRate", "returnRate")
    assert [totals[name] for name in rates] == [None] * len(rates)


@pytest.mark.asyncio(loop_scope="module")  # the module's gateway: reports, read
@pytest.mark.parametrize(
    ("start", "end"),
    [(DAY2, DAY1), (date(2025, 1, 1), date(2026, 1, 2))],  # backward; 367 days
)
async def test_a_backward_or_too_long_range_is_refused_as_invalid_range(
    module_client: httpx.AsyncClient, start: date, end: date
) -> None:
    variables = {"from": start.isoformat(), "to": end.isoformat()}

    body = await execute(module_client, METRICS, variables, token=AGENT)

    assert error_codes(body) == ["INVALID_RANGE"]
    assert body["data"] is None


@pytest.mark.asyncio(loop_scope="module")  # the module's gateway: reports, read
async def test_a_full_year_of_days_is_the_longest_range_allowed(module_client: httpx.AsyncClient) -> None:
    start = date(2024, 1, 1)  # a leap year: 366 days
    end = date(2024, 12, 31)
    assert (end - start).days + 1 == MAX_RANGE_DAYS

    report = await metrics(module_client, start, end)

    assert report["totals"]["orders"] == 0


@pytest.mark.asyncio(loop_scope="module")  # the module's gateway: reports, read
@pytest.mark.parametrize("role", ["customer", "associate", "storefront"])
async def test_only_staff_may_read_network_metrics(module_client: httpx.AsyncClient, role: str) -> None:
    token = a_token(role, email="ann@example.com" if role == "customer" else None, locations=("ST-CHI",))

    body = await execute(module_client, METRICS, {"from": "2026-11-02", "to": "2026-11-03"}, token=token)

    assert error_codes(body) == ["FORBIDDEN"]
    assert body["data"] is None


async def test_a_placement_refused_for_stock_is_counted_on_its_day_and_channel(
    client: httpx.AsyncClient, services: Services
) -> None:
    refused = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(channel="web", lines=[a_line("RUG-JUTE-5X8", 900)])},
        token=AGENT,
    )
    invalid = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(lines=[a_line("NO-SUCH-SKU", 1)])},
        token=AGENT,
    )
    today = services.clock().date()

    report = await metrics(client, today, today, "CHANNEL")

    assert [e["code"] for e in refused["data"]["placeOrder"]["userErrors"]] == ["INSUFFICIENT_STOCK"]
    assert invalid["data"]["placeOrder"]["userErrors"]  # refused, but not for stock
    assert report["totals"]["stockOutRefusals"] == 1
    assert [(r["channel"], r["orders"], r["stockOutRefusals"]) for r in report["rows"]] == [("web", 0, 1)]


async def test_an_order_placed_and_shipped_through_the_api_is_measured(
    client: httpx.AsyncClient, services: Services
) -> None:
    """The same figures from the real write paths: placeOrder, then the Dallas DC accepts, picks,
    packs and ships it an hour later."""
    dallas = a_token("associate", locations=("DC-DFW",))
    with moving(services) as clock:
        day = clock().date()  # the order's day, whichever day it ships
        placed = await execute(client, operation("PlaceOrder"), {"input": an_order_input()}, token=AGENT)
        order = placed["data"]["placeOrder"]["order"]
        [fo] = order["fulfillmentOrders"]
        clock.advance(3600)
        for name in ("Accept", "StartPicking", "Pack"):
            await execute(client, operation(name), {"id": fo["id"]}, token=dallas)
        shipped = await execute(
            client, operation("Ship"), {"input": {"fulfillmentOrderId": fo["id"]}}, token=dallas
        )
    assert shipped["data"]["shipFulfillmentOrder"]["userErrors"] == []
    async with services.store.read() as uow:
        [cost] = (await uow.session.execute(sa.select(tables.shipments.c.cost))).scalars().all()

    totals = (await metrics(client, day, day))["totals"]

    assert (totals["orders"], totals["units"], totals["revenue"]) == (1, 3, order["total"])
    assert (totals["averageShipments"], totals["shipFromStoreShare"], totals["splitRate"]) == (1.0, 0.0, 0.0)
    assert totals["averageShippingCost"] == usd(str(cost))
    assert totals["orderToShip"]["count"] == 1
    assert 3600 <= totals["orderToShip"]["p50Seconds"] <= 3660  # plus the requests' own time (a loaded host)
    assert totals["orderToDelivery"] == {"count": 0, "p50Seconds": None, "p90Seconds": None}


async def test_percentiles_are_nearest_rank_observations_not_interpolated(
    client: httpx.AsyncClient, services: Services
) -> None:
    """Six orders shipped 10 to 60 s after they were placed: p50 is the 3rd (30 s), p90 the 6th
    (ceil(5.4)): 60 s, where rounding the rank would give 50 s and interpolating 55 s."""
    orders = [_order(f"p{n}", at(1, 8, n), "1.00") for n in range(6)]
    shipped = [
        (f"p{n}", "FULFILLMENT_SHIPPED", at(1, 8, n) + timedelta(seconds=10 * (n + 1)))
        for n in (3, 0, 5, 1, 4, 2)
    ]
    async with services.store.write() as uow:
        for table, rows in [(tables.customers, NETWORK[0][1]), (tables.orders, orders)]:
            for row in rows:
                await uow.session.execute(sa.insert(table).values(row))
        for row in _events(shipped):
            await uow.session.execute(sa.insert(tables.order_events).values(row))

    report = await metrics(client, date(2026, 11, 1), date(2026, 11, 1))

    assert report["totals"]["orderToShip"] == {"count": 6, "p50Seconds": 30, "p90Seconds": 60}


@pytest.mark.parametrize(
    ("percentile", "count", "rank"), [(50, 1, 1), (90, 1, 1), (50, 4, 2), (90, 4, 4), (90, 10, 9)]
)
def test_nearest_rank_is_the_ceiling_of_p_n_over_100(percentile: int, count: int, rank: int) -> None:
    assert nearest_rank(percentile, count) == rank


@contextmanager
def statements_and_commits(services: Services) -> Iterator[list[tuple[int, str]]]:
    """Every statement sent, and "COMMIT" where a transaction committed, each with the connection
    it went over: the relay commits on connections of its own meanwhile."""
    seen: list[tuple[int, str]] = []

    def statement(conn: Any, _cursor: Any, text: str, *_: Any) -> None:
        seen.append((id(conn), text))

    def commit(conn: Any) -> None:
        seen.append((id(conn), "COMMIT"))

    engines = {services.store.read_engine.sync_engine, services.store.write_engine.sync_engine}
    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", statement)
        sa.event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", statement)
            sa.event.remove(engine, "commit", commit)


async def test_a_refused_keyed_placement_gives_its_key_up_and_is_counted_in_one_transaction(
    client: httpx.AsyncClient, services: Services
) -> None:
    too_many = an_order_input(idempotencyKey="rug-for-all", lines=[a_line("RUG-JUTE-5X8", 900)])
    with statements_and_commits(services) as statements:
        refused = await execute(client, operation("PlaceOrder"), {"input": too_many}, token=AGENT)
    assert [e["code"] for e in refused["data"]["placeOrder"]["userErrors"]] == ["INSUFFICIENT_STOCK"]

    given_up = [
        i
        for i, (_, s) in enumerate(statements)
        if s.lstrip().upper().startswith("DELETE FROM IDEMPOTENCY_KEYS")
    ]
    counted = [
        i for i, (_, s) in enumerate(statements) if s.lstrip().upper().startswith("INSERT INTO REFUSALS")
    ]
    assert len(given_up) == 1
    assert len(counted) == 1
    connection = statements[given_up[0]][0]
    assert statements[counted[0]][0] == connection  # over one connection ...
    between = statements[min(given_up + counted) : max(given_up + counted) + 1]
    assert (connection, "COMMIT") not in between  # ... in one transaction
    assert not [s for _, s in statements if "idempotency_keys" in s and "FOR UPDATE" in s.upper()]

    fewer = an_order_input(idempotencyKey="rug-for-all", lines=[a_line("RUG-JUTE-5X8", 1)])
    placed = await execute(client, operation("PlaceOrder"), {"input": fewer}, token=AGENT)  # the key is free
    assert placed["data"]["placeOrder"]["userErrors"] == []
    today = services.clock().date()
    assert (await metrics(client, today, today))["totals"]["stockOutRefusals"] == 1
