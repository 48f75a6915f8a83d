"""The UPS connector against the UPS sandbox, over HTTP (httpx's ASGI transport)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ordergate.connectors.carriers.base import Carrier, LabelRequest, Parcel, VoidResult
from ordergate.connectors.carriers.ups import (
    CODE_STATUS,
    NEXT_DAY_AIR_EARLY,
    TYPE_STATUS,
    UpsCarrier,
    _ship_request,
    tracking_status,
)
from ordergate.connectors.errors import UpstreamRejected, UpstreamUnavailable, WebhookRejected
from ordergate.models.address import Address
from ordergate.models.shipment import TrackingStatus
from ordergate.sandbox.ups import UpsSandbox
from tests import spec

BASE = "http://ups.test"
CLIENT_ID, CLIENT_SECRET, ACCOUNT = "ups-client", "ups-secret", "A1B2C3"
CREDENTIAL = "track-alert-credential-0123"
TOKEN_TTL = 3600
STEP = 30.0
REFERENCE = "0b9e6c1e-7f3a-4c55-9d2e-5a1f00c0ffee"
ALERT_URL = "https://ordergate.test/webhooks/ups"
# openapi-core cannot check OAuth2 security schemes and says so with a warning; the bearer is asserted apart.
OAUTH2_UNCHECKED = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")

NEWARK_DC = Address("Newark DC", "1 Distribution Way", "Newark", "07114", "US", region="NJ")


class FakeClock:
    """Wall and monotonic time in one; `sleep` moves it on and remembers for how long."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC).timestamp()
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Wire(httpx.AsyncBaseTransport):
    """The sandbox over ASGI, keeping every exchange; `fail` answers a path suffix with a status instead."""

    def __init__(self, sandbox: UpsSandbox) -> None:
        self._asgi = httpx.ASGITransport(app=sandbox.app)
        self.exchanges: list[httpx.Response] = []
        self.fail: dict[str, int] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        failure = next((status for end, status in self.fail.items() if request.url.path.endswith(end)), None)
        if failure is not None:
            errors = {"response": {"errors": [{"code": "10004", "message": "Something went wrong"}]}}
            response = httpx.Response(failure, json=errors, request=request)
        else:
            answer = await self._asgi.handle_async_request(request)
            content = await answer.aread()
            response = httpx.Response(
                answer.status_code, headers=answer.headers, content=content, request=request
            )
        self.exchanges.append(response)
        return response

    def sent(self) -> list[str]:
        return [f"{r.request.method} {r.request.url.path} {r.status_code}" for r in self.exchanges]

    def api_requests(self) -> list[httpx.Request]:
        return [r.request for r in self.exchanges if r.request.url.path.startswith("/api/")]


class Endpoint:
    """A fake webhook receiver that records what it is sent."""

    def __init__(self) -> None:
        self.received: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        return httpx.Response(200)


def an_address(**overrides: Any) -> Address:
    fields: dict[str, Any] = {
        "name": "Ann Lee",
        "line1": "350 5th Ave",
        "city": "New York",
        "postal_code": "10118",
        "country_code": "US",
        "region": "NY",
        "phone": "+1 (212) 555-0100",
    }
    return Address(**{**fields, **overrides})


def a_label_request(**overrides: Any) -> LabelRequest:
    fields: dict[str, Any] = {
        "reference": REFERENCE,
        "service": "03",
        "ship_from": NEWARK_DC,
        "ship_to": an_address(),
        "parcels": [Parcel(weight_grams=1200)],
    }
    return LabelRequest(**{**fields, **overrides})


def connect(transport: httpx.AsyncBaseTransport, clock: FakeClock, **overrides: Any) -> UpsCarrier:
    options: dict[str, Any] = {
        "transport": transport,
        "webhook_credential": CREDENTIAL,
        "clock": clock,
        "wall_clock": clock,
        "sleep": clock.sleep,
        **overrides,
    }
    return UpsCarrier.create(BASE, CLIENT_ID, CLIENT_SECRET, ACCOUNT, **options)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def endpoint() -> Endpoint:
    return Endpoint()


