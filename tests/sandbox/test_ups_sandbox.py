"""The UPS sandbox on its own, through raw HTTP: OAuth, rating, shipping, tracking, Track Alert."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ordergate.sandbox.ups import RATES, UpsSandbox
from tests import spec

BASE = "http://ups.test"
CLIENT_ID, CLIENT_SECRET, ACCOUNT = "ups-client", "ups-secret", "A1B2C3"
CREDENTIAL = "track-alert-credential"
ALERT_URL = "https://ordergate.test/webhooks/ups"
TOKEN_PATH = "/security/v1/oauth/token"
OAUTH2_UNCHECKED = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC).timestamp()

    def __call__(self) -> float:
        return self.now


class Endpoint:
    """A fake webhook receiver that records what it is sent."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        return httpx.Response(self.status)


def basic(client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> dict[str, str]:
    encoded = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}", "Content-Type": "application/x-www-form-urlencoded"}


def an_address(postal_code: str = "10118", **overrides: Any) -> dict[str, Any]:
    address = {"AddressLine": ["350 5th Ave"], "City": "New York", "StateProvinceCode": "NY"}
    return {**address, "PostalCode": postal_code, "CountryCode": "US", **overrides}


def a_package(pounds: str = "2.7", *, packaging: str = "PackagingType") -> dict[str, Any]:
    return {
        packaging: {"Code": "02", "Description": "Package"},
        "PackageWeight": {"UnitOfMeasurement": {"Code": "LBS", "Description": "Pounds"}, "Weight": pounds},
    }


def a_rate_request(
    *packages: dict[str, Any], to: str = "10118", service: str | None = None
) -> dict[str, Any]:
    shipment: dict[str, Any] = {
        "Shipper": {"Name": "Newark DC", "ShipperNumber": ACCOUNT, "Address": an_address("07114")},
        "ShipTo": {"Name": "Ann Lee", "Address": an_address(to)},
        "Package": list(packages) or [a_package()],
    }
    if service is not None:
        shipment["Service"] = {"Code": service}
    return {"RateRequest": {"Request": {"RequestOption": "Rate"}, "Shipment": shipment}}


def a_ship_request(
    *packages: dict[str, Any], account: str = ACCOUNT, service: str = "03", links: bool = True
) -> dict[str, Any]:
    shipment: dict[str, Any] = {
        "Shipper": {"Name": "Newark DC", "ShipperNumber": account, "Address": an_address("07114")},
        "ShipTo": {"Name": "Ann Lee", "Address": an_address()},
        "PaymentInformation": {"ShipmentCharge": [{"Type": "01", "BillShipper": {"AccountNumber": account}}]},
        "Service": {"Code": service},
        "Package": list(packages) or [a_package(packaging="Packaging")],
    }
    if links:
        shipment["ShipmentServiceOptions"] = {"LabelDelivery": {"LabelLinksIndicator": ""}}
    return {
        "ShipmentRequest": {
            "Request": {"RequestOption": "nonvalidate", "TransactionReference": {"CustomerContext": "FO-1"}},
            "Shipment": shipment,
        }
    }


def valid_1z(number: str) -> bool:
    """UPS's published check: after 1Z, letters count (ordinal - 63) mod 10, even places twice."""
    body, check = number[2:-1], number[-1]
    values = [int(c) if c.isdigit() else (ord(c) - 63) % 10 for c in body]
    total = sum(value * (2 if index % 2 else 1) for index, value in enumerate(values))
    return number.startswith("1Z") and len(number) == 18 and str((10 - total % 10) % 10) == check


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
            token_ttl=3600,
            webhook_client=client,
        )


@pytest.fixture
async def http(sandbox: UpsSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE) as client:
        yield client


@pytest.fixture
async def bearer(http: httpx.AsyncClient) -> dict[str, str]:
    token = await http.post(TOKEN_PATH, content=b"grant_type=client_credentials", headers=basic())
    return {
        "Authorization": f"Bearer {token.json()['access_token']}",
        "transId": "0" * 32,
        "transactionSrc": "tests",
    }


def test_the_published_check_digit_holds_for_a_known_number() -> None:
    assert valid_1z("1Z12345E6605272234")
    assert not valid_1z("1Z12345E6605272235")


# -- OAuth ---------------------------------------------------------------------------------------------


