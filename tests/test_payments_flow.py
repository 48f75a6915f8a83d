"""Money through the order's life: authorised at placement (the contract's test tokens),
captured as units leave, voided on cancellation, refunded on return; the payment status is
derived from the ledger, and the contract's OrderDetail shows it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ordergate.bootstrap import Sandboxes
from ordergate.models.outbox import PAYMENT_CAPTURE
from ordergate.sandbox.payments import PaymentsSandbox
from ordergate.usecases.payments import do_payment_task
from ordergate.usecases.services import Services
from ordergate.workers.handlers import outbox_handlers
from ordergate.workers.relay import relay_once
from tests.builders import a_line, a_token, an_order_input
from tests.contract import operation
from tests.flows import send_back
from tests.graphql_client import execute
from tests.test_fulfillment import DALLAS, location_ids, step
from tests.test_inventory import only_at

pytestmark = pytest.mark.no_relay

AGENT = a_token("agent")


def sandbox(sandboxes: Sandboxes) -> PaymentsSandbox:
    assert sandboxes.payments is not None
    return sandboxes.payments


async def place(client: httpx.AsyncClient, card: str = "tok_visa", **overrides: Any) -> dict[str, Any]:
    payment = {"provider": "sandbox", "token": card, **overrides.pop("payment", {})}
    body = await execute(
        client, operation("PlaceOrder"), {"input": an_order_input(payment=payment, **overrides)}, token=AGENT
    )
    payload: dict[str, Any] = body["data"]["placeOrder"]
    return payload


async def detail(client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    body = await execute(client, operation("OrderDetail"), {"id": order_id}, token=AGENT)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["order"]
    return found


async def status(client: httpx.AsyncClient, order_id: str) -> str:
    body = await execute(
        client, "query($id: ID!) { order(id: $id) { paymentStatus } }", {"id": order_id}, token=AGENT
    )
    return str(body["data"]["order"]["paymentStatus"])


async def orders_stored(services: Services) -> int:
    async with services.store.read() as uow:
        return int((await uow.session.execute(sa.text("SELECT count(*) FROM orders"))).scalar_one())


async def ship(client: httpx.AsyncClient, order: dict[str, Any]) -> None:
    fo_id = order["fulfillmentOrders"][0]["id"]
    for name in ("Accept", "StartPicking", "Pack"):
        await step(client, name, DALLAS, id=fo_id)
    shipped = await execute(client, operation("Ship"), {"input": {"fulfillmentOrderId": fo_id}}, token=DALLAS)
    assert shipped["data"]["shipFulfillmentOrder"]["userErrors"] == []


async def test_an_order_is_authorised_for_its_total_then_captured_when_it_ships(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    placed = await place(client)
    order = placed["order"]
    total = Decimal(order["total"]["amount"])
    authorised = await detail(client, order["id"])
    await ship(client, order)
    waiting = await detail(client, order["id"])

    await relay_once(services, outbox_handlers(services))
    await relay_once(services, outbox_handlers(services))  # nothing is captured twice

    assert placed["userErrors"] == []
    assert order["paymentStatus"] == "AUTHORIZED"
    assert [(p["kind"], p["status"], Decimal(p["amount"]["amount"])) for p in authorised["payments"]] == [
        ("AUTHORIZATION", "SUCCEEDED", total)
    ]
    assert [(p["kind"], p["status"]) for p in waiting["payments"]][-1] == ("CAPTURE", "PENDING")
    paid = await detail(client, order["id"])
    assert [(p["kind"], p["status"], Decimal(p["amount"]["amount"])) for p in paid["payments"]] == [
        ("AUTHORIZATION", "SUCCEEDED", total),
        ("CAPTURE", "SUCCEEDED", total),
    ]
    assert await status(client, order["id"]) == "PAID"
    [intent] = sandbox(sandboxes).intents.values()
    assert (intent.amount, intent.captures) == (int(total * 100), [int(total * 100)])


@pytest.mark.parametrize(
    ("token", "code"), [("tok_declined", "PAYMENT_DECLINED"), ("tok_error", "UPSTREAM_UNAVAILABLE")]
)
async def test_a_card_that_fails_takes_no_order(
    client: httpx.AsyncClient, services: Services, token: str, code: str
) -> None:
    placed = await place(client, token)

    assert placed["order"] is None
    assert [e["code"] for e in placed["userErrors"]] == [code]
    assert await orders_stored(services) == 0


async def test_an_amount_that_is_not_the_total_is_refused(
    client: httpx.AsyncClient, sandboxes: Sandboxes
) -> None:
    placed = await place(client, payment={"amount": "1.00"})

    assert [(e["code"], e["field"]) for e in placed["userErrors"]] == [
        ("PAYMENT_AMOUNT_MISMATCH", ["input", "payment", "amount"])
    ]
    assert sandbox(sandboxes).intents == {}


async def test_a_repeat_authorises_once_and_an_order_not_taken_releases_the_card(
    client: httpx.AsyncClient, sandboxes: Sandboxes
) -> None:
    first = await place(client, idempotencyKey="same-key")
    again = await place(client, idempotencyKey="same-key")
    huge = await place(client, lines=[a_line("MUG-BLUE", 999)], idempotencyKey="no-stock")

    assert again["order"]["id"] == first["order"]["id"]
    assert [e["code"] for e in huge["userErrors"]] == ["INSUFFICIENT_STOCK"]
    statuses = sorted(intent.status for intent in sandbox(sandboxes).intents.values())
    # the repeat made no second intent; the order that could not be taken released its hold
    assert statuses.count("canceled") == 1
    assert len(statuses) == 2


async def test_cancelling_before_anything_ships_voids_the_authorisation(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = (await place(client))["order"]
    body = await execute(
        client,
        operation("CancelMyOrder"),
        {"input": {"orderId": order["id"], "reason": "CUSTOMER"}},
        token=AGENT,
    )
    assert body["data"]["cancelOrder"]["userErrors"] == []

    await relay_once(services, outbox_handlers(services))

    assert await status(client, order["id"]) == "VOIDED"
    [intent] = sandbox(sandboxes).intents.values()
    assert (intent.status, intent.captures) == ("canceled", [])


EDIT_PREVIEW = """mutation($input: EditOrderInput!) { editOrder(input: $input) {
  totalAfter { amount } userErrors { code } } }"""
LINES = "query($id: ID!) { order(id: $id) { version lines { id sku } } }"
MONEY = """query($id: ID!) { order(id: $id) {
  total { amount } paymentStatus payments { kind status amount { amount } } } }"""


async def money(client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    body = await execute(client, MONEY, {"id": order_id}, token=AGENT)
    found: dict[str, Any] = body["data"]["order"]
    return found


async def line_of(client: httpx.AsyncClient, order_id: str, sku: str) -> tuple[str, int]:
    body = await execute(client, LINES, {"id": order_id}, token=AGENT)
    found = body["data"]["order"]
    return next(line["id"] for line in found["lines"] if line["sku"] == sku), found["version"]


async def test_a_partial_cancel_prices_the_order_again_and_it_ends_paid_with_the_rest_released(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    lines = [a_line("MUG-BLUE", 2)]
    order = (await place(client, lines=lines))["order"]
    twin = (await place(client, lines=lines))["order"]
    mug, _ = await line_of(client, order["id"], "MUG-BLUE")
    twin_mug, twin_version = await line_of(client, twin["id"], "MUG-BLUE")
    # the same change asked of editOrder (a preview of the twin order) prices it the same
    preview = await execute(
        client,
        EDIT_PREVIEW,
        {
            "input": {
                "orderId": twin["id"],
                "expectedVersion": twin_version,
                "lines": [{"lineId": twin_mug, "quantity": 1}],
                "dryRun": True,
            }
        },
        token=AGENT,
    )

    body = await execute(
        client,
        operation("CancelMyOrder"),
        {"input": {"orderId": order["id"], "reason": "CUSTOMER", "lines": [{"lineId": mug, "quantity": 1}]}},
        token=AGENT,
    )
    assert body["data"]["cancelOrder"]["userErrors"] == []
    cancelled = await money(client, order["id"])
    await ship(client, order)
    await relay_once(services, outbox_handlers(services))
    await relay_once(services, outbox_handlers(services))
    paid = await money(client, order["id"])

    # 2 x 14.00 + 7.95 shipping, 6.25% Texas tax on each part: 1.75 + 0.50
    assert order["total"]["amount"] == "38.20"
    # 14.00 + the 7.95 the order bought its delivery for + 0.88 + 0.50
    assert cancelled["total"]["amount"] == "23.33"
    assert preview["data"]["editOrder"]["totalAfter"]["amount"] == "23.33"
    assert [(p["kind"], p["status"], p["amount"]["amount"]) for p in paid["payments"]] == [
        ("AUTHORIZATION", "SUCCEEDED", "38.20"),
        ("CAPTURE", "SUCCEEDED", "23.33"),
        ("VOID", "SUCCEEDED", "14.87"),
    ]
    assert paid["paymentStatus"] == "PAID"
    intent = next(i for i in sandbox(sandboxes).intents.values() if i.amount_received)
    assert (intent.captures, intent.amount_released, intent.status) == ([2333], 1487, "canceled")


async def test_a_whole_cancel_charges_nothing_and_releases_the_whole_hold(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = (await place(client))["order"]
    body = await execute(
        client,
        operation("CancelMyOrder"),
        {"input": {"orderId": order["id"], "reason": "CUSTOMER"}},
        token=AGENT,
    )
    await relay_once(services, outbox_handlers(services))
    after = await money(client, order["id"])

    assert body["data"]["cancelOrder"]["userErrors"] == []
    assert (after["total"]["amount"], after["paymentStatus"]) == ("0.00", "VOIDED")
    assert [(p["kind"], p["amount"]["amount"]) for p in after["payments"]] == [
        ("AUTHORIZATION", order["total"]["amount"]),
        ("VOID", order["total"]["amount"]),
    ]


async def test_a_received_return_is_refunded_its_share(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = (await place(client, lines=[a_line("MUG-BLUE", 2)]))["order"]
    await ship(client, order)
    await relay_once(services, outbox_handlers(services))
    found = await detail(client, order["id"])
    mug = found["lines"][0]["id"]
    received = await send_back(
        client, order["id"], mug, (await location_ids(client))["DC-DFW"], receiver=DALLAS
    )
    assert received["userErrors"] == []

    await relay_once(services, outbox_handlers(services))

    total = Decimal(order["total"]["amount"])
    refunds = [
        Decimal(p["amount"]["amount"])
        for p in (await detail(client, order["id"]))["payments"]
        if p["kind"] == "REFUND"
    ]
    assert refunds == [
        (total / 2).quantize(Decimal("0.01"))
    ]  # one of two units, with its share of tax and shipping
    assert await status(client, order["id"]) == "PARTIALLY_REFUNDED"
    [intent] = sandbox(sandboxes).intents.values()
    assert sum(intent.refunds) == int(refunds[0] * 100)


def authorisations_asked(sandboxes: Sandboxes) -> int:
    """Requests to create a payment intent, replays included."""
    return sum(1 for call in sandbox(sandboxes).calls if call.path == "/v1/payment_intents")


async def kinds(client: httpx.AsyncClient, order_id: str) -> list[str]:
    return [p["kind"] for p in (await detail(client, order_id))["payments"]]


@pytest.mark.parametrize(
    "changed",
    [{"externalReference": "PO-2"}, {"customer": {"email": "ann@example.com", "firstName": "Annie"}}],
    ids=["reference", "first-name"],
)
async def test_a_key_reused_with_a_changed_field_leaves_the_first_order_capturable(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, changed: dict[str, Any]
) -> None:
    order = (await place(client, idempotencyKey="reused", externalReference="PO-1"))["order"]

    reused = await place(client, **{"idempotencyKey": "reused", "externalReference": "PO-1", **changed})

    assert reused["order"] is None
    assert [(e["code"], e["field"]) for e in reused["userErrors"]] == [
        ("IDEMPOTENCY_KEY_REUSED", ["input", "idempotencyKey"])
    ]  # same amount: the card would have been the same
    assert await kinds(client, order["id"]) == ["AUTHORIZATION"]
    [intent] = sandbox(sandboxes).intents.values()
    assert (intent.status, intent.amount_capturable) == ("requires_capture", intent.amount)
    assert authorisations_asked(sandboxes) == 1
    await ship(client, order)
    await relay_once(services, outbox_handlers(services))
    assert await status(client, order["id"]) == "PAID"
    assert await kinds(client, order["id"]) == ["AUTHORIZATION", "CAPTURE"]
    assert intent.captures == [intent.amount]


async def test_a_key_reused_for_another_amount_is_refused_as_reused_and_authorises_nothing(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = (await place(client, idempotencyKey="reused"))["order"]

    reused = await place(client, idempotencyKey="reused", lines=[a_line("MUG-BLUE", 3)])

    assert [e["code"] for e in reused["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert authorisations_asked(sandboxes) == 1
    [intent] = sandbox(sandboxes).intents.values()
    assert intent.status == "requires_capture"
    assert await kinds(client, order["id"]) == ["AUTHORIZATION"]
    assert await orders_stored(services) == 1


@pytest.mark.parametrize(
    ("card", "lines", "code"),
    [
        ("tok_visa", [a_line("MUG-BLUE", 999)], "INSUFFICIENT_STOCK"),  # authorised, then voided
        ("tok_declined", [a_line("MUG-BLUE", 2)], "PAYMENT_DECLINED"),  # the provider kept its answer
    ],
    ids=["no-stock", "declined"],
)
async def test_a_corrected_retry_under_the_key_of_a_failed_order_holds_a_live_authorisation(
    client: httpx.AsyncClient, sandboxes: Sandboxes, card: str, lines: list[dict[str, Any]], code: str
) -> None:
    failed = await place(client, card, idempotencyKey="retried", lines=lines)

    retried = await place(client, idempotencyKey="retried", lines=[a_line("MUG-BLUE", 2)])

    assert [e["code"] for e in failed["userErrors"]] == [code]
    assert retried["userErrors"] == []
    order = retried["order"]
    assert order["paymentStatus"] == "AUTHORIZED"
    body = await execute(
        client,
        "query($id: ID!) { order(id: $id) { payments { kind reference } } }",
        {"id": order["id"]},
        token=AGENT,
    )
    [authorisation] = body["data"]["order"]["payments"]
    assert authorisation["kind"] == "AUTHORIZATION"
    live = sandbox(sandboxes).intents[authorisation["reference"]]
    assert (live.status, live.amount_capturable) == ("requires_capture", live.amount)
    assert live.amount == int(Decimal(order["total"]["amount"]) * 100)


async def test_customers_never_see_why_the_provider_failed_staff_do(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = (await place(client))["order"]
    await ship(client, order)

    async def provider_down(_services: Services, _task: Any) -> str:
        raise ConnectionError("stripe_like.StripeLikeProvider /opt/ordergate/connectors/payments.py: refused")

    await relay_once(services, {**outbox_handlers(services), PAYMENT_CAPTURE: provider_down})
    query = "query($id: ID!) { order(id: $id) { payments { kind status lastError } } }"
    as_agent = await execute(client, query, {"id": order["id"]}, token=AGENT)
    as_owner = await execute(
        client, query, {"id": order["id"]}, token=a_token("customer", email="ann@example.com")
    )

    agent_sees = as_agent["data"]["order"]["payments"][-1]
    owner_sees = as_owner["data"]["order"]["payments"][-1]
    assert (agent_sees["kind"], agent_sees["status"]) == ("CAPTURE", "PENDING")
    assert "ConnectionError" in agent_sees["lastError"]
    assert (owner_sees["kind"], owner_sees["status"]) == ("CAPTURE", "PENDING")
    assert owner_sees["lastError"] == "not confirmed by the payment provider yet; retrying"


async def test_a_capture_recorded_before_the_relay_settles_its_task_shows_once(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = (await place(client))["order"]
    await ship(client, order)
    async with services.store.read() as uow:
        [task] = await uow.outbox.with_key_prefixes([f"{order['id']}:payment."])

    await do_payment_task(services, task)  # the handler's work, not yet settled by the relay

    paid = await detail(client, order["id"])
    assert [(p["kind"], p["status"]) for p in paid["payments"]] == [
        ("AUTHORIZATION", "SUCCEEDED"),
        ("CAPTURE", "SUCCEEDED"),
    ]


async def test_cancelling_what_was_left_after_a_partial_shipment_leaves_the_order_paid_at_once(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    """A capture for what shipped, then the rest cancelled: the new total is what was captured,
    so the payment status says PAID in the cancel's own transaction, as the ledger does (it used
    to stay PARTIALLY_PAID until the leftover hold was released by the relay)."""
    await only_at(services, sandboxes, "LAMP-DESK", "DC-DFW", 5)
    await only_at(services, sandboxes, "POT-DUTCH-5", "DC-EWR", 5)
    order = (await place(client, lines=[a_line("LAMP-DESK", 1), a_line("POT-DUTCH-5", 1)]))["order"]
    dallas = next(fo for fo in order["fulfillmentOrders"] if fo["location"]["code"] == "DC-DFW")
    await ship(client, {"fulfillmentOrders": [dallas]})
    await relay_once(services, outbox_handlers(services))  # the capture of what shipped
    shipped = await money(client, order["id"])
    pot, _ = await line_of(client, order["id"], "POT-DUTCH-5")

    body = await execute(
        client,
        operation("CancelMyOrder"),
        {"input": {"orderId": order["id"], "reason": "CUSTOMER", "lines": [{"lineId": pot, "quantity": 1}]}},
        token=AGENT,
    )
    cancelled = await money(client, order["id"])
    await relay_once(services, outbox_handlers(services))  # the rest of the hold released
    settled = await money(client, order["id"])

    assert body["data"]["cancelOrder"]["userErrors"] == []
    assert len(order["fulfillmentOrders"]) == 2
    assert shipped["paymentStatus"] == "PARTIALLY_PAID"
    captured = [p["amount"]["amount"] for p in shipped["payments"] if p["kind"] == "CAPTURE"]
    assert captured == [cancelled["total"]["amount"]]
    assert cancelled["paymentStatus"] == "PAID"
    assert settled["paymentStatus"] == "PAID"
    assert [p["kind"] for p in settled["payments"]] == ["AUTHORIZATION", "CAPTURE", "VOID"]


async def test_a_capture_still_to_be_made_when_the_rest_is_cancelled_takes_no_more_than_the_new_total(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    """Three mugs ship from Dallas and their capture is promised as their share of the order:
    44.63 of 102.00. The vase is cancelled before the relay makes that capture: the order is
    now three mugs, priced again at 44.62 (their tax rounds on its own). The capture takes
    44.62, not the 44.63 promised; the customer is never charged a cent past the total."""
    await only_at(services, sandboxes, "MUG-BLUE", "DC-DFW", 5)
    await only_at(services, sandboxes, "VASE-CERAMIC", "DC-EWR", 5)
    order = (await place(client, lines=[a_line("MUG-BLUE", 3), a_line("VASE-CERAMIC", 1)]))["order"]
    dallas = next(fo for fo in order["fulfillmentOrders"] if fo["location"]["code"] == "DC-DFW")
    await ship(client, {"fulfillmentOrders": [dallas]})
    vase, _ = await line_of(client, order["id"], "VASE-CERAMIC")
    async with services.store.read() as uow:
        [promised] = await uow.outbox.with_key_prefixes([f"{order['id']}:payment.capture:"])

    body = await execute(
        client,
        operation("CancelMyOrder"),
        {"input": {"orderId": order["id"], "reason": "CUSTOMER", "lines": [{"lineId": vase, "quantity": 1}]}},
        token=AGENT,
    )
    await relay_once(services, outbox_handlers(services))
    settled = await money(client, order["id"])

    assert body["data"]["cancelOrder"]["userErrors"] == []
    assert (order["total"]["amount"], promised.payload["amount"]) == ("102.00", "44.63")
    assert settled["total"]["amount"] == "44.62"
    assert [(p["kind"], p["amount"]["amount"]) for p in settled["payments"]] == [
        ("AUTHORIZATION", "102.00"),
        ("CAPTURE", "44.62"),
        ("VOID", "57.38"),
    ]
    assert settled["paymentStatus"] == "PAID"
    [intent] = sandbox(sandboxes).intents.values()
    assert intent.captures == [4462]  # what the card was charged, in cents
