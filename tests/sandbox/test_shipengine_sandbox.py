"""The ShipEngine sandbox on its own wire: auth, the price table, labels, tracking, webhooks."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ordergate.sandbox.shipengine import CARRIERS, SERVICES, TRACKING_STEPS, ShipEngineSandbox
from tests import spec

TODAY = date(2026, 3, 2)
BASE = "http://shipengine.test"
API_KEY = "TEST_sandbox-key"
AUTH = {"API-Key": API_KEY}
HOOK_URL = "https://ordergate.test/webhooks/shipengine"
SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
UPS, STAMPS, FEDEX = (account.carrier_id for account in CARRIERS)


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime.combine(TODAY, datetime.min.time(), UTC).timestamp() + 8 * 3600

    def __call__(self) -> float:
        return self.now


class Endpoint:
    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        return httpx.Response(self.status)

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(request.content) for request in self.received]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def endpoint() -> Endpoint:
    return Endpoint()


@pytest.fixture
async def sandbox(clock: FakeClock, endpoint: Endpoint) -> AsyncIterator[ShipEngineSandbox]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as hooks:
        yield ShipEngineSandbox(api_key=API_KEY, clock=clock, signing_key=SIGNING_KEY, webhook_client=hooks)


@pytest.fixture
async def shipengine(sandbox: ShipEngineSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE) as client:
        yield client


def an_address(**overrides: str) -> dict[str, str]:
    return {
        "name": "Newark DC",
        "phone": "+1 973-555-0100",
        "address_line1": "1 Distribution Way",
        "city_locality": "Newark",
        "state_province": "NJ",
        "postal_code": "07114",
        "country_code": "US",
    } | overrides


DALLAS = an_address(name="Bo Diaz", city_locality="Dallas", state_province="TX", postal_code="75201")
JERSEY_CITY = an_address(name="Ann Lee", city_locality="Jersey City", postal_code="07302")


def a_shipment(ship_to: dict[str, str] = DALLAS, pounds: float = 2, **overrides: Any) -> dict[str, Any]:
    return {
        "ship_from": an_address(),
        "ship_to": ship_to,
        "packages": [
            {
                "weight": {"value": pounds, "unit": "pound"},
                "dimensions": {"unit": "inch", "length": 12, "width": 8, "height": 6},
            }
        ],
        **overrides,
    }


def rate_request(
    shipment: dict[str, Any] | None = None, carrier_ids: list[str] | None = None
) -> dict[str, Any]:
    return {
        "rate_options": {"carrier_ids": carrier_ids or [UPS, STAMPS, FEDEX]},
        "shipment": shipment or a_shipment(),
    }


def label_request(service: str = "ups_ground", carrier_id: str = UPS, **overrides: Any) -> dict[str, Any]:
    return {"shipment": a_shipment(carrier_id=carrier_id, service_code=service, **overrides)}


async def buy(shipengine: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await shipengine.post("/v1/labels", json=label_request(**overrides), headers=AUTH)
    assert response.status_code == 200, response.text
    label: dict[str, Any] = response.json()
    return label


# -- auth --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"API-Key": "TEST_wrong"}, {"Authorization": f"Bearer {API_KEY}"}])
async def test_a_missing_or_wrong_api_key_is_401_in_shipengine_s_error_format(
    shipengine: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await shipengine.get("/v1/carriers", headers=headers)

    assert response.status_code == 401
    [error] = response.json()["errors"]
    assert (error["error_source"], error["error_type"], error["error_code"]) == (
        "shipengine",
        "security",
        "unauthorized",
    )
    assert response.json()["request_id"]


async def test_any_api_key_is_accepted_when_none_is_configured(clock: FakeClock) -> None:
    sandbox = ShipEngineSandbox(clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE) as client:
        accepted = await client.get("/v1/carriers", headers={"API-Key": "anything"})
        refused = await client.get("/v1/carriers")

    assert (accepted.status_code, refused.status_code) == (200, 401)


# -- rates -------------------------------------------------------------------------------------------


async def test_rates_come_from_the_price_table_by_zone_and_weight(shipengine: httpx.AsyncClient) -> None:
    response = await shipengine.post("/v1/rates", json=rate_request(), headers=AUTH)

    rates = {rate["service_code"]: rate for rate in response.json()["rate_response"]["rates"]}
    assert set(rates) == {service.code for service in SERVICES}
    # Newark to Dallas is about 2,200 km: zone 6. Two pounds: one pound-step past the first.
    assert rates["ups_ground"]["zone"] == 6
    assert rates["ups_ground"]["shipping_amount"] == {"currency": "usd", "amount": 16.55}
    assert (rates["ups_ground"]["delivery_days"], rates["fedex_2day"]["delivery_days"]) == (4, 2)
    assert rates["usps_priority_mail"]["carrier_id"] == STAMPS
    assert rates["ups_ground"]["estimated_delivery_date"] == "2026-03-06T00:00:00Z"


async def test_the_same_request_is_priced_the_same_and_farther_or_heavier_costs_more(
    shipengine: httpx.AsyncClient,
) -> None:
    async def ground(shipment: dict[str, Any]) -> Decimal:
        response = await shipengine.post("/v1/rates", json=rate_request(shipment, [UPS]), headers=AUTH)
        [rate] = [r for r in response.json()["rate_response"]["rates"] if r["service_code"] == "ups_ground"]
        return Decimal(str(rate["shipping_amount"]["amount"]))

    near, again = await ground(a_shipment(JERSEY_CITY)), await ground(a_shipment(JERSEY_CITY))
    far, heavy = await ground(a_shipment(DALLAS)), await ground(a_shipment(DALLAS, pounds=9.5))

    assert near == again == Decimal("10.80")
    assert near < far < heavy


async def test_rates_are_limited_to_the_carriers_and_services_asked_for(
    shipengine: httpx.AsyncClient,
) -> None:
    body = rate_request(carrier_ids=[FEDEX, STAMPS])
    body["rate_options"]["service_codes"] = ["usps_priority_mail"]

    response = await shipengine.post("/v1/rates", json=body, headers=AUTH)

    assert [r["service_code"] for r in response.json()["rate_response"]["rates"]] == ["usps_priority_mail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"shipment": a_shipment()}, "rate_options.carrier_ids"),
        (rate_request(carrier_ids=["se-999"]), None),
        (rate_request(a_shipment(packages=[])), "shipment.packages"),
        (rate_request(a_shipment(ship_to=an_address(postal_code=""))), "shipment.ship_to.postal_code"),
    ],
    ids=["no-carriers", "unknown-carrier", "no-packages", "no-postal-code"],
)
async def test_a_rate_request_missing_what_shipengine_needs_is_400(
    shipengine: httpx.AsyncClient, body: dict[str, Any], field: str | None
) -> None:
    response = await shipengine.post("/v1/rates", json=body, headers=AUTH)

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["error_type"] == "validation"
    assert error.get("field_name") == field


# -- labels ------------------------------------------------------------------------------------------


async def test_each_purchase_is_a_new_label_with_its_own_tracking_number(
    shipengine: httpx.AsyncClient, sandbox: ShipEngineSandbox
) -> None:
    first = await buy(shipengine, external_shipment_id="fo-1")
    second = await buy(shipengine, external_shipment_id="fo-1")
    usps = await buy(shipengine, service="usps_priority_mail", carrier_id=STAMPS)
    fedex = await buy(shipengine, service="fedex_2day", carrier_id=FEDEX)

    assert sandbox.purchases == 4
    assert len(sandbox.labels_for("fo-1")) == 2, "like ShipEngine, a repeated external id is not refused"
    numbers = [label["tracking_number"] for label in (first, second, usps, fedex)]
    assert numbers == ["1Z999AA10000000001", "1Z999AA10000000002", "9400111899000000000001", "770000000001"]
    assert first["shipment_cost"] == {"currency": "usd", "amount": 16.55}
    assert (
        first["label_download"]["pdf"] == "https://api.shipengine.com/v1/downloads/10/se-label-1/label-1.pdf"
    )


async def test_a_label_is_found_by_external_id_rate_and_tracking_number(
    shipengine: httpx.AsyncClient,
) -> None:
    rated = await shipengine.post("/v1/rates", json=rate_request(), headers=AUTH)
    rate_id = rated.json()["rate_response"]["rates"][0]["rate_id"]
    from_rate = await shipengine.post(
        f"/v1/labels/rates/{rate_id}", json={"label_format": "pdf"}, headers=AUTH
    )
    bought = await buy(shipengine, external_shipment_id="fo-9")

    by_external = await shipengine.get("/v1/labels/external_shipment_id/fo-9", headers=AUTH)
    by_rate = await shipengine.get("/v1/labels", params={"rate_id": rate_id}, headers=AUTH)
    by_number = await shipengine.get(
        "/v1/labels", params={"tracking_number": bought["tracking_number"]}, headers=AUTH
    )
    missing = await shipengine.get("/v1/labels/external_shipment_id/fo-0", headers=AUTH)

    assert by_external.json()["label_id"] == bought["label_id"]
    assert [label["label_id"] for label in by_rate.json()["labels"]] == [from_rate.json()["label_id"]]
    assert from_rate.json()["shipment_cost"] == rated.json()["rate_response"]["rates"][0]["shipping_amount"]
    assert [label["label_id"] for label in by_number.json()["labels"]] == [bought["label_id"]]
    assert (by_rate.json()["total"], by_rate.json()["pages"]) == (1, 1)
    assert missing.status_code == 404


async def test_a_rate_that_was_never_quoted_cannot_be_bought(
    shipengine: httpx.AsyncClient, sandbox: ShipEngineSandbox
) -> None:
    response = await shipengine.post("/v1/labels/rates/se-rate-404", json={}, headers=AUTH)

    assert response.status_code == 404
    assert response.json()["errors"][0]["error_code"] == "invalid_identifier"
    assert sandbox.purchases == 0


async def test_a_service_of_another_carrier_is_refused(
    shipengine: httpx.AsyncClient, sandbox: ShipEngineSandbox
) -> None:
    response = await shipengine.post("/v1/labels", json=label_request("fedex_2day", UPS), headers=AUTH)

    assert response.status_code == 400
    assert sandbox.purchases == 0


async def test_the_label_file_is_downloadable_without_the_key(shipengine: httpx.AsyncClient) -> None:
    label = await buy(shipengine)

    pdf = await shipengine.get(label["label_download"]["pdf"].removeprefix("https://api.shipengine.com"))
    unknown = await shipengine.get("/v1/downloads/10/se-label-404/label.pdf")

    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
    assert unknown.status_code == 404


# -- tracking ----------------------------------------------------------------------------------------


async def test_a_label_moves_to_delivered_in_four_steps_each_announced_by_webhook(
    shipengine: httpx.AsyncClient, sandbox: ShipEngineSandbox, clock: FakeClock, endpoint: Endpoint
) -> None:
    sandbox.register_webhook(HOOK_URL, headers={"X-Ordergate-Webhook-Secret": "s3cret"})
    label = await buy(shipengine, ship_to=JERSEY_CITY)
    number = label["tracking_number"]
    seen: list[tuple[str, str]] = []
    for _ in TRACKING_STEPS:
        clock.now += 29
        assert await sandbox.advance() == 0, "nothing moves before step_seconds"
        clock.now += 1
        assert await sandbox.advance() == 1
        tracked = (
            await shipengine.get("/v1/tracking", params={"tracking_number": number}, headers=AUTH)
        ).json()
        seen.append((tracked["status_code"], tracked["status_detail_code"]))
    clock.now += 3600

    assert await sandbox.advance() == 0
    assert seen == [
        ("AC", "RECEIVED_BY_CARRIER"),
        ("IT", "IN_TRANSIT"),
        ("IT", "OUT_FOR_DELIVERY"),
        ("DE", "DELIVERED"),
    ]
    assert [(p["resource_type"], p["data"]["status_code"]) for p in endpoint.payloads()] == [
        ("API_TRACK", "AC"),
        ("API_TRACK", "IT"),
        ("API_TRACK", "IT"),
        ("API_TRACK", "DE"),
    ]
    delivered = endpoint.payloads()[-1]
    assert delivered["resource_url"] == (
        f"https://api.shipengine.com/v1/tracking?carrier_code=ups&tracking_number={number}"
    )
    assert [event["city_locality"] for event in delivered["data"]["events"]] == [
        "Jersey City",
        "Jersey City",
        "Louisville",
        "Newark",
    ]
    assert delivered["data"]["actual_delivery_date"] == delivered["data"]["events"][0]["occurred_at"]
    assert all(request.headers["X-Ordergate-Webhook-Secret"] == "s3cret" for request in endpoint.received)
    assert all(str(request.url) == HOOK_URL for request in endpoint.received)


async def test_a_label_not_looked_at_for_a_while_makes_every_scan_it_was_due_each_at_its_time(
    shipengine: httpx.AsyncClient, sandbox: ShipEngineSandbox, clock: FakeClock, endpoint: Endpoint
) -> None:
    sandbox.register_webhook(HOOK_URL)
    label = await buy(shipengine, ship_to=JERSEY_CITY)
    bought = clock.now
    clock.now += 3 * 30 + 10  # three scans due, the fourth not yet

    assert await sandbox.advance() == 3
    clock.now += 20
    assert await sandbox.advance() == 1
    assert await sandbox.advance() == 0

    tracked = sandbox.label_for(label["tracking_number"])
    assert [event["occurred_at"] for event in tracked.events] == [
        datetime.fromtimestamp(bought + 30 * step, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
        for step in (1, 2, 3, 4)
    ]
    assert [p["data"]["status_code"] for p in endpoint.payloads()] == ["AC", "IT", "IT", "DE"]


async def test_a_return_label_waiting_for_its_drop_off_moves_from_the_customer_s_scan_on(
    shipengine: httpx.AsyncClient, sandbox: ShipEngineSandbox, clock: FakeClock, endpoint: Endpoint
) -> None:
    sandbox.register_webhook(HOOK_URL)
    sandbox.returns_wait_for_drop_off = True
    response = await shipengine.post(
        "/v1/labels", json={**label_request(ship_to=JERSEY_CITY), "is_return_label": True}, headers=AUTH
    )
    going_out = await buy(shipengine)
    back = sandbox.label_for(response.json()["tracking_number"])
    clock.now += 10 * 86400

    assert await sandbox.advance() == 4, "the outgoing label is delivered; the return's waits"
    assert (back.step, back.events, back.awaiting_drop_off) == (0, [], True)
    restored = ShipEngineSandbox(api_key=API_KEY, clock=clock)
    restored.restore(sandbox.to_state())
    assert restored.label_for(back.tracking_number).awaiting_drop_off

    await sandbox.hand_over(back.label_id)
    await sandbox.hand_over(back.label_id)  # a second drop-off of the same parcel scans nothing
    clock.now += 30
    assert await sandbox.advance() == 1

    assert [event["status_code"] for event in back.events] == ["AC", "IT"]
    assert back.events[0]["occurred_at"] == datetime.fromtimestamp(clock.now - 30, UTC).isoformat(
        timespec="milliseconds"
    ).replace("+00:00", "Z")
    numbers = [p["data"]["tracking_number"] for p in endpoint.payloads()]
    assert numbers == [going_out["tracking_number"]] * 4 + [back.tracking_number] * 2


async def test_deliveries_are_signed_with_the_key_the_jwks_publishes(
    shipengine: httpx.AsyncClient, sandbox: ShipEngineSandbox, clock: FakeClock, endpoint: Endpoint
) -> None:
    sandbox.register_webhook(HOOK_URL)
    await buy(shipengine)
    clock.now += 30
    await sandbox.advance()
    jwks = (await shipengine.get("/jwks")).json()
    [delivery] = endpoint.received

    [jwk] = jwks["keys"]
    public = rsa.RSAPublicNumbers(_number(jwk["e"]), _number(jwk["n"])).public_key()
    stamp = delivery.headers["x-shipengine-timestamp"]
    signature = base64.b64decode(delivery.headers["x-shipengine-rsa-sha256-signature"])
    public.verify(signature, stamp.encode() + b"." + delivery.content, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):
        public.verify(
            signature, stamp.encode() + b"." + delivery.content + b" ", padding.PKCS1v15(), hashes.SHA256()
        )
    assert delivery.headers["x-shipengine-rsa-sha256-key-id"] == jwk["kid"]
    assert datetime.fromisoformat(stamp).timestamp() == clock.now


async def test_step_seconds_sets_the_pace(clock: FakeClock) -> None:
    sandbox = ShipEngineSandbox(clock=clock, step_seconds=5)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE) as client:
        await buy(client)

    moved = [await sandbox.advance(clock.now + 5 * step) for step in range(1, 6)]

    assert moved == [1, 1, 1, 1, 0]
    assert next(iter(sandbox.labels.values())).delivered


async def test_run_advances_every_step_until_stopped(
    shipengine: httpx.AsyncClient, clock: FakeClock, endpoint: Endpoint
) -> None:
    naps: list[float] = []
    stop = asyncio.Event()

    async def nap(seconds: float) -> None:
        naps.append(seconds)
        clock.now += seconds
        if len(naps) == 6:
            stop.set()
        await asyncio.sleep(0)

    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as hooks:
        sandbox = ShipEngineSandbox(clock=clock, sleep=nap, signing_key=SIGNING_KEY, webhook_client=hooks)
        sandbox.register_webhook(HOOK_URL)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE) as client:
            await buy(client)
        await asyncio.wait_for(sandbox.run(stop), timeout=5)

    assert naps == [30.0] * 6
    assert [payload["data"]["status_code"] for payload in endpoint.payloads()] == ["AC", "IT", "IT", "DE"]


async def test_run_returns_as_soon_as_it_is_stopped(clock: FakeClock) -> None:
    forever = asyncio.Event()

    async def never(seconds: float) -> None:
        await forever.wait()

    sandbox = ShipEngineSandbox(clock=clock, sleep=never)
    stop = asyncio.Event()
    running = asyncio.create_task(sandbox.run(stop))
    await asyncio.sleep(0)
    stop.set()

    await asyncio.wait_for(running, timeout=1)


@pytest.mark.parametrize("failure", ["unreachable", "refused"])
async def test_a_failed_delivery_is_logged_and_never_raised(
    clock: FakeClock, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route to host", request=request)

    handler = unreachable if failure == "unreachable" else Endpoint(status=500)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as hooks:
        sandbox = ShipEngineSandbox(clock=clock, signing_key=SIGNING_KEY, webhook_client=hooks)
        sandbox.register_webhook(HOOK_URL)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE) as client:
            label = await buy(client)
        with caplog.at_level(logging.WARNING, logger="ordergate.sandbox.shipengine"):
            assert await sandbox.advance(clock.now + 30) == 1

    assert sandbox.label_for(label["tracking_number"]).step == 1
    assert label["tracking_number"] in caplog.text


async def test_an_unknown_tracking_number_is_404(shipengine: httpx.AsyncClient) -> None:
    label = await buy(shipengine)

    unknown = await shipengine.get("/v1/tracking", params={"tracking_number": "1Z404"}, headers=AUTH)
    other_carrier = await shipengine.get(
        "/v1/tracking",
        params={"carrier_code": "fedex", "tracking_number": label["tracking_number"]},
        headers=AUTH,
    )

    assert (unknown.status_code, other_carrier.status_code) == (404, 404)


# -- webhooks API ------------------------------------------------------------------------------------


async def test_webhooks_are_created_listed_and_updated_through_the_api(
    shipengine: httpx.AsyncClient, sandbox: ShipEngineSandbox
) -> None:
    headers = [{"key": "X-Ordergate-Webhook-Secret", "value": "one"}]
    created = await shipengine.post(
        "/v1/environment/webhooks", json={"event": "track", "url": HOOK_URL, "headers": headers}, headers=AUTH
    )
    duplicate = await shipengine.post(
        "/v1/environment/webhooks", json={"event": "track", "url": HOOK_URL}, headers=AUTH
    )
    webhook_id = created.json()["webhook_id"]
    updated = await shipengine.put(
        f"/v1/environment/webhooks/{webhook_id}",
        json={"url": HOOK_URL, "headers": [{"key": "X-Ordergate-Webhook-Secret", "value": "two"}]},
        headers=AUTH,
    )
    listed = await shipengine.get("/v1/environment/webhooks", headers=AUTH)

    assert created.json() == {"webhook_id": webhook_id, "url": HOOK_URL, "event": "track", "headers": headers}
    assert (duplicate.status_code, duplicate.json()["errors"][0]["error_code"]) == (
        409,
        "identifier_conflict",
    )
    assert updated.status_code == 204
    assert listed.json()[0]["headers"] == [{"key": "X-Ordergate-Webhook-Secret", "value": "two"}]
    assert sandbox.webhooks[0].headers == {"X-Ordergate-Webhook-Secret": "two"}


# -- the wire against ShipEngine's OpenAPI document ----------------------------------------------------------


async def test_every_answer_matches_the_shipengine_spec(
    shipengine: httpx.AsyncClient, sandbox: ShipEngineSandbox, clock: FakeClock
) -> None:
    check = spec.shipengine(BASE)
    rated = await shipengine.post("/v1/rates", json=rate_request(), headers=AUTH)
    rate_id = rated.json()["rate_response"]["rates"][0]["rate_id"]
    bought = await shipengine.post(
        "/v1/labels", json=label_request(external_shipment_id="fo-1"), headers=AUTH
    )
    number = bought.json()["tracking_number"]
    answers = [
        await shipengine.get("/v1/carriers", headers=AUTH),
        rated,
        bought,
        await shipengine.post(f"/v1/labels/rates/{rate_id}", json={"label_format": "pdf"}, headers=AUTH),
        await shipengine.get("/v1/labels", params={"rate_id": rate_id}, headers=AUTH),
        await shipengine.get("/v1/labels/external_shipment_id/fo-1", headers=AUTH),
        await shipengine.get(
            "/v1/tracking", params={"carrier_code": "ups", "tracking_number": number}, headers=AUTH
        ),
    ]
    await sandbox.advance(clock.now + 30)
    await sandbox.advance(clock.now + 60)
    answers += [
        await shipengine.get(
            "/v1/tracking", params={"carrier_code": "ups", "tracking_number": number}, headers=AUTH
        ),
        await shipengine.post(
            "/v1/environment/webhooks", json={"event": "track", "url": HOOK_URL}, headers=AUTH
        ),
        await shipengine.get("/v1/environment/webhooks", headers=AUTH),
        await shipengine.get(
            bought.json()["label_download"]["pdf"].removeprefix("https://api.shipengine.com")
        ),
        await shipengine.post("/v1/labels", json=label_request(ship_from=an_address(phone="")), headers=AUTH),
        await shipengine.get("/v1/tracking", params={"tracking_number": "1Z404"}, headers=AUTH),
        await shipengine.post(
            "/v1/environment/webhooks", json={"event": "track", "url": HOOK_URL}, headers=AUTH
        ),
    ]
    unauthorized = await shipengine.post("/v1/rates", json=rate_request(), headers={"API-Key": "TEST_wrong"})

    assert [answer.status_code for answer in answers] == [200] * 11 + [400, 404, 409]
    for answer in answers:
        check.check_response(answer)
    # The spec declares no 401 anywhere, though its security scheme promises one.
    assert unauthorized.status_code == 401
    check.check_schema("error_response_body", unauthorized.json())


async def test_a_webhook_delivery_carries_the_spec_s_tracking_information(
    shipengine: httpx.AsyncClient, sandbox: ShipEngineSandbox, endpoint: Endpoint
) -> None:
    check = spec.shipengine(BASE)
    sandbox.register_webhook(HOOK_URL)
    await buy(shipengine)
    for step in range(1, 5):
        await sandbox.advance(sandbox.clock() + 30 * step)

    for payload in endpoint.payloads():
        assert set(payload) == {"resource_url", "resource_type", "data"}
        # ShipEngine's webhook documentation adds `label_url` to the tracking information.
        data = {key: value for key, value in payload["data"].items() if key != "label_url"}
        check.check_schema("tracking_information", data)
        check.check_schema("get_tracking_log_response_body", data)


def _number(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")