async def test_a_token_goes_to_the_configured_client_with_its_lifetime_as_a_string(
    http: httpx.AsyncClient, sandbox: UpsSandbox, clock: FakeClock
) -> None:
    response = await http.post(TOKEN_PATH, content=b"grant_type=client_credentials", headers=basic())

    assert response.status_code == 200
    body = response.json()
    assert (body["token_type"], body["client_id"], body["expires_in"], body["status"]) == (
        "Bearer",
        CLIENT_ID,
        "3600",
        "approved",
    )
    assert body["issued_at"] == str(int(clock.now * 1000))
    assert sandbox.tokens_issued == 1


@pytest.mark.parametrize(
    "headers",
    [
        basic(secret="wrong"),
        basic(client_id="someone-else"),
        {"Content-Type": "application/x-www-form-urlencoded"},
    ],
    ids=["wrong-secret", "unknown-client", "no-basic-auth"],
)
async def test_a_token_for_anyone_else_is_refused_in_the_ups_error_format(
    http: httpx.AsyncClient, sandbox: UpsSandbox, headers: dict[str, str]
) -> None:
    response = await http.post(TOKEN_PATH, content=b"grant_type=client_credentials", headers=headers)

    assert response.status_code == 401
    assert response.json() == {"response": {"errors": [{"code": "10401", "message": "ClientId is Invalid"}]}}
    assert sandbox.tokens_issued == 0


async def test_a_token_needs_the_client_credentials_grant(http: httpx.AsyncClient) -> None:
    response = await http.post(TOKEN_PATH, content=b"grant_type=password", headers=basic())

    assert response.status_code == 400
    assert response.json()["response"]["errors"][0]["code"] == "10400"


async def test_any_client_is_welcome_when_none_is_configured(clock: FakeClock) -> None:
    sandbox = UpsSandbox(clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE) as http:
        response = await http.post(
            TOKEN_PATH, content=b"grant_type=client_credentials", headers=basic("a", "b")
        )

    assert response.status_code == 200
    assert response.json()["expires_in"] == "14399"


@pytest.mark.parametrize(
    ("authorization", "code"),
    [(None, "250002"), ("Bearer not-issued-here", "250002"), ("expired", "251004"), ("revoked", "250002")],
)
async def test_an_api_call_without_a_live_bearer_is_401(
    http: httpx.AsyncClient,
    sandbox: UpsSandbox,
    bearer: dict[str, str],
    clock: FakeClock,
    authorization: str | None,
    code: str,
) -> None:
    headers = dict(bearer)
    if authorization == "expired":
        clock.now += 3600
    elif authorization == "revoked":
        sandbox.revoke_tokens()
    elif authorization is None:
        del headers["Authorization"]
    else:
        headers["Authorization"] = authorization

    response = await http.post("/api/rating/v2409/Shop", json=a_rate_request(), headers=headers)

    assert response.status_code == 401
    assert response.json()["response"]["errors"][0]["code"] == code


# -- rating ---------------------------------------------------------------------------------------------


async def test_shop_quotes_every_service_and_rate_only_the_one_asked(
    http: httpx.AsyncClient, bearer: dict[str, str]
) -> None:
    shop = await http.post("/api/rating/v2409/Shop", json=a_rate_request(), headers=bearer)
    rate = await http.post("/api/rating/v2409/Rate", json=a_rate_request(service="002"), headers=bearer)

    rated = {
        r["Service"]["Code"]: r["TotalCharges"]["MonetaryValue"]
        for r in shop.json()["RateResponse"]["RatedShipment"]
    }
    assert rated == {"01": "39.20", "02": "22.20", "03": "10.80"}
    [only] = rate.json()["RateResponse"]["RatedShipment"]
    assert (only["Service"]["Code"], only["TotalCharges"]["MonetaryValue"]) == ("02", "22.20")


