"""Selling against incoming supply, end to end: a backordered line has its own status and promise
date, waits at the node whose purchase order covers it, and is allocated, oldest first, when the
ERP sandbox receives the supply; `promiseDate` and `placeOrder` agree on what can be ordered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa

from ordergate.bootstrap import Sandboxes
from ordergate.models.calendar import add_business_days
from ordergate.sandbox.katana import KatanaSandbox
from ordergate.usecases import backorders
from ordergate.usecases.services import Services
from tests.builders import a_line, a_token, an_order_input
from tests.clock import MovingClock, moving
from tests.contract import operation
from tests.graphql_client import execute
from tests.test_inventory import AUSTIN, only_at, set_policy
from tests.test_network_config import DEACTIVATE, mutate

AGENT = a_token("agent")
WOOL = "THROW-WOOL"  # the demo's backorderable SKU: 40 due at DC-DFW in ten days (PO-1002)
ORDER = """query($id: ID!) {
  order(id: $id) {
    status fulfillmentStatus estimatedDelivery version
    lines { id sku quantity quantityBackordered }
    backorders { sku kind status quantityWaiting quantityAllocated promisedOn releaseOn location { code } }
    fulfillmentOrders { status location { code } lines { sku quantity } }
    timeline { type message }
  }
}"""
CANCEL = """mutation($input: CancelOrderInput!) { cancelOrder(input: $input) { userErrors { code } } }"""


@pytest.fixture
def clock(services: Services) -> Iterator[MovingClock]:
    with moving(services) as clock:
        yield clock


def katana(sandboxes: Sandboxes) -> KatanaSandbox:
    assert sandboxes.katana is not None
    return sandboxes.katana


async def place(client: httpx.AsyncClient, sku: str, quantity: int, **more: Any) -> dict[str, Any]:
    body = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(lines=[a_line(sku, quantity)], shippingAddress=ADDRESS, **more)},
        token=AGENT,
    )
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["placeOrder"]
    return payload


ADDRESS = {
    "name": "Ada Shopper",
    "line1": "1 Congress Ave",
    "city": "Austin",
    "region": "TX",
    "postalCode": "78701",
    "countryCode": "US",
}


async def read(client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    body = await execute(client, ORDER, {"id": order_id}, token=AGENT)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["order"]
    return found


async def dallas(client: httpx.AsyncClient) -> dict[str, Any]:
    """Wool at Dallas: available, open purchase orders, units sold against them."""
    body = await execute(
        client,
        """query { availability(skus: ["THROW-WOOL"]) {
          locations { location { code } availableToSell backordered incoming { quantity } } } }""",
        token=a_token("storefront"),
    )
    assert "errors" not in body, body
    found: dict[str, Any] = next(
        row for row in body["data"]["availability"][0]["locations"] if row["location"]["code"] == "DC-DFW"
    )
    return found


async def promise(client: httpx.AsyncClient, sku: str, quantity: int) -> str | None:
    body = await execute(
        client,
        """query($skus: [String!]!, $q: Int!, $to: DestinationInput) {
          availability(skus: $skus, destination: $to) { promiseDate(quantity: $q) } }""",
        {"skus": [sku], "q": quantity, "to": AUSTIN},
        token=a_token("storefront"),
    )
    assert "errors" not in body, body
    answer: str | None = body["data"]["availability"][0]["promiseDate"]
    return answer


async def test_units_not_on_hand_wait_for_the_purchase_order_and_are_allocated_in_order_when_it_arrives(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    await only_at(services, sandboxes, WOOL, "DC-EWR", 3)

    first = await place(client, WOOL, 5)
    second = await place(client, WOOL, 38)
    too_many = await place(client, WOOL, 1)  # 40 on order, 40 promised

    assert first["userErrors"] == []
    assert second["userErrors"] == []
    assert [(e["code"], e["field"]) for e in too_many["userErrors"]] == [
        ("INSUFFICIENT_STOCK", ["input", "lines", "0", "quantity"])
    ]
    order = await read(client, first["order"]["id"])
    arrives = date.today() + timedelta(days=10)
    [waiting] = order["backorders"]
    assert (waiting["status"], waiting["kind"], waiting["quantityWaiting"], waiting["location"]["code"]) == (
        "WAITING",
        "BACKORDER",
        2,
        "DC-DFW",
    )
    assert date.fromisoformat(waiting["promisedOn"]) > arrives  # the supply's day plus the way to Austin
    assert order["estimatedDelivery"] == waiting["promisedOn"]
    assert order["lines"][0]["quantityBackordered"] == 2
    assert [(fo["location"]["code"], fo["lines"]) for fo in order["fulfillmentOrders"]] == [
        ("DC-EWR", [{"sku": WOOL, "quantity": 3}])
    ]
    assert "ORDER_BACKORDERED" in [e["type"] for e in order["timeline"]]
    at_dallas = await dallas(client)
    assert (at_dallas["backordered"], at_dallas["incoming"]) == (40, [{"quantity": 40}])

    received = await katana(sandboxes).receive_purchase_order("PO-1002")  # the webhook tells the gateway

    assert WOOL in received
    order = await read(client, first["order"]["id"])
    later = await read(client, second["order"]["id"])
    assert [(b["status"], b["quantityWaiting"], b["quantityAllocated"]) for b in order["backorders"]] == [
        ("ALLOCATED", 0, 2)
    ]
    assert [(b["status"], b["quantityAllocated"]) for b in later["backorders"]] == [("ALLOCATED", 38)]
    assert sorted(
        (fo["location"]["code"], fo["lines"][0]["quantity"]) for fo in order["fulfillmentOrders"]
    ) == [
        ("DC-DFW", 2),
        ("DC-EWR", 3),
    ]
    assert order["lines"][0]["quantityBackordered"] == 0
    assert "BACKORDER_ALLOCATED" in [e["type"] for e in order["timeline"]]
    at_dallas = await dallas(client)
    assert (at_dallas["availableToSell"], at_dallas["backordered"], at_dallas["incoming"]) == (0, 0, [])


async def test_units_on_hand_at_a_node_that_is_full_today_ship_later_rather_than_wait_for_supply(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    await only_at(services, sandboxes, WOOL, "DC-DFW", 3)
    async with services.store.write() as uow:
        await uow.session.execute(sa.text("UPDATE locations SET capacity_per_day = 1 WHERE code = 'DC-DFW'"))
    filled = await place(client, "MUG-BLUE", 1)  # Dallas's one order today
    assert filled["order"]["fulfillmentOrders"][0]["location"]["code"] == "DC-DFW"
    quoted = await promise(client, WOOL, 2)  # the product page's date

    wool = await place(client, WOOL, 2)

    assert wool["userErrors"] == []
    order = await read(client, wool["order"]["id"])
    assert order["backorders"] == []
    assert [(fo["location"]["code"], fo["lines"]) for fo in order["fulfillmentOrders"]] == [
        ("DC-DFW", [{"sku": WOOL, "quantity": 2}])
    ]
    austin_today = datetime.now(ZoneInfo("America/Chicago")).date()
    # a working day's wait for room, then Dallas's handling day and two days' transit; not the
    # purchase order's day, ten days out
    assert order["estimatedDelivery"] == add_business_days(add_business_days(austin_today, 1), 3).isoformat()
    assert quoted == order["estimatedDelivery"]
    assert (await dallas(client))["backordered"] == 0


async def test_units_that_arrive_at_a_full_node_start_on_its_next_days_with_room(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    """Two orders wait for Dallas's purchase order; Dallas takes one order a day. The units come
    in two weeks, four days after the day they were due. The pass opens both orders' work there:
    one starts on the first working day, the other on the next (before, both started at once,
    past Dallas's capacity), and each order's promise moves to the day its units can now reach
    Austin (before, it kept the day promised from the purchase order's)."""
    await only_at(services, sandboxes, WOOL, "DC-EWR", 0)
    async with services.store.write() as uow:
        await uow.session.execute(sa.text("UPDATE locations SET capacity_per_day = 1 WHERE code = 'DC-DFW'"))
    waiting = [(await place(client, WOOL, units))["order"]["id"] for units in (5, 10)]
    promised = [(await read(client, order_id))["estimatedDelivery"] for order_id in waiting]

    with moving(services) as clock:
        clock.advance(14 * 24 * 3600)
        await katana(sandboxes).receive_purchase_order("PO-1002")  # the webhook tells the gateway
        today = clock().astimezone(ZoneInfo("America/Chicago")).date()

    found = []
    for order_id in waiting:
        body = await execute(
            client,
            """query($id: ID!) { order(id: $id) {
              estimatedDelivery fulfillmentOrders { startsOn location { code } } } }""",
            {"id": order_id},
            token=AGENT,
        )
        order = body["data"]["order"]
        [work] = order["fulfillmentOrders"]
        assert work["location"]["code"] == "DC-DFW"
        found.append((work["startsOn"], order["estimatedDelivery"]))
    starts = [add_business_days(today, 0), add_business_days(today, 1)]
    # Dallas's handling day and two days' transit to Austin, from the day it starts
    assert found == [(day.isoformat(), add_business_days(day, 3).isoformat()) for day in starts]
    assert all(was < now for was, (_, now) in zip(promised, found, strict=True))
    # each customer is told once, in words, on their order's timeline (and by email)
    for order_id in waiting:
        body = await execute(
            client,
            "query($id: ID!) { order(id: $id) { timeline { type message } } }",
            {"id": order_id},
            token=AGENT,
        )
        delays = [e for e in body["data"]["order"]["timeline"] if e["type"] == "ORDER_DELAYED"]
        assert delays == [{"type": "ORDER_DELAYED", "message": "Your order will arrive later than we said."}]


async def test_two_lines_that_arrive_late_together_tell_their_customer_once(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    """Wool and a lamp wait for the same purchase order at Dallas, which comes four days late
    and unannounced: the timer's pass finds both and allocates both lines at once, moving the
    order's promise later. The customer hears of it once (one ORDER_DELAYED), not per line."""
    await set_policy(client, "LAMP-DESK", "BACKORDER")
    await only_at(services, sandboxes, WOOL, "DC-EWR", 0)
    await only_at(services, sandboxes, "LAMP-DESK", "DC-EWR", 0)
    body = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(lines=[a_line(WOOL, 2), a_line("LAMP-DESK", 1)], shippingAddress=ADDRESS)},
        token=AGENT,
    )
    order = body["data"]["placeOrder"]["order"]
    waiting = [(b["sku"], b["status"]) for b in (await read(client, order["id"]))["backorders"]]

    erp = katana(sandboxes)
    with moving(services) as clock:
        clock.advance(14 * 24 * 3600)
        told, erp.webhooks = erp.webhooks, []  # the ERP does not announce this receipt
        try:
            await erp.receive_purchase_order("PO-1002")
        finally:
            erp.webhooks = told
        allocated_units = await backorders.refresh_and_allocate(services)  # one pass, both lines
        allocated = [(b["sku"], b["status"]) for b in (await read(client, order["id"]))["backorders"]]
    timeline = await execute(
        client, "query($id: ID!) { order(id: $id) { timeline { type } } }", {"id": order["id"]}, token=AGENT
    )

    assert sorted(waiting) == [("LAMP-DESK", "WAITING"), (WOOL, "WAITING")]
    assert allocated_units == 3
    assert sorted(allocated) == [("LAMP-DESK", "ALLOCATED"), (WOOL, "ALLOCATED")]
    types = [e["type"] for e in timeline["data"]["order"]["timeline"]]
    assert types.count("BACKORDER_ALLOCATED") == 2
    assert types.count("ORDER_DELAYED") == 1


async def test_a_partial_receipt_goes_to_the_oldest_line_first(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    await only_at(services, sandboxes, WOOL, "DC-EWR", 0)
    first = await place(client, WOOL, 10)
    second = await place(client, WOOL, 10)
    sandbox = katana(sandboxes)
    row = next(
        r for r in sandbox.purchase_order("PO-1002").rows if sandbox.variants[r.variant_id].sku == WOOL
    )

    response = await client.post(
        "/sandbox/katana/purchase_order_receive",
        json=[{"purchase_order_row_id": row.id, "quantity": 14, "received_date": "2026-12-04T10:00:00Z"}],
        headers={"Authorization": "Bearer sandbox"},
    )

    assert response.status_code == 204, response.text
    await sandbox.delivered()  # Katana's webhooks come after its answer
    assert sandbox.purchase_order("PO-1002").status == "PARTIALLY_RECEIVED"
    oldest = (await read(client, first["order"]["id"]))["backorders"]
    newest = (await read(client, second["order"]["id"]))["backorders"]
    assert [(b["status"], b["quantityAllocated"], b["quantityWaiting"]) for b in oldest] == [
        ("ALLOCATED", 10, 0)
    ]
    assert [(b["status"], b["quantityAllocated"], b["quantityWaiting"]) for b in newest] == [
        ("WAITING", 4, 6)
    ]


async def test_cancelling_a_backordered_order_gives_its_place_in_the_supply_back(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    await only_at(services, sandboxes, WOOL, "DC-EWR", 0)
    placed = await place(client, WOOL, 40)
    assert await promise(client, WOOL, 1) is None

    body = await execute(
        client, CANCEL, {"input": {"orderId": placed["order"]["id"], "reason": "CUSTOMER"}}, token=AGENT
    )

    assert body["data"]["cancelOrder"]["userErrors"] == []
    order = await read(client, placed["order"]["id"])
    assert (order["status"], order["backorders"][0]["status"]) == ("CANCELLED", "CANCELLED")
    assert await promise(client, WOOL, 40) is not None
    await katana(sandboxes).receive_purchase_order("PO-1002")
    assert (await read(client, placed["order"]["id"]))["fulfillmentOrders"] == []


async def test_a_node_with_lines_waiting_for_its_supply_is_not_deactivated_until_they_are_gone(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    """Waiting lines are the node's work to come: closed, the supply's arrival would open a
    fulfilment order at a node that routing no longer counts."""
    await only_at(services, sandboxes, WOOL, "DC-EWR", 0)
    placed = await place(client, WOOL, 2)  # both units wait for PO-1002 at DC-DFW

    busy = await mutate(client, DEACTIVATE, {"id": "DC-DFW"})
    await execute(
        client, CANCEL, {"input": {"orderId": placed["order"]["id"], "reason": "CUSTOMER"}}, token=AGENT
    )
    idle = await mutate(client, DEACTIVATE, {"id": "DC-DFW"})

    assert [(e["code"], e["field"]) for e in busy["userErrors"]] == [("LOCATION_HAS_OPEN_WORK", ["id"])]
    assert "1 order lines waiting there for supply" in busy["userErrors"][0]["message"]
    assert busy["location"] is None
    assert idle == {"location": {"code": "DC-DFW", "active": False}, "userErrors": []}


async def test_routing_an_order_again_leaves_its_waiting_units_in_their_place_in_the_supply(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    """routeOrder moves the units on hand only: units waiting for a purchase order keep their
    place in it (routed again as well, they were counted twice: work for them and still waiting)."""
    await only_at(services, sandboxes, WOOL, "DC-EWR", 3)
    placed = await place(client, WOOL, 5)  # 3 from Newark now, 2 waiting for PO-1002 at Dallas
    await katana(sandboxes).set_on_hand(WOOL, "DC-ONT", 20)
    services.freshness.stock_read_at.pop(WOOL, None)

    body = await execute(
        client,
        """mutation($id: ID!) { routeOrder(orderId: $id) { userErrors { code } } }""",
        {"id": placed["order"]["id"]},
        token=AGENT,
    )
    order = await read(client, placed["order"]["id"])

    assert body["data"]["routeOrder"]["userErrors"] == []
    assert [(b["status"], b["quantityWaiting"]) for b in order["backorders"]] == [("WAITING", 2)]
    live = [fo for fo in order["fulfillmentOrders"] if fo["status"] != "CANCELLED"]
    assert sum(line["quantity"] for fo in live for line in fo["lines"]) == 3
    assert order["lines"][0]["quantityBackordered"] == 2


async def test_an_order_with_units_waiting_cannot_be_edited(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    await only_at(services, sandboxes, WOOL, "DC-EWR", 0)
    placed = await place(client, WOOL, 2)
    order = await read(client, placed["order"]["id"])

    body = await execute(
        client,
        EDIT,
        {
            "input": {
                "orderId": placed["order"]["id"],
                "expectedVersion": order["version"],
                "lines": [{"lineId": order["lines"][0]["id"], "quantity": 1}],
            }
        },
        token=AGENT,
    )

    assert [e["code"] for e in body["data"]["editOrder"]["userErrors"]] == ["BACKORDERED"]


EDIT = """mutation($input: EditOrderInput!) { editOrder(input: $input) { userErrors { code } } }"""


@pytest.mark.parametrize("quantity", [1, 75, 76, 89, 115, 116, 300])
async def test_a_quantity_with_a_promise_date_can_be_ordered_and_one_without_cannot(
    client: httpx.AsyncClient, quantity: int
) -> None:
    # Wool on hand: 40 Newark, 35 Ontario, 14 in stores (two nodes hold 75); 40 due at Dallas.
    promised = await promise(client, WOOL, quantity)

    placed = await place(client, WOOL, quantity)

    assert (promised is not None) == (placed["userErrors"] == []), (quantity, promised, placed["userErrors"])
    assert (quantity <= 115) == (promised is not None)
    if promised is not None:
        assert (await read(client, placed["order"]["id"]))["estimatedDelivery"] == promised


@pytest.mark.parametrize(("quantity", "code"), [(300, None), (450, None), (451, "SPLIT_LIMIT_EXCEEDED")])
async def test_on_hand_only_the_promise_is_the_split_plan_placement_makes(
    client: httpx.AsyncClient, quantity: int, code: str | None
) -> None:
    # Mugs sell from what is on hand only; 240 at Newark and 210 at Ontario, 120 more due at Newark.
    promised = await promise(client, "MUG-BLUE", quantity)

    placed = await place(client, "MUG-BLUE", quantity)

    assert [e["code"] for e in placed["userErrors"]] == ([code] if code else [])
    assert (promised is None) == (code is not None)


async def test_a_policy_for_some_channels_leaves_the_others_selling_what_is_on_hand(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    await only_at(services, sandboxes, WOOL, "DC-EWR", 0)
    changed = await set_policy(client, WOOL, "BACKORDER", channels=["web"])

    on_the_web = await place(client, WOOL, 1, channel="web")
    in_a_store = await place(client, WOOL, 1, channel="pos")

    assert changed["product"]["policyChannels"] == ["web"]
    assert on_the_web["userErrors"] == []
    assert [e["code"] for e in in_a_store["userErrors"]] == ["INSUFFICIENT_STOCK"]


async def test_pre_orders_wait_for_their_release_date_even_when_the_supply_is_in(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    release = date.today() + timedelta(days=5)
    changed = await set_policy(client, "POT-DUTCH-5", "PRE_ORDER", releaseOn=release.isoformat())
    assert changed["userErrors"] == []

    placed = await place(client, "POT-DUTCH-5", 2)  # 25 on hand at Dallas: still a pre-order
    await katana(sandboxes).receive_purchase_order("PO-1001")
    before = await read(client, placed["order"]["id"])
    clock.offset = timedelta(days=5)
    allocated = await backorders.allocate_waiting(services)
    after = await read(client, placed["order"]["id"])

    assert placed["userErrors"] == []
    [waiting] = before["backorders"]
    assert (waiting["kind"], waiting["status"], waiting["releaseOn"]) == (
        "PRE_ORDER",
        "WAITING",
        release.isoformat(),
    )
    assert date.fromisoformat(waiting["promisedOn"]) > release
    assert before["fulfillmentOrders"] == []
    assert allocated == 2
    assert [b["status"] for b in after["backorders"]] == ["ALLOCATED"]
    assert [fo["lines"] for fo in after["fulfillmentOrders"]] == [[{"sku": "POT-DUTCH-5", "quantity": 2}]]


@pytest.mark.parametrize(
    ("policy", "more", "code"),
    [
        ("PRE_ORDER", {}, "RELEASE_DATE_REQUIRED"),
        ("BACKORDER", {"releaseOn": "2027-01-01"}, "INVALID_RELEASE_DATE"),
        ("BACKORDER", {"channels": [""]}, "INVALID_CHANNEL"),
    ],
)
async def test_a_policy_that_does_not_hold_together_is_refused(
    client: httpx.AsyncClient, policy: str, more: dict[str, Any], code: str
) -> None:
    assert [e["code"] for e in (await set_policy(client, WOOL, policy, **more))["userErrors"]] == [code]


async def test_only_admins_set_selling_policies(client: httpx.AsyncClient) -> None:
    body = await execute(
        client,
        'mutation { setSellingPolicy(input: {sku: "THROW-WOOL", policy: ON_HAND}) { userErrors { code } } }',
        token=AGENT,
    )

    assert [e["code"] for e in body["data"]["setSellingPolicy"]["userErrors"]] == ["FORBIDDEN"]


async def test_a_receipt_the_erp_did_not_announce_is_found_by_the_backorder_pass(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    await only_at(services, sandboxes, WOOL, "DC-EWR", 0)
    placed = await place(client, WOOL, 4)
    sandbox = katana(sandboxes)
    for webhook in sandbox.webhooks:
        webhook.enabled = False

    await sandbox.receive_purchase_order("PO-1002")
    unheard = await read(client, placed["order"]["id"])
    allocated = await backorders.refresh_and_allocate(services)  # what ORDERGATE_BACKORDER_SECONDS runs

    assert [b["status"] for b in unheard["backorders"]] == ["WAITING"]
    assert allocated == 4
    assert [b["status"] for b in (await read(client, placed["order"]["id"]))["backorders"]] == ["ALLOCATED"]
    assert (await dallas(client))["incoming"] == []  # supply re-read with the stock: not counted twice
