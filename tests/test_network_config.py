"""The network through the API (issue 19, item 5): admins add, change, deactivate and bring back
locations (capacity per day, opening hours and time zone, pickup, channels) and set safety stock
per SKU and node; each change holds at the next request, on this replica and the others, and is
audited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from ordergate import bootstrap
from ordergate.bootstrap import Sandboxes
from ordergate.models.identity import Principal, Role
from ordergate.models.movements import ReadWindow
from ordergate.settings import Settings
from ordergate.store.unit_of_work import Store
from ordergate.usecases import inventory
from ordergate.usecases.services import Services
from tests.builders import a_line, a_token, an_address, an_order_input
from tests.contract import operation
from tests.graphql_client import execute

ADMIN = a_token("admin")
AGENT = a_token("agent")
FIELDS = """id code name type active capacityPerDay pickupEnabled shipEnabled channels timeZone
  latitude longitude safetyStock hours { day opens closes } address { city region postalCode }"""
CREATE = f"""mutation($input: CreateLocationInput!) {{ createLocation(input: $input) {{
  location {{ {FIELDS} }} userErrors {{ code field message }} }} }}"""
UPDATE = f"""mutation($input: UpdateLocationInput!) {{ updateLocation(input: $input) {{
  location {{ {FIELDS} }} userErrors {{ code field message }} }} }}"""
DEACTIVATE = """mutation($id: ID!) { deactivateLocation(id: $id) {
  location { code active } userErrors { code field message } } }"""
REACTIVATE = """mutation($id: ID!) { reactivateLocation(id: $id) {
  location { code active } userErrors { code field message } } }"""
SAFETY = """mutation($input: SetSafetyStockInput!) { setSafetyStock(input: $input) {
  level { sku quantity setForSku updatedBy location { code } } userErrors { code field message } } }"""
ROUTE = """mutation($id: ID!) { routeOrder(orderId: $id) { userErrors { code } } }"""
CANCEL = """mutation($input: CancelOrderInput!) { cancelOrder(input: $input) { userErrors { code } } }"""
LEVELS = """query($sku: String!) { safetyStock(sku: $sku) { quantity setForSku location { code } } }"""
TRAIL = """{ auditTrail(actor: "admin-test") {
  edges { node { operation changes { record field before after } } } } }"""
AUSTIN_DC: dict[str, Any] = {
    "code": "dc-aus",
    "name": "Austin DC",
    "type": "DISTRIBUTION_CENTER",
    "address": {"line1": "1 Tech Ridge Blvd", "city": "Austin", "region": "TX", "postalCode": "78753",
                "countryCode": "US"},
    "capacityPerDay": 50,
    "priority": 10,
    "timeZone": "America/Chicago",
    "hours": [{"day": "MONDAY", "opens": "08:00", "closes": "17:00"}],
}  # fmt: skip


@pytest.fixture
async def other_services(settings: Settings, database: tuple[str, dict[str, Any]]) -> AsyncIterator[Services]:
    """A second replica: its own services (and read views) over the same database."""
    store = Store(database[0], connect_args=database[1])
    async with bootstrap.opened(settings, store, Sandboxes(), prepared=False) as replica:
        yield replica


async def mutate(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = await execute(client, query, variables, token=ADMIN)
    assert "errors" not in body, body
    payload: dict[str, Any] = next(iter(body["data"].values()))
    return payload


async def stock_at(services: Services, code: str, quantities: dict[str, int]) -> None:
    """Units on hand at a node no ERP location feeds (the ERP's reads leave them be)."""
    now = services.clock()
    async with services.store.write() as uow:
        node = next(loc for loc in await uow.catalog.locations() if loc.code == code)
        window = ReadWindow(started=now, finished=now)
        on_hand = {(sku, node.id): units for sku, units in quantities.items()}
        await uow.inventory.record_snapshot(on_hand, window, timedelta(0))


async def sellable_at(client: httpx.AsyncClient, sku: str, code: str) -> int:
    body = await execute(client, operation("ProductAvailability"), {"skus": [sku]}, token=AGENT)
    rows = body["data"]["availability"][0]["locations"]
    return int(next(r["availableToSell"] for r in rows if r["location"]["code"] == code))


async def test_a_new_node_is_placed_from_its_postal_code_and_takes_the_next_order_near_it(
    client: httpx.AsyncClient, services: Services, other_services: Services
) -> None:
    created = await mutate(client, CREATE, {"input": AUSTIN_DC})
    node = created["location"]
    await stock_at(services, "DC-AUS", {"MUG-BLUE": 40, "KNIFE-CHEF-8": 10})
    placed = await execute(client, operation("PlaceOrder"), {"input": an_order_input()}, token=AGENT)
    elsewhere = await inventory.availability(
        other_services, Principal("agent-test", Role.AGENT), ["MUG-BLUE"]
    )

    assert created["userErrors"] == []
    assert (node["code"], node["active"], node["timeZone"]) == ("DC-AUS", True, "America/Chicago")
    assert node["hours"] == [{"day": "MONDAY", "opens": "08:00", "closes": "17:00"}]
    assert 30.0 < node["latitude"] < 30.6
    assert -98.0 < node["longitude"] < -97.4
    order = placed["data"]["placeOrder"]
    assert order["userErrors"] == []
    assert [fo["location"]["code"] for fo in order["order"]["fulfillmentOrders"]] == ["DC-AUS"]
    assert "DC-AUS" in [row.location.code for row in elsewhere[0].locations]  # the other replica too
    trail = (await execute(client, TRAIL, token=ADMIN))["data"]["auditTrail"]["edges"]
    audited = [c for e in trail if e["node"]["operation"] == "createLocation" for c in e["node"]["changes"]]
    assert {"record": "Location", "field": "code", "before": None, "after": '"DC-AUS"'} in audited


async def test_what_is_given_changes_and_is_audited_field_by_field(client: httpx.AsyncClient) -> None:
    changed = await mutate(
        client,
        UPDATE,
        {
            "input": {
                "id": "st-chi",
                "capacityPerDay": 7,
                "channels": ["web", "POS"],
                "hours": [
                    {"day": "SATURDAY", "opens": "10:00", "closes": "18:00"},
                    {"day": "MONDAY", "opens": "09:00", "closes": "12:00"},
                    {"day": "MONDAY", "opens": "13:00", "closes": "19:00"},
                ],
                "address": {"line1": "1 N State St", "city": "Chicago", "region": "il", "postalCode": "60602",
                            "countryCode": "us"},
            }
        },
    )  # fmt: skip
    location = changed["location"]
    trail = (await execute(client, TRAIL, token=ADMIN))["data"]["auditTrail"]["edges"]
    audited = {
        (c["field"], c["before"], c["after"])
        for e in trail
        if e["node"]["operation"] == "updateLocation"
        for c in e["node"]["changes"]
    }

    assert changed["userErrors"] == []
    assert (location["code"], location["capacityPerDay"], location["channels"]) == (
        "ST-CHI",
        7,
        ["web", "pos"],
    )
    assert [(h["day"], h["opens"]) for h in location["hours"]] == [
        ("MONDAY", "09:00"),
        ("MONDAY", "13:00"),
        ("SATURDAY", "10:00"),
    ]
    assert location["address"] == {"city": "Chicago", "region": "IL", "postalCode": "60602"}
    assert location["pickupEnabled"] is True
    assert location["timeZone"] == "America/Chicago"
    assert ("capacity_per_day", "100", "7") in audited
    assert any(f == "line1" and after == '"1 N State St"' for f, _, after in audited)
    assert not any(f in ("name", "type", "ships") for f, _, _ in audited)  # not given: not changed


async def test_nonsense_and_non_admins_are_refused_and_nothing_changes(client: httpx.AsyncClient) -> None:
    bad = {
        **AUSTIN_DC,
        "code": "a b",
        "capacityPerDay": -1,
        "channels": ["web", "web"],
        "timeZone": "Mars/Olympus",
        "hours": [
            {"day": "MONDAY", "opens": "18:00", "closes": "09:00"},
            {"day": "TUESDAY", "opens": "09:00", "closes": "17:00"},
            {"day": "TUESDAY", "opens": "16:00", "closes": "20:00"},
        ],
        "address": {**AUSTIN_DC["address"], "countryCode": "XX"},
    }
    refused = await mutate(client, CREATE, {"input": bad})
    taken = await mutate(client, CREATE, {"input": {**AUSTIN_DC, "code": "DC-EWR"}})
    nowhere = await mutate(
        client, CREATE, {"input": {**AUSTIN_DC, "address": {**AUSTIN_DC["address"], "postalCode": "00000"}}}
    )
    half = await mutate(client, UPDATE, {"input": {"id": "DC-EWR", "latitude": 10.0}})
    unknown = await mutate(client, UPDATE, {"input": {"id": "NO-SUCH", "capacityPerDay": 1}})
    by_agent = await execute(client, CREATE, {"input": AUSTIN_DC}, token=AGENT)
    locations = (await execute(client, "{ locations { code } }", token=AGENT))["data"]["locations"]

    assert {(e["code"], tuple(e["field"])) for e in refused["userErrors"]} == {
        ("INVALID_CODE", ("input", "code")),
        ("OUT_OF_RANGE", ("input", "capacityPerDay")),
        ("INVALID_CHANNEL", ("input", "channels", "1")),
        ("INVALID_TIME_ZONE", ("input", "timeZone")),
        ("INVALID_HOURS", ("input", "hours", "0")),
        ("INVALID_HOURS", ("input", "hours", "2")),
        ("INVALID_COUNTRY", ("input", "address", "countryCode")),
    }
    assert [e["code"] for e in taken["userErrors"]] == ["DUPLICATE_CODE"]
    assert [e["code"] for e in nowhere["userErrors"]] == ["INVALID_COORDINATES"]
    assert [e["code"] for e in half["userErrors"]] == ["INVALID_COORDINATES"]
    assert [e["code"] for e in unknown["userErrors"]] == ["NOT_FOUND"]
    assert [e["code"] for e in by_agent["data"]["createLocation"]["userErrors"]] == ["FORBIDDEN"]
    assert "DC-AUS" not in [loc["code"] for loc in locations]


async def test_a_node_with_open_work_is_not_deactivated_and_one_without_leaves_routing(
    client: httpx.AsyncClient, services: Services
) -> None:
    await mutate(client, CREATE, {"input": AUSTIN_DC})
    await stock_at(services, "DC-AUS", {"MUG-BLUE": 40, "KNIFE-CHEF-8": 10})
    first = await execute(client, operation("PlaceOrder"), {"input": an_order_input()}, token=AGENT)
    busy = await mutate(client, DEACTIVATE, {"id": "DC-AUS"})
    idle = await mutate(client, DEACTIVATE, {"id": "ST-DEN"})
    rows = (await execute(client, operation("ProductAvailability"), {"skus": ["MUG-BLUE"]}, token=AGENT))[
        "data"
    ]["availability"][0]["locations"]
    back = await mutate(client, REACTIVATE, {"id": "ST-DEN"})

    assert first["data"]["placeOrder"]["order"]["fulfillmentOrders"][0]["location"]["code"] == "DC-AUS"
    assert [e["code"] for e in busy["userErrors"]] == ["LOCATION_HAS_OPEN_WORK"]
    assert "1 open fulfilment orders" in busy["userErrors"][0]["message"]
    assert idle == {"location": {"code": "ST-DEN", "active": False}, "userErrors": []}
    assert "ST-DEN" not in [r["location"]["code"] for r in rows]  # out of availability at once
    assert back["location"] == {"code": "ST-DEN", "active": True}
    assert await sellable_at(client, "MUG-BLUE", "ST-DEN") == 8  # 10 on hand, the store's 2 kept back


async def test_a_store_with_pickup_orders_no_node_holds_is_not_deactivated_until_they_are_gone(
    client: httpx.AsyncClient,
) -> None:
    """The store refused the order's work, so routing again finds nowhere (it is the only place
    to collect): the customer still expects to collect there, so the store stays open until an
    agent settles the order. Closing it would leave the order with no store and no route."""
    denver = a_token("associate", locations=("ST-DEN",))
    pickup = {"deliveryMethod": "PICKUP", "pickupLocationId": "ST-DEN", "shippingAddress": None}
    placed = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(lines=[a_line("MUG-BLUE", 2)], **pickup)},
        token=AGENT,
    )
    order = placed["data"]["placeOrder"]["order"]
    rejected = await execute(
        client,
        operation("Reject"),
        {"id": order["fulfillmentOrders"][0]["id"], "reason": "shelf is empty"},
        token=denver,
    )
    again = await execute(client, ROUTE, {"id": order["id"]}, token=AGENT)
    busy = await mutate(client, DEACTIVATE, {"id": "ST-DEN"})
    cancelled = await execute(
        client, CANCEL, {"input": {"orderId": order["id"], "reason": "CUSTOMER"}}, token=AGENT
    )
    idle = await mutate(client, DEACTIVATE, {"id": "ST-DEN"})

    assert rejected["data"]["rejectFulfillmentOrder"]["fulfillmentOrder"]["status"] == "REJECTED"
    assert [e["code"] for e in again["data"]["routeOrder"]["userErrors"]] == ["NO_ROUTE"]
    assert [(e["code"], e["field"]) for e in busy["userErrors"]] == [("LOCATION_HAS_OPEN_WORK", ["id"])]
    assert (
        f"1 pickup orders with units not yet routed there ({order['number']})"
        in busy["userErrors"][0]["message"]
    )
    assert "open fulfilment orders" not in busy["userErrors"][0]["message"]
    assert cancelled["data"]["cancelOrder"]["userErrors"] == []
    assert idle == {"location": {"code": "ST-DEN", "active": False}, "userErrors": []}