@pytest.mark.parametrize(
    ("packages", "to", "ground"),
    [
        ([a_package("0.4")], "10118", Decimal("9.60")),
        ([a_package("10")], "10118", Decimal("15.00")),
        ([a_package("0.4")], "90210", Decimal("14.10")),
        ([a_package("1"), a_package("1")], "10118", Decimal("19.20")),
        ([a_package("1.5")], "75201", Decimal("14.70")),
    ],
    ids=["light-near", "heavy-near", "light-far", "two-packages", "to-dallas"],
)
async def test_ground_costs_more_with_weight_distance_and_packages(
    http: httpx.AsyncClient, bearer: dict[str, str], packages: list[dict[str, Any]], to: str, ground: Decimal
) -> None:
    response = await http.post(
        "/api/rating/v2409/Rate", json=a_rate_request(*packages, to=to, service="003"), headers=bearer
    )

    [rated] = response.json()["RateResponse"]["RatedShipment"]
    assert Decimal(rated["TotalCharges"]["MonetaryValue"]) == ground


async def test_an_unknown_service_is_unavailable(http: httpx.AsyncClient, bearer: dict[str, str]) -> None:
    response = await http.post("/api/rating/v2409/Rate", json=a_rate_request(service="014"), headers=bearer)

    assert response.status_code == 400
    assert response.json()["response"]["errors"][0]["code"] == "111210"


def test_the_rate_table_covers_ground_2nd_day_and_next_day_air() -> None:
    assert {code: rate.name for code, rate in RATES.items()} == {
        "01": "UPS Next Day Air",
        "02": "UPS 2nd Day Air",
        "03": "UPS Ground",
    }
    assert all(len(rate.days) == 7 for rate in RATES.values())


# -- shipping ----------------------------------------------------------------------------------------------


async def test_a_label_has_a_1z_number_per_package_an_image_and_a_link(
    http: httpx.AsyncClient, bearer: dict[str, str], sandbox: UpsSandbox
) -> None:
    packages = [a_package("1", packaging="Packaging"), a_package("4", packaging="Packaging")]
    response = await http.post("/api/shipments/v2409/ship", json=a_ship_request(*packages), headers=bearer)

    results = response.json()["ShipmentResponse"]["ShipmentResults"]
    numbers = [package["TrackingNumber"] for package in results["PackageResults"]]
    assert len(set(numbers)) == 2
    assert all(valid_1z(number) and number.startswith(f"1Z{ACCOUNT}03") for number in numbers)
    assert results["ShipmentIdentificationNumber"] == numbers[0]
    assert results["ShipmentCharges"]["TotalCharges"] == {"CurrencyCode": "USD", "MonetaryValue": "21.00"}
    assert results["LabelURL"] == f"https://onlinetools.ups.com/labels/{numbers[0]}"
    assert response.json()["ShipmentResponse"]["Response"]["TransactionReference"] == {
        "CustomerContext": "FO-1"
    }
    assert sandbox.labels_purchased == 1
    image = await http.get(f"/labels/{numbers[0]}")
    assert image.headers["content-type"] == "image/gif"
    assert image.content.startswith(b"GIF89a")
    assert base64.b64decode(results["PackageResults"][0]["ShippingLabel"]["GraphicImage"]) == image.content


async def test_a_label_url_comes_only_when_label_links_are_asked(
    http: httpx.AsyncClient, bearer: dict[str, str]
) -> None:
    response = await http.post("/api/shipments/v2409/ship", json=a_ship_request(links=False), headers=bearer)

    assert "LabelURL" not in response.json()["ShipmentResponse"]["ShipmentResults"]


@pytest.mark.parametrize(
    ("request_body", "code"),
    [(a_ship_request(account="Z9Z9Z9"), "120100"), (a_ship_request(service="12"), "120202")],
    ids=["another-account", "unrated-service"],
)
async def test_a_label_the_sandbox_cannot_make_is_refused_and_not_counted(
    http: httpx.AsyncClient,
    bearer: dict[str, str],
    sandbox: UpsSandbox,
    request_body: dict[str, Any],
    code: str,
) -> None:
    response = await http.post("/api/shipments/v2409/ship", json=request_body, headers=bearer)

    assert response.status_code == 400
    assert response.json()["response"]["errors"][0]["code"] == code
    assert sandbox.labels_purchased == 0


# -- tracking ----------------------------------------------------------------------------------------------


async def buy(http: httpx.AsyncClient, bearer: dict[str, str]) -> str:
    response = await http.post("/api/shipments/v2409/ship", json=a_ship_request(), headers=bearer)
    number: str = response.json()["ShipmentResponse"]["ShipmentResults"]["ShipmentIdentificationNumber"]
    return number