@pytest.fixture
async def sandbox(clock: FakeClock, endpoint: Endpoint) -> AsyncIterator[UpsSandbox]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        yield UpsSandbox(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            account_number=ACCOUNT,
            clock=clock,
            step_seconds=STEP,
            token_ttl=TOKEN_TTL,
            webhook_client=client,
        )


@pytest.fixture
def wire(sandbox: UpsSandbox) -> Wire:
    return Wire(sandbox)


@pytest.fixture
async def ups(wire: Wire, clock: FakeClock) -> AsyncIterator[UpsCarrier]:
    carrier = connect(wire, clock)
    yield carrier
    await carrier.aclose()


def test_the_connector_is_a_carrier(ups: UpsCarrier) -> None:
    carrier: Carrier = ups

    assert carrier.name == "ups"


# -- the token ---------------------------------------------------------------------------------------


async def test_a_token_is_fetched_once_and_reused_until_it_expires(
    ups: UpsCarrier, sandbox: UpsSandbox, wire: Wire, clock: FakeClock
) -> None:
    await ups.rates(NEWARK_DC, an_address(), [Parcel(1200)])
    label = await ups.buy_label(a_label_request())
    clock.now += TOKEN_TTL - 61
    await ups.track([label.tracking_number])

    assert sandbox.tokens_issued == 1
    [token_request] = [r.request for r in wire.exchanges if r.request.url.path == "/security/v1/oauth/token"]
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert token_request.headers["Authorization"] == f"Basic {basic}"
    assert token_request.content == b"grant_type=client_credentials"

    clock.now += 2
    await ups.track([label.tracking_number])

    assert sandbox.tokens_issued == 2
    bearers = [request.headers["Authorization"] for request in wire.api_requests()]
    assert len(set(bearers[:3])) == 1
    assert bearers[3] != bearers[2]


async def test_a_token_refused_with_401_is_replaced_and_the_call_sent_once_more(
    ups: UpsCarrier, sandbox: UpsSandbox, wire: Wire
) -> None:
    await ups.rates(NEWARK_DC, an_address(), [Parcel(1200)])
    sandbox.revoke_tokens()

    label = await ups.buy_label(a_label_request())

    assert label.tracking_number.startswith("1Z")
    assert sandbox.tokens_issued == 2
    assert sandbox.labels_purchased == 1
    assert wire.sent()[-3:] == [
        "POST /api/shipments/v2409/ship 401",
        "POST /security/v1/oauth/token 200",
        "POST /api/shipments/v2409/ship 200",
    ]


