"""The ShipEngine connector against the ShipEngine sandbox, over HTTP (httpx's ASGI transport)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ordergate.connectors.carriers.base import Carrier, LabelRequest, Parcel, RateQuote, VoidResult
from ordergate.connectors.carriers.shipengine import (
    SECRET_HEADER,
    TRACKING_STATUS_BY_CODE,
    TRACKING_STATUS_BY_DETAIL,
    ShipEngineCarrier,
    tracking_status,
)
from ordergate.connectors.errors import (
    UpstreamProtocolError,
    UpstreamRejected,
    UpstreamUnavailable,
    WebhookRejected,
)
from ordergate.models.address import Address
from ordergate.models.shipment import TrackingStatus
from ordergate.sandbox.shipengine import SERVICES, ShipEngineSandbox
from tests import spec

TODAY = date(2026, 3, 2)
BASE = "http://shipengine.test"
API_KEY = "TEST_shipengine-key"
SECRET = "ordergate-shipengine-webhook-secret"
HOOK_URL = "https://ordergate.test/webhooks/shipengine"
SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
S = TrackingStatus


class FakeClock:
    """Wall and monotonic time in one; `sleep` moves it on and remembers for how long."""

    def __init__(self) -> None:
        self.now = datetime.combine(TODAY, datetime.min.time(), UTC).timestamp() + 8 * 3600
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Wire(httpx.AsyncBaseTransport):
    """The sandbox over ASGI, keeping every exchange; `lose` names requests ("POST /v1/labels")
    whose first answer is dropped after the sandbox processed them, as a cut connection would."""

    def __init__(self, sandbox: ShipEngineSandbox, lose: Sequence[str] = ()) -> None:
        self._asgi = httpx.ASGITransport(app=sandbox.app)
        self._lose = set(lose)
        self.exchanges: list[httpx.Response] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = await self._asgi.handle_async_request(request)
        response = httpx.Response(
            answer.status_code, headers=answer.headers, content=await answer.aread(), request=request
        )
        self.exchanges.append(response)
        label = f"{request.method} {request.url.path}"
        if label in self._lose:
            self._lose.discard(label)
            raise httpx.ReadError("connection reset after the request was processed", request=request)
        return response

    def sent(self) -> list[str]:
        return [f"{r.request.method} {r.request.url.path}" for r in self.exchanges]

    def clear(self) -> None:
        self.exchanges.clear()


class Endpoint:
    """A fake webhook receiver that keeps what it was sent."""

    def __init__(self) -> None:
        self.received: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        return httpx.Response(200)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> ShipEngineSandbox:
    return ShipEngineSandbox(api_key=API_KEY, clock=clock, signing_key=SIGNING_KEY)


@pytest.fixture
def wire(sandbox: ShipEngineSandbox) -> Wire:
    return Wire(sandbox)


def connect(
    transport: httpx.AsyncBaseTransport,
    clock: FakeClock,
    *,
    secret: str | None = SECRET,
    keys: dict[str, Any] | None = None,
    api_key: str = API_KEY,
) -> ShipEngineCarrier:
    return ShipEngineCarrier.create(
        BASE,
        api_key,
        transport=transport,
        webhook_secret=secret,
        webhook_keys=keys,
        clock=clock,
        wall_clock=clock,
        sleep=clock.sleep,
    )


@pytest.fixture
async def carrier(
    wire: Wire, clock: FakeClock, sandbox: ShipEngineSandbox
) -> AsyncIterator[ShipEngineCarrier]:
    carrier = connect(wire, clock, keys=sandbox.jwks())
    yield carrier
    await carrier.aclose()


def an_address(**overrides: Any) -> Address:
    fields: dict[str, Any] = {
        "name": "Ann Lee",
        "line1": "350 5th Ave",
        "city": "New York",
        "region": "NY",
        "postal_code": "10118",
        "country_code": "US",
        "phone": "+1 212-555-0100",
    }
    return Address(**{**fields, **overrides})


NEWARK = an_address(
    name="Newark DC", line1="1 Distribution Way", city="Newark", postal_code="07114", region="NJ"
)
MANHATTAN = an_address()
SANTA_MONICA = an_address(city="Santa Monica", region="CA", postal_code="90401", line1="1 Ocean Ave")


def a_label_request(reference: str = "fo-7c1e2d3a", **overrides: Any) -> LabelRequest:
    fields: dict[str, Any] = {
        "reference": reference,
        "service": "ups_ground",
        "ship_from": NEWARK,
        "ship_to": SANTA_MONICA,
        "parcels": [Parcel(weight_grams=1200)],
    }
    return LabelRequest(**{**fields, **overrides})


def test_the_connector_is_a_carrier(carrier: ShipEngineCarrier) -> None:
    assert isinstance(carrier, ShipEngineCarrier)
    typed: Carrier = carrier
    assert typed.name == "shipengine"


# -- rates -------------------------------------------------------------------------------------------


async def test_rates_quote_every_service_of_the_account_in_decimal_money(
    carrier: ShipEngineCarrier, wire: Wire
) -> None:
    quotes = await carrier.rates(NEWARK, SANTA_MONICA, [Parcel(weight_grams=1200)])

    by_service = {quote.service: quote for quote in quotes}
    assert set(by_service) == {service.code for service in SERVICES}
    ground = by_service["ups_ground"]
    # Zone 8 (Newark to Santa Monica is beyond 2,900 km), 3 started pounds: 9.85 + 7 * 1.15 + 2 * 0.95.
    assert (ground.amount, ground.currency, ground.delivery_days) == (Decimal("19.80"), "USD", 5)
    assert ground.estimated_delivery == TODAY + timedelta(days=5)
    assert all(type(quote.amount) is Decimal and quote.rate_id for quote in quotes)
    assert {quote.carrier for quote in quotes} == {"shipengine"}
    assert wire.sent() == ["GET /v1/carriers", "POST /v1/rates"]
    sent = json.loads(wire.exchanges[-1].request.content)
    assert sent["rate_options"] == {"carrier_ids": ["se-100001", "se-100002", "se-100003"]}


async def test_near_and_light_is_cheaper_than_far_and_heavy(carrier: ShipEngineCarrier, wire: Wire) -> None:
    near = await carrier.rates(NEWARK, MANHATTAN, [Parcel(weight_grams=400)])
    far = await carrier.rates(NEWARK, SANTA_MONICA, [Parcel(weight_grams=400)])
    heavy = await carrier.rates(NEWARK, SANTA_MONICA, [Parcel(weight_grams=400), Parcel(weight_grams=5000)])

    def price(quotes: Sequence[RateQuote], service: str) -> Decimal:
        return next(quote.amount for quote in quotes if quote.service == service)

    for service in ("ups_ground", "usps_priority_mail", "fedex_2day"):
        assert price(near, service) < price(far, service) < price(heavy, service)
    assert wire.sent().count("GET /v1/carriers") == 1


# -- labels ------------------------------------------------------------------------------------------


async def test_a_label_is_bought_once_and_a_repeat_returns_it(
    carrier: ShipEngineCarrier, sandbox: ShipEngineSandbox, wire: Wire
) -> None:
    label = await carrier.buy_label(a_label_request())
    again = await carrier.buy_label(a_label_request())

    assert again == label
    assert sandbox.purchases == 1
    [bought] = sandbox.labels_for("fo-7c1e2d3a")
    assert (label.tracking_number, label.carrier_shipment_id) == (
        bought.tracking_number,
        bought.shipment.shipment_id,
    )
    assert label.tracking_number.startswith("1Z")
    assert label.tracking_url == f"https://www.ups.com/track?tracknum={label.tracking_number}"
    assert label.label_url.startswith("https://api.shipengine.com/v1/downloads/")
    assert (label.carrier, label.service, label.cost, label.currency) == (
        "shipengine",
        "ups_ground",
        Decimal("19.80"),
        "USD",
    )
    assert wire.sent() == [
        "GET /v1/labels/external_shipment_id/fo-7c1e2d3a",
        "GET /v1/carriers",
        "POST /v1/labels",
        "GET /v1/labels/external_shipment_id/fo-7c1e2d3a",
    ]
    sent = json.loads(wire.exchanges[2].request.content)["shipment"]
    assert (sent["carrier_id"], sent["service_code"], sent["external_shipment_id"]) == (
        "se-100001",
        "ups_ground",
        "fo-7c1e2d3a",
    )


async def test_the_label_file_is_served_by_the_sandbox(clock: FakeClock) -> None:
    public = ShipEngineSandbox(api_key=API_KEY, clock=clock, public_url=f"{BASE}/sandbox/shipengine")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=public.app), base_url=BASE) as client:
        seller = connect(Wire(public), clock)
        label = await seller.buy_label(a_label_request())
        await seller.aclose()
        path = label.label_url.removeprefix(f"{BASE}/sandbox/shipengine")
        answer = await client.get(path)

    assert label.label_url.startswith(f"{BASE}/sandbox/shipengine/v1/downloads/")
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")


@pytest.mark.parametrize("path", ["shipment", "rate"])
async def test_a_purchase_whose_answer_was_lost_is_found_by_the_retry_and_bought_once(
    sandbox: ShipEngineSandbox, clock: FakeClock, path: str
) -> None:
    lossy = Wire(sandbox, lose=["POST /v1/labels", "POST /v1/labels/rates/se-rate-1"])
    carrier = connect(lossy, clock)
    request = a_label_request()
    if path == "rate":
        quotes = await carrier.rates(NEWARK, SANTA_MONICA, [Parcel(weight_grams=1200)])
        request = replace(request, rate_id=next(q.rate_id for q in quotes if q.service == "ups_ground"))

    with pytest.raises(UpstreamUnavailable):
        await carrier.buy_label(request)
    assert sandbox.purchases == 1
    retried = await carrier.buy_label(request)
    await carrier.aclose()

    [bought] = sandbox.labels.values()
    assert retried.tracking_number == bought.tracking_number
    assert sandbox.purchases == 1
    purchases = [line for line in lossy.sent() if line.startswith("POST /v1/labels")]
    assert len(purchases) == 1, "the connector never sends a purchase twice"


async def test_a_label_bought_from_a_rate_costs_the_rate(
    carrier: ShipEngineCarrier, sandbox: ShipEngineSandbox, wire: Wire
) -> None:
    quotes = await carrier.rates(NEWARK, MANHATTAN, [Parcel(weight_grams=900)])
    priority = next(quote for quote in quotes if quote.service == "usps_priority_mail")
    wire.clear()

    label = await carrier.buy_label(a_label_request(service="usps_priority_mail", rate_id=priority.rate_id))

    assert (label.service, label.cost) == ("usps_priority_mail", priority.amount)
    assert label.tracking_number.startswith("9400")
    assert wire.sent() == ["GET /v1/labels", f"POST /v1/labels/rates/{priority.rate_id}"]
    assert wire.exchanges[0].request.url.params["rate_id"] == priority.rate_id
    assert sandbox.purchases == 1


async def test_concurrent_purchases_of_one_reference_buy_one_label(
    carrier: ShipEngineCarrier, sandbox: ShipEngineSandbox
) -> None:
    labels = await asyncio.gather(*(carrier.buy_label(a_label_request()) for _ in range(5)))

    assert len({label.tracking_number for label in labels}) == 1
    assert sandbox.purchases == 1


async def test_a_reference_longer_than_shipengine_keeps_is_still_found(
    carrier: ShipEngineCarrier, sandbox: ShipEngineSandbox
) -> None:
    reference = "fulfillment-order/" + "9" * 60

    first = await carrier.buy_label(a_label_request(reference))
    again = await carrier.buy_label(a_label_request(reference))

    assert first == again
    assert sandbox.purchases == 1


def a_fake_shipengine(answers: dict[str, Any], sent: list[str]) -> httpx.MockTransport:
    """ShipEngine answering `{"METHOD /path": (status, body)}`, keeping what it was sent."""

    def shipengine(request: httpx.Request) -> httpx.Response:
        key = f"{request.method} {request.url.path}"
        sent.append(key)
        status, body = answers[key]
        return httpx.Response(status, json=body)

    return httpx.MockTransport(shipengine)


UPS_ACCOUNT = {"carrier_id": "se-1", "carrier_code": "ups", "services": [{"service_code": "ups_ground"}]}
CARRIERS_ANSWER = (200, {"carriers": [UPS_ACCOUNT]})


def a_label_record(tracking_number: str, **overrides: Any) -> dict[str, Any]:
    return {
        "label_id": "se-label-1",
        "status": "completed",
        "voided": False,
        "shipment_id": "se-shipment-1",
        "tracking_number": tracking_number,
        "carrier_code": "ups",
        "service_code": "ups_ground",
        "shipment_cost": {"currency": "usd", "amount": 12.5},
        "insurance_cost": {"currency": "usd", "amount": 0.0},
        "label_download": {"href": "https://api.shipengine.com/v1/downloads/1/a/label.pdf"},
        **overrides,
    }


async def test_a_voided_label_for_the_reference_is_not_returned_a_new_one_is_bought(clock: FakeClock) -> None:
    sent: list[str] = []
    shipengine = a_fake_shipengine(
        {
            "GET /v1/labels/external_shipment_id/fo-7c1e2d3a": (200, a_label_record("1ZOLD", voided=True)),
            "GET /v1/carriers": CARRIERS_ANSWER,
            "POST /v1/labels": (200, a_label_record("1ZNEW")),
        },
        sent,
    )
    carrier = connect(shipengine, clock)

    label = await carrier.buy_label(a_label_request())
    await carrier.aclose()

    assert (label.tracking_number, label.cost, label.currency) == ("1ZNEW", Decimal("12.5"), "USD")
    assert label.label_url == "https://api.shipengine.com/v1/downloads/1/a/label.pdf"
    assert sent.count("POST /v1/labels") == 1


async def test_rates_that_all_failed_are_a_rejection_with_shipengine_s_reasons(clock: FakeClock) -> None:
    failed = {
        "rate_response": {
            "rates": [],
            "status": "error",
            "errors": [{"message": "Invalid postal code", "error_code": "invalid_address"}],
        }
    }
    shipengine = a_fake_shipengine({"GET /v1/carriers": CARRIERS_ANSWER, "POST /v1/rates": (200, failed)}, [])
    carrier = connect(shipengine, clock)

    with pytest.raises(UpstreamRejected) as caught:
        await carrier.rates(NEWARK, MANHATTAN, [Parcel(weight_grams=500)])
    await carrier.aclose()

    assert "Invalid postal code (invalid_address)" in caught.value.message


async def test_a_service_no_connected_carrier_offers_is_refused_before_buying(
    carrier: ShipEngineCarrier, sandbox: ShipEngineSandbox
) -> None:
    with pytest.raises(UpstreamRejected) as caught:
        await carrier.buy_label(a_label_request(service="dhl_express_worldwide"))

    assert "dhl_express_worldwide" in caught.value.message
    assert sandbox.purchases == 0


async def test_shipengine_errors_become_rejections_carrying_shipengine_s_message(
    carrier: ShipEngineCarrier, sandbox: ShipEngineSandbox
) -> None:
    no_phone = replace(NEWARK, phone=None)

    with pytest.raises(UpstreamRejected) as caught:
        await carrier.buy_label(a_label_request(ship_from=no_phone))

    assert caught.value.status == 400
    assert "shipment.ship_from.phone is required (field_value_required)" in caught.value.message
    assert sandbox.purchases == 0


async def test_a_wrong_api_key_is_a_rejection_saying_so(wire: Wire, clock: FakeClock) -> None:
    carrier = connect(wire, clock, api_key="TEST_wrong")

    with pytest.raises(UpstreamRejected) as caught:
        await carrier.rates(NEWARK, MANHATTAN, [Parcel(weight_grams=500)])
    await carrier.aclose()

    assert caught.value.status == 401
    assert "The API key is invalid" in caught.value.message
    assert API_KEY not in caught.value.message


# -- tracking ----------------------------------------------------------------------------------------


async def test_tracking_follows_a_label_from_created_to_delivered(
    carrier: ShipEngineCarrier, sandbox: ShipEngineSandbox, clock: FakeClock
) -> None:
    label = await carrier.buy_label(a_label_request())
    [created] = await carrier.track([label.tracking_number])
    for _ in range(4):
        clock.now += 30
        await sandbox.advance()

    [delivered] = await carrier.track([label.tracking_number])

    assert (created.status, created.raw_status, created.events) == (
        S.LABEL_CREATED,
        "NY/SHIPMENT_CREATED",
        (),
    )
    assert (delivered.status, delivered.raw_status) == (S.DELIVERED, "DE/DELIVERED")
    assert delivered.estimated_delivery == TODAY + timedelta(days=5)
    assert [scan.status for scan in delivered.events] == [
        S.ACCEPTED,
        S.IN_TRANSIT,
        S.OUT_FOR_DELIVERY,
        S.DELIVERED,
    ]
    assert [scan.occurred_at for scan in delivered.events] == [
        datetime.fromtimestamp(clock.now - 30 * step, UTC) for step in (3, 2, 1, 0)
    ]
    assert all(scan.occurred_at.tzinfo is not None for scan in delivered.events)
    assert delivered.events[0].location == "Newark, NJ, 07114, US"
    assert delivered.events[-1].location == "Santa Monica, CA, 90401, US"
    assert delivered.events[2].raw_code == "IT/OUT_FOR_DELIVERY"


async def test_a_number_bought_elsewhere_is_tracked_by_the_carrier_its_label_names(
    carrier: ShipEngineCarrier, wire: Wire, clock: FakeClock
) -> None:
    label = await carrier.buy_label(a_label_request(service="fedex_2day"))
    restarted = connect(wire, clock)
    wire.clear()

    updates = await restarted.track([label.tracking_number, "1Z0000000000000000", label.tracking_number])
    await restarted.aclose()

    assert [update.tracking_number for update in updates] == [label.tracking_number]
    tracked = [r.request.url.params for r in wire.exchanges if r.request.url.path == "/v1/tracking"]
    assert [(p["carrier_code"], p["tracking_number"]) for p in tracked] == [("fedex", label.tracking_number)]


@pytest.mark.parametrize(
    ("code", "detail", "expected"),
    [
        ("UN", None, S.UNKNOWN),
        ("NY", None, S.LABEL_CREATED),
        ("AC", None, S.ACCEPTED),
        ("AC", "SHIPMENT_CREATED", S.LABEL_CREATED),
        ("AC", "AWAITING_PICKUP_DROP_OFF", S.LABEL_CREATED),
        ("AC", "PICKED_UP", S.ACCEPTED),
        ("IT", None, S.IN_TRANSIT),
        ("IT", "HUB_SCAN_IN", S.IN_TRANSIT),
        ("IT", "OUT_FOR_DELIVERY", S.OUT_FOR_DELIVERY),
        ("AT", None, S.DELIVERY_ATTEMPT),
        ("AT", "ATTEMPTED_DELIVERY_FINAL", S.DELIVERY_ATTEMPT),
        ("EX", "CUSTOMER_CARDED", S.DELIVERY_ATTEMPT),
        ("EX", None, S.EXCEPTION),
        ("EX", "PARCEL_LOST", S.EXCEPTION),
        ("EX", "RETURN_TO_SENDER", S.RETURNED_TO_SENDER),
        ("EX", "REFUSED_BY_CUSTOMER", S.RETURNED_TO_SENDER),
        ("EX", "CUSTOMER_MOVED", S.RETURNED_TO_SENDER),
        ("EX", "NOT_DELIVERED", S.RETURNED_TO_SENDER),
        ("EX", "NOT_COLLECTED_FROM_PICKUP_POINT", S.RETURNED_TO_SENDER),
        ("DE", "UNDELIVERABLE_RETURNED_TO_SENDER", S.RETURNED_TO_SENDER),
        ("DE", None, S.DELIVERED),
        ("DE", "DELIVERED_TO_NEIGHBOUR", S.DELIVERED),
        ("SP", None, S.DELIVERED),
        ("SP", "DELIVERED_TO_PICKUP_POINT", S.DELIVERED),
        ("ZZ", None, S.UNKNOWN),
    ],
)
async def test_shipengine_codes_map_to_our_tracking_status_keeping_the_raw_code(
    sandbox: ShipEngineSandbox, clock: FakeClock, code: str, detail: str | None, expected: TrackingStatus
) -> None:
    carrier = connect(httpx.MockTransport(lambda _: httpx.Response(500)), clock, keys=sandbox.jwks())
    data: dict[str, Any] = {"tracking_number": "1Z999AA10000000001", "status_code": code, "events": []}
    if detail is not None:
        data["status_detail_code"] = detail
    body = json.dumps({"resource_url": f"{BASE}/v1/tracking", "resource_type": "API_TRACK", "data": data})

    [update] = carrier.parse_webhook(body.encode(), signed(sandbox, body.encode(), clock) | secret_header())
    await carrier.aclose()

    assert update.status == expected
    assert update.raw_status == (f"{code}/{detail}" if detail else code)
    assert tracking_status(code, detail) == expected


def test_every_status_and_refining_detail_in_the_spec_is_mapped() -> None:
    check = spec.shipengine(BASE)

    assert set(TRACKING_STATUS_BY_CODE) == set(check.schema("status_code")["enum"])
    assert set(TRACKING_STATUS_BY_DETAIL) <= set(check.schema("status_detail_code")["enum"])


# -- webhooks ----------------------------------------------------------------------------------------


def signed(sandbox: ShipEngineSandbox, body: bytes, clock: FakeClock, *, skew: float = 0) -> dict[str, str]:
    stamp = datetime.fromtimestamp(clock.now + skew, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    signature = sandbox.signing_key.sign(stamp.encode() + b"." + body, padding.PKCS1v15(), hashes.SHA256())
    return {
        "x-shipengine-rsa-sha256-key-id": sandbox.key_id,
        "x-shipengine-rsa-sha256-signature": base64.b64encode(signature).decode(),
        "x-shipengine-timestamp": stamp,
    }


def secret_header(secret: str = SECRET) -> dict[str, str]:
    return {SECRET_HEADER: secret}


async def deliveries(sandbox: ShipEngineSandbox, clock: FakeClock, steps: int = 1) -> list[httpx.Request]:
    """What the sandbox sends our endpoint for each tracking step of a fresh label."""
    endpoint = Endpoint()
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        sandbox.webhook_client = client
        sandbox.register_webhook(HOOK_URL, headers=secret_header())
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE, headers={"API-Key": API_KEY}
        ) as shipengine:
            bought = await shipengine.post("/v1/labels", json={"shipment": label_shipment()})
            assert bought.status_code == 200
        for _ in range(steps):
            clock.now += sandbox.step_seconds
            await sandbox.advance()
    return endpoint.received


def label_shipment() -> dict[str, Any]:
    address = {
        "name": "Newark DC",
        "phone": "+1 973-555-0100",
        "address_line1": "1 Distribution Way",
        "city_locality": "Newark",
        "state_province": "NJ",
        "postal_code": "07114",
        "country_code": "US",
    }
    return {
        "carrier_id": "se-100001",
        "service_code": "ups_ground",
        "ship_from": address,
        "ship_to": address | {"name": "Ann Lee", "city_locality": "Jersey City", "postal_code": "07302"},
        "packages": [{"weight": {"value": 2, "unit": "pound"}}],
    }


async def test_a_signed_tracking_delivery_with_our_secret_is_read(
    carrier: ShipEngineCarrier, sandbox: ShipEngineSandbox, clock: FakeClock
) -> None:
    received = await deliveries(sandbox, clock, steps=4)

    updates = [carrier.parse_webhook(request.content, request.headers) for request in received]

    assert [(update.status, update.raw_status) for [update] in updates] == [
        (S.ACCEPTED, "AC/RECEIVED_BY_CARRIER"),
        (S.IN_TRANSIT, "IT/IN_TRANSIT"),
        (S.OUT_FOR_DELIVERY, "IT/OUT_FOR_DELIVERY"),
        (S.DELIVERED, "DE/DELIVERED"),
    ]
    [[delivered]] = updates[-1:]
    assert len(delivered.events) == 4
    assert delivered.tracking_number == next(iter(sandbox.labels.values())).tracking_number


async def test_the_secret_alone_verifies_a_delivery_to_a_webhook_registered_through_the_api(
    wire: Wire, sandbox: ShipEngineSandbox, clock: FakeClock
) -> None:
    carrier = connect(wire, clock, secret=SECRET, keys=None)
    first = await carrier.register_tracking_webhook(HOOK_URL)
    again = await carrier.register_tracking_webhook(HOOK_URL)
    endpoint = Endpoint()
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        sandbox.webhook_client = client
        await carrier.buy_label(a_label_request())
        clock.now += 30
        await sandbox.advance()
    [delivery] = endpoint.received

    [update] = carrier.parse_webhook(delivery.content, delivery.headers)
    await carrier.aclose()

    assert first == again
    assert [(hook.url, hook.event, hook.headers) for hook in sandbox.webhooks] == [
        (HOOK_URL, "track", {SECRET_HEADER: SECRET})
    ]
    assert update.status == S.ACCEPTED


async def test_signing_keys_are_loaded_from_the_jwks(
    wire: Wire, sandbox: ShipEngineSandbox, clock: FakeClock
) -> None:
    [delivery] = await deliveries(sandbox, clock)
    carrier = connect(wire, clock, secret=None)

    with pytest.raises(WebhookRejected) as before:
        carrier.parse_webhook(delivery.content, delivery.headers)
    await carrier.load_webhook_keys()
    [update] = carrier.parse_webhook(delivery.content, delivery.headers)
    await carrier.aclose()

    assert before.value.code == "NOT_CONFIGURED"
    assert update.status == S.ACCEPTED


@pytest.mark.parametrize(
    "tamper",
    [
        "wrong-secret",
        "no-secret",
        "body-changed",
        "re-serialised",
        "stale",
        "unknown-key",
        "not-base64",
        "unsigned",
        "other-key",
    ],
)
async def test_a_delivery_that_fails_verification_is_refused(
    carrier: ShipEngineCarrier, sandbox: ShipEngineSandbox, clock: FakeClock, tamper: str
) -> None:
    [delivery] = await deliveries(sandbox, clock)
    body, headers = delivery.content, dict(delivery.headers)
    if tamper == "wrong-secret":
        headers[SECRET_HEADER] = "guessed"
    elif tamper == "no-secret":
        del headers[SECRET_HEADER.lower()]
    elif tamper == "body-changed":
        body = body.replace(b'"AC"', b'"DE"')
    elif tamper == "re-serialised":
        body = json.dumps(json.loads(body), indent=2).encode()
    elif tamper == "stale":
        headers |= signed(sandbox, body, clock, skew=-301)
    elif tamper == "unknown-key":
        headers["x-shipengine-rsa-sha256-key-id"] = "retired-key"
    elif tamper == "not-base64":
        headers["x-shipengine-rsa-sha256-signature"] = "%%%"
    elif tamper == "unsigned":
        headers = {key: value for key, value in headers.items() if not key.startswith("x-shipengine")}
    else:
        impostor = ShipEngineSandbox(clock=clock, signing_key=rsa.generate_private_key(65537, 2048))
        headers |= signed(impostor, body, clock)

    with pytest.raises(WebhookRejected) as caught:
        carrier.parse_webhook(body, headers)

    assert caught.value.code == "INVALID_SIGNATURE"


async def test_a_slightly_early_or_late_signature_is_accepted(
    carrier: ShipEngineCarrier, sandbox: ShipEngineSandbox, clock: FakeClock
) -> None:
    [delivery] = await deliveries(sandbox, clock)

    for skew in (-299, 299):
        headers = dict(delivery.headers) | signed(sandbox, delivery.content, clock, skew=skew)
        assert carrier.parse_webhook(delivery.content, headers)


async def test_with_nothing_to_verify_against_every_delivery_is_refused(
    sandbox: ShipEngineSandbox, clock: FakeClock, wire: Wire
) -> None:
    [delivery] = await deliveries(sandbox, clock)
    carrier = connect(wire, clock, secret=None, keys=None)

    with pytest.raises(WebhookRejected) as caught:
        carrier.parse_webhook(delivery.content, delivery.headers)
    await carrier.aclose()

    assert caught.value.code == "NOT_CONFIGURED"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not json", "MALFORMED_PAYLOAD"),
        (b'{"data": {}}', "MALFORMED_PAYLOAD"),
        (b'{"resource_type": "API_TRACK", "data": {"tracking_number": "1Z"}}', "MALFORMED_PAYLOAD"),
        (b'{"resource_type": "API_TRACK", "data": {"status_code": "IT", "tracking_number": "1Z",'
         b' "events": [{"status_code": "IT"}]}}', "MALFORMED_PAYLOAD"),
    ],
    ids=["not-json", "no-resource-type", "no-status", "event-without-time"],
)  # fmt: skip
async def test_a_verified_delivery_that_is_not_tracking_information_is_refused(
    carrier: ShipEngineCarrier, sandbox: ShipEngineSandbox, clock: FakeClock, body: bytes, code: str
) -> None:
    with pytest.raises(WebhookRejected) as caught:
        carrier.parse_webhook(body, signed(sandbox, body, clock) | secret_header())

    assert caught.value.code == code


async def test_other_webhook_events_carry_no_tracking(
    carrier: ShipEngineCarrier, sandbox: ShipEngineSandbox, clock: FakeClock
) -> None:
    body = b'{"resource_url": "https://api.shipengine.com/v1/batches/se-1", "resource_type": "API_BATCH"}'

    assert carrier.parse_webhook(body, signed(sandbox, body, clock) | secret_header()) == []


# -- the wire against ShipEngine's OpenAPI document -----------------------------------------------------


async def test_every_request_the_connector_sends_and_every_answer_match_the_shipengine_spec(
    sandbox: ShipEngineSandbox, clock: FakeClock
) -> None:
    check = spec.shipengine(BASE)
    wire = Wire(sandbox, lose=["POST /v1/labels"])
    carrier = connect(wire, clock)
    quotes = await carrier.rates(NEWARK, SANTA_MONICA, [Parcel(weight_grams=1200, length_cm=40.5)])
    with pytest.raises(UpstreamUnavailable):
        await carrier.buy_label(a_label_request())
    label = await carrier.buy_label(a_label_request())
    await carrier.buy_label(a_label_request("fo-2", rate_id=quotes[0].rate_id))
    await carrier.register_tracking_webhook(HOOK_URL)
    await carrier.register_tracking_webhook(HOOK_URL)
    restarted = connect(wire, clock)
    await restarted.track([label.tracking_number, "1Z0000000000000000"])
    await restarted.aclose()
    await carrier.load_webhook_keys()
    await carrier.aclose()

    spoken = {f"{r.request.method} {r.request.url.path}" for r in wire.exchanges}
    assert {
        "GET /v1/carriers",
        "POST /v1/rates",
        "GET /v1/labels",
        "POST /v1/labels",
        f"POST /v1/labels/rates/{quotes[0].rate_id}",
        "GET /v1/labels/external_shipment_id/fo-7c1e2d3a",
        "GET /v1/tracking",
        "GET /v1/environment/webhooks",
        "POST /v1/environment/webhooks",
        "PUT /v1/environment/webhooks/se-webhook-1",
    } <= spoken
    assert {r.status_code for r in wire.exchanges} == {200, 204, 404}
    for exchange in wire.exchanges:
        if exchange.request.url.path == "/jwks":
            continue  # ShipEngine's signing keys are documented beside its API, not in the spec.
        check.check_request(exchange.request)
        if exchange.status_code == 204:
            # The spec gives its 204s a (zero-length) body schema, which openapi-core reads as a
            # body required; HTTP forbids one.
            assert exchange.content == b""
        else:
            check.check_response(exchange)
    rates = json.loads(next(r for r in wire.exchanges if r.request.url.path == "/v1/rates").request.content)
    # The spec's `oneOf` of a shipment id or a shipment accepts a shipment without reading it.
    check.check_schema("partial_shipment", rates["shipment"])


# -- return labels -------------------------------------------------------------------------------------


def a_return_request(reference: str = "ret-5d2c4b1a") -> LabelRequest:
    """A return from the customer in Santa Monica back to the Newark node."""
    return a_label_request(reference, ship_from=SANTA_MONICA, ship_to=NEWARK, is_return=True, contents="x")


async def test_a_return_label_is_bought_once_as_a_return_label_and_matches_the_spec(
    sandbox: ShipEngineSandbox, clock: FakeClock
) -> None:
    check = spec.shipengine(BASE)
    wire = Wire(sandbox, lose=["POST /v1/labels"])
    carrier = connect(wire, clock)
    with pytest.raises(UpstreamUnavailable):
        await carrier.buy_label(a_return_request())  # bought, but the answer was lost
    label = await carrier.buy_label(a_return_request())  # found, not bought again
    again = await carrier.buy_label(a_return_request())
    await carrier.aclose()

    assert again == label
    assert sandbox.purchases == 1
    [bought] = sandbox.labels_for("ret-5d2c4b1a")
    assert (bought.is_return, bought.rma_number, bought.tracking_number) == (
        True,
        "ret-5d2c4b1a",
        label.tracking_number,
    )
    # it travels from the customer back to the node
    assert (bought.shipment.ship_from["postal_code"], bought.shipment.ship_to["postal_code"]) == (
        "90401",
        "07114",
    )
    [purchase] = [
        r for r in wire.exchanges if f"{r.request.method} {r.request.url.path}" == "POST /v1/labels"
    ]
    sent = json.loads(purchase.request.content)
    assert (sent["is_return_label"], sent["rma_number"], sent["charge_event"]) == (
        True,
        "ret-5d2c4b1a",
        "carrier_default",
    )
    assert sent["shipment"]["external_shipment_id"] == "ret-5d2c4b1a"
    assert json.loads(purchase.content)["is_return_label"] is True
    for exchange in wire.exchanges:
        check.check_request(exchange.request)
        check.check_response(exchange)


async def test_a_return_label_ignores_a_rate_and_is_not_confused_with_the_outbound_label(
    carrier: ShipEngineCarrier, sandbox: ShipEngineSandbox
) -> None:
    [quote, *_] = await carrier.rates(NEWARK, SANTA_MONICA, [Parcel(weight_grams=1200)])
    outbound = await carrier.buy_label(a_label_request("fo-1", rate_id=quote.rate_id))

    back = await carrier.buy_label(replace(a_return_request("ret-1"), rate_id=quote.rate_id))

    assert back.tracking_number != outbound.tracking_number
    assert [label.is_return for label in sandbox.labels.values()] == [False, True]


async def test_a_return_from_a_customer_without_a_phone_carries_the_request_s_phone_and_matches_the_spec(
    sandbox: ShipEngineSandbox, clock: FakeClock
) -> None:
    check = spec.shipengine(BASE)
    wire = Wire(sandbox)
    carrier = connect(wire, clock)
    phoneless = replace(a_return_request("ret-1"), ship_from=replace(SANTA_MONICA, phone=None))

    await carrier.buy_label(replace(phoneless, phone="+1 973-555-0110"))
    await carrier.buy_label(replace(a_return_request("ret-2"), phone="+1 973-555-0110"))
    await carrier.aclose()

    [first], [second] = sandbox.labels_for("ret-1"), sandbox.labels_for("ret-2")
    assert first.shipment.ship_from["phone"] == "+1 973-555-0110"  # the node's, as none was given
    assert second.shipment.ship_from["phone"] == SANTA_MONICA.phone  # the customer's own
    assert first.shipment.ship_to["phone"] == NEWARK.phone
    for exchange in wire.exchanges:
        check.check_request(exchange.request)
        check.check_response(exchange)


async def test_the_sandbox_refuses_a_return_label_request_the_spec_refuses(wire: Wire) -> None:
    async with httpx.AsyncClient(transport=wire, base_url=BASE, headers={"API-Key": API_KEY}) as client:
        shipment: dict[str, Any] = {
            "carrier_id": "se-100001",
            "service_code": "ups_ground",
            "ship_from": _wire_address(SANTA_MONICA),
            "ship_to": _wire_address(NEWARK),
            "packages": [{"weight": {"value": 1200, "unit": "gram"}}],
        }
        refused = await client.post("/v1/labels", json={"shipment": shipment, "is_return_label": "yes"})
        phoneless = {**shipment, "ship_from": _wire_address(replace(SANTA_MONICA, phone=None))}
        no_phone = await client.post("/v1/labels", json={"shipment": phoneless, "is_return_label": True})

    assert refused.status_code == 400
    assert "is_return_label" in refused.json()["errors"][0]["message"]
    assert no_phone.status_code == 400
    assert no_phone.json()["errors"][0]["field_name"] == "shipment.ship_from.phone"


def _wire_address(address: Address) -> dict[str, Any]:
    fields = {
        "name": address.name,
        "phone": address.phone,
        "address_line1": address.line1,
        "city_locality": address.city,
        "state_province": address.region,
        "postal_code": address.postal_code,
        "country_code": address.country_code,
    }
    return {key: value for key, value in fields.items() if value}


# -- voids ---------------------------------------------------------------------------------------------


async def test_a_label_not_yet_scanned_is_voided_once_and_every_exchange_matches_the_spec(
    sandbox: ShipEngineSandbox, clock: FakeClock
) -> None:
    check = spec.shipengine(BASE)
    wire = Wire(sandbox, lose=["PUT /v1/labels/se-label-1/void"])
    carrier = connect(wire, clock)
    label = await carrier.buy_label(a_return_request())
    # Voided, the answer lost on the way back, and sent again (a void is safe to repeat): the
    # answer to the repeat, "voided already", is the void.
    first = await carrier.void_label(label.carrier_label_id)
    again = await carrier.void_label(label.carrier_label_id)
    await carrier.track([label.tracking_number])
    listed = await carrier._call("GET", "/v1/labels", params={"tracking_number": label.tracking_number})
    await carrier.aclose()

    assert label.carrier_label_id == "se-label-1"
    assert first == again == VoidResult(voided=True)
    restarted = ShipEngineSandbox(api_key=API_KEY, clock=clock)
    restarted.restore(json.loads(json.dumps(sandbox.to_state())))
    assert restarted.labels["se-label-1"].voided_at == sandbox.labels["se-label-1"].voided_at
    assert await restarted.advance(clock.now + 10 * restarted.step_seconds) == 0  # a voided label stays put
    assert sandbox.labels["se-label-1"].voided_at == clock.now - sum(clock.slept)  # the first PUT
    [record] = listed.json()["labels"]
    assert (record["status"], record["voided"], record["void_type"]) == ("voided", True, "manual")
    voids = [r for r in wire.exchanges if r.request.method == "PUT"]
    already = {
        "approved": False,
        "message": "This label has already been voided.",
        "reason_code": "label_already_voided",
    }
    assert [r.json() for r in voids] == [
        {"approved": True, "message": "Request for refund submitted. This label has been voided."},
        already,
        already,
    ]
    for exchange in wire.exchanges:
        check.check_request(exchange.request)
        check.check_response(exchange)


async def test_a_label_the_carrier_scanned_or_bought_too_long_ago_is_not_voided_and_says_why(
    sandbox: ShipEngineSandbox, clock: FakeClock
) -> None:
    check = spec.shipengine(BASE)
    wire = Wire(sandbox)
    carrier = connect(wire, clock)
    used = await carrier.buy_label(a_return_request("ret-used"))
    old = await carrier.buy_label(a_return_request("ret-old"))
    await sandbox.advance(clock.now + sandbox.step_seconds)  # both are scanned ...
    sandbox.labels[old.carrier_label_id].step = 0  # ... and then this one is not, but it is 31 days old
    clock.now += 31 * 86_400

    refused = await carrier.void_label(used.carrier_label_id)
    expired = await carrier.void_label(old.carrier_label_id)
    unknown = await carrier.void_label("se-label-999")
    await carrier.aclose()

    assert refused == VoidResult(
        voided=False, reason="label_already_used The carrier scanned this label (Accepted): it was used."
    )
    assert expired.voided is False
    assert expired.reason.startswith("label_not_found_within_void_period")
    assert unknown.voided is False
    assert unknown.reason == "No label was found with that id (invalid_identifier)"
    assert all(label.voided_at is None for label in sandbox.labels.values())
    for exchange in wire.exchanges:
        check.check_request(exchange.request)
        check.check_response(exchange)


async def test_a_void_answer_without_approved_is_a_protocol_error(clock: FakeClock) -> None:
    carrier = connect(a_fake_shipengine({"PUT /v1/labels/se-1/void": (200, {"message": "ok"})}, []), clock)

    with pytest.raises(UpstreamProtocolError):
        await carrier.void_label("se-1")
    await carrier.aclose()
