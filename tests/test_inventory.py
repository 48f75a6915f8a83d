"""Availability and holds through the GraphQL endpoint, against the sandbox ERP."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from ordergate.bootstrap import SANDBOX_KATANA_URL, Sandboxes
from ordergate.connectors.erp.katana import KatanaErp
from ordergate.connectors.http import UpstreamPolicy
from ordergate.models.calendar import add_business_days
from ordergate.models.catalog import Product
from ordergate.models.inventory import IncomingSupplyRecord
from ordergate.models.movements import ReadWindow
from ordergate.sandbox.katana import KatanaSandbox, Variant
from ordergate.usecases import catalog
from ordergate.usecases.services import Services
from tests.builders import a_line, a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute

STOREFRONT = a_token("storefront")
AVAILABILITY = operation("ProductAvailability")
HOLD_STOCK = operation("HoldStock")
AUSTIN = {"countryCode": "US", "postalCode": "78701"}


def katana(sandboxes: Sandboxes) -> KatanaSandbox:
    assert sandboxes.katana is not None
    return sandboxes.katana


async def availability(client: httpx.AsyncClient, skus: list[str], **variables: Any) -> list[dict[str, Any]]:
    body = await execute(client, AVAILABILITY, {"skus": skus, **variables}, token=STOREFRONT)
    assert "errors" not in body, body
    answers: list[dict[str, Any]] = body["data"]["availability"]
    return answers


def austin_today() -> date:
    return datetime.now(ZoneInfo("America/Chicago")).date()


async def only_at(services: Services, sandboxes: Sandboxes, sku: str, code: str, units: int) -> None:
    """Make `units` of `sku` sellable at one location and nowhere else, as the ERP reports it."""
    sandbox = katana(sandboxes)
    for location in sandbox.locations:
        sandbox.inventory[(sandbox.variant_for(sku).id, sandbox.locations[location])] = Decimal(0)
    await sandbox.set_on_hand(sku, code, units)  # the webhook makes the gateway re-read
    services.freshness.stock_read_at.pop(sku, None)


def sold_unheard(services: Services, sandboxes: Sandboxes, sku: str, *keep: str) -> None:
    """The ERP has no `sku` left but at the locations `keep` (sold elsewhere), and told this
    gateway nothing (no webhook, unlike `only_at`); its read of `sku` is past the TTL, so the next
    answer or route that needs it reads the ERP first."""
    sandbox = katana(sandboxes)
    for code, location in sandbox.locations.items():
        if code not in keep:
            sandbox.inventory[(sandbox.variant_for(sku).id, location)] = Decimal(0)
    services.freshness.stock_read_at.pop(sku, None)


def unreachable_erp() -> KatanaErp:
    """A Katana connector whose every answer is 503, tried once."""
    return KatanaErp.create(
        "http://katana.down",
        "token",
        transport=httpx.MockTransport(lambda _: httpx.Response(503)),
        policy=UpstreamPolicy(name="katana-down", base_url="http://katana.down", attempts=1),
    )


async def test_availability_across_the_network_and_per_location(client: httpx.AsyncClient) -> None:
    [mug] = await availability(client, ["MUG-BLUE"], destination=AUSTIN, channel="web")

    # Distribution centres 240 + 180 + 210; six stores 24+18+12+15+20+10, less 2 safety stock each.
    assert mug["sku"] == "MUG-BLUE"
    assert mug["availableToSell"] == 630 + 87
    assert mug["stale"] is False
    nearest = mug["locations"][0]
    assert nearest["location"]["code"] == "DC-DFW"
    assert 250 < nearest["distanceKm"] < 320
    assert nearest["availableToSell"] == 180
    newark = next(row for row in mug["locations"] if row["location"]["code"] == "DC-EWR")
    assert newark["incoming"] == [
        {"quantity": 120, "expectedOn": (date.today() + timedelta(days=3)).isoformat()}
    ]
    distances = [row["distanceKm"] for row in mug["locations"]]
    assert distances == sorted(distances)
    # Dallas: one handling day and two days on the road, business days from today in Austin.
    assert mug["promiseDate"] == add_business_days(austin_today(), 3).isoformat()


async def test_the_promise_waits_for_incoming_supply_when_nothing_is_on_hand_and_backorders_are_allowed(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    await only_at(services, sandboxes, "POT-DUTCH-5", "DC-DFW", 0)

    [sold_out] = await availability(client, ["POT-DUTCH-5"], destination=AUSTIN)
    await set_policy(client, "POT-DUTCH-5", "BACKORDER")
    [pot] = await availability(client, ["POT-DUTCH-5"], destination=AUSTIN)

    assert (sold_out["availableToSell"], sold_out["promiseDate"]) == (
        0,
        None,
    )  # on hand only: none to promise
    assert pot["availableToSell"] == 0
    # 24 arrive at Newark in three days; one handling day, four on the road to Austin (business days).
    assert pot["promiseDate"] == add_business_days(date.today() + timedelta(days=3), 1 + 4).isoformat()


async def set_policy(client: httpx.AsyncClient, sku: str, policy: str, **more: Any) -> dict[str, Any]:
    body = await execute(
        client,
        """mutation($input: SetSellingPolicyInput!) { setSellingPolicy(input: $input) {
          product { sku sellingPolicy releaseOn policyChannels } userErrors { code field } } }""",
        {"input": {"sku": sku, "policy": policy, **more}},
        token=a_token("admin"),
    )
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["setSellingPolicy"]
    return payload


async def test_an_unknown_sku_is_simply_unavailable(client: httpx.AsyncClient) -> None:
    [ghost] = await availability(client, ["NO-SUCH-SKU"])

    assert (ghost["availableToSell"], ghost["promiseDate"]) == (0, None)


async def test_a_stock_webhook_updates_availability_at_once(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    await availability(client, ["LAMP-DESK"])
    await katana(sandboxes).set_on_hand("LAMP-DESK", "DC-EWR", 5)

    [lamp] = await availability(client, ["LAMP-DESK"])

    ewr = next(row for row in lamp["locations"] if row["location"]["code"] == "DC-EWR")
    assert ewr["availableToSell"] == 5


async def test_an_unreachable_erp_gives_the_last_snapshot_labelled_stale(
    client: httpx.AsyncClient, services: Services
) -> None:
    before = await availability(client, ["MUG-BLUE"])
    down = unreachable_erp()
    services.erp, previous = down, services.erp
    services.freshness.stock_read_at.clear()
    try:
        [mug] = await availability(client, ["MUG-BLUE"])
    finally:
        services.erp = previous
        await down.aclose()

    assert mug["stale"] is True
    assert mug["availableToSell"] == before[0]["availableToSell"]
    assert mug["asOf"] == before[0]["asOf"]


async def test_an_erp_slower_than_the_read_timeout_gives_the_snapshot_and_the_log_says_it_timed_out(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, caplog: pytest.LogCaptureFixture
) -> None:
    before = await availability(client, ["MUG-BLUE"])
    services.policy = dataclasses.replace(services.policy, stock_read_timeout=0.2)
    services.freshness.stock_read_at.clear()
    katana(sandboxes).stall()
    try:
        with caplog.at_level(logging.WARNING, logger="ordergate.inventory"):
            [mug] = await availability(client, ["MUG-BLUE"])
    finally:
        katana(sandboxes).resume()

    assert (mug["stale"], mug["availableToSell"]) == (True, before[0]["availableToSell"])
    # asyncio's TimeoutError says nothing of itself: the log said "failed for 1 SKUs: " before
    assert "stock read from the ERP failed for 1 SKUs: timed out" in caplog.messages


@pytest.mark.parametrize(
    ("skus", "code"),
    [
        ([], "REQUIRED"),
        (["bad sku!"], "INVALID_SKU"),
        # the input-list cap (ORDERGATE_MAX_INPUT_LIST, 250) answers before the resolver's own
        ([f"SKU-{i}" for i in range(251)], "INPUT_TOO_LARGE"),
    ],
)
async def test_bad_availability_requests_are_clear_errors(
    client: httpx.AsyncClient, skus: list[str], code: str
) -> None:
    body = await execute(client, AVAILABILITY, {"skus": skus}, token=STOREFRONT)

    assert body["errors"][0]["extensions"]["code"] == code


async def hold(client: httpx.AsyncClient, lines: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    body = await execute(
        client,
        HOLD_STOCK,
        {"input": {"idempotencyKey": f"hold-{id(lines)}-{extra}", "lines": lines, **extra}},
        token=STOREFRONT,
    )
    payload: dict[str, Any] = body["data"]["reserveInventory"]
    return payload


async def from_hold(
    client: httpx.AsyncClient, held: dict[str, Any], lines: list[dict[str, Any]]
) -> dict[str, Any]:
    """placeOrder's payload for `lines` placed with the reservation `held` made (a new key each)."""
    body = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(lines=lines, reservationId=held["reservation"]["id"])},
        token=STOREFRONT,
    )
    payload: dict[str, Any] = body["data"]["placeOrder"]
    return payload