async def test_safety_stock_per_sku_holds_back_that_sku_only_and_allocation_keeps_to_it(
    client: httpx.AsyncClient,
) -> None:
    before = await sellable_at(client, "MUG-BLUE", "ST-NYC")  # 24 on hand, the store's own 2 kept back
    level = await mutate(
        client, SAFETY, {"input": {"sku": "MUG-BLUE", "locationId": "ST-NYC", "quantity": 10}}
    )
    after = await sellable_at(client, "MUG-BLUE", "ST-NYC")
    white = await sellable_at(client, "MUG-WHITE", "ST-NYC")
    levels = (await execute(client, LEVELS, {"sku": "MUG-BLUE"}, token=AGENT))["data"]["safetyStock"]
    pickup = {"deliveryMethod": "PICKUP", "pickupLocationId": "ST-NYC", "shippingAddress": None}
    too_many = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(lines=[a_line("MUG-BLUE", 15), a_line("MUG-WHITE", 20)], **pickup)},
        token=AGENT,
    )
    cleared = await mutate(
        client, SAFETY, {"input": {"sku": "MUG-BLUE", "locationId": "ST-NYC", "quantity": None}}
    )
    again = await sellable_at(client, "MUG-BLUE", "ST-NYC")
    fits = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(lines=[a_line("MUG-BLUE", 15), a_line("MUG-WHITE", 20)], **pickup)},
        token=AGENT,
    )

    assert (before, after, white, again) == (22, 14, 28, 22)
    assert level["level"] == {
        "sku": "MUG-BLUE",
        "quantity": 10,
        "setForSku": True,
        "updatedBy": "admin-test",
        "location": {"code": "ST-NYC"},
    }
    by_code = {row["location"]["code"]: (row["quantity"], row["setForSku"]) for row in levels}
    assert by_code["ST-NYC"] == (10, True)
    assert by_code["DC-EWR"] == (0, False)
    assert by_code["ST-CHI"] == (2, False)
    assert [e["code"] for e in too_many["data"]["placeOrder"]["userErrors"]] == ["INSUFFICIENT_STOCK"]
    assert cleared["level"]["setForSku"] is False
    assert cleared["level"]["quantity"] == 2
    assert fits["data"]["placeOrder"]["userErrors"] == []