async def test_a_second_401_is_a_rejection_naming_the_ups_code(clock: FakeClock) -> None:
    seen: list[str] = []

    def ups_api(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": f"t{len(seen)}", "expires_in": "14399"})
        errors = [{"code": "250002", "message": "Invalid Authentication Information."}]
        return httpx.Response(401, json={"response": {"errors": errors}})

    carrier = connect(httpx.MockTransport(ups_api), clock)
    with pytest.raises(UpstreamRejected) as raised:
        await carrier.rates(NEWARK_DC, an_address(), [Parcel(500)])
    await carrier.aclose()

    assert raised.value.status == 401
    assert "250002 Invalid Authentication Information." in raised.value.message
    assert seen == ["/security/v1/oauth/token", "/api/rating/v2409/Shop"] * 2


async def test_every_api_call_carries_the_bearer_a_fresh_trans_id_and_the_transaction_source(
    ups: UpsCarrier, wire: Wire
) -> None:
    await ups.rates(NEWARK_DC, an_address(), [Parcel(1200)])
    label = await ups.buy_label(a_label_request())
    await ups.track([label.tracking_number, "1ZA1B2C30399999999"])

    calls = wire.api_requests()
    assert len(calls) == 4
    assert all(call.headers["Authorization"].startswith("Bearer ") for call in calls)
    assert all(call.headers["transactionSrc"] == "ordergate" for call in calls)
    trans_ids = [call.headers["transId"] for call in calls]
    assert len(set(trans_ids)) == 4
    assert all(len(trans_id) == 32 for trans_id in trans_ids)


# -- rates and labels --------------------------------------------------------------------------------


async def test_rates_quote_every_service_from_one_shop_request_cheapest_first(
    ups: UpsCarrier, wire: Wire
) -> None:
    quotes = await ups.rates(NEWARK_DC, an_address(), [Parcel(1200)])

    # 1.2 kg is 2.7 lb, billed as 3; Newark to Manhattan is zone 2.
    assert [(q.service, q.amount, q.currency, q.delivery_days) for q in quotes] == [
        ("03", Decimal("10.80"), "USD", 1),
        ("02", Decimal("22.20"), "USD", 2),
        ("01", Decimal("39.20"), "USD", 1),
    ]
    assert all(type(quote.amount) is Decimal and quote.carrier == "ups" for quote in quotes)
    assert [call.url.path for call in wire.api_requests()] == ["/api/rating/v2409/Shop"]
    package = json.loads(wire.api_requests()[0].content)["RateRequest"]["Shipment"]["Package"][0]
    assert package["PackageWeight"]["Weight"] == "2.7"
    assert package["Dimensions"] | {"UnitOfMeasurement": None} == {
        "UnitOfMeasurement": None,
        "Length": "12",
        "Width": "8",
        "Height": "6",
    }


async def test_rates_read_negotiated_charges_when_ups_gives_them(clock: FakeClock) -> None:
    def ups_api(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": "14399"})
        rated = {
            "Service": {"Code": "03"},
            "TotalCharges": {"CurrencyCode": "USD", "MonetaryValue": "12.40"},
            "NegotiatedRateCharges": {"TotalCharge": {"CurrencyCode": "USD", "MonetaryValue": "9.95"}},
        }
        # Before v2409 a single rated shipment comes as an object, not an array.
        return httpx.Response(200, json={"RateResponse": {"RatedShipment": rated}})

    carrier = connect(httpx.MockTransport(ups_api), clock)
    [quote] = await carrier.rates(NEWARK_DC, an_address(), [Parcel(500)])
    await carrier.aclose()

    assert (quote.service, quote.amount, quote.delivery_days) == ("03", Decimal("9.95"), None)


async def test_a_label_is_bought_once_and_carries_our_reference(
    ups: UpsCarrier, sandbox: UpsSandbox, wire: Wire
) -> None:
    label = await ups.buy_label(a_label_request())

    assert sandbox.labels_purchased == 1
    assert (label.carrier, label.service, label.cost, label.currency) == (
        "ups",
        "03",
        Decimal("10.80"),
        "USD",
    )
    assert label.tracking_number.startswith("1ZA1B2C303")
    assert len(label.tracking_number) == 18
    assert label.carrier_shipment_id == label.tracking_number
    assert label.tracking_url == f"https://www.ups.com/track?tracknum={label.tracking_number}"
    assert label.label_url == f"https://onlinetools.ups.com/labels/{label.tracking_number}"
    shipment_request = json.loads(wire.api_requests()[0].content)["ShipmentRequest"]
    assert shipment_request["Request"]["TransactionReference"]["CustomerContext"] == REFERENCE
    # A UUID is one character too long for a UPS reference: it goes without its hyphens.
    package_reference = REFERENCE.replace("-", "")
    assert shipment_request["Shipment"]["Package"][0]["ReferenceNumber"] == [{"Value": package_reference}]
    assert package_reference in sandbox.parcels[label.tracking_number].references


async def test_an_international_label_carries_the_reference_on_the_shipment(
    ups: UpsCarrier, sandbox: UpsSandbox, wire: Wire
) -> None:
    to_toronto = an_address(city="Toronto", postal_code="M5V 2T6", country_code="CA", region="ON")

    label = await ups.buy_label(a_label_request(ship_to=to_toronto, reference="FO-1001"))

    assert sandbox.parcels[label.tracking_number].references == ["FO-1001"]
    shipment = json.loads(wire.api_requests()[0].content)["ShipmentRequest"]["Shipment"]
    assert shipment["ReferenceNumber"] == [{"Value": "FO-1001"}]
    assert "ReferenceNumber" not in shipment["Package"][0]


async def test_a_purchase_answered_503_is_never_sent_again(
    ups: UpsCarrier, sandbox: UpsSandbox, wire: Wire, clock: FakeClock
) -> None:
    wire.fail["/ship"] = 503

    with pytest.raises(UpstreamUnavailable) as raised:
        await ups.buy_label(a_label_request())

    assert raised.value.status == 503
    assert [line for line in wire.sent() if "/ship" in line] == ["POST /api/shipments/v2409/ship 503"]
    assert sandbox.labels_purchased == 0
    assert clock.slept == []


async def test_a_rate_request_answered_503_is_retried(ups: UpsCarrier, wire: Wire) -> None:
    wire.fail["/Shop"] = 503

    with pytest.raises(UpstreamUnavailable):
        await ups.rates(NEWARK_DC, an_address(), [Parcel(1200)])

    assert [line for line in wire.sent() if "/Shop" in line] == ["POST /api/rating/v2409/Shop 503"] * 3


async def test_a_ups_error_becomes_a_rejection_naming_its_code(ups: UpsCarrier, sandbox: UpsSandbox) -> None:
    with pytest.raises(UpstreamRejected) as raised:
        await ups.buy_label(a_label_request(service="99"))

    assert raised.value.status == 400
    assert "120202 Invalid or missing service code" in raised.value.message
    assert sandbox.labels_purchased == 0


# -- tracking -----------------------------------------------------------------------------------------


async def test_tracking_reads_the_scans_oldest_first_and_leaves_unknown_numbers_out(
    ups: UpsCarrier, sandbox: UpsSandbox, clock: FakeClock
) -> None:
    label = await ups.buy_label(a_label_request())
    clock.now += 2 * STEP
    await sandbox.advance()

    [update] = await ups.track([label.tracking_number, "1ZA1B2C30399999999", label.tracking_number])

    assert (update.tracking_number, update.status, update.raw_status) == (
        label.tracking_number,
        TrackingStatus.IN_TRANSIT,
        "I:DP",
    )
    assert update.estimated_delivery == date(2026, 3, 3)
    assert [(scan.status, scan.raw_code) for scan in update.events] == [
        (TrackingStatus.LABEL_CREATED, "M:MP"),
        (TrackingStatus.ACCEPTED, "P:PU"),
        (TrackingStatus.IN_TRANSIT, "I:DP"),
    ]
    assert [scan.occurred_at for scan in update.events] == [
        datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 8, 0, 30, tzinfo=UTC),
        datetime(2026, 3, 2, 8, 1, tzinfo=UTC),
    ]
    assert update.events[-1].location == "Newark, NJ, US"


@pytest.mark.parametrize(("status_type", "expected"), sorted(TYPE_STATUS.items()))
def test_each_ups_status_type_has_its_tracking_status(status_type: str, expected: TrackingStatus) -> None:
    assert tracking_status(status_type, "ZZ") == expected


@pytest.mark.parametrize(("pair", "expected"), sorted(CODE_STATUS.items()))
def test_each_refining_ups_code_has_its_tracking_status(
    pair: tuple[str, str], expected: TrackingStatus
) -> None:
    assert tracking_status(*pair) == expected


def test_an_unknown_ups_status_type_is_unknown() -> None:
    assert tracking_status("W", "AR") == TrackingStatus.UNKNOWN
    assert tracking_status(" d ", " fs ") == TrackingStatus.DELIVERED


# -- Track Alert --------------------------------------------------------------------------------------


def an_alert(**overrides: Any) -> dict[str, Any]:
    """The spec's own "Out for delivery message" example (ups-UPSTrackAlert.yaml)."""
    event: dict[str, Any] = {
        "trackingNumber": "1Z204W4R0308071865",
        "localActivityDate": "20240423",
        "localActivityTime": "091519",
        "activityLocation": {
            "city": "Charlotte",
            "stateProvince": "NC",
            "postalCode": "30004",
            "country": "US",
        },
        "activityStatus": {
            "type": "I",
            "code": "OT",
            "description": "Out for Delivery",
            "descriptionCode": "021",
        },
        "scheduledDeliveryDate": "20240423",
        "gmtActivityDate": "20240423",
        "gmtActivityTime": "131519",
        "deliveryTimeDescription": "end of day",
    }
    return {**event, **overrides}


def test_a_track_alert_delivery_becomes_one_update(ups: UpsCarrier) -> None:
    [update] = ups.parse_webhook(json.dumps(an_alert()).encode(), {"Credential": CREDENTIAL})

    assert (update.tracking_number, update.status, update.raw_status) == (
        "1Z204W4R0308071865",
        TrackingStatus.OUT_FOR_DELIVERY,
        "I:OT",
    )
    assert update.estimated_delivery == date(2024, 4, 23)
    [scan] = update.events
    assert scan.occurred_at == datetime(2024, 4, 23, 13, 15, 19, tzinfo=UTC)
    assert (scan.description, scan.location) == ("Out for Delivery", "Charlotte, NC, US")


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ({}, datetime(2024, 4, 23, 13, 15, 19, tzinfo=UTC)),
        ({"gmtActivityDate": "", "gmtOffset": "-04.00"}, datetime(2024, 4, 23, 13, 15, 19, tzinfo=UTC)),
        ({"gmtActivityDate": "", "gmtOffset": "-05:00"}, datetime(2024, 4, 23, 14, 15, 19, tzinfo=UTC)),
        ({"gmtActivityDate": ""}, datetime(2024, 4, 23, 9, 15, 19, tzinfo=UTC)),
        ({"gmtActivityTime": "74700"}, datetime(2024, 4, 23, 7, 47, tzinfo=UTC)),
    ],
    ids=["gmt", "local-with-alert-offset", "local-with-tracking-offset", "local-read-as-utc", "short-time"],
)
def test_ups_dates_and_times_become_utc(ups: UpsCarrier, times: dict[str, str], expected: datetime) -> None:
    event = {key: value for key, value in an_alert(**times).items() if value != ""}

    [update] = ups.parse_webhook(json.dumps(event).encode(), {"credential": CREDENTIAL})

    assert update.events[0].occurred_at == expected


