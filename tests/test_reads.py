"""Reads as the dashboard and storefront send them: pages, filters, counts, statement budgets."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import event

from ordergate.usecases.services import Services
from tests.builders import a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import error_codes, execute

ADMIN = a_token("admin")
BOARD = operation("OrdersBoard")


async def place_orders(client: httpx.AsyncClient, count: int, **overrides: Any) -> list[dict[str, Any]]:
    orders = []
    for _ in range(count):  # one by one, so created_at follows the order of placement
        body = await execute(
            client, operation("PlaceOrder"), {"input": an_order_input(**overrides)}, token=ADMIN
        )
        orders.append(body["data"]["placeOrder"]["order"])
    return orders


async def test_the_board_pages_through_every_order_newest_first(client: httpx.AsyncClient) -> None:
    placed = await place_orders(client, 5)
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        body = await execute(client, BOARD, {"first": 2, "after": after}, token=ADMIN)
        connection = body["data"]["orders"]
        assert connection["totalCount"] == 5
        seen += [edge["node"]["number"] for edge in connection["edges"]]
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]

    assert pages == 3
    assert seen == [order["number"] for order in reversed(placed)]


async def test_the_board_shows_customer_lines_and_totals(client: httpx.AsyncClient) -> None:
    await place_orders(client, 1)

    body = await execute(client, BOARD, {"first": 1}, token=ADMIN)

    node = body["data"]["orders"]["edges"][0]["node"]
    assert node["customer"]["email"] == "ann@example.com"
    assert node["customer"]["displayName"] == "Ann Lee"
    assert node["lines"] == [{"sku": "MUG-BLUE", "quantity": 2}, {"sku": "KNIFE-CHEF-8", "quantity": 1}]
    assert node["total"] == {"amount": "124.31", "currency": "USD"}
    assert node["fulfillmentOrders"] == [{"status": "OPEN", "location": {"code": "DC-DFW"}}]
    assert node["shipments"] == []


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def filtered_board(module_client: httpx.AsyncClient) -> None:
    """One web order of Ann's and two mobile ones of Bob's, which the filters below only read."""
    await place_orders(module_client, 1)
    await place_orders(module_client, 2, channel="mobile", customer={"email": "bob@example.com"})


@pytest.mark.asyncio(loop_scope="module")  # the module's gateway and board
@pytest.mark.usefixtures("filtered_board")
@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"channel": "mobile"}, 2),
        ({"channel": "web"}, 1),
        ({"customerEmail": "BOB@example.com"}, 2),
        ({"status": ["CONFIRMED"]}, 3),
        ({"status": ["PENDING", "ON_HOLD"]}, 0),
        ({"createdAfter": "2000-01-01T00:00:00+00:00"}, 3),
        ({"createdBefore": "2000-01-01T00:00:00Z"}, 0),
    ],
)
async def test_the_board_filters(
    module_client: httpx.AsyncClient, filter: dict[str, Any], expected: int
) -> None:
    body = await execute(module_client, BOARD, {"first": 10, "filter": filter}, token=ADMIN)

    assert body["data"]["orders"]["totalCount"] == expected
    assert len(body["data"]["orders"]["edges"]) == expected


@pytest.mark.asyncio(loop_scope="module")  # the module's gateway: refused before anything is read
@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"first": 251}, "PAGE_SIZE_TOO_LARGE"),
        ({"first": -1}, "INVALID_PAGE_SIZE"),
        ({"first": 10, "after": "not-a-cursor"}, "INVALID_CURSOR"),
        ({"first": 10, "filter": {"createdAfter": "2026-01-01T00:00:00"}}, "INVALID_DATETIME"),
    ],
)
async def test_bad_page_requests_are_clear_errors(
    module_client: httpx.AsyncClient, variables: dict[str, Any], code: str
) -> None:
    body = await execute(module_client, BOARD, variables, token=ADMIN)

    assert error_codes(body) == [code]
    assert body["data"] is None


@pytest.mark.asyncio(loop_scope="module")  # the module's gateway: the catalogue, read
async def test_the_catalogue_pages_by_sku(module_client: httpx.AsyncClient) -> None:
    token = a_token("storefront")
    skus: list[str] = []
    after = None
    for _ in range(5):
        body = await execute(module_client, operation("Catalog"), {"first": 10, "after": after}, token=token)
        products = body["data"]["products"]
        skus += [edge["node"]["sku"] for edge in products["edges"]]
        after = products["pageInfo"]["endCursor"]
        if not products["pageInfo"]["hasNextPage"]:
            break

    assert len(skus) == 24
    assert skus == sorted(skus)


async def test_network_overview_counts_orders_by_status(client: httpx.AsyncClient) -> None:
    await place_orders(client, 2)

    body = await execute(client, operation("NetworkOverview"), token=a_token("agent"))

    counts = {row["status"]: row["count"] for row in body["data"]["orderCounts"]}
    assert counts["CONFIRMED"] == 2
    assert set(counts) == {"PENDING", "ON_HOLD", "CONFIRMED", "IN_PROGRESS", "COMPLETED", "CANCELLED"}
    locations = body["data"]["locations"]
    assert {loc["type"] for loc in locations} == {"DISTRIBUTION_CENTER", "STORE", "DROP_SHIP_VENDOR"}
    assert all(loc["capacityPerDay"] > 0 for loc in locations)
    assert {
        loc["code"]: loc["openFulfillmentOrders"] for loc in locations if loc["openFulfillmentOrders"]
    } == {"DC-DFW": 2}


async def test_order_tracking_before_shipment(client: httpx.AsyncClient) -> None:
    order = (await place_orders(client, 1))[0]

    body = await execute(client, operation("OrderTracking"), {"id": order["id"]}, token=a_token("customer"))

    tracked = body["data"]["order"]
    assert (tracked["status"], tracked["shipments"]) == ("CONFIRMED", [])
    # Before any parcel, the date routing promised.
    assert date.fromisoformat(tracked["estimatedDelivery"]) > datetime.now(UTC).date()
    # Staff-only events (the work reaching a node) are not on a customer's timeline.
    assert [(e["type"], e["message"]) for e in tracked["timeline"]] == [
        ("ORDER_PLACED", "We received your order."),
        ("ORDER_CONFIRMED", "Your order is confirmed."),
    ]


@contextmanager
def counting_statements(services: Services) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engine = services.store.read_engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


# SQL statements the board may take, whatever the page size: the page, its count, then one
# batched statement each for customers, lines, fulfilment orders, their locations and shipments.
BOARD_STATEMENT_BUDGET = 7


@pytest.mark.no_relay
async def test_the_board_costs_the_same_statements_for_2_or_20_orders(
    client: httpx.AsyncClient, services: Services
) -> None:
    await asyncio.gather(*(place_orders(client, 5) for _ in range(4)))
    counts = {}
    for size in (2, 20):
        with counting_statements(services) as statements:
            body = await execute(client, BOARD, {"first": size}, token=ADMIN)
        assert len(body["data"]["orders"]["edges"]) == size
        counts[size] = len([s for s in statements if s.lstrip().upper().startswith("SELECT")])

    assert counts[2] == counts[20] <= BOARD_STATEMENT_BUDGET