async def test_a_hold_sets_units_aside_until_it_expires(
    client: httpx.AsyncClient, services: Services
) -> None:
    [before] = await availability(client, ["KETTLE-STEEL"], destination=AUSTIN)

    held = await hold(client, [a_line("KETTLE-STEEL", 2)], destination=AUSTIN, ttlSeconds=60)

    assert held["userErrors"] == []
    assert held["reservation"]["lines"] == [
        {"sku": "KETTLE-STEEL", "quantity": 2, "location": {"code": "DC-DFW"}}
    ]
    [during] = await availability(client, ["KETTLE-STEEL"], destination=AUSTIN)
    assert during["availableToSell"] == before["availableToSell"] - 2
    real_clock = services.clock
    services.clock = lambda: real_clock() + timedelta(seconds=61)
    try:
        [after] = await availability(client, ["KETTLE-STEEL"], destination=AUSTIN)
    finally:
        services.clock = real_clock
    assert after["availableToSell"] == before["availableToSell"]


async def test_a_repeated_hold_key_holds_once(client: httpx.AsyncClient) -> None:
    request = {"idempotencyKey": "cart-42", "lines": [a_line("VASE-CERAMIC", 1)]}
    first = await execute(client, HOLD_STOCK, {"input": request}, token=STOREFRONT)
    again = await execute(client, HOLD_STOCK, {"input": request}, token=STOREFRONT)

    assert (
        first["data"]["reserveInventory"]["reservation"]["id"]
        == again["data"]["reserveInventory"]["reservation"]["id"]
    )