@pytest.mark.parametrize(
    "headers",
    [{}, {"credential": "track-alert-credential-0124"}, {"Authorization": f"Bearer {CREDENTIAL}"}],
    ids=["missing", "wrong", "elsewhere"],
)
def test_a_delivery_without_the_subscription_credential_is_refused(
    ups: UpsCarrier, headers: dict[str, str]
) -> None:
    with pytest.raises(WebhookRejected) as raised:
        ups.parse_webhook(json.dumps(an_alert()).encode(), headers)

    assert raised.value.code == "INVALID_SIGNATURE"


async def test_with_no_credential_configured_every_delivery_is_refused(wire: Wire, clock: FakeClock) -> None:
    carrier = connect(wire, clock, webhook_credential=None)

    with pytest.raises(WebhookRejected) as raised:
        carrier.parse_webhook(json.dumps(an_alert()).encode(), {"credential": ""})
    await carrier.aclose()

    assert raised.value.code == "INVALID_SIGNATURE"


async def test_a_rotated_credential_is_accepted_beside_the_new_one(wire: Wire, clock: FakeClock) -> None:
    carrier = connect(wire, clock, webhook_credential=["new-credential", CREDENTIAL])

    updates = carrier.parse_webhook(json.dumps(an_alert()).encode(), {"credential": CREDENTIAL})
    await carrier.aclose()

    assert len(updates) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps({"activityStatus": {"type": "D"}}).encode(),
        json.dumps(an_alert(localActivityDate="2024-04-23", gmtActivityDate=None)).encode(),
    ],
    ids=["not-json", "not-an-object", "no-number", "bad-date"],
)
def test_a_malformed_delivery_is_refused(ups: UpsCarrier, body: bytes) -> None:
    with pytest.raises(WebhookRejected) as raised:
        ups.parse_webhook(body, {"credential": CREDENTIAL})

    assert raised.value.code == "INVALID_PAYLOAD"


