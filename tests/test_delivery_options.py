"""Delivery options a shopper can buy: each carries the price placeOrder charges (the same rule)
and an id placeOrder takes back; the order then goes that way or is refused with a code."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import sqlalchemy as sa

from ordergate.usecases.services import Services
from tests.builders import a_line, a_token, an_address, an_order_input
from tests.contract import operation
from tests.graphql_client import execute
from tests.test_fulfillment import location_ids

STOREFRONT = a_token("storefront")
AGENT = a_token("agent")
SAN_FRANCISCO = an_address(city="San Francisco", region="CA", postalCode="94103", line1="1 Market St")
OPTIONS = """query($lines: [LineInput!]!, $d: DestinationInput!) {
  fulfillmentOptions(lines: $lines, destination: $d) {
    id deliveryMethod serviceLevel estimatedDelivery businessDays splitCount
    cost { amount } shippingTax { amount } total { amount }
    fulfillmentOrders { location { code } } } }"""
ORDER = """query($id: ID!) { order(id: $id) {
  serviceLevel estimatedDelivery total { amount } shippingTotal { amount } shippingTax { amount }
  payments { kind amount { amount } } fulfillmentOrders { location { code } } } }"""


async def options(client: httpx.AsyncClient, lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    body = await execute(
        client, OPTIONS, {"lines": lines, "d": {"countryCode": "US", "postalCode": "94103"}}, token=STOREFRONT
    )
    assert "errors" not in body, body
    found = body["data"]["fulfillmentOptions"]
    return {f"{o['serviceLevel']}" if o["deliveryMethod"] == "SHIP" else o["id"]: o for o in found}


async def place(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    overrides.setdefault("shippingAddress", SAN_FRANCISCO)
    body = await execute(client, operation("PlaceOrder"), {"input": an_order_input(**overrides)}, token=AGENT)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["placeOrder"]
    return payload


async def pick_up(
    client: httpx.AsyncClient, lines: list[dict[str, Any]], store: str, **more: Any
) -> dict[str, Any]:
    """An order of `lines` to collect at `store` (its id)."""
    return await place(
        client, lines=lines, deliveryMethod="PICKUP", shippingAddress=None, pickupLocationId=store, **more
    )


async def read(client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    body = await execute(client, ORDER, {"id": order_id}, token=AGENT)
    order: dict[str, Any] = body["data"]["order"]
    return order


async def test_each_option_is_charged_what_it_quoted_and_goes_the_way_it_said(
    client: httpx.AsyncClient,
) -> None:
    lines = [a_line("MUG-BLUE", 1)]
    offered = await options(client, lines)
    standard, express = offered["STANDARD"], offered["EXPRESS"]

    fast = await place(
        client,
        lines=lines,
        deliveryOptionId=express["id"],
        payment={"provider": "sandbox", "token": "tok_visa"},
    )
    slow = await place(client, lines=lines, deliveryOptionId=standard["id"])
    fast_order, slow_order = await read(client, fast["order"]["id"]), await read(client, slow["order"]["id"])

    assert fast["userErrors"] == slow["userErrors"] == []
    # the store in the city is faster than the distribution centre routing prefers, and costs more
    assert [fo["location"]["code"] for fo in express["fulfillmentOrders"]] == ["ST-SFO"]
    assert [fo["location"]["code"] for fo in standard["fulfillmentOrders"]] == ["DC-ONT"]
    assert express["estimatedDelivery"] < standard["estimatedDelivery"]
    assert 0 < express["businessDays"] < standard["businessDays"]
    assert (standard["cost"]["amount"], express["cost"]["amount"]) == ("7.95", "14.95")
    # California does not tax a separately stated delivery charge; 14.00 at 7.25% is 1.02
    assert (standard["total"]["amount"], express["total"]["amount"]) == ("22.97", "29.97")
    assert fast_order["shippingTotal"]["amount"] == express["cost"]["amount"]
    assert fast_order["total"]["amount"] == express["total"]["amount"]
    assert fast_order["payments"] == [{"kind": "AUTHORIZATION", "amount": {"amount": "29.97"}}]
    assert (fast_order["serviceLevel"], fast_order["estimatedDelivery"]) == (
        "EXPRESS",
        express["estimatedDelivery"],
    )
    assert [fo["location"]["code"] for fo in fast_order["fulfillmentOrders"]] == ["ST-SFO"]
    assert (slow_order["serviceLevel"], slow_order["total"]["amount"]) == ("STANDARD", "22.97")
    assert [fo["location"]["code"] for fo in slow_order["fulfillmentOrders"]] == ["DC-ONT"]


async def test_an_order_without_an_option_goes_the_standard_way_at_its_price(
    client: httpx.AsyncClient,
) -> None:
    lines = [a_line("MUG-BLUE", 1)]
    standard = (await options(client, lines))["STANDARD"]

    order = await read(client, (await place(client, lines=lines))["order"]["id"])

    assert (order["serviceLevel"], order["total"]["amount"]) == ("STANDARD", standard["total"]["amount"])
    assert order["estimatedDelivery"] == standard["estimatedDelivery"]


async def test_a_pickup_option_is_taken_for_its_store(client: httpx.AsyncClient) -> None:
    lines = [a_line("MUG-BLUE", 1)]
    offered = await options(client, lines)
    pickup = offered[next(k for k in offered if k.startswith("PICKUP:ST-SFO"))]
    store = (await location_ids(client))["ST-SFO"]

    placed = await pick_up(client, lines, store, deliveryOptionId=pickup["id"])
    assert placed["userErrors"] == []
    order = await read(client, placed["order"]["id"])
    assert pickup["cost"]["amount"] == "0.00"
    assert (order["serviceLevel"], order["total"]["amount"]) == (None, pickup["total"]["amount"])


async def test_a_store_that_used_up_todays_capacity_offers_pickup_on_its_next_day_with_room(
    client: httpx.AsyncClient, services: Services
) -> None:
    async with services.store.write() as uow:
        await uow.session.execute(sa.text("UPDATE locations SET capacity_per_day = 1 WHERE code = 'ST-SFO'"))
    lines = [a_line("MUG-BLUE", 1)]
    before = next(o for k, o in (await options(client, lines)).items() if k.startswith("PICKUP:ST-SFO"))
    store = (await location_ids(client))["ST-SFO"]
    assert (await pick_up(client, lines, store))["userErrors"] == []  # the store's one order today

    after = next(o for k, o in (await options(client, lines)).items() if k.startswith("PICKUP:ST-SFO"))
    second = await pick_up(client, lines, store, deliveryOptionId=after["id"])

    assert date.fromisoformat(after["estimatedDelivery"]) > date.fromisoformat(before["estimatedDelivery"])
    assert second["userErrors"] == []
    assert (await read(client, second["order"]["id"]))["estimatedDelivery"] == after["estimatedDelivery"]


async def test_a_store_that_takes_no_orders_offers_no_pickup(
    client: httpx.AsyncClient, services: Services
) -> None:
    async with services.store.write() as uow:
        await uow.session.execute(sa.text("UPDATE locations SET capacity_per_day = 0 WHERE code = 'ST-SFO'"))

    offered = await options(client, [a_line("MUG-BLUE", 1)])

    assert not [k for k in offered if k.startswith("PICKUP:ST-SFO")]
    assert [k for k in offered if k.startswith("PICKUP:")]


async def test_an_option_that_can_no_longer_be_met_is_refused_and_nothing_is_taken(
    client: httpx.AsyncClient,
) -> None:
    lines = [a_line("MUG-BLUE", 1)]
    express = (await options(client, lines))["EXPRESS"]
    late = express["id"].rsplit(":", 1)[0] + ":2020-01-01"  # a date that has passed

    unstocked = await place(client, lines=lines, deliveryOptionId="EXPRESS:VN-HOMEGOODS:-")
    overdue = await place(client, lines=lines, deliveryOptionId=late)

    for refused in (unstocked, overdue):
        assert refused["order"] is None
        assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [
            ("DELIVERY_OPTION_UNAVAILABLE", ["input", "deliveryOptionId"])
        ]
    assert "2020-01-01" in overdue["userErrors"][0]["message"]


async def test_an_id_that_is_not_an_option_or_not_this_order_s_is_invalid(client: httpx.AsyncClient) -> None:
    lines = [a_line("MUG-BLUE", 1)]
    pickup_id = next(k for k in await options(client, lines) if k.startswith("PICKUP:ST-SFO"))

    nonsense = await place(client, lines=lines, deliveryOptionId="fastest please")
    pickup_for_shipping = await place(client, lines=lines, deliveryOptionId=pickup_id)

    for refused in (nonsense, pickup_for_shipping):
        assert refused["order"] is None
        assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [
            ("INVALID_DELIVERY_OPTION", ["input", "deliveryOptionId"])
        ]


async def test_an_option_to_toronto_is_taxed_for_ontario_as_the_order_will_be(
    client: httpx.AsyncClient,
) -> None:
    lines = [a_line("MUG-BLUE", 1)]
    body = await execute(
        client,
        OPTIONS,
        {"lines": lines, "d": {"countryCode": "CA", "postalCode": "M5V 3L9"}},
        token=STOREFRONT,
    )
    [standard] = [
        o
        for o in body["data"]["fulfillmentOptions"]
        if o["serviceLevel"] == "STANDARD" and o["deliveryMethod"] == "SHIP"
    ]
    toronto = an_address(
        city="Toronto", region="ON", postalCode="M5V 3L9", countryCode="CA", line1="1 King St W"
    )

    placed = await place(client, lines=lines, shippingAddress=toronto, deliveryOptionId=standard["id"])

    assert placed["userErrors"] == []
    # 14.00 + 7.95, 13% HST on both: 2.85
    assert standard["total"]["amount"] == placed["order"]["total"]["amount"] == "24.80"