async def test_an_order_with_its_hold_consumes_the_held_units(client: httpx.AsyncClient) -> None:
    [before] = await availability(client, ["PILLOW-LINEN"], destination=AUSTIN)
    held = await hold(client, [a_line("PILLOW-LINEN", 3)], destination=AUSTIN)

    placed = await from_hold(client, held, [a_line("PILLOW-LINEN", 3)])
    again = await from_hold(client, held, [a_line("PILLOW-LINEN", 3)])

    order = placed["order"]
    assert order["status"] == "CONFIRMED"
    assert order["fulfillmentOrders"][0]["location"]["code"] == "DC-DFW"
    [after] = await availability(client, ["PILLOW-LINEN"], destination=AUSTIN)
    assert after["availableToSell"] == before["availableToSell"] - 3
    assert [e["code"] for e in again["userErrors"]] == ["RESERVATION_USED"]
    # why it went there: the hold (routingDecision was null for orders placed from a hold)
    body = await execute(
        client,
        """query($id: ID!) { order(id: $id) {
          routingDecision { chosen candidates { location { code } reasons } } } }""",
        {"id": order["id"]},
        token=a_token("agent"),
    )
    decision = body["data"]["order"]["routingDecision"]
    assert decision["chosen"] == ["DC-DFW"]
    [candidate] = decision["candidates"]
    assert candidate["location"]["code"] == "DC-DFW"
    assert held["reservation"]["id"] in candidate["reasons"][0]


async def test_an_order_from_a_hold_at_a_node_that_filled_up_since_is_promised_for_its_next_day_with_room(
    client: httpx.AsyncClient, services: Services
) -> None:
    async with services.store.write() as uow:
        await uow.session.execute(sa.text("UPDATE locations SET capacity_per_day = 1 WHERE code = 'DC-DFW'"))
    held = await hold(client, [a_line("PILLOW-LINEN", 3)], destination=AUSTIN)
    assert [line["location"]["code"] for line in held["reservation"]["lines"]] == ["DC-DFW"]
    took_the_day = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(lines=[a_line("MUG-BLUE", 1)])},
        token=STOREFRONT,
    )
    assert took_the_day["data"]["placeOrder"]["order"]["fulfillmentOrders"][0]["location"]["code"] == "DC-DFW"

    placed = await from_hold(client, held, [a_line("PILLOW-LINEN", 3)])

    order = placed["order"]
    assert order["fulfillmentOrders"][0]["location"]["code"] == "DC-DFW"  # where the hold is
    body = await execute(
        client,
        "query($id: ID!) { order(id: $id) { estimatedDelivery } }",
        {"id": order["id"]},
        token=a_token("agent"),
    )
    austin_today = datetime.now(ZoneInfo("America/Chicago")).date()
    # a working day's wait for room, then Dallas's handling day and two days' transit
    expected = add_business_days(add_business_days(austin_today, 1), 3)
    assert body["data"]["order"]["estimatedDelivery"] == expected.isoformat()