async def test_the_sandbox_delivers_a_parcel_in_four_steps_announced_by_track_alert(
    ups: UpsCarrier, sandbox: UpsSandbox, endpoint: Endpoint, clock: FakeClock
) -> None:
    sandbox.subscribe(ALERT_URL, CREDENTIAL)
    label = await ups.buy_label(a_label_request())

    steps = []
    for _ in range(4):
        clock.now += STEP - 1
        assert await sandbox.advance() == 0
        clock.now += 1
        steps.append(await sandbox.advance())

    assert steps == [1, 1, 1, 1]
    assert [str(request.url) for request in endpoint.received] == [ALERT_URL] * 4
    updates = [ups.parse_webhook(request.content, request.headers)[0] for request in endpoint.received]
    assert [update.status for update in updates] == [
        TrackingStatus.ACCEPTED,
        TrackingStatus.IN_TRANSIT,
        TrackingStatus.OUT_FOR_DELIVERY,
        TrackingStatus.DELIVERED,
    ]
    assert {update.tracking_number for update in updates} == {label.tracking_number}
    [tracked] = await ups.track([label.tracking_number])
    assert (tracked.status, tracked.raw_status, len(tracked.events)) == (TrackingStatus.DELIVERED, "D:FS", 5)
    clock.now += 10 * STEP
    assert await sandbox.advance() == 0


