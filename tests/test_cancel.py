"""Cancelling through the contract's CancelMyOrder: in full or by line, the units released at
their node, and refused where the work has gone too far or the order is someone else's."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ordergate.models.cancellation import NOT_GONE, NOT_STARTED, Cut, Holding, plan_cancellation
from ordergate.models.fulfillment import FulfillmentOrderStatus as F
from ordergate.usecases.services import Services
from tests.builders import a_line, a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute
from tests.test_fulfillment import DALLAS, location_ids, step

ANN = a_token("customer", email="ann@example.com")
BOB = a_token("customer", email="bob@example.com")
AGENT = a_token("agent")
DETAIL = """query($id: ID!) { order(id: $id) { status fulfillmentStatus
  lines { id sku quantity quantityCancelled }
  fulfillmentOrders { status location { code } lines { sku quantity } }
  timeline { type } cancelReason } }"""


async def placed(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    body = await execute(client, operation("PlaceOrder"), {"input": an_order_input(**overrides)}, token=ANN)
    assert body["data"]["placeOrder"]["userErrors"] == [], body
    order: dict[str, Any] = body["data"]["placeOrder"]["order"]
    return order


async def cancel(client: httpx.AsyncClient, token: str, **fields: Any) -> dict[str, Any]:
    body = await execute(
        client, operation("CancelMyOrder"), {"input": {"reason": "CUSTOMER", **fields}}, token=token
    )
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["cancelOrder"]
    return payload


async def detail(client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    body = await execute(client, DETAIL, {"id": order_id}, token=AGENT)
    found: dict[str, Any] = body["data"]["order"]
    return found


async def allocated_at(services: Services, sku: str, location_id: str) -> int:
    async with services.store.read() as uow:
        [position] = [p for p in await uow.inventory.positions([sku]) if p.location_id == location_id]
    return position.allocated


async def test_a_customer_cancels_their_whole_order_and_the_stock_comes_back(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = await placed(client)
    dallas = (await location_ids(client))["DC-DFW"]
    before = await allocated_at(services, "MUG-BLUE", dallas)
    assert (await detail(client, order["id"]))["cancelReason"] is None

    payload = await cancel(client, ANN, orderId=order["id"])

    assert payload["userErrors"] == []
    assert payload["order"]["status"] == "CANCELLED"
    assert await allocated_at(services, "MUG-BLUE", dallas) == before - 2
    found = await detail(client, order["id"])
    assert [fo["status"] for fo in found["fulfillmentOrders"]] == ["CANCELLED"]
    assert all(line["quantityCancelled"] == line["quantity"] for line in found["lines"])
    assert [e["type"] for e in found["timeline"]][-2:] == ["FULFILLMENT_CANCELLED", "ORDER_CANCELLED"]
    assert found["cancelReason"] == "CUSTOMER"  # not only in webhook bodies


async def test_one_unit_of_one_line_is_cancelled_and_the_rest_goes_on(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = await placed(client)
    dallas = (await location_ids(client))["DC-DFW"]
    mug = next(line for line in (await detail(client, order["id"]))["lines"] if line["sku"] == "MUG-BLUE")
    before = await allocated_at(services, "MUG-BLUE", dallas)

    payload = await cancel(client, ANN, orderId=order["id"], lines=[{"lineId": mug["id"], "quantity": 1}])

    assert payload["userErrors"] == []
    assert payload["order"]["status"] == "CONFIRMED"
    found = await detail(client, order["id"])
    [share] = found["fulfillmentOrders"]
    assert share["status"] == "OPEN"
    assert sorted((x["sku"], x["quantity"]) for x in share["lines"]) == [("KNIFE-CHEF-8", 1), ("MUG-BLUE", 1)]
    assert await allocated_at(services, "MUG-BLUE", dallas) == before - 1
    assert [e["type"] for e in found["timeline"]][-1] == "ORDER_LINES_CANCELLED"


async def test_someone_else_s_order_is_not_found_and_nothing_changes(client: httpx.AsyncClient) -> None:
    order = await placed(client)

    payload = await cancel(client, BOB, orderId=order["id"])

    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("NOT_FOUND", ["input", "orderId"])]
    assert (await detail(client, order["id"]))["status"] == "CONFIRMED"


async def test_work_under_way_is_the_agent_s_to_cancel_not_the_customer_s(client: httpx.AsyncClient) -> None:
    order = await placed(client)
    fo_id = order["fulfillmentOrders"][0]["id"]
    for name in ("Accept", "StartPicking"):
        await step(client, name, DALLAS, id=fo_id)

    refused = await cancel(client, ANN, orderId=order["id"])
    agreed = await cancel(client, AGENT, orderId=order["id"])

    assert [e["code"] for e in refused["userErrors"]] == ["NOTHING_TO_CANCEL"]
    assert agreed["order"]["status"] == "CANCELLED"


async def test_nothing_is_cancelled_once_everything_has_shipped(client: httpx.AsyncClient) -> None:
    order = await placed(client, lines=[a_line("MUG-BLUE", 1)])
    fo_id = order["fulfillmentOrders"][0]["id"]
    for name in ("Accept", "StartPicking", "Pack"):
        await step(client, name, DALLAS, id=fo_id)
    shipped = await execute(client, operation("Ship"), {"input": {"fulfillmentOrderId": fo_id}}, token=DALLAS)
    assert shipped["data"]["shipFulfillmentOrder"]["userErrors"] == []

    payload = await cancel(client, AGENT, orderId=order["id"])

    assert [e["code"] for e in payload["userErrors"]] == ["NOTHING_TO_CANCEL"]
    assert (await detail(client, order["id"]))["fulfillmentStatus"] == "FULFILLED"


async def test_asking_for_more_than_is_left_names_the_line(client: httpx.AsyncClient) -> None:
    order = await placed(client)
    mug = next(line for line in (await detail(client, order["id"]))["lines"] if line["sku"] == "MUG-BLUE")

    payload = await cancel(
        client,
        ANN,
        orderId=order["id"],
        lines=[{"lineId": mug["id"], "quantity": 3}, {"lineId": "nope", "quantity": 1}],
    )

    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("NOT_CANCELLABLE", ["input", "lines", "0", "quantity"]),
        ("NOT_FOUND", ["input", "lines", "1", "lineId"]),
    ]


async def test_a_cancelled_order_cannot_be_cancelled_again_and_a_repeat_of_the_key_is_the_same(
    client: httpx.AsyncClient,
) -> None:
    order = await placed(client)
    first = await cancel(client, ANN, orderId=order["id"], idempotencyKey="cancel-1")

    repeat = await cancel(client, ANN, orderId=order["id"], idempotencyKey="cancel-1")
    again = await cancel(client, ANN, orderId=order["id"])

    assert repeat == first
    assert [e["code"] for e in again["userErrors"]] == ["INVALID_TRANSITION"]


@pytest.mark.parametrize("token", [a_token("storefront"), DALLAS])
async def test_roles_that_cancel_nothing(client: httpx.AsyncClient, token: str) -> None:
    order = await placed(client)

    payload = await cancel(client, token, orderId=order["id"])

    assert [e["code"] for e in payload["userErrors"]] == ["FORBIDDEN"]


def test_units_come_from_nowhere_first_then_the_least_advanced_work() -> None:
    holdings = [
        Holding("fo-packed", F.PACKED, "line", 2),
        Holding("fo-open", F.OPEN, "line", 1),
        Holding("fo-shipped", F.SHIPPED, "line", 3),  # fulfilled already: not open
    ]
    # 5 open units: 3 allocated (packed 2, open 1) and 2 allocated nowhere.
    staff = plan_cancellation({"line": 5}, holdings, {"line": 4}, touchable=NOT_GONE)
    customer = plan_cancellation({"line": 5}, holdings, {"line": 4}, touchable=NOT_STARTED)

    assert staff.cuts == (Cut("line", 2, None), Cut("line", 1, "fo-open"), Cut("line", 1, "fo-packed"))
    assert [p.code for p in customer.problems] == ["NOT_CANCELLABLE"]
    assert plan_cancellation({"line": 5}, holdings, None, touchable=NOT_STARTED).by_line() == {"line": 3}


def test_among_work_equally_far_along_the_smaller_share_goes_first() -> None:
    """A line of 5 split 4 and 1 over two nodes: a unit cancelled leaves the node of 1 with
    nothing (a parcel fewer), whichever fulfilment order's id sorts first."""
    holdings = [Holding("fo-a", F.OPEN, "line", 4), Holding("fo-b", F.OPEN, "line", 1)]

    one = plan_cancellation({"line": 5}, holdings, {"line": 1}, touchable=NOT_GONE)
    two = plan_cancellation({"line": 5}, holdings, {"line": 2}, touchable=NOT_GONE)
    started = [Holding("fo-a", F.OPEN, "line", 4), Holding("fo-b", F.ACCEPTED, "line", 1)]
    further = plan_cancellation({"line": 5}, started, {"line": 1}, touchable=NOT_GONE)

    assert one.cuts == (Cut("line", 1, "fo-b"),)
    assert two.cuts == (Cut("line", 1, "fo-b"), Cut("line", 1, "fo-a"))
    assert further.cuts == (Cut("line", 1, "fo-a"),)  # how far along comes first
