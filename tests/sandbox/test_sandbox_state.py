"""Each sandbox's whole state goes to JSON and back: a restored sandbox answers as the old one
did, carries on where it was (parcels keep moving) and never hands out an id twice."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from email.message import EmailMessage
from typing import Any, TypeVar

import aiosmtplib
import httpx
import pytest

from ordergate.sandbox.bigcommerce import BigCommerceSandbox
from ordergate.sandbox.katana import KatanaSandbox
from ordergate.sandbox.keeper import Snapshotting
from ordergate.sandbox.mail import MailSink
from ordergate.sandbox.payments import PaymentsSandbox
from ordergate.sandbox.shipengine import TRACKING_STEPS, ShipEngineSandbox
from ordergate.sandbox.ups import UpsSandbox
from tests.sandbox.test_payments_sandbox import authorised
from tests.sandbox.test_shipengine_sandbox import AUTH as SHIPENGINE_AUTH
from tests.sandbox.test_shipengine_sandbox import FakeClock, label_request
from tests.sandbox.test_ups_sandbox import (
    ACCOUNT,
    CLIENT_ID,
    CLIENT_SECRET,
    TOKEN_PATH,
    a_ship_request,
    basic,
)

S = TypeVar("S", bound=Snapshotting)
STEP = 30.0
BIGCOMMERCE_AUTH = {"X-Auth-Token": "bigcommerce"}
KATANA_AUTH = {"Authorization": "Bearer katana"}


def reborn(sandbox: Snapshotting, fresh: S) -> S:
    """`fresh`, restored from what `sandbox` saved, through JSON text as on disk."""
    state = json.loads(json.dumps(sandbox.to_state(), allow_nan=False))
    fresh.restore(state)
    assert json.loads(json.dumps(fresh.to_state())) == state
    return fresh


def recorder(received: list[httpx.Request]) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def hooks() -> AsyncIterator[httpx.AsyncClient]:
    async with recorder([]) as client:
        yield client


def client_of(app: Any, **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test", headers=headers
    )


# -- ShipEngine ------------------------------------------------------------------------------------


def a_shipengine(clock: FakeClock, hooks: httpx.AsyncClient) -> ShipEngineSandbox:
    return ShipEngineSandbox(clock=clock, step_seconds=STEP, webhook_client=hooks)


async def test_a_restored_shipengine_label_moves_on_from_its_step_and_no_tracking_number_comes_again(
    clock: FakeClock, hooks: httpx.AsyncClient
) -> None:
    before = a_shipengine(clock, hooks)
    async with client_of(before.app, **SHIPENGINE_AUTH) as http:
        first = (await http.post("/v1/labels", json=label_request())).json()
    clock.now += STEP
    assert await before.advance() == 1

    after = reborn(before, a_shipengine(clock, hooks))
    received: list[httpx.Request] = []
    after.webhook_client = recorder(received)
    after.register_webhook("https://ordergate.test/webhooks/shipengine")
    async with after.webhook_client, client_of(after.app, **SHIPENGINE_AUTH) as http:
        tracked = await http.get("/v1/tracking", params={"tracking_number": first["tracking_number"]})
        assert tracked.json()["status_code"] == "AC"
        for _ in TRACKING_STEPS[1:]:
            clock.now += STEP
            assert await after.advance() == 1
        second = (await http.post("/v1/labels", json=label_request())).json()

    label = after.label_for(first["tracking_number"])
    assert label.delivered
    assert [event["status_code"] for event in label.events] == ["AC", "IT", "IT", "DE"]
    assert [json.loads(request.content)["data"]["status_code"] for request in received] == ["IT", "IT", "DE"]
    assert second["tracking_number"] != first["tracking_number"]
    assert second["label_id"] != first["label_id"]
    assert after.purchases == 2


async def test_shipengine_state_of_another_shape_is_refused_and_changes_nothing(
    clock: FakeClock, hooks: httpx.AsyncClient
) -> None:
    sandbox = a_shipengine(clock, hooks)
    async with client_of(sandbox.app, **SHIPENGINE_AUTH) as http:
        await http.post("/v1/labels", json=label_request())
    kept = sandbox.to_state()
    broken = json.loads(json.dumps(kept))
    broken["labels"][0]["step"] = len(TRACKING_STEPS) + 1

    with pytest.raises(ValueError, match="past the last"):
        sandbox.restore(broken)
    with pytest.raises(KeyError):
        sandbox.restore({"labels": []})

    assert sandbox.to_state() == kept


# -- UPS -------------------------------------------------------------------------------------------


def a_ups(clock: FakeClock, hooks: httpx.AsyncClient) -> UpsSandbox:
    return UpsSandbox(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        account_number=ACCOUNT,
        clock=clock,
        step_seconds=STEP,
        webhook_client=hooks,
    )


async def ship_with_ups(sandbox: UpsSandbox) -> str:
    async with client_of(sandbox.app) as http:
        token = await http.post(TOKEN_PATH, content=b"grant_type=client_credentials", headers=basic())
        headers = {"Authorization": f"Bearer {token.json()['access_token']}", "transId": "0" * 32}
        shipped = await http.post(
            "/api/shipments/v2409/ship", json=a_ship_request(), headers=headers | {"transactionSrc": "tests"}
        )
    assert shipped.status_code == 200, shipped.text
    number: str = shipped.json()["ShipmentResponse"]["ShipmentResults"]["PackageResults"][0]["TrackingNumber"]
    return number


async def test_a_restored_ups_parcel_moves_on_from_its_scan_and_no_tracking_number_comes_again(
    clock: FakeClock, hooks: httpx.AsyncClient
) -> None:
    before = a_ups(clock, hooks)
    first = await ship_with_ups(before)
    clock.now += STEP
    assert await before.advance() == 1

    after = reborn(before, a_ups(clock, hooks))
    assert after.parcels[first].steps_taken == 1
    clock.now += 10 * STEP
    await after.advance()
    second = await ship_with_ups(after)

    assert after.parcels[first].delivered
    assert second != first
    assert (after.labels_purchased, after.tokens_issued) == (2, 2)


# -- Katana ----------------------------------------------------------------------------------------


async def test_a_restored_katana_keeps_its_stock_and_sales_orders_and_numbers_on(clock: FakeClock) -> None:
    before = KatanaSandbox(clock=clock)
    await before.set_on_hand("MUG-BLUE", "DC-EWR", 7)
    mug = before.variant_for("MUG-BLUE").id
    async with client_of(before.app, **KATANA_AUTH) as http:
        customer = (
            await http.post("/customers", json={"name": "Ann Lee", "email": "ann@example.com"})
        ).json()
        order = {"customer_id": customer["id"], "location_id": 1, "ecommerce_order_id": "og-1"}
        rows = [{"variant_id": mug, "quantity": 2}]
        first = (await http.post("/sales_orders", json=order | {"sales_order_rows": rows})).json()
    await before.receive_purchase_order("PO-1001")

    after = reborn(before, KatanaSandbox(clock=clock))
    async with client_of(after.app, **KATANA_AUTH) as http:
        found = (await http.get("/sales_orders", params={"ecommerce_order_id": "og-1"})).json()["data"]
        second = (await http.post("/sales_orders", json=order | {"sales_order_rows": rows})).json()

    assert after.on_hand("MUG-BLUE", "DC-EWR") == 7 + 120  # set, then PO-1001's 120 received
    assert after.purchase_order("PO-1001").status == "RECEIVED"
    assert [o["id"] for o in found] == [first["id"]]
    assert found[0]["sales_order_rows"][0]["quantity"] == 2
    assert second["id"] == first["id"] + 1
    assert (before.committed[(mug, 1)], after.committed[(mug, 1)]) == (Decimal(2), Decimal(4))


# -- BigCommerce -----------------------------------------------------------------------------------


async def test_a_restored_bigcommerce_store_keeps_its_orders_and_numbers_on(
    clock: FakeClock, hooks: httpx.AsyncClient
) -> None:
    before = BigCommerceSandbox(clock=clock, webhook_client=hooks)
    mug = before.product_for("MUG-BLUE")
    body = {
        "customer_id": 4,
        "status_id": 11,
        "billing_address": {
            "first_name": "Diego",
            "last_name": "Ramirez",
            "zip": "75204",
            "email": "d@example.com",
        },
        "products": [{"product_id": mug.id, "variant_id": mug.variant_id, "quantity": 3}],
    }
    async with client_of(before.app, **BIGCOMMERCE_AUTH) as http:
        first = (await http.post("/v2/orders", json=body)).json()
        order = before.orders[first["id"]]
        item = {"order_product_id": order.lines[0].id, "quantity": 1}
        shipment = {
            "order_address_id": order.shipping_addresses[0]["id"],
            "tracking_number": "T1",
            "items": [item],
        }
        assert (await http.post(f"/v2/orders/{first['id']}/shipments", json=shipment)).status_code == 201
        await before.refund(first["id"], Decimal("2.50"))  # the merchant gave some back
        answered = (await http.get(f"/v2/orders/{first['id']}")).json()

    after = reborn(before, BigCommerceSandbox(clock=clock, webhook_client=hooks))
    async with client_of(after.app, **BIGCOMMERCE_AUTH) as http:
        again = (await http.get(f"/v2/orders/{first['id']}")).json()
        shipments = (await http.get(f"/v2/orders/{first['id']}/shipments")).json()
        second = (await http.post("/v2/orders", json=body)).json()

    assert again == answered
    assert answered["status_id"] == 14  # partially refunded (it was partially shipped)
    assert answered["items_shipped"] == 1
    assert (answered["refunded_amount"], answered["payment_status"]) == ("2.5000", "partially refunded")
    assert [shipment["tracking_number"] for shipment in shipments] == ["T1"]
    assert second["id"] == first["id"] + 1
    assert after.orders[first["id"]].lines[0].price == mug.price


# -- payments --------------------------------------------------------------------------------------


async def test_restored_payment_intents_keep_their_captures_and_replay_their_idempotency_keys() -> None:
    before = PaymentsSandbox()
    async with client_of(before.app, Authorization="Bearer sk_test_sandbox") as http:
        intent_id = await authorised(http, amount=10000, key="auth-1")
        captured = await http.post(
            f"/v1/payment_intents/{intent_id}/capture",
            data={"amount_to_capture": 4000, "final_capture": "false"},
        )
        assert captured.status_code == 200, captured.text

    after = reborn(before, PaymentsSandbox())
    async with client_of(after.app, Authorization="Bearer sk_test_sandbox") as http:
        read = (await http.get(f"/v1/payment_intents/{intent_id}")).json()
        replayed = await authorised(http, amount=10000, key="auth-1")

    assert (read["amount_received"], read["amount_capturable"], read["status"]) == (
        4000,
        6000,
        "requires_capture",
    )
    assert replayed == intent_id
    assert list(after.intents) == [intent_id]


async def test_the_mail_sink_keeps_what_it_received_and_numbers_on() -> None:
    sink = MailSink()
    await sink.start()
    try:
        for subject in ("Your order OG-1 is confirmed", "Your order OG-1 has shipped"):
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = (
                "shop@example.com",
                "ann@example.com",
                subject,
            )
            message.set_content(f"{subject}\nhttps://shop.example/orders/OG-1?t=x\n")
            await aiosmtplib.send(message, hostname="127.0.0.1", port=sink.port)
    finally:
        await sink.aclose()

    again = reborn(sink, MailSink())

    assert [mail.subject for mail in again.received] == [
        "Your order OG-1 is confirmed",
        "Your order OG-1 has shipped",
    ]
    assert again.received[1].links == ["https://shop.example/orders/OG-1?t=x"]
    with pytest.raises((KeyError, ValueError)):
        MailSink().restore({"count": 1, "received": sink.to_state()["received"]})
    await again.start()
    try:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = (
            "shop@example.com",
            "ann@example.com",
            "Delivered",
        )
        message.set_content("Delivered")
        await aiosmtplib.send(message, hostname="127.0.0.1", port=again.port)
    finally:
        await again.aclose()
    assert [mail.number for mail in again.received] == [1, 2, 3]