async def test_a_return_waiting_for_its_drop_off_moves_from_the_customer_s_scan_on(
    ups: UpsCarrier, sandbox: UpsSandbox, endpoint: Endpoint, clock: FakeClock
) -> None:
    sandbox.subscribe(ALERT_URL, CREDENTIAL)
    sandbox.returns_wait_for_drop_off = True
    back = await ups.buy_label(a_label_request(is_return=True))
    out = await ups.buy_label(a_label_request())
    clock.now += 10 * 86_400

    assert await sandbox.advance() == 4, "the outgoing parcel is delivered; the return waits"
    parcel = sandbox.parcels[back.tracking_number]
    assert (parcel.steps_taken, parcel.awaiting_drop_off) == (0, True)
    restarted = UpsSandbox(clock=clock)
    restarted.restore(json.loads(json.dumps(sandbox.to_state())))
    assert restarted.parcels[back.tracking_number].awaiting_drop_off

    dropped = clock.now
    await sandbox.hand_over(back.tracking_number)
    await sandbox.hand_over(back.tracking_number)  # a second drop-off of the same parcel scans nothing
    clock.now += STEP
    assert await sandbox.advance() == 1

    assert [scan.at for scan in parcel.scans[1:]] == [dropped, dropped + STEP]
    updates = [ups.parse_webhook(request.content, request.headers)[0] for request in endpoint.received]
    assert [update.tracking_number for update in updates] == [out.tracking_number] * 4 + [
        back.tracking_number
    ] * 2
    assert [update.status for update in updates[4:]] == [TrackingStatus.ACCEPTED, TrackingStatus.IN_TRANSIT]


# -- the wire against UPS's OpenAPI documents ---------------------------------------------------------


@OAUTH2_UNCHECKED
async def test_every_connector_request_and_sandbox_answer_matches_the_ups_specs(
    ups: UpsCarrier, sandbox: UpsSandbox, wire: Wire, endpoint: Endpoint, clock: FakeClock
) -> None:
    checks = {
        "/security": spec.ups_oauth(BASE),
        "/api/rating": spec.ups("Rating", BASE),
        "/api/shipments": spec.ups("Shipping", BASE),
        "/api/track": spec.ups("Tracking", BASE),
    }
    alerts = spec.ups("UPSTrackAlert", BASE)
    sandbox.subscribe(ALERT_URL, CREDENTIAL)

    label = await ups.buy_label(a_label_request(parcels=[Parcel(1200), Parcel(3000)]))
    sandbox.revoke_tokens()  # the Tracking document declares no 401: Rating does
    await ups.rates(NEWARK_DC, an_address(), [Parcel(1200), Parcel(25_000, 60, 40, 40)])
    await ups.track([label.tracking_number, "1ZA1B2C30399999999"])
    clock.now += 4 * STEP
    await sandbox.advance()
    await ups.track([label.tracking_number])

    statuses = sorted({exchange.status_code for exchange in wire.exchanges})
    assert statuses == [200, 401, 404]
    for exchange in wire.exchanges:
        check = next(
            check for prefix, check in checks.items() if exchange.request.url.path.startswith(prefix)
        )
        check.check_request(exchange.request)
        check.check_response(exchange)
    assert len(endpoint.received) == 2 * 4
    for delivery in endpoint.received:
        alerts.check_webhook("TrackingEvent", delivery)


