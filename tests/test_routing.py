"""Routing through the gateway: delivery options, the stored decision, capacity and splits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import sqlalchemy as sa

from ordergate.bootstrap import Sandboxes
from ordergate.models.calendar import add_business_days
from ordergate.models.pagination import encode_cursor
from ordergate.usecases.services import Services
from tests.builders import a_line, a_token, an_address, an_order_input
from tests.clock import moving
from tests.contract import operation
from tests.graphql_client import error_codes, execute
from tests.test_delivery_options import OPTIONS

AGENT = a_token("agent")
AUSTIN = {"countryCode": "US", "postalCode": "78701"}
DECISION = """query($id: ID!) { order(id: $id) {
  fulfillmentOrders { location { code } lines { sku quantity } }
  routingDecision { decidedAt chosen candidates { location { code } score excluded reasons } } } }"""


async def place(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    body = await execute(client, operation("PlaceOrder"), {"input": an_order_input(**overrides)}, token=AGENT)
    payload: dict[str, Any] = body["data"]["placeOrder"]
    return payload


async def decision_of(client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    body = await execute(client, DECISION, {"id": order_id}, token=AGENT)
    order: dict[str, Any] = body["data"]["order"]
    return order


async def test_delivery_options_before_checkout(client: httpx.AsyncClient) -> None:
    body = await execute(
        client,
        operation("DeliveryOptions"),
        {"lines": [a_line("MUG-BLUE", 2)], "destination": AUSTIN, "channel": "web"},
        token=a_token("storefront"),
    )

    options = body["data"]["fulfillmentOptions"]
    ship = [o for o in options if o["deliveryMethod"] == "SHIP"]
    pickup = [o for o in options if o["deliveryMethod"] == "PICKUP"]
    assert ship[0]["fulfillmentOrders"] == [
        {
            "location": {"id": ship[0]["fulfillmentOrders"][0]["location"]["id"], "code": "DC-DFW"},
            "lines": [{"sku": "MUG-BLUE", "quantity": 2}],
        }
    ]
    assert ship[0]["splitCount"] == 1
    assert ship[0]["cost"]["amount"] == "7.95"  # what placeOrder charges 28.00 of mugs for delivery
    # Dallas's handling day and two days' transit, as business days from today in Austin
    austin_today = datetime.now(ZoneInfo("America/Chicago")).date()
    assert ship[0]["estimatedDelivery"] == add_business_days(austin_today, 3).isoformat()
    assert pickup
    assert all(o["cost"]["amount"] == "0.00" for o in pickup)


async def test_the_decision_is_stored_with_every_candidates_score_or_reasons(
    client: httpx.AsyncClient,
) -> None:
    order = (await place(client, lines=[a_line("MUG-BLUE", 2)]))["order"]

    decided = await decision_of(client, order["id"])

    decision = decided["routingDecision"]
    assert decision["chosen"] == ["DC-DFW"]
    candidates = {c["location"]["code"]: c for c in decision["candidates"]}
    assert set(candidates) >= {"DC-DFW", "DC-EWR", "DC-ONT", "VN-HOMEGOODS"}
    assert candidates["DC-DFW"]["excluded"] is False
    assert candidates["DC-DFW"]["score"] <= min(
        c["score"] for c in candidates.values() if c["score"] is not None
    )
    assert candidates["VN-HOMEGOODS"]["excluded"] is True
    assert candidates["VN-HOMEGOODS"]["reasons"] == ["no stock of MUG-BLUE"]
    assert all(c["reasons"] for c in candidates.values() if c["excluded"])


async def test_a_node_that_used_up_todays_capacity_is_passed_over(
    client: httpx.AsyncClient, services: Services
) -> None:
    async with services.store.write() as uow:
        await uow.session.execute(sa.text("UPDATE locations SET capacity_per_day = 1 WHERE code = 'DC-DFW'"))

    first = (await place(client, lines=[a_line("MUG-BLUE", 1)]))["order"]
    second = (await place(client, lines=[a_line("MUG-BLUE", 1)]))["order"]

    assert first["fulfillmentOrders"][0]["location"]["code"] == "DC-DFW"
    assert second["fulfillmentOrders"][0]["location"]["code"] != "DC-DFW"
    reasons = {
        c["location"]["code"]: c["reasons"]
        for c in (await decision_of(client, second["id"]))["routingDecision"]["candidates"]
    }
    assert reasons["DC-DFW"] == ["no capacity left today"]


async def test_when_every_node_is_full_the_order_is_taken_and_promised_for_the_next_day_with_room(
    client: httpx.AsyncClient, services: Services
) -> None:
    async with services.store.write() as uow:
        await uow.session.execute(sa.text("UPDATE locations SET capacity_per_day = 1"))
    austin_today = datetime.now(ZoneInfo("America/Chicago")).date()

    async def a_mug(number: int) -> dict[str, Any]:
        customer = {"email": f"mug-{number}@example.com", "firstName": "Ann"}
        order = (await place(client, lines=[a_line("MUG-BLUE", 1)], customer=customer))["order"]
        body = await execute(
            client,
            "query($id: ID!) { order(id: $id) { promisedOn: estimatedDelivery } }",
            {"id": order["id"]},
            token=AGENT,
        )
        return {**order, **body["data"]["order"], **await decision_of(client, order["id"])}

    placed = [await a_mug(0)]
    while "no capacity left today:" not in str(placed[-1]["routingDecision"]) and len(placed) < 12:
        placed.append(await a_mug(len(placed)))  # one order fills a node: the mugs are at fewer than 12
    first, overflow = placed[0], placed[-1]

    assert len(placed) > 2
    assert [o["status"] for o in placed] == ["CONFIRMED"] * len(placed)
    assert first["fulfillmentOrders"][0]["location"]["code"] == "DC-DFW"
    assert overflow["fulfillmentOrders"][0]["location"]["code"] == "DC-DFW"
    assert overflow["routingDecision"]["chosen"] == ["DC-DFW"]
    dallas = next(c for c in overflow["routingDecision"]["candidates"] if c["location"]["code"] == "DC-DFW")
    assert dallas["excluded"] is False
    assert dallas["reasons"][0].startswith("no capacity left today: no node with room can serve the order")
    # Dallas's handling day and two days' transit to Austin, after a working day's wait for room
    assert first["promisedOn"] == add_business_days(austin_today, 3).isoformat()
    assert overflow["promisedOn"] == add_business_days(add_business_days(austin_today, 1), 3).isoformat()

    options = await execute(
        client, OPTIONS, {"lines": [a_line("MUG-BLUE", 1)], "d": AUSTIN}, token=a_token("storefront")
    )
    standard = next(o for o in options["data"]["fulfillmentOptions"] if o["deliveryMethod"] == "SHIP")
    # Dallas is now two orders past its capacity of one; a node one order past starts sooner
    from_dallas = add_business_days(add_business_days(austin_today, 2), 3).isoformat()
    sooner = standard["fulfillmentOrders"][0]["location"]["code"]
    assert sooner != "DC-DFW"
    assert standard["estimatedDelivery"] <= from_dallas

    customer = {"email": "mug-option@example.com", "firstName": "Ann"}
    chose = await place(
        client, lines=[a_line("MUG-BLUE", 1)], customer=customer, deliveryOptionId=standard["id"]
    )

    assert chose["userErrors"] == []
    assert chose["order"]["status"] == "CONFIRMED"
    assert chose["order"]["fulfillmentOrders"][0]["location"]["code"] == sooner
    decided = await decision_of(client, chose["order"]["id"])
    assert decided["routingDecision"]["chosen"] == [sooner]


async def test_work_taken_past_a_full_day_still_counts_on_the_day_it_is_started(
    client: httpx.AsyncClient, services: Services
) -> None:
    """Dallas (one order a day, the only node that takes orders) takes three orders today: they
    start today, the next working day and the one after. At midnight its queue does not start
    again from nothing: an order taken tomorrow starts after the two it already holds."""
    async with services.store.write() as uow:
        await uow.session.execute(
            sa.text("UPDATE locations SET capacity_per_day = CASE WHEN code = 'DC-DFW' THEN 1 ELSE 0 END")
        )
    dallas = ZoneInfo("America/Chicago")

    async def a_mug(number: int) -> tuple[str, str]:
        customer = {"email": f"queue-{number}@example.com", "firstName": "Ann"}
        order = (await place(client, lines=[a_line("MUG-BLUE", 1)], customer=customer))["order"]
        assert order["status"] == "CONFIRMED"
        assert order["fulfillmentOrders"][0]["location"]["code"] == "DC-DFW"
        body = await execute(
            client,
            "query($id: ID!) { order(id: $id) { estimatedDelivery fulfillmentOrders { startsOn } } }",
            {"id": order["id"]},
            token=AGENT,
        )
        [work] = body["data"]["order"]["fulfillmentOrders"]  # the day Dallas's staff see to start it
        return work["startsOn"], body["data"]["order"]["estimatedDelivery"]

    with moving(services) as clock:
        today = clock().astimezone(dallas).date()
        taken = [await a_mug(n) for n in range(3)]
        clock.advance(24 * 3600)
        taken.append(await a_mug(3))

    # one a working day, across midnight: the fourth starts after the two that wait for tomorrow
    # (before, the count started again at midnight and it started tomorrow, alongside them); the
    # promise is Dallas's handling day and two days' transit to Austin from the day it starts
    starts = [add_business_days(today, days) for days in range(4)]
    assert taken == [(day.isoformat(), add_business_days(day, 3).isoformat()) for day in starts]


QUEUE = """query($loc: ID!, $after: String) {
  fulfillmentOrders(locationId: $loc, first: 1, after: $after) {
    edges { cursor node { startsOn order { number } } } pageInfo { hasNextPage } } }"""


async def test_a_nodes_queue_is_in_the_order_its_work_is_to_be_started(
    client: httpx.AsyncClient, services: Services
) -> None:
    """Dallas takes one order a day: three orders start today and the next two working days.
    Its capacity is then raised, and a fourth order starts today: its associates see it second,
    before the two that wait for later days, page by page."""
    async with services.store.write() as uow:
        await uow.session.execute(
            sa.text("UPDATE locations SET capacity_per_day = CASE WHEN code = 'DC-DFW' THEN 1 ELSE 0 END")
        )
    numbers = []
    for n in range(4):
        if n == 3:
            async with services.store.write() as uow:
                await uow.session.execute(
                    sa.text("UPDATE locations SET capacity_per_day = 5 WHERE code = 'DC-DFW'")
                )
        customer = {"email": f"queue-order-{n}@example.com", "firstName": "Ann"}
        order = (await place(client, lines=[a_line("MUG-BLUE", 1)], customer=customer))["order"]
        assert order["fulfillmentOrders"][0]["location"]["code"] == "DC-DFW"
        numbers.append(order["number"])
    listed = await execute(client, "{ locations { id code } }", token=AGENT)
    dallas = next(loc["id"] for loc in listed["data"]["locations"] if loc["code"] == "DC-DFW")
    associate = a_token("associate", locations=("DC-DFW",))

    seen: list[tuple[str, int]] = []
    after = None
    for _ in range(5):
        body = await execute(client, QUEUE, {"loc": dallas, "after": after}, token=associate)
        page = body["data"]["fulfillmentOrders"]
        seen += [(e["node"]["startsOn"], e["node"]["order"]["number"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["edges"][-1]["cursor"]
    stale = await execute(
        client, QUEUE, {"loc": dallas, "after": encode_cursor(datetime.now(UTC), "x")}, token=associate
    )

    today = datetime.now(ZoneInfo("America/Chicago")).date()
    starts = [add_business_days(today, days).isoformat() for days in (0, 0, 1, 2)]
    assert seen == list(zip(starts, [numbers[0], numbers[3], numbers[1], numbers[2]], strict=True))
    assert error_codes(stale) == ["INVALID_CURSOR"]  # a cursor of the queue's old order


async def test_an_option_quoted_before_its_node_filled_up_is_refused_for_its_later_date(
    client: httpx.AsyncClient, services: Services
) -> None:
    async with services.store.write() as uow:
        await uow.session.execute(sa.text("UPDATE locations SET capacity_per_day = 1 WHERE code = 'DC-DFW'"))
    options = await execute(
        client, OPTIONS, {"lines": [a_line("MUG-BLUE", 1)], "d": AUSTIN}, token=a_token("storefront")
    )
    standard = next(o for o in options["data"]["fulfillmentOptions"] if o["serviceLevel"] == "STANDARD")
    assert standard["fulfillmentOrders"][0]["location"]["code"] == "DC-DFW"
    await place(client, lines=[a_line("MUG-BLUE", 1)])  # Dallas's one order today

    late = await place(client, lines=[a_line("MUG-BLUE", 1)], deliveryOptionId=standard["id"])

    assert late["order"] is None
    assert [e["code"] for e in late["userErrors"]] == ["DELIVERY_OPTION_UNAVAILABLE"]
    assert "can no longer arrive by" in late["userErrors"][0]["message"]


async def test_a_node_with_a_capacity_of_nothing_a_day_is_never_routed_to(
    client: httpx.AsyncClient, services: Services
) -> None:
    async with services.store.write() as uow:
        await uow.session.execute(sa.text("UPDATE locations SET capacity_per_day = 0"))

    refused = await place(client, lines=[a_line("MUG-BLUE", 1)])

    assert refused["order"] is None
    assert [e["code"] for e in refused["userErrors"]] == ["INSUFFICIENT_STOCK"]


async def test_an_order_no_single_node_can_serve_is_split(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    # Only the vendor carries the rug in quantity; only the distribution centres carry soap.
    order = (await place(client, lines=[a_line("RUG-JUTE-5X8", 40), a_line("SOAP-OLIVE-3", 2)]))["order"]

    assert order is not None
    codes = sorted(fo["location"]["code"] for fo in order["fulfillmentOrders"])
    assert len(codes) == 2
    assert "VN-HOMEGOODS" in codes


async def test_a_toronto_order_ships_from_newark_not_from_seattle(client: httpx.AsyncClient) -> None:
    # Canada once geocoded to its centroid in Saskatchewan, whose nearest node is Seattle (3,300 km
    # from Toronto); M5V is downtown Toronto, 500 km from the Newark DC.
    toronto = {"city": "Toronto", "region": "ON", "postalCode": "M5V 3L9", "countryCode": "CA"}

    order = (await place(client, lines=[a_line("MUG-BLUE", 2)], shippingAddress=an_address(**toronto)))[
        "order"
    ]

    assert order["fulfillmentOrders"][0]["location"]["code"] == "DC-EWR"
    assert (await decision_of(client, order["id"]))["routingDecision"]["chosen"] == ["DC-EWR"]
