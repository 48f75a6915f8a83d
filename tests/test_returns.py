"""Returns through the contract's StartReturn, decided by an agent and received at a node: a
restocked unit is sellable there again, a damaged one is not; what cannot be returned says why."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from ordergate.usecases.services import Services
from tests.builders import a_line, a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute
from tests.test_fulfillment import DALLAS, location_ids, step

ANN = a_token("customer", email="ann@example.com")
BOB = a_token("customer", email="bob@example.com")
AGENT = a_token("agent")
RETURN_FIELDS = (
    "orderReturn { id status lines { id sku quantity disposition } } userErrors { code field message }"
)
APPROVE = f"mutation($input: DecideReturnInput!) {{ approveReturn(input: $input) {{ {RETURN_FIELDS} }} }}"
DECLINE = f"mutation($input: DecideReturnInput!) {{ declineReturn(input: $input) {{ {RETURN_FIELDS} }} }}"
RECEIVE = f"mutation($input: ReceiveReturnInput!) {{ receiveReturn(input: $input) {{ {RETURN_FIELDS} }} }}"
ORDER = """query($id: ID!) { order(id: $id) { fulfillmentStatus
  lines { id sku quantityFulfilled quantityReturned } returns { id status } timeline { type } } }"""


async def shipped_order(
    client: httpx.AsyncClient, lines: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    body = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(lines=lines or [a_line("MUG-BLUE", 2), a_line("SOAP-OLIVE-3", 1)])},
        token=ANN,
    )
    order: dict[str, Any] = body["data"]["placeOrder"]["order"]
    fo_id = order["fulfillmentOrders"][0]["id"]
    for name in ("Accept", "StartPicking", "Pack"):
        await step(client, name, DALLAS, id=fo_id)
    shipped = await execute(client, operation("Ship"), {"input": {"fulfillmentOrderId": fo_id}}, token=DALLAS)
    assert shipped["data"]["shipFulfillmentOrder"]["userErrors"] == []
    return await order_of(client, order["id"]) | {"id": order["id"]}


async def order_of(client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    body = await execute(client, ORDER, {"id": order_id}, token=AGENT)
    found: dict[str, Any] = body["data"]["order"]
    return found


def line_id(order: dict[str, Any], sku: str) -> str:
    return str(next(line["id"] for line in order["lines"] if line["sku"] == sku))


async def start_return(
    client: httpx.AsyncClient, token: str, order_id: str, lines: list[dict[str, Any]]
) -> dict[str, Any]:
    body = await execute(
        client, operation("StartReturn"), {"input": {"orderId": order_id, "lines": lines}}, token=token
    )
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["requestReturn"]
    return payload


async def decide(client: httpx.AsyncClient, document: str, return_id: str) -> dict[str, Any]:
    body = await execute(client, document, {"input": {"returnId": return_id}}, token=AGENT)
    payload: dict[str, Any] = next(iter(body["data"].values()))
    return payload


async def receive(
    client: httpx.AsyncClient,
    return_id: str,
    location_id: str,
    dispositions: dict[str, str],
    token: str = DALLAS,
) -> dict[str, Any]:
    lines = [{"lineId": line, "disposition": disposition} for line, disposition in dispositions.items()]
    body = await execute(
        client,
        RECEIVE,
        {"input": {"returnId": return_id, "locationId": location_id, "lines": lines}},
        token=token,
    )
    payload: dict[str, Any] = body["data"]["receiveReturn"]
    return payload


async def on_hand(services: Services, sku: str, location_id: str) -> int:
    async with services.store.read() as uow:
        [position] = [p for p in await uow.inventory.positions([sku]) if p.location_id == location_id]
    return position.on_hand


async def test_a_returned_unit_is_restocked_where_it_is_received(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = await shipped_order(client)
    dallas = (await location_ids(client))["DC-DFW"]
    mug = line_id(order, "MUG-BLUE")

    asked = await start_return(
        client, ANN, order["id"], [{"lineId": mug, "quantity": 1, "reason": "chipped"}]
    )
    approved = await decide(client, APPROVE, asked["orderReturn"]["id"])
    before = await on_hand(services, "MUG-BLUE", dallas)
    [line] = approved["orderReturn"]["lines"]
    received = await receive(client, asked["orderReturn"]["id"], dallas, {line["id"]: "RESTOCK"})

    assert asked["userErrors"] == []
    assert asked["orderReturn"]["status"] == "REQUESTED"
    assert [(x["sku"], x["quantity"]) for x in asked["orderReturn"]["lines"]] == [("MUG-BLUE", 1)]
    assert approved["orderReturn"]["status"] == "APPROVED"
    assert received["userErrors"] == []
    # The order took no payment: nothing to refund, so the receipt closes the return.
    assert received["orderReturn"]["status"] == "CLOSED"
    assert await on_hand(services, "MUG-BLUE", dallas) == before + 1
    after = await order_of(client, order["id"])
    assert after["fulfillmentStatus"] == "PARTIALLY_RETURNED"
    assert next(x["quantityReturned"] for x in after["lines"] if x["sku"] == "MUG-BLUE") == 1
    assert after["returns"] == [{"id": asked["orderReturn"]["id"], "status": "CLOSED"}]
    # (the relay buys the return label meanwhile: its events come whenever it is done)
    assert [
        e["type"]
        for e in after["timeline"]
        if e["type"].startswith("RETURN_") and not e["type"].startswith("RETURN_LABEL")
    ] == ["RETURN_REQUESTED", "RETURN_APPROVED", "RETURN_RECEIVED", "RETURN_CLOSED"]


async def test_a_damaged_return_does_not_come_back_into_stock(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = await shipped_order(client, [a_line("MUG-BLUE", 1)])
    dallas = (await location_ids(client))["DC-DFW"]
    asked = await start_return(
        client, ANN, order["id"], [{"lineId": line_id(order, "MUG-BLUE"), "quantity": 1, "reason": "broken"}]
    )
    approved = await decide(client, APPROVE, asked["orderReturn"]["id"])
    before = await on_hand(services, "MUG-BLUE", dallas)

    [line] = approved["orderReturn"]["lines"]
    await receive(client, asked["orderReturn"]["id"], dallas, {line["id"]: "DAMAGED"})

    assert await on_hand(services, "MUG-BLUE", dallas) == before
    assert (await order_of(client, order["id"]))["fulfillmentStatus"] == "RETURNED"


async def test_what_cannot_be_returned_says_why_and_nothing_is_kept(client: httpx.AsyncClient) -> None:
    order = await shipped_order(client)
    mug, soap = line_id(order, "MUG-BLUE"), line_id(order, "SOAP-OLIVE-3")

    foreign = await start_return(client, BOB, order["id"], [{"lineId": mug, "quantity": 1, "reason": "x"}])
    too_many = await start_return(client, ANN, order["id"], [{"lineId": mug, "quantity": 3, "reason": "x"}])
    final_sale = await start_return(
        client, ANN, order["id"], [{"lineId": soap, "quantity": 1, "reason": "x"}]
    )
    no_reason = await start_return(client, ANN, order["id"], [{"lineId": mug, "quantity": 1, "reason": " "}])
    first = await start_return(client, ANN, order["id"], [{"lineId": mug, "quantity": 2, "reason": "x"}])
    again = await start_return(client, ANN, order["id"], [{"lineId": mug, "quantity": 1, "reason": "x"}])

    assert [e["code"] for e in foreign["userErrors"]] == ["NOT_FOUND"]
    assert [(e["code"], e["field"]) for e in too_many["userErrors"]] == [
        ("NOT_RETURNABLE_QUANTITY", ["input", "lines", "0", "quantity"])
    ]
    assert [e["code"] for e in final_sale["userErrors"]] == ["NOT_RETURNABLE"]
    assert [e["code"] for e in no_reason["userErrors"]] == ["INVALID_REASON"]
    assert first["userErrors"] == []
    assert [e["code"] for e in again["userErrors"]] == ["NOT_RETURNABLE_QUANTITY"]  # both already asked for
    assert [r["status"] for r in (await order_of(client, order["id"]))["returns"]] == ["REQUESTED"]


async def test_nothing_that_has_not_reached_the_customer_can_be_returned(client: httpx.AsyncClient) -> None:
    body = await execute(client, operation("PlaceOrder"), {"input": an_order_input()}, token=ANN)
    order = body["data"]["placeOrder"]["order"]
    found = await order_of(client, order["id"])

    payload = await start_return(
        client, ANN, order["id"], [{"lineId": line_id(found, "MUG-BLUE"), "quantity": 1, "reason": "x"}]
    )

    assert [e["code"] for e in payload["userErrors"]] == ["NOTHING_TO_RETURN"]


async def test_the_window_closes_for_customers_not_for_agents(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = await shipped_order(client, [a_line("MUG-BLUE", 1)])
    lines = [{"lineId": line_id(order, "MUG-BLUE"), "quantity": 1, "reason": "too late"}]
    real = services.clock
    services.clock = lambda: real() + services.policy.return_window + timedelta(days=1)
    try:
        late = await start_return(client, ANN, order["id"], lines)
        for_them = await start_return(client, AGENT, order["id"], lines)
    finally:
        services.clock = real

    assert [e["code"] for e in late["userErrors"]] == ["RETURN_WINDOW_CLOSED"]
    assert for_them["userErrors"] == []


async def test_items_handed_in_at_a_counter_before_a_decision_are_received_there_with_no_label(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = await shipped_order(client, [a_line("MUG-BLUE", 2)])
    dallas = (await location_ids(client))["DC-DFW"]
    asked = await start_return(
        client, ANN, order["id"], [{"lineId": line_id(order, "MUG-BLUE"), "quantity": 1, "reason": "x"}]
    )
    return_id = asked["orderReturn"]["id"]
    async with services.store.read() as uow:
        [line] = (await uow.returns.lines_by_return_ids([return_id]))[return_id]
    before = await on_hand(services, "MUG-BLUE", dallas)

    received = await receive(client, return_id, dallas, {line.id: "RESTOCK"})
    after = await order_of(client, order["id"])
    async with services.store.read() as uow:
        decided = (await uow.returns.by_ids([return_id]))[return_id]
        labels = await uow.outbox.with_key_prefixes([f"{decided.id}:"])

    assert received["userErrors"] == []
    assert received["orderReturn"]["status"] == "CLOSED"  # nothing was paid: nothing to refund
    assert await on_hand(services, "MUG-BLUE", dallas) == before + 1
    assert (decided.decided_by, decided.decided_at) == ("associate-test", decided.received_at)
    assert labels == []  # no label bought for a parcel already back
    assert [e["type"] for e in after["timeline"] if e["type"].startswith("RETURN_")] == [
        "RETURN_REQUESTED",
        "RETURN_RECEIVED",
        "RETURN_CLOSED",
    ]  # no RETURN_APPROVED: its email would ask the customer to send the items back


async def test_a_declined_return_cannot_be_received(client: httpx.AsyncClient) -> None:
    order = await shipped_order(client, [a_line("MUG-BLUE", 1)])
    dallas = (await location_ids(client))["DC-DFW"]
    asked = await start_return(
        client, ANN, order["id"], [{"lineId": line_id(order, "MUG-BLUE"), "quantity": 1, "reason": "x"}]
    )
    return_id = asked["orderReturn"]["id"]

    customer_decides = await execute(client, DECLINE, {"input": {"returnId": return_id}}, token=ANN)
    declined = await decide(client, DECLINE, return_id)
    [line] = declined["orderReturn"]["lines"]
    received = await receive(client, return_id, dallas, {line["id"]: "RESTOCK"})

    assert [e["code"] for e in customer_decides["data"]["declineReturn"]["userErrors"]] == ["FORBIDDEN"]
    assert declined["orderReturn"]["status"] == "DECLINED"
    assert [e["code"] for e in received["userErrors"]] == ["INVALID_TRANSITION"]