@pytest.mark.parametrize(("missing", "code"), [("transId", "VSS002"), ("transactionSrc", "VSS004")])
async def test_tracking_wants_a_trans_id_and_a_transaction_source(
    http: httpx.AsyncClient, bearer: dict[str, str], missing: str, code: str
) -> None:
    number = await buy(http, bearer)
    headers = {name: value for name, value in bearer.items() if name != missing}

    response = await http.get(f"/api/track/v1/details/{number}", headers=headers)

    assert response.status_code == 400
    assert response.json()["response"]["errors"][0]["code"] == code


async def test_an_unknown_tracking_number_is_404(http: httpx.AsyncClient, bearer: dict[str, str]) -> None:
    response = await http.get("/api/track/v1/details/1ZA1B2C30399999999", headers=bearer)

    assert response.status_code == 404
    assert response.json()["response"]["errors"][0]["code"] == "151044"


async def test_a_new_label_tracks_as_manifest_only_with_our_references(
    http: httpx.AsyncClient, bearer: dict[str, str]
) -> None:
    number = await buy(http, bearer)

    response = await http.get(f"/api/track/v1/details/{number}", params={"locale": "en_US"}, headers=bearer)

    [package] = response.json()["trackResponse"]["shipment"][0]["package"]
    assert package["currentStatus"] == {
        "type": "M",
        "code": "MP",
        "description": "Shipper created a label, UPS has not received the package yet.",
    }
    assert package["deliveryDate"] == [{"type": "SDD", "date": "20260303"}]
    assert package["referenceNumber"] == [{"type": "PACKAGE", "number": "FO-1"}]
    assert package["activity"][0]["date"] == "20260302"
    assert package["activity"][0]["time"] == "080000"


# -- the clock -----------------------------------------------------------------------------------------------


async def test_advance_takes_one_scan_per_step_and_catches_up_when_late(
    http: httpx.AsyncClient, bearer: dict[str, str], sandbox: UpsSandbox, clock: FakeClock
) -> None:
    number = await buy(http, bearer)
    created = clock.now

    assert await sandbox.advance(created + 29) == 0
    assert await sandbox.advance(created + 30) == 1
    assert await sandbox.advance(created + 119) == 2
    assert await sandbox.advance(created + 120) == 1
    assert await sandbox.advance(created + 10_000) == 0

    parcel = sandbox.parcels[number]
    assert [(scan.status_type, scan.code) for scan in parcel.scans] == [
        ("M", "MP"),
        ("P", "PU"),
        ("I", "DP"),
        ("I", "OT"),
        ("D", "FS"),
    ]
    assert [scan.at - created for scan in parcel.scans] == [0, 30, 60, 90, 120]
    assert parcel.delivered


async def test_each_scan_goes_to_every_subscriber_with_its_credential(
    http: httpx.AsyncClient, bearer: dict[str, str], sandbox: UpsSandbox, endpoint: Endpoint, clock: FakeClock
) -> None:
    sandbox.subscribe(ALERT_URL, CREDENTIAL)
    sandbox.subscribe("https://other.test/ups", "other-credential")
    number = await buy(http, bearer)

    await sandbox.advance(clock.now + 120)

    assert [(str(r.url), r.headers["credential"]) for r in endpoint.received[:2]] == [
        (ALERT_URL, CREDENTIAL),
        ("https://other.test/ups", "other-credential"),
    ]
    assert all(r.headers["User-Agent"] == "UPSPubSubTrackingService" for r in endpoint.received)
    events = [json.loads(r.content) for r in endpoint.received[::2]]
    assert [(e["activityStatus"]["type"], e["activityStatus"]["code"]) for e in events] == [
        ("I", "PU"),
        ("I", "DP"),
        ("I", "OT"),
        ("D", "FS"),
    ]
    delivered = events[-1]
    assert delivered["trackingNumber"] == number
    assert (delivered["actualDeliveryDate"], delivered["actualDeliveryTime"]) == ("20260302", "080200")
    assert delivered["activityLocation"] == {
        "city": "New York",
        "country": "US",
        "stateProvince": "NY",
        "postalCode": "10118",
    }
    assert "postalCode" not in events[0]["activityLocation"]