async def test_an_order_from_a_hold_at_a_node_deactivated_since_is_routed_afresh_and_uses_the_hold_up(
    client: httpx.AsyncClient,
) -> None:
    [before] = await availability(client, ["PILLOW-LINEN"], destination=AUSTIN)
    held = await hold(client, [a_line("PILLOW-LINEN", 3)], destination=AUSTIN)
    assert [line["location"]["code"] for line in held["reservation"]["lines"]] == ["DC-DFW"]
    dfw = next(row for row in before["locations"] if row["location"]["code"] == "DC-DFW")
    admin = a_token("admin")
    closed = await execute(
        client,
        "mutation($id: ID!) { deactivateLocation(id: $id) { location { active } userErrors { code } } }",
        {"id": "DC-DFW"},
        token=admin,
    )  # a cart's hold is not open work: the node is taken out of routing

    def from_the_hold() -> dict[str, Any]:  # a new idempotency key each
        return {
            "input": an_order_input(
                lines=[a_line("PILLOW-LINEN", 3)], reservationId=held["reservation"]["id"]
            )
        }

    placed = await execute(client, operation("PlaceOrder"), from_the_hold(), token=STOREFRONT)
    again = await execute(client, operation("PlaceOrder"), from_the_hold(), token=STOREFRONT)

    assert closed["data"]["deactivateLocation"] == {"location": {"active": False}, "userErrors": []}
    order = placed["data"]["placeOrder"]["order"]
    assert placed["data"]["placeOrder"]["userErrors"] == [], placed
    assert order["status"] == "CONFIRMED"
    assert "DC-DFW" not in [fo["location"]["code"] for fo in order["fulfillmentOrders"]]
    assert [e["code"] for e in again["data"]["placeOrder"]["userErrors"]] == ["RESERVATION_USED"]
    [after] = await availability(client, ["PILLOW-LINEN"], destination=AUSTIN)
    # the other nodes gave the order's 3 units; the hold at DC-DFW holds nothing any more
    assert after["availableToSell"] == before["availableToSell"] - dfw["availableToSell"] - 3


async def test_an_order_that_differs_from_its_hold_is_refused(client: httpx.AsyncClient) -> None:
    held = await hold(client, [a_line("PILLOW-LINEN", 1)])

    placed = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(lines=[a_line("PILLOW-LINEN", 2)], reservationId=held["reservation"]["id"])},
        token=STOREFRONT,
    )

    assert [e["code"] for e in placed["data"]["placeOrder"]["userErrors"]] == ["RESERVATION_MISMATCH"]


async def test_a_pickup_order_takes_units_from_the_pickup_store(client: httpx.AsyncClient) -> None:
    locations = await execute(client, "{ locations { id code } }", token=STOREFRONT)
    chicago = next(loc["id"] for loc in locations["data"]["locations"] if loc["code"] == "ST-CHI")

    placed = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(deliveryMethod="PICKUP", shippingAddress=None, pickupLocationId=chicago)},
        token=STOREFRONT,
    )

    fulfillment = placed["data"]["placeOrder"]["order"]["fulfillmentOrders"]
    assert [(fo["deliveryMethod"], fo["location"]["code"]) for fo in fulfillment] == [("PICKUP", "ST-CHI")]


async def test_more_than_the_network_holds_is_insufficient_stock(client: httpx.AsyncClient) -> None:
    placed = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(lines=[a_line("RUG-JUTE-5X8", 900)])},
        token=STOREFRONT,
    )

    assert placed["data"]["placeOrder"]["order"] is None
    assert [(e["code"], e["field"]) for e in placed["data"]["placeOrder"]["userErrors"]] == [
        ("INSUFFICIENT_STOCK", ["input", "lines", "0", "quantity"])
    ]