# -- return labels ------------------------------------------------------------------------------------


@OAUTH2_UNCHECKED
async def test_a_return_label_is_a_print_return_label_shipment_from_the_customer_matching_the_spec(
    ups: UpsCarrier, sandbox: UpsSandbox, wire: Wire
) -> None:
    shipping = spec.ups("Shipping", BASE)
    customer = an_address()
    request = a_label_request(
        ship_from=customer, ship_to=NEWARK_DC, is_return=True, contents="Return 1 MUG-BLUE, 2 SOAP-OLIVE-3"
    )

    label = await ups.buy_label(request)

    parcel = sandbox.parcels[label.tracking_number]
    assert parcel.return_service == "9"
    # scanned first at the customer's, delivered to the node
    assert (parcel.origin.postal_code, parcel.destination.postal_code) == ("10118", "07114")
    assert label.label_url == f"https://onlinetools.ups.com/labels/{label.tracking_number}"
    shipment = json.loads(wire.api_requests()[0].content)["ShipmentRequest"]["Shipment"]
    assert shipment["ReturnService"] == {"Code": "9", "Description": "UPS Print Return Label"}
    assert shipment["Shipper"]["Name"] == "Newark DC"  # we stay the shipper, the account holder
    assert shipment["ShipFrom"]["Name"] == "Ann Lee"
    assert shipment["ShipTo"]["Name"] == "Newark DC"
    assert shipment["Package"][0]["Description"] == "Return 1 MUG-BLUE, 2 SOAP-OLIVE-3"[:35]
    for exchange in wire.exchanges:
        if exchange.request.url.path.startswith("/api/shipments"):
            shipping.check_request(exchange.request)
            shipping.check_response(exchange)


async def test_the_sandbox_refuses_a_return_shipment_ups_would_refuse(
    ups: UpsCarrier, sandbox: UpsSandbox, wire: Wire
) -> None:
    await ups.buy_label(a_label_request(is_return=True))  # a token, and a body to vary
    body = json.loads(wire.api_requests()[0].content)
    token = wire.api_requests()[0].headers["authorization"]
    shipment = body["ShipmentRequest"]["Shipment"]
    undescribed = [{k: v for k, v in p.items() if k != "Description"} for p in shipment["Package"]]
    cases = {
        "120540": {**shipment, "ReturnService": {"Code": "3"}},
        "120541": {k: v for k, v in shipment.items() if k != "ShipFrom"},
        "120542": {**shipment, "Package": undescribed},
    }
    async with httpx.AsyncClient(transport=wire, base_url=BASE) as client:
        for code, varied in cases.items():
            answer = await client.post(
                "/api/shipments/v2409/ship",
                json={"ShipmentRequest": {**body["ShipmentRequest"], "Shipment": varied}},
                headers={"Authorization": token},
            )
            assert answer.status_code == 400, code
            assert answer.json()["response"]["errors"][0]["code"] == code
    assert sandbox.labels_purchased == 1