async def test_safety_stock_refuses_nonsense(client: httpx.AsyncClient) -> None:
    negative = await mutate(
        client, SAFETY, {"input": {"sku": "MUG-BLUE", "locationId": "ST-NYC", "quantity": -1}}
    )
    no_sku = await mutate(client, SAFETY, {"input": {"sku": "NOPE-1", "locationId": "ST-NYC", "quantity": 1}})
    no_node = await mutate(
        client, SAFETY, {"input": {"sku": "MUG-BLUE", "locationId": "ST-XXX", "quantity": 1}}
    )
    by_agent = await execute(
        client, SAFETY, {"input": {"sku": "MUG-BLUE", "locationId": "ST-NYC", "quantity": 1}}, token=AGENT
    )

    assert [(e["code"], e["field"]) for e in negative["userErrors"]] == [
        ("OUT_OF_RANGE", ["input", "quantity"])
    ]
    assert [e["code"] for e in no_sku["userErrors"]] == ["NOT_FOUND"]
    assert [e["code"] for e in no_node["userErrors"]] == ["NOT_FOUND"]
    assert [e["code"] for e in by_agent["data"]["setSafetyStock"]["userErrors"]] == ["FORBIDDEN"]
    assert await sellable_at(client, "MUG-BLUE", "ST-NYC") == 22