async def test_fifty_buyers_for_ten_units_sell_exactly_ten(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    await only_at(services, sandboxes, "LAMP-DESK", "DC-EWR", 10)
    await availability(client, ["LAMP-DESK"])

    results = await asyncio.gather(
        *(
            execute(
                client,
                operation("PlaceOrder"),
                {"input": an_order_input(lines=[a_line("LAMP-DESK", 1)])},
                token=STOREFRONT,
            )
            for _ in range(50)
        )
    )

    payloads = [r["data"]["placeOrder"] for r in results]
    sold = [p for p in payloads if p["order"] is not None]
    refused = [p for p in payloads if p["order"] is None]
    assert len(sold) == 10
    assert {e["code"] for p in refused for e in p["userErrors"]} == {"INSUFFICIENT_STOCK"}
    [lamp] = await availability(client, ["LAMP-DESK"])
    assert lamp["availableToSell"] == 0
    async with services.store.read() as uow:
        positions = await uow.inventory.positions(["LAMP-DESK"])
    assert sum(p.allocated for p in positions) == 10
    assert all(p.on_hand - p.allocated >= 0 for p in positions)


async def test_fifty_holds_for_ten_units_hold_exactly_ten(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    await only_at(services, sandboxes, "TABLE-SIDE", "DC-EWR", 10)
    await availability(client, ["TABLE-SIDE"])

    results = await asyncio.gather(
        *(
            execute(
                client,
                HOLD_STOCK,
                {"input": {"idempotencyKey": f"cart-{i}", "lines": [a_line("TABLE-SIDE", 1)]}},
                token=STOREFRONT,
            )
            for i in range(50)
        )
    )

    payloads = [r["data"]["reserveInventory"] for r in results]
    assert len([p for p in payloads if p["reservation"] is not None]) == 10
    assert {e["code"] for p in payloads if p["reservation"] is None for e in p["userErrors"]} == {
        "INSUFFICIENT_STOCK"
    }
    [table] = await availability(client, ["TABLE-SIDE"])
    assert table["availableToSell"] == 0


@asynccontextmanager
async def counting(services: Services, sandbox: KatanaSandbox) -> AsyncIterator[dict[str, int]]:
    """Count SQL statements on both engines, and ERP requests through a connector that tallies them."""
    counts = {"sql": 0, "erp": 0}
    engines = {services.store.read_engine.sync_engine, services.store.write_engine.sync_engine}

    def statement(*_: Any) -> None:
        counts["sql"] += 1

    async def request(_: httpx.Request) -> None:
        counts["erp"] += 1

    counted = KatanaErp.create(
        SANDBOX_KATANA_URL,
        "sandbox",
        transport=httpx.ASGITransport(app=sandbox.app),
        event_hooks={"request": [request]},
    )
    await counted.stock_levels(await _every_sku(services))  # learn the variant ids: warm, as in service
    counts["erp"] = 0
    previous, services.erp = services.erp, counted
    for engine in engines:
        event.listen(engine, "before_cursor_execute", statement)
    try:
        yield counts
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", statement)
        services.erp = previous
        await counted.aclose()


async def _every_sku(services: Services) -> list[str]:
    async with services.store.read() as uow:
        return sorted(await uow.catalog.active_skus())


async def add_products(services: Services, sandbox: KatanaSandbox, count: int) -> list[str]:
    """`count` more products, known to the ERP (stock at Newark) and to our catalogue."""
    skus = [f"EXTRA-{n:03d}" for n in range(count)]
    base = max(sandbox.variants) + 1
    for offset, sku in enumerate(skus):
        variant = Variant(base + offset, base + offset, sku, f"Extra {sku}", Decimal("10.00"))
        sandbox.variants[variant.id] = variant
        sandbox.inventory[(variant.id, sandbox.locations["DC-EWR"])] = Decimal(7)
    await catalog.seed(services, [_product(sku, services) for sku in skus], [])
    return skus


def _product(sku: str, services: Services) -> Product:
    now = services.clock()
    return Product(sku=sku, name=sku, price=Decimal("10.00"), currency="USD", created_at=now, updated_at=now)


@pytest.mark.no_relay
async def test_availability_costs_the_same_for_1_10_or_100_skus(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    extra = await add_products(services, katana(sandboxes), 100)
    costs = {}
    for size in (1, 10, 100):
        services.freshness.stock_read_at.clear()
        services.freshness.incoming_read_at.clear()
        services.views.drop_all()  # each size read from the store, not one from the views
        # Every set includes a SKU with open supply, so each stores some (the same statements).
        skus = ["MUG-BLUE", *extra[: size - 1]]
        async with counting(services, katana(sandboxes)) as counts:
            answers = await availability(client, skus, destination=AUSTIN)
        assert [a["sku"] for a in answers] == skus
        assert all(a["availableToSell"] > 0 for a in answers)
        costs[size] = (counts["erp"], counts["sql"])

    assert costs[1] == costs[10] == costs[100]
    assert costs[1][0] == 3  # one inventory read; open purchase orders, one read per open status


async def test_the_running_gateway_pushes_confirmed_orders_to_the_erp(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    body = await execute(client, operation("PlaceOrder"), {"input": an_order_input()}, token=STOREFRONT)
    order = body["data"]["placeOrder"]["order"]

    for _ in range(100):
        if sandboxes.katana is not None and sandboxes.katana.sales_orders_for(f"{order['number']}-DC-DFW"):
            break
        await asyncio.sleep(0.05)

    assert sandboxes.katana is not None
    assert len(sandboxes.katana.sales_orders_for(f"{order['number']}-DC-DFW")) == 1


RELEASE_HOLD = """
mutation Release($id: ID!) {
  releaseInventoryHold(id: $id) { reservation { id status } userErrors { code field message } }
}
"""


async def release(client: httpx.AsyncClient, reservation_id: str, token: str = STOREFRONT) -> dict[str, Any]:
    body = await execute(client, RELEASE_HOLD, {"id": reservation_id}, token=token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["releaseInventoryHold"]
    return payload


async def test_a_cart_that_shrank_takes_what_it_needs_and_the_rest_of_its_hold_is_freed(
    client: httpx.AsyncClient,
) -> None:
    [before] = await availability(client, ["PILLOW-LINEN"], destination=AUSTIN)
    held = await hold(client, [a_line("PILLOW-LINEN", 3)], destination=AUSTIN)

    placed = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(lines=[a_line("PILLOW-LINEN", 1)], reservationId=held["reservation"]["id"])},
        token=STOREFRONT,
    )

    assert placed["data"]["placeOrder"]["userErrors"] == []
    [after] = await availability(client, ["PILLOW-LINEN"], destination=AUSTIN)
    assert after["availableToSell"] == before["availableToSell"] - 1


async def test_a_released_hold_gives_its_units_back_at_once_and_only_once(client: httpx.AsyncClient) -> None:
    [before] = await availability(client, ["VASE-CERAMIC"], destination=AUSTIN)
    held = await hold(client, [a_line("VASE-CERAMIC", 2)], destination=AUSTIN)
    [holding] = await availability(client, ["VASE-CERAMIC"], destination=AUSTIN)

    released = await release(client, held["reservation"]["id"])
    [after] = await availability(client, ["VASE-CERAMIC"], destination=AUSTIN)
    again = await release(client, held["reservation"]["id"])

    assert holding["availableToSell"] == before["availableToSell"] - 2
    assert (released["userErrors"], released["reservation"]["status"]) == ([], "RELEASED")
    assert after["availableToSell"] == before["availableToSell"]
    assert [(e["code"], e["field"]) for e in again["userErrors"]] == [("HOLD_NOT_ACTIVE", ["id"])]


async def test_only_the_holder_or_staff_release_a_hold(client: httpx.AsyncClient) -> None:
    held = await hold(client, [a_line("VASE-CERAMIC", 1)])
    other_shop = a_token("storefront", subject="another-storefront")

    refused = await release(client, held["reservation"]["id"], token=other_shop)
    by_agent = await release(client, held["reservation"]["id"], token=a_token("agent"))

    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [("NOT_FOUND", ["id"])]
    assert (by_agent["userErrors"], by_agent["reservation"]["status"]) == ([], "RELEASED")


async def test_an_order_cannot_use_a_released_hold(client: httpx.AsyncClient) -> None:
    held = await hold(client, [a_line("VASE-CERAMIC", 1)])
    await release(client, held["reservation"]["id"])

    placed = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(lines=[a_line("VASE-CERAMIC", 1)], reservationId=held["reservation"]["id"])},
        token=STOREFRONT,
    )

    assert [e["code"] for e in placed["data"]["placeOrder"]["userErrors"]] == ["RESERVATION_USED"]


CHANGE_HOLD = """
mutation Change($input: ChangeInventoryHoldInput!) {
  changeInventoryHold(input: $input) {
    reservation { id status lines { sku quantity } }
    userErrors { code field message }
  }
}
"""


async def change(
    client: httpx.AsyncClient,
    reservation_id: str,
    lines: list[dict[str, Any]],
    key: str,
    token: str = STOREFRONT,
) -> dict[str, Any]:
    variables = {"input": {"reservationId": reservation_id, "idempotencyKey": key, "lines": lines}}
    body = await execute(client, CHANGE_HOLD, variables, token=token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["changeInventoryHold"]
    return payload


def held_units(payload: dict[str, Any]) -> dict[str, int]:
    units: dict[str, int] = {}
    for line in payload["reservation"]["lines"]:
        units[line["sku"]] = units.get(line["sku"], 0) + line["quantity"]
    return units


async def test_a_hold_goes_down_and_up_with_its_cart_and_stock_follows(client: httpx.AsyncClient) -> None:
    [before] = await availability(client, ["PILLOW-LINEN"], destination=AUSTIN)
    held = await hold(client, [a_line("PILLOW-LINEN", 3)], destination=AUSTIN)
    hold_id = held["reservation"]["id"]

    down = await change(client, hold_id, [a_line("PILLOW-LINEN", 1)], "cart-7-v2")
    [after_down] = await availability(client, ["PILLOW-LINEN"], destination=AUSTIN)
    up = await change(client, hold_id, [a_line("PILLOW-LINEN", 4), a_line("VASE-CERAMIC", 1)], "cart-7-v3")
    [after_up] = await availability(client, ["PILLOW-LINEN"], destination=AUSTIN)

    assert (down["userErrors"], held_units(down)) == ([], {"PILLOW-LINEN": 1})
    assert after_down["availableToSell"] == before["availableToSell"] - 1
    assert (up["userErrors"], held_units(up)) == ([], {"PILLOW-LINEN": 4, "VASE-CERAMIC": 1})
    assert after_up["availableToSell"] == before["availableToSell"] - 4


async def test_a_hold_change_keeps_the_idempotency_rules(client: httpx.AsyncClient) -> None:
    held = await hold(client, [a_line("PILLOW-LINEN", 2)])
    hold_id = held["reservation"]["id"]

    first = await change(client, hold_id, [a_line("PILLOW-LINEN", 1)], "cart-8-v2")
    replayed = await change(client, hold_id, [a_line("PILLOW-LINEN", 1)], "cart-8-v2")
    changed_body = await change(client, hold_id, [a_line("PILLOW-LINEN", 2)], "cart-8-v2")

    assert held_units(first) == held_units(replayed) == {"PILLOW-LINEN": 1}
    assert [e["code"] for e in changed_body["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]


async def test_a_hold_cannot_grow_past_the_stock_or_be_changed_by_someone_else(
    client: httpx.AsyncClient,
) -> None:
    held = await hold(client, [a_line("VASE-CERAMIC", 1)])
    hold_id = held["reservation"]["id"]

    too_many = await change(client, hold_id, [a_line("VASE-CERAMIC", 999)], "cart-9-v2")
    stranger = await change(
        client,
        hold_id,
        [a_line("VASE-CERAMIC", 2)],
        "cart-9-v3",
        token=a_token("storefront", subject="other"),
    )
    await release(client, hold_id)
    released = await change(client, hold_id, [a_line("VASE-CERAMIC", 2)], "cart-9-v4")

    assert [(e["code"], e["field"]) for e in too_many["userErrors"]] == [
        ("INSUFFICIENT_STOCK", ["input", "lines", "0", "quantity"])
    ]
    assert [(e["code"], e["field"]) for e in stranger["userErrors"]] == [
        ("NOT_FOUND", ["input", "reservationId"])
    ]
    assert [(e["code"], e["field"]) for e in released["userErrors"]] == [
        ("HOLD_NOT_ACTIVE", ["input", "reservationId"])
    ]


@pytest.mark.parametrize("sku", ["NO-SUCH-SKU", "MUG-BLUE"])
async def test_a_hold_for_a_sku_nobody_sells_is_unknown_sku_as_an_order_would_be(
    client: httpx.AsyncClient, sku: str
) -> None:
    lines = [a_line(sku, 1), a_line("GHOST-2", 1)]
    held = await execute(
        client, HOLD_STOCK, {"input": {"idempotencyKey": f"ghost-{sku}", "lines": lines}}, token=STOREFRONT
    )
    placed = await execute(
        client, operation("PlaceOrder"), {"input": an_order_input(lines=lines)}, token=STOREFRONT
    )

    expected = [
        ("UNKNOWN_SKU", ["input", "lines", str(i), "sku"])
        for i, line in enumerate(lines)
        if line["sku"] != "MUG-BLUE"
    ]
    assert [(e["code"], e["field"]) for e in held["data"]["reserveInventory"]["userErrors"]] == expected
    assert [(e["code"], e["field"]) for e in placed["data"]["placeOrder"]["userErrors"]] == expected


async def test_a_snapshot_read_earlier_never_replaces_one_read_later(services: Services) -> None:
    """A read under way when the ERP's notice came in, stored after the read the notice started:
    its older figure is not stored over the newer one (nor are movements counted by it)."""
    now = services.clock()
    async with services.store.read() as uow:
        node = next(loc for loc in await uow.catalog.locations() if loc.code == "DC-DFW")
    key = ("MUG-BLUE", node.id)

    async def store(units: int, started: datetime, finished: datetime) -> None:
        async with services.store.write() as uow:
            window = ReadWindow(started=started, finished=finished)
            await uow.inventory.record_snapshot({key: units}, window, timedelta(0))

    async def on_hand() -> tuple[int, datetime]:
        async with services.store.read() as uow:
            [position] = [p for p in await uow.inventory.positions(["MUG-BLUE"]) if p.location_id == node.id]
        return position.on_hand, position.as_of

    second = timedelta(seconds=1)
    await store(50, now + 2 * second, now + 3 * second)  # the read the notice started
    await store(40, now, now + 2 * second)  # the older one, stored last
    kept = await on_hand()
    await store(45, now + 4 * second, now + 5 * second)  # the next one

    assert kept == (50, now + 3 * second)
    assert await on_hand() == (45, now + 5 * second)

    hour = timedelta(hours=1)  # a read stamped an hour ahead came from a clock that jumped
    await store(30, now + hour, now + hour)
    await store(35, now + 6 * second, now + 7 * second)
    assert await on_hand() == (35, now + 7 * second)


async def test_a_supply_read_earlier_never_replaces_one_read_later(services: Services) -> None:
    """Incoming supply the same way: an older read stored last neither replaces the newer one's
    purchase orders nor brings back one the newer read found received (gone)."""
    now = services.clock()
    async with services.store.read() as uow:
        node = next(loc for loc in await uow.catalog.locations() if loc.code == "DC-DFW")
    second = timedelta(seconds=1)

    def order(units: int) -> IncomingSupplyRecord:
        due = (now + timedelta(days=10)).date()
        return IncomingSupplyRecord(
            sku="MUG-BLUE", location_id=node.id, quantity=units, expected_on=due, reference="PO-9", as_of=now
        )

    async def store(found: list[IncomingSupplyRecord], read_at: datetime) -> set[str]:
        async with services.store.write() as uow:
            return await uow.inventory.replace_incoming(["MUG-BLUE", "MUG-WHITE"], found, read_at)

    async def incoming() -> list[int]:
        async with services.store.read() as uow:
            found = await uow.inventory.incoming(["MUG-BLUE"])
        return sorted(s.quantity for s in found.get("MUG-BLUE", []))

    assert await store([order(30)], now + 10 * second) == {"MUG-BLUE", "MUG-WHITE"}
    older = await store([order(12)], now + 5 * second)
    after_older = await incoming()
    assert await store([], now + 20 * second) == {"MUG-BLUE", "MUG-WHITE"}  # received: gone
    older_still = await store([order(30)], now + 15 * second)

    assert older == set()
    assert after_older == [30]
    assert older_still == set()
    assert await incoming() == []

    hour = timedelta(hours=1)  # a read stamped an hour ahead came from a clock that jumped
    await store([order(7)], now + hour)
    assert await store([order(8)], now + 30 * second) == {"MUG-BLUE", "MUG-WHITE"}
    assert await incoming() == [8]