@pytest.mark.parametrize("failure", ["unreachable", "refused"])
async def test_a_failed_alert_is_logged_and_never_raised(
    clock: FakeClock, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route to host", request=request)

    handler = unreachable if failure == "unreachable" else Endpoint(status=500)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        sandbox = UpsSandbox(clock=clock, webhook_client=client)
        sandbox.subscribe(ALERT_URL, CREDENTIAL)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE) as http:
            token = await http.post(TOKEN_PATH, content=b"grant_type=client_credentials", headers=basic())
            await http.post(
                "/api/shipments/v2409/ship",
                json=a_ship_request(),
                headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            )
        with caplog.at_level(logging.WARNING, logger="ordergate.sandbox.ups"):
            assert await sandbox.advance(clock.now + 30) == 1

    assert "ups sandbox: alert" in caplog.text


async def test_run_advances_every_step_until_stopped(clock: FakeClock) -> None:
    stop = asyncio.Event()
    naps: list[float] = []

    async def nap(seconds: float) -> None:
        naps.append(seconds)
        clock.now += seconds
        if len(naps) == 5:
            stop.set()
        await asyncio.sleep(0)

    sandbox = UpsSandbox(clock=clock, sleep=nap, step_seconds=30)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE) as ups:
        token = await ups.post(TOKEN_PATH, content=b"grant_type=client_credentials", headers=basic())
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        await ups.post("/api/shipments/v2409/ship", json=a_ship_request(), headers=headers)

    await asyncio.wait_for(sandbox.run(stop), timeout=5)

    assert naps == [30] * 5
    assert all(parcel.delivered for parcel in sandbox.parcels.values())


# -- the wire against UPS's OpenAPI documents -------------------------------------------------------------


@OAUTH2_UNCHECKED
async def test_every_answer_matches_the_ups_specs(
    http: httpx.AsyncClient, bearer: dict[str, str], sandbox: UpsSandbox, endpoint: Endpoint, clock: FakeClock
) -> None:
    oauth, rating, shipping, tracking = (
        spec.ups_oauth(BASE),
        spec.ups("Rating", BASE),
        spec.ups("Shipping", BASE),
        spec.ups("Tracking", BASE),
    )
    sandbox.subscribe(ALERT_URL, CREDENTIAL)
    number = await buy(http, bearer)
    await sandbox.advance(clock.now + 60)
    answers = [
        (oauth, await http.post(TOKEN_PATH, content=b"grant_type=client_credentials", headers=basic())),
        (
            oauth,
            await http.post(TOKEN_PATH, content=b"grant_type=client_credentials", headers=basic(secret="x")),
        ),
        (oauth, await http.post(TOKEN_PATH, content=b"grant_type=password", headers=basic())),
        (rating, await http.post("/api/rating/v2409/Shop", json=a_rate_request(), headers=bearer)),
        (
            rating,
            await http.post("/api/rating/v2409/Rate", json=a_rate_request(service="003"), headers=bearer),
        ),
        (
            rating,
            await http.post("/api/rating/v2409/Rate", json=a_rate_request(service="014"), headers=bearer),
        ),
        (rating, await http.post("/api/rating/v2409/Shop", json=a_rate_request())),
        (
            shipping,
            await http.post("/api/shipments/v2409/ship", json=a_ship_request(links=False), headers=bearer),
        ),
        (
            shipping,
            await http.post("/api/shipments/v2409/ship", json=a_ship_request(service="12"), headers=bearer),
        ),
        (shipping, await http.post("/api/shipments/v2409/ship", json=a_ship_request())),
        (tracking, await http.get(f"/api/track/v1/details/{number}", headers=bearer)),
        (tracking, await http.get("/api/track/v1/details/1ZA1B2C30399999999", headers=bearer)),
        (
            tracking,
            await http.get(
                f"/api/track/v1/details/{number}", headers={"Authorization": bearer["Authorization"]}
            ),
        ),
    ]

    assert [answer.status_code for _, answer in answers] == [
        200,
        401,
        400,
        200,
        200,
        400,
        401,
        200,
        400,
        401,
        200,
        404,
        400,
    ]
    for check, answer in answers:
        check.check_response(answer)
    # The Tracking document declares no 401, so that answer is only checked by the test above.
    alerts = spec.ups("UPSTrackAlert", BASE)
    assert len(endpoint.received) == 2
    for delivery in endpoint.received:
        alerts.check_webhook("TrackingEvent", delivery)
