"""placeOrder through the GraphQL endpoint, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ordergate.models.address import Address
from ordergate.models.scope import OrderScope
from ordergate.usecases.services import Services
from tests.builders import a_line, a_token, an_address, an_order_input
from tests.contract import operation
from tests.graphql_client import execute

PLACE_ORDER = operation("PlaceOrder")
STOREFRONT = a_token("storefront")
ADMIN = a_token("admin")


async def place(client: httpx.AsyncClient, order: dict[str, Any], token: str = STOREFRONT) -> dict[str, Any]:
    body = await execute(client, PLACE_ORDER, {"input": order}, token=token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["placeOrder"]
    return payload


async def row_counts(services: Services) -> dict[str, int]:
    counts = {}
    async with services.store.read() as uow:
        for table in ("orders", "order_lines", "customers", "order_events", "idempotency_keys"):
            result = await uow.session.execute(sa.text(f"SELECT count(*) FROM {table}"))  # noqa: S608
            counts[table] = int(result.scalar_one())
    return counts


async def test_places_an_order_priced_from_the_catalogue(
    client: httpx.AsyncClient, services: Services
) -> None:
    payload = await place(client, an_order_input())

    assert payload["userErrors"] == []
    order = payload["order"]
    assert order["number"].startswith("OG-1")
    assert (order["status"], order["fulfillmentStatus"], order["paymentStatus"]) == (
        "CONFIRMED",
        "UNFULFILLED",
        "PENDING",
    )
    assert order["channel"] == "web"
    assert [(line["sku"], line["quantity"], line["unitPrice"]["amount"]) for line in order["lines"]] == [
        ("MUG-BLUE", 2, "14.00"),
        ("KNIFE-CHEF-8", 1, "89.00"),
    ]
    assert order["subtotal"] == {"amount": "117.00", "currency": "USD"}
    assert order["shippingTotal"]["amount"] == "0.00"  # over the free-shipping threshold
    assert order["tax"]["amount"] == "7.31"  # Texas 6.25% of 117.00
    assert order["total"]["amount"] == "124.31"
    # Austin, TX: the nearest distribution centre covers both lines.
    assert [
        (fo["status"], fo["deliveryMethod"], fo["location"]["code"], fo["lines"])
        for fo in order["fulfillmentOrders"]
    ] == [
        (
            "OPEN",
            "SHIP",
            "DC-DFW",
            [{"sku": "KNIFE-CHEF-8", "quantity": 1}, {"sku": "MUG-BLUE", "quantity": 2}],
        )
    ]
    counts = await row_counts(services)
    assert (counts["orders"], counts["order_lines"], counts["customers"], counts["order_events"]) == (
        1,
        2,
        1,
        3,  # placed, confirmed, and its one fulfilment order opened
    )


async def test_order_numbers_are_sequential_and_the_customer_is_found_by_email(
    client: httpx.AsyncClient, services: Services
) -> None:
    first = await place(client, an_order_input())
    second = await place(client, an_order_input(customer={"email": "  ANN@example.COM ", "firstName": "Ann"}))

    first_number = int(first["order"]["number"].removeprefix("OG-"))
    assert second["order"]["number"] == f"OG-{first_number + 1}"
    assert (await row_counts(services))["customers"] == 1


async def test_a_pickup_order_needs_no_address_and_pays_no_shipping(client: httpx.AsyncClient) -> None:
    body = await execute(client, "{ locations { id code pickupEnabled } }", token=STOREFRONT)
    store = next(loc for loc in body["data"]["locations"] if loc["code"] == "ST-CHI")
    order = an_order_input(
        deliveryMethod="PICKUP",
        shippingAddress=None,
        pickupLocationId=store["id"],
        lines=[a_line("MUG-BLUE", 1)],
    )

    payload = await place(client, order)

    assert payload["userErrors"] == []
    assert payload["order"]["shippingTotal"]["amount"] == "0.00"
    assert payload["order"]["tax"]["amount"] == "0.88"  # Illinois 6.25% of 14.00, taxed where it is collected


BAD_INPUTS: list[tuple[str, dict[str, Any], str, list[str]]] = [
    ("unknown sku", {"lines": [a_line("NOPE-1", 1)]}, "UNKNOWN_SKU", ["input", "lines", "0", "sku"]),
    ("malformed sku", {"lines": [a_line("bad sku!", 1)]}, "INVALID_SKU", ["input", "lines", "0", "sku"]),
    (
        "zero quantity",
        {"lines": [a_line("MUG-BLUE", 0)]},
        "INVALID_QUANTITY",
        ["input", "lines", "0", "quantity"],
    ),
    (
        "negative quantity",
        {"lines": [a_line("MUG-BLUE", -3)]},
        "INVALID_QUANTITY",
        ["input", "lines", "0", "quantity"],
    ),
    (
        "huge quantity",
        {"lines": [a_line("MUG-BLUE", 100000)]},
        "INVALID_QUANTITY",
        ["input", "lines", "0", "quantity"],
    ),
    ("no lines", {"lines": []}, "NO_LINES", ["input", "lines"]),
    (
        "same sku twice",
        {"lines": [a_line("MUG-BLUE", 1), a_line("MUG-BLUE", 2)]},
        "DUPLICATE_SKU",
        ["input", "lines", "1", "sku"],
    ),
    ("bad email", {"customer": {"email": "not-an-email"}}, "INVALID_EMAIL", ["input", "customer", "email"]),
    ("ship without address", {"shippingAddress": None}, "REQUIRED", ["input", "shippingAddress"]),
    (
        "address without street",
        {"shippingAddress": an_address(line1="  ")},
        "REQUIRED",
        ["input", "shippingAddress", "line1"],
    ),
    (
        "bad country",
        {"shippingAddress": an_address(countryCode="U5")},
        "INVALID_COUNTRY",
        ["input", "shippingAddress", "countryCode"],
    ),
    (
        "country nobody has",
        {"shippingAddress": an_address(countryCode="ZZ")},
        "INVALID_COUNTRY",
        ["input", "shippingAddress", "countryCode"],
    ),
    (
        "US postal code that is not one",
        {"shippingAddress": an_address(postalCode="ABCDE")},
        "INVALID_POSTAL_CODE",
        ["input", "shippingAddress", "postalCode"],
    ),
    (
        "pickup without location",
        {"deliveryMethod": "PICKUP", "shippingAddress": None},
        "REQUIRED",
        ["input", "pickupLocationId"],
    ),
    (
        "pickup at unknown location",
        {"deliveryMethod": "PICKUP", "pickupLocationId": "00000000-0000-0000-0000-000000000000"},
        "INVALID_PICKUP_LOCATION",
        ["input", "pickupLocationId"],
    ),
    ("empty idempotency key", {"idempotencyKey": ""}, "INVALID_IDEMPOTENCY_KEY", ["input", "idempotencyKey"]),
    ("blank channel", {"channel": " "}, "REQUIRED", ["input", "channel"]),
    ("overlong channel", {"channel": "c" * 65}, "TOO_LONG", ["input", "channel"]),
    (
        "overlong reference",
        {"externalReference": "r" * 129},
        "TOO_LONG",
        ["input", "externalReference"],
    ),
    (
        "overlong postal code",
        {"shippingAddress": an_address(postalCode="1" * 17)},
        "TOO_LONG",
        ["input", "shippingAddress", "postalCode"],
    ),
    (
        "overlong country",
        {"shippingAddress": an_address(countryCode="USA")},
        "TOO_LONG",
        ["input", "shippingAddress", "countryCode"],
    ),
    (
        "overlong phone",
        {"customer": {"email": "ann@example.com", "phone": "5" * 33}},
        "TOO_LONG",
        ["input", "customer", "phone"],
    ),
]


@pytest.mark.parametrize(("case", "override", "code", "field"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
async def test_bad_input_is_a_user_error_and_writes_nothing(
    client: httpx.AsyncClient,
    services: Services,
    case: str,
    override: dict[str, Any],
    code: str,
    field: list[str],
) -> None:
    before = await row_counts(services)

    payload = await place(client, an_order_input(**override))

    assert payload["order"] is None
    assert {"code": code, "field": field} in [
        {"code": e["code"], "field": e["field"]} for e in payload["userErrors"]
    ]
    assert all(e["message"] for e in payload["userErrors"])
    assert await row_counts(services) == before


async def test_a_pickup_location_that_does_not_offer_pickup_is_refused(client: httpx.AsyncClient) -> None:
    body = await execute(client, "{ locations { id code } }", token=STOREFRONT)
    warehouse = next(loc for loc in body["data"]["locations"] if loc["code"] == "DC-EWR")

    payload = await place(
        client,
        an_order_input(deliveryMethod="PICKUP", shippingAddress=None, pickupLocationId=warehouse["id"]),
    )

    assert [e["code"] for e in payload["userErrors"]] == ["INVALID_PICKUP_LOCATION"]


async def test_a_pickup_at_a_closed_store_is_refused_naming_the_store(client: httpx.AsyncClient) -> None:
    """A store an admin deactivated, given by its code: placeOrder and a stock hold say it is
    closed, by that code (not by the id the gateway looked up)."""
    closed = await execute(
        client, 'mutation { deactivateLocation(id: "st-chi") { userErrors { code } } }', token=ADMIN
    )
    assert closed["data"]["deactivateLocation"]["userErrors"] == []

    placed = await place(
        client, an_order_input(deliveryMethod="PICKUP", shippingAddress=None, pickupLocationId="ST-CHI")
    )
    held = await execute(
        client,
        operation("HoldStock"),
        {
            "input": {
                "idempotencyKey": "hold-at-closed",
                "lines": [a_line("MUG-BLUE", 1)],
                "pickupLocationId": "ST-CHI",
            }
        },
        token=STOREFRONT,
    )

    for refused in (placed["userErrors"], held["data"]["reserveInventory"]["userErrors"]):
        assert [(e["code"], e["field"]) for e in refused] == [
            ("INVALID_PICKUP_LOCATION", ["input", "pickupLocationId"])
        ]
        assert refused[0]["message"].startswith("ST-CHI is closed: ")


async def test_a_repeat_with_the_same_key_returns_the_first_order(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = an_order_input()
    first = await place(client, order)
    second = await place(client, order)

    assert second["userErrors"] == []
    assert second["order"]["id"] == first["order"]["id"]
    assert second["order"]["number"] == first["order"]["number"]
    assert (await row_counts(services))["orders"] == 1


async def test_the_same_key_with_other_input_is_refused(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = an_order_input()
    await place(client, order)

    payload = await place(client, {**order, "lines": [a_line("MUG-BLUE", 5)]})

    assert payload["order"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("IDEMPOTENCY_KEY_REUSED", ["input", "idempotencyKey"])
    ]
    assert (await row_counts(services))["orders"] == 1


async def test_a_key_is_scoped_to_its_caller(client: httpx.AsyncClient, services: Services) -> None:
    order = an_order_input()
    mine = await place(client, order, token=a_token("storefront", subject="shop-a"))
    theirs = await place(client, order, token=a_token("storefront", subject="shop-b"))

    assert mine["order"]["id"] != theirs["order"]["id"]
    assert (await row_counts(services))["orders"] == 2


async def test_twenty_concurrent_repeats_make_one_order(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = an_order_input()

    payloads = await asyncio.gather(*(place(client, order) for _ in range(20)))

    assert {p["order"]["id"] for p in payloads} == {payloads[0]["order"]["id"]}
    assert all(p["userErrors"] == [] for p in payloads)
    counts = await row_counts(services)
    # placed, confirmed, and the one fulfilment order opened
    assert (counts["orders"], counts["order_events"], counts["idempotency_keys"]) == (1, 3, 1)


async def test_concurrent_distinct_orders_get_distinct_numbers_and_cursors(
    client: httpx.AsyncClient, services: Services
) -> None:
    payloads = await asyncio.gather(*(place(client, an_order_input()) for _ in range(12)))

    numbers = [p["order"]["number"] for p in payloads]
    assert len(set(numbers)) == 12
    async with services.store.read() as uow:
        cursors = (
            await uow.session.execute(sa.text("SELECT cursor FROM order_events ORDER BY cursor"))
        ).scalars()
        assert list(cursors) == list(range(1, 37))  # placed, confirmed, opened, for each of 12


SAME_AS_PLACED = """query($id: ID!) { order(id: $id) {
  id number status fulfillmentStatus paymentStatus channel
  subtotal { amount currency } tax { amount currency }
  shippingTotal { amount currency } total { amount currency }
  lines { id sku quantity unitPrice { amount currency } }
  fulfillmentOrders { id status deliveryMethod location { id code } lines { sku quantity } }
} }"""


@pytest.mark.parametrize(
    "lines",
    [
        [a_line("MUG-BLUE", 2), a_line("KNIFE-CHEF-8", 1)],
        [a_line("POT-DUTCH-5", 30), a_line("PAN-CAST-10", 1)],  # no node has both: split
    ],
)
async def test_the_answer_to_place_order_is_what_reading_the_order_shows(
    client: httpx.AsyncClient, lines: list[dict[str, Any]]
) -> None:
    """The answer is served from what the transaction wrote, not read again: it must be the same."""
    body = await execute(client, PLACE_ORDER, {"input": an_order_input(lines=lines)}, token=STOREFRONT)
    assert body["data"]["placeOrder"]["userErrors"] == [], body
    placed = body["data"]["placeOrder"]["order"]

    read = await execute(client, SAME_AS_PLACED, {"id": placed["id"]}, token=a_token("agent"))

    assert len(placed["fulfillmentOrders"]) == (2 if lines[0]["sku"] == "POT-DUTCH-5" else 1)
    assert read["data"]["order"] == placed


async def test_the_shipping_address_is_kept_as_one_value_and_a_pickup_order_has_none(
    client: httpx.AsyncClient, services: Services
) -> None:
    body = await execute(client, "{ locations { id code } }", token=STOREFRONT)
    chicago = next(loc["id"] for loc in body["data"]["locations"] if loc["code"] == "ST-CHI")
    shipped = await place(
        client, an_order_input(shippingAddress=an_address(line2="Suite 4", phone="512-555-0100"))
    )
    picked_up = await place(
        client, an_order_input(deliveryMethod="PICKUP", shippingAddress=None, pickupLocationId=chicago)
    )

    async with services.store.read() as uow:
        found = await uow.orders.by_ids(
            [shipped["order"]["id"], picked_up["order"]["id"]], OrderScope(everything=True)
        )

    assert found[shipped["order"]["id"]].shipping_address == Address(
        name="Ann Lee",
        line1="500 Congress Ave",
        line2="Suite 4",
        city="Austin",
        region="TX",
        postal_code="78701",
        country_code="US",
        phone="512-555-0100",
    )
    assert found[picked_up["order"]["id"]].shipping_address is None