async def test_capacity_used_counts_each_nodes_queue_from_its_own_day(
    client: httpx.AsyncClient, services: Services
) -> None:
    """One statement, each node from its own day (today on its clock): the work it is to start
    that day or later."""
    placed = []
    for address in (an_address(), an_address(city="New York", region="NY", postalCode="10006")):
        body = await execute(
            client, operation("PlaceOrder"), {"input": an_order_input(shippingAddress=address)}, token=AGENT
        )
        placed.append(body["data"]["placeOrder"]["order"]["id"])
    async with services.store.read() as uow:
        work = [
            fo for fos in (await uow.orders.fulfillment_orders_by_order_ids(placed)).values() for fo in fos
        ]
        texas, new_york = work[0], work[-1]
        assert texas.starts_on is not None
        assert new_york.starts_on is not None
        day = timedelta(days=1)
        both = await uow.orders.capacity_used(
            {texas.location_id: texas.starts_on - day, new_york.location_id: new_york.starts_on + day}
        )

    assert texas.location_id != new_york.location_id
    assert both == {texas.location_id: 1}


async def test_a_node_that_takes_no_orders_counts_for_nothing_a_customer_can_buy(
    client: httpx.AsyncClient,
) -> None:
    """Only the vendor carries the rug in quantity. Set to take no orders, its units leave the
    product page as they leave what `placeOrder` can sell: the two agree."""

    async def rugs() -> tuple[int, dict[str, int]]:
        body = await execute(
            client, operation("ProductAvailability"), {"skus": ["RUG-JUTE-5X8"]}, token=AGENT
        )
        [rug] = body["data"]["availability"]
        return rug["availableToSell"], {r["location"]["code"]: r["availableToSell"] for r in rug["locations"]}

    total, at = await rugs()
    assert at["VN-HOMEGOODS"] > 0
    assert total == sum(at.values())
    more_than_elsewhere = total - at["VN-HOMEGOODS"] + 1

    assert (await mutate(client, UPDATE, {"input": {"id": "VN-HOMEGOODS", "capacityPerDay": 0}}))[
        "userErrors"
    ] == []
    after, at_after = await rugs()
    refused = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(lines=[a_line("RUG-JUTE-5X8", more_than_elsewhere)])},
        token=AGENT,
    )

    assert "VN-HOMEGOODS" not in at_after
    assert after == total - at["VN-HOMEGOODS"] == sum(at_after.values())
    assert [e["code"] for e in refused["data"]["placeOrder"]["userErrors"]] == ["INSUFFICIENT_STOCK"]


async def test_a_pickup_is_promised_for_a_day_the_store_is_open(client: httpx.AsyncClient) -> None:
    sundays = {"id": "ST-NYC", "hours": [{"day": "SUNDAY", "opens": "11:00", "closes": "17:00"}]}
    assert (await mutate(client, UPDATE, {"input": sundays}))["userErrors"] == []
    body = await execute(
        client,
        operation("DeliveryOptions"),
        {"lines": [a_line("MUG-BLUE", 1)], "destination": {"countryCode": "US", "postalCode": "10006"}},
        token=AGENT,
    )
    pickups = [
        option
        for option in body["data"]["fulfillmentOptions"]
        if option["deliveryMethod"] == "PICKUP"
        and option["fulfillmentOrders"][0]["location"]["code"] == "ST-NYC"
    ]

    assert len(pickups) == 1
    assert date.fromisoformat(pickups[0]["estimatedDelivery"]).weekday() == 6  # a Sunday