@OAUTH2_UNCHECKED
async def test_the_request_s_phone_stands_in_where_ups_requires_one_and_the_address_has_none(
    ups: UpsCarrier, wire: Wire
) -> None:
    shipping = spec.ups("Shipping", BASE)
    customer = an_address(phone=None)
    request = a_label_request(ship_to=customer, phone="+1 973-555-0110")

    await ups.buy_label(request)
    abroad = _ship_request("A1B2C3", replace(request, ship_to=replace(customer, country_code="CA")))
    earliest = _ship_request("A1B2C3", replace(request, service=NEXT_DAY_AIR_EARLY))

    shipment = json.loads(wire.api_requests()[0].content)["ShipmentRequest"]["Shipment"]
    assert shipment["Shipper"]["Phone"] == {"Number": "9735550110"}  # we are the shipper: ours
    assert "Phone" not in shipment["ShipTo"]  # a domestic ground consignee needs none
    assert abroad["ShipmentRequest"]["Shipment"]["ShipTo"]["Phone"]["Number"].endswith("9735550110")
    assert earliest["ShipmentRequest"]["Shipment"]["ShipTo"]["Phone"] == {"Number": "9735550110"}
    for exchange in wire.exchanges:
        if exchange.request.url.path.startswith("/api/shipments"):
            shipping.check_request(exchange.request)
            shipping.check_response(exchange)


# -- voids ---------------------------------------------------------------------------------------------


@OAUTH2_UNCHECKED
async def test_a_shipment_ups_has_not_received_is_voided_whole_once_matching_the_specs(
    ups: UpsCarrier, sandbox: UpsSandbox, wire: Wire, clock: FakeClock
) -> None:
    shipping, tracking = spec.ups("Shipping", BASE), spec.ups("Tracking", BASE)
    label = await ups.buy_label(a_label_request(parcels=[Parcel(1200), Parcel(3000)], is_return=True))

    voided = await ups.void_label(label.carrier_label_id)
    again = await ups.void_label(label.carrier_label_id)  # UPS says 1 of a shipment voided before
    [update] = await ups.track([label.tracking_number])
    clock.now += 4 * STEP
    moved = await sandbox.advance()

    assert voided == again == VoidResult(voided=True)
    assert label.carrier_label_id == label.tracking_number  # one shipment: the first package's number
    assert all(parcel.voided for parcel in sandbox.parcels.values())  # both packages
    assert (update.status, update.raw_status) == (TrackingStatus.UNKNOWN, "MV:MV")
    assert moved == 0  # a voided parcel goes nowhere
    restarted = UpsSandbox(clock=clock, step_seconds=STEP)
    restarted.restore(json.loads(json.dumps(sandbox.to_state())))
    assert all(parcel.voided for parcel in restarted.parcels.values())
    voids = [r for r in wire.exchanges if r.request.method == "DELETE"]
    assert voids[0].request.url.path == f"/api/shipments/v2409/void/cancel/{label.tracking_number}"
    assert voids[0].json()["VoidShipmentResponse"]["SummaryResult"] == {
        "Status": {"Code": "1", "Description": "Voided"}
    }
    for exchange in wire.exchanges:
        check = tracking if exchange.request.url.path.startswith("/api/track") else shipping
        if exchange.request.url.path.startswith("/api/"):
            check.check_request(exchange.request)
            check.check_response(exchange)


@OAUTH2_UNCHECKED
async def test_a_shipment_ups_received_or_does_not_know_is_not_voided_and_ups_says_why(
    ups: UpsCarrier, sandbox: UpsSandbox, wire: Wire, clock: FakeClock
) -> None:
    shipping = spec.ups("Shipping", BASE)
    picked_up = await ups.buy_label(a_label_request(is_return=True))
    clock.now += STEP
    await sandbox.advance()
    kept = await ups.buy_label(a_label_request(is_return=True))
    clock.now += 91 * 86_400

    refused = await ups.void_label(picked_up.carrier_label_id)
    expired = await ups.void_label(kept.carrier_label_id)
    unknown = await ups.void_label("1ZA1B2C30399999999")

    assert refused == VoidResult(
        voided=False, reason="190117 The package was received by UPS and cannot be voided"
    )
    assert expired.voided is False
    assert "void period" in expired.reason
    assert unknown.voided is False
    assert unknown.reason == "190101 No shipment found for this shipment identification number"
    assert not any(parcel.voided for parcel in sandbox.parcels.values())
    for exchange in wire.exchanges:
        if exchange.request.url.path.startswith("/api/shipments"):
            shipping.check_request(exchange.request)
            shipping.check_response(exchange)
