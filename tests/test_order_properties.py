"""Random sequences of what agents, nodes and customers do to an order (edit, partial cancel,
ship, return, goodwill, and the relay moving the money) keep its books straight: per line
ordered = fulfilled + open + cancelled and returned <= fulfilled; captured - refunded >= 0 and
captured <= authorised; totals add up to the cent; no stock goes negative; and every status is
the one its quantities and ledger derive. Each step is a real GraphQL request; each answers with
data or userErrors, never an error."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ordergate.models.lifecycle import LineQuantities, fulfillment_status
from ordergate.models.order import PaymentStatus
from ordergate.models.payments import PaymentKind, PaymentTransaction, payment_status
from ordergate.usecases.services import Services
from ordergate.workers.handlers import outbox_handlers
from ordergate.workers.relay import relay_once
from tests.builders import a_line, a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute

pytestmark = pytest.mark.no_relay  # the steps run the relay themselves, when the sequence says

AGENT = a_token("agent")
KEYS = itertools.count()
SKUS = ["MUG-BLUE", "PLATE-DINNER", "TOWEL-LINEN-2", "KETTLE-STEEL"]
READ = """query($id: ID!) { order(id: $id) {
  id version status fulfillmentStatus paymentStatus
  subtotal { amount } shippingTotal { amount } shippingTax { amount } tax { amount } total { amount }
  lines { id sku quantity quantityFulfilled quantityCancelled quantityReturned tax { amount } }
  fulfillmentOrders { id status locationId: location { id } }
  returns { id status lines { id } }
} }"""
EDIT = """mutation($input: EditOrderInput!) { editOrder(input: $input) { userErrors { code } } }"""
CANCEL = """mutation($input: CancelOrderInput!) { cancelOrder(input: $input) { userErrors { code } } }"""
REQUEST = """mutation($input: RequestReturnInput!) {
  requestReturn(input: $input) { orderReturn { id lines { id } } userErrors { code } } }"""
APPROVE = """mutation($input: DecideReturnInput!) { approveReturn(input: $input) { userErrors { code } } }"""
RECEIVE = """mutation($input: ReceiveReturnInput!) { receiveReturn(input: $input) { userErrors { code } } }"""
GOODWILL = (
    """mutation($input: IssueAppeasementInput!) { issueAppeasement(input: $input) { userErrors { code } } }"""
)

steps = st.lists(
    st.one_of(
        st.tuples(st.just("edit"), st.integers(0, 3), st.integers(0, 4)),
        st.tuples(st.just("add"), st.sampled_from(SKUS), st.integers(1, 3)),
        st.tuples(st.just("cancel"), st.integers(0, 3), st.integers(1, 3)),
        st.tuples(st.just("ship"), st.integers(0, 3), st.integers(0, 1)),
        st.tuples(st.just("return"), st.integers(0, 3), st.sampled_from([1, 2])),
        st.tuples(st.just("goodwill"), st.integers(1, 2500), st.just(0)),
        st.tuples(st.just("relay"), st.just(0), st.just(0)),
    ),
    min_size=1,
    max_size=7,
)


async def gql(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = await execute(client, query, variables, token=AGENT)
    assert "errors" not in body, body  # data or userErrors: never an error
    data: dict[str, Any] = body["data"]
    for name, payload in data.items():
        if isinstance(payload, dict) and "userErrors" in payload:
            codes = sorted({e["code"] for e in payload["userErrors"]})
            event(f"{name}: {', '.join(codes) or 'done'}")  # what the sequences exercised
    return data


async def read(client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    order: dict[str, Any] = (await gql(client, READ, {"id": order_id}))["order"]
    return order


def key() -> str:
    return f"prop-{next(KEYS)}"


async def act(
    client: httpx.AsyncClient, services: Services, order: dict[str, Any], step: tuple[str, Any, Any]
) -> None:
    kind, a, b = step
    lines = order["lines"]
    line = lines[a % len(lines)] if isinstance(a, int) and lines else None
    if kind == "edit" and line is not None:
        change = {"lineId": line["id"], "quantity": b}
        await gql(
            client,
            EDIT,
            {"input": {"orderId": order["id"], "expectedVersion": order["version"], "lines": [change]}},
        )
    elif kind == "add":
        await gql(
            client,
            EDIT,
            {
                "input": {
                    "orderId": order["id"],
                    "expectedVersion": order["version"],
                    "addLines": [a_line(a, b)],
                }
            },
        )
    elif kind == "cancel" and line is not None:
        cut = {"lineId": line["id"], "quantity": b}
        await gql(client, CANCEL, {"input": {"orderId": order["id"], "reason": "STAFF", "lines": [cut]}})
    elif kind == "ship":
        waiting = [fo for fo in order["fulfillmentOrders"] if fo["status"] == "OPEN"]
        if waiting:
            fo_id = waiting[a % len(waiting)]["id"]
            for name in ("Accept", "StartPicking", "Pack"):
                await gql(client, operation(name), {"id": fo_id})
            await gql(client, operation("Ship"), {"input": {"fulfillmentOrderId": fo_id}})
            if b:  # the relay captures soon after a shipment; sometimes a later step comes first
                await relay_once(services, outbox_handlers(services))
    elif kind == "return" and line is not None and line["quantityFulfilled"] > line["quantityReturned"]:
        wanted = {
            "lineId": line["id"],
            "quantity": min(b, line["quantityFulfilled"]),
            "reason": "changed mind",
        }
        asked = (await gql(client, REQUEST, {"input": {"orderId": order["id"], "lines": [wanted]}}))[
            "requestReturn"
        ]
        if asked["orderReturn"] is not None:
            return_id = asked["orderReturn"]["id"]
            await gql(client, APPROVE, {"input": {"returnId": return_id}})
            location = order["fulfillmentOrders"][0]["locationId"]["id"]
            received = [
                {"lineId": item["id"], "disposition": "RESTOCK" if b == 1 else "DAMAGED"}
                for item in asked["orderReturn"]["lines"]
            ]
            await gql(
                client, RECEIVE, {"input": {"returnId": return_id, "locationId": location, "lines": received}}
            )
    elif kind == "goodwill":
        amount = str(Decimal(a) / 100)
        await gql(
            client,
            GOODWILL,
            {"input": {"orderId": order["id"], "amount": amount, "reason": "OTHER", "idempotencyKey": key()}},
        )
    elif kind == "relay":
        await relay_once(services, outbox_handlers(services))


async def check(services: Services, order: dict[str, Any]) -> None:
    money = {
        name: Decimal(order[name]["amount"])
        for name in ("subtotal", "shippingTotal", "shippingTax", "tax", "total")
    }
    assert money["total"] == money["subtotal"] + money["shippingTotal"] + money["tax"]
    assert (
        money["tax"] == sum(Decimal(line["tax"]["amount"]) for line in order["lines"]) + money["shippingTax"]
    )
    quantities = []
    for line in order["lines"]:
        fulfilled, cancelled, returned = (
            line["quantityFulfilled"],
            line["quantityCancelled"],
            line["quantityReturned"],
        )
        assert line["quantity"] - fulfilled - cancelled >= 0  # ordered = fulfilled + open + cancelled
        assert 0 <= returned <= fulfilled
        quantities.append(LineQuantities(line["quantity"], fulfilled, cancelled, returned))
    assert order["fulfillmentStatus"] == fulfillment_status(quantities).value
    async with services.store.read() as uow:
        ledger = (await uow.payments.by_order_ids([order["id"]])).get(order["id"], [])
        negative = (
            await uow.session.execute(
                sa.text("SELECT count(*) FROM inventory_positions WHERE on_hand < 0 OR allocated < 0")
            )
        ).scalar_one()
    assert negative == 0
    authorised, captured, refunded = (
        sum((e.amount for e in ledger if e.kind is kind), Decimal(0))
        for kind in (PaymentKind.AUTHORIZATION, PaymentKind.CAPTURE, PaymentKind.REFUND)
    )
    assert Decimal(0) <= refunded <= captured <= authorised
    expected: PaymentStatus = payment_status(list[PaymentTransaction](ledger), money["total"])
    assert order["paymentStatus"] == expected.value


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=steps)
async def test_random_sequences_keep_the_order_books_straight(
    client: httpx.AsyncClient, services: Services, sequence: list[tuple[str, Any, Any]]
) -> None:
    payment = {"provider": "sandbox", "token": "tok_visa"}
    body = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(lines=[a_line("MUG-BLUE", 3), a_line("PLATE-DINNER", 2)], payment=payment)},
        token=AGENT,
    )
    order = await read(client, body["data"]["placeOrder"]["order"]["id"])
    await check(services, order)
    for step in sequence:
        await act(client, services, order, step)
        order = await read(client, order["id"])
        await check(services, order)
