"""The Katana sandbox as any Katana client meets it: auth, paging, rate limit, webhooks, wire format."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from ordergate.sandbox.katana import KATANA_LOCATION_IDS, KatanaSandbox
from ordergate.sandbox.seed import CATALOGUE, NETWORK
from ordergate.sandbox.stock import (
    SHELF,
    SHELF_CODES,
    VENDOR,
    VENDOR_CODE,
    demo_on_hand,
    demo_purchase_orders,
)
from tests import spec
from tests.waiting import until

TODAY = date(2026, 3, 2)
BASE = "http://katana.test"
TOKEN = "katana-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime.combine(TODAY, datetime.min.time(), UTC).timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> KatanaSandbox:
    return KatanaSandbox(token=TOKEN, today=TODAY, clock=clock)


@pytest.fixture
async def katana(sandbox: KatanaSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE) as client:
        yield client


# -- auth --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}, {"Authorization": "Bearer"}],
    ids=["none", "wrong-token", "not-bearer", "empty"],
)
async def test_a_request_without_the_configured_token_is_401(
    katana: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await katana.get("/inventory", headers=headers)

    assert response.status_code == 401
    assert response.json() == {"statusCode": 401, "name": "UnauthorizedError", "message": "Unauthorized"}


async def test_the_configured_token_is_let_in(katana: httpx.AsyncClient) -> None:
    assert (await katana.get("/inventory", headers=AUTH)).status_code == 200


async def test_any_bearer_token_is_let_in_when_none_is_configured(clock: FakeClock) -> None:
    sandbox = KatanaSandbox(today=TODAY, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE) as katana:
        assert (
            await katana.get("/locations", headers={"Authorization": "Bearer anything"})
        ).status_code == 200
        assert (await katana.get("/locations")).status_code == 401


# -- paging ------------------------------------------------------------------------------------------


async def test_lists_are_paged_with_an_x_pagination_json_string(katana: httpx.AsyncClient) -> None:
    rows = len(SHELF) * len(SHELF_CODES) + len(VENDOR)

    response = await katana.get("/inventory", params={"limit": 100, "page": 3}, headers=AUTH)

    assert len(response.json()["data"]) == rows - 200
    assert json.loads(response.headers["X-Pagination"]) == {
        "total_records": str(rows),
        "total_pages": "3",
        "offset": "200",
        "page": "3",
        "first_page": "false",
        "last_page": "true",
    }


async def test_a_page_holds_50_rows_unless_asked_and_never_more_than_250(katana: httpx.AsyncClient) -> None:
    default = await katana.get("/inventory", headers=AUTH)
    capped = await katana.get("/inventory", params={"limit": 1000}, headers=AUTH)

    assert len(default.json()["data"]) == 50
    assert json.loads(default.headers["X-Pagination"])["last_page"] == "false"
    assert len(capped.json()["data"]) == len(SHELF) * len(SHELF_CODES) + len(VENDOR)


async def test_inventory_is_filtered_by_variants_and_location_with_decimal_string_quantities(
    katana: httpx.AsyncClient, sandbox: KatanaSandbox
) -> None:
    mug, rug = sandbox.variant_for("MUG-BLUE").id, sandbox.variant_for("RUG-JUTE-5X8").id
    vendor = KATANA_LOCATION_IDS[VENDOR_CODE]

    everywhere = await katana.get("/inventory", params={"variant_id": [mug, rug]}, headers=AUTH)
    at_vendor = await katana.get(
        "/inventory", params={"variant_id": [mug, rug], "location_id": vendor}, headers=AUTH
    )

    assert len(everywhere.json()["data"]) == 9 + 10
    [row] = at_vendor.json()["data"]
    assert (row["variant_id"], row["location_id"], row["quantity_in_stock"]) == (rug, int(vendor), "60.0")


async def test_inventory_expects_what_open_purchase_orders_have_not_received_yet(
    katana: httpx.AsyncClient,
) -> None:
    """Each inventory row's `quantity_expected` (and its potential) is what the open purchase
    orders (not received, or partly) still bring to that location: their rows not received yet,
    as a client reading `/purchase_orders` would add them up."""
    orders = []
    for status in ("NOT_RECEIVED", "PARTIALLY_RECEIVED"):
        listed = await katana.get("/purchase_orders", params={"status": status, "limit": 250}, headers=AUTH)
        orders += listed.json()["data"]
    due: dict[tuple[int, int], Decimal] = {}
    for order in orders:
        for row in order["purchase_order_rows"]:
            if row["received_date"] is None:
                key = (row["variant_id"], order["location_id"])
                due[key] = due.get(key, Decimal(0)) + Decimal(str(row["quantity"]))
    rows = (await katana.get("/inventory", params={"limit": 250}, headers=AUTH)).json()["data"]
    assert len(rows) < 250  # one page holds them all

    expected = {
        (row["variant_id"], row["location_id"]): Decimal(row["quantity_expected"])
        for row in rows
        if Decimal(row["quantity_expected"])
    }
    assert expected == due
    assert len(due) >= 3  # the demo's open orders, one of them half received
    for row in rows:
        potential = Decimal(row["quantity_in_stock"]) + Decimal(row["quantity_expected"])
        assert Decimal(row["quantity_potential"]) == potential


async def test_variants_are_found_by_a_list_of_skus_or_ids(
    katana: httpx.AsyncClient, sandbox: KatanaSandbox
) -> None:
    by_sku = await katana.get("/variants", params={"sku": ["MUG-BLUE", "LAMP-DESK", "NOPE"]}, headers=AUTH)
    by_id = await katana.get("/variants", params={"ids": [sandbox.variant_for("LAMP-DESK").id]}, headers=AUTH)

    assert sorted(variant["sku"] for variant in by_sku.json()["data"]) == ["LAMP-DESK", "MUG-BLUE"]
    assert [variant["sku"] for variant in by_id.json()["data"]] == ["LAMP-DESK"]


# -- rate limit --------------------------------------------------------------------------------------


async def test_the_61st_request_in_a_minute_is_429_with_retry_after(
    katana: httpx.AsyncClient, clock: FakeClock
) -> None:
    started = clock.now
    for _ in range(60):
        assert (await katana.get("/locations", headers=AUTH)).status_code == 200
        clock.now += 0.5
    clock.now = started + 39.5

    refused = await katana.get("/locations", headers=AUTH)

    assert refused.status_code == 429
    assert refused.json() == {"statusCode": 429, "name": "TooManyRequests", "message": "Too Many Requests"}
    # The first request leaves the rolling minute at started + 60, 20.5 s from now.
    assert refused.headers["Retry-After"] == "21"
    assert refused.headers["X-Ratelimit-Remaining"] == "0"
    assert refused.headers["X-Ratelimit-Reset"] == str(int((started + 60) * 1000))
    clock.now += 21
    assert (await katana.get("/locations", headers=AUTH)).status_code == 200


async def test_the_budget_is_per_token_and_counted_in_the_headers(clock: FakeClock) -> None:
    sandbox = KatanaSandbox(today=TODAY, clock=clock, rate_limit=2)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE) as katana:
        first = await katana.get("/locations", headers={"Authorization": "Bearer a"})
        await katana.get("/locations", headers={"Authorization": "Bearer a"})
        spent = await katana.get("/locations", headers={"Authorization": "Bearer a"})
        other = await katana.get("/locations", headers={"Authorization": "Bearer b"})

    assert (first.headers["X-Ratelimit-Limit"], first.headers["X-Ratelimit-Remaining"]) == ("2", "1")
    assert (spent.status_code, other.status_code) == (429, 200)


# -- sales orders ------------------------------------------------------------------------------------


async def test_like_katana_a_second_post_with_the_same_ecommerce_order_id_creates_a_second_order(
    katana: httpx.AsyncClient, sandbox: KatanaSandbox
) -> None:
    mug_id = sandbox.variant_for("MUG-BLUE").id
    customer = await katana.post(
        "/customers", json={"name": "Ann Lee", "email": "ann@example.com"}, headers=AUTH
    )
    order = {
        "customer_id": customer.json()["id"],
        "location_id": 1,
        "ecommerce_order_id": "og-1",
        "sales_order_rows": [{"variant_id": mug_id, "quantity": 2}],
    }

    first = await katana.post("/sales_orders", json=order, headers=AUTH)
    second = await katana.post("/sales_orders", json=order, headers=AUTH)
    found = await katana.get("/sales_orders", params={"ecommerce_order_id": "og-1"}, headers=AUTH)

    assert first.json()["id"] != second.json()["id"]
    assert [found_order["id"] for found_order in found.json()["data"]] == [
        first.json()["id"],
        second.json()["id"],
    ]
    assert first.json()["sales_order_rows"][0]["price_per_unit"] == "14.0000000000"
    mug = await katana.get("/inventory", params={"variant_id": mug_id, "location_id": 1}, headers=AUTH)
    assert mug.json()["data"][0]["quantity_committed"] == "4.0"


async def test_a_sales_order_for_an_unknown_customer_is_422(
    katana: httpx.AsyncClient, sandbox: KatanaSandbox
) -> None:
    rows = [{"variant_id": sandbox.variant_for("MUG-BLUE").id, "quantity": 1}]

    response = await katana.post(
        "/sales_orders", json={"customer_id": 999, "sales_order_rows": rows}, headers=AUTH
    )

    assert response.status_code == 422
    assert response.json()["name"] == "UnprocessableEntityError"


# -- webhooks ----------------------------------------------------------------------------------------


class Endpoint:
    """A fake webhook receiver that records what it is sent; `then` answers later deliveries."""

    def __init__(self, status: int = 200, then: Sequence[int] = ()) -> None:
        self.status = status
        self.then = list(then)
        self.received: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        status = self.status if len(self.received) == 1 or not self.then else self.then.pop(0)
        return httpx.Response(status)


async def test_a_stock_change_reaches_each_registered_webhook_signed_with_its_token(clock: FakeClock) -> None:
    endpoint = Endpoint()
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        sandbox = KatanaSandbox(token=TOKEN, today=TODAY, clock=clock, webhook_client=client)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE) as katana:
            created = await katana.post(
                "/webhooks",
                json={
                    "url": "https://ordergate.test/webhooks/katana",
                    "subscribed_events": ["current_inventory.product_updated"],
                },
                headers=AUTH,
            )
            listed = await katana.get("/webhooks", headers=AUTH)
        await sandbox.adjust("LAMP-DESK", "DC-EWR", -5)

    token = created.json()["token"]
    assert listed.json()["data"] == [created.json()]
    [delivery] = endpoint.received
    assert str(delivery.url) == "https://ordergate.test/webhooks/katana"
    expected = hmac.new(token.encode(), delivery.content, hashlib.sha256).hexdigest()
    assert delivery.headers["X-Sha2-Signature"] == expected
    variant_id = sandbox.variant_for("LAMP-DESK").id
    assert json.loads(delivery.content) == {
        "resource_type": "current_inventory",
        "action": "current_inventory.product_updated",
        "webhook_id": created.json()["id"],
        "object": {
            "id": str(variant_id),
            "status": "UPDATED",
            "href": f"https://api.katanamrp.com/v1/variants/{variant_id}",
        },
    }
    assert sandbox.on_hand("LAMP-DESK", "DC-EWR") == Decimal(30)


async def test_selling_out_everywhere_also_announces_out_of_stock(clock: FakeClock) -> None:
    endpoint = Endpoint()
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        sandbox = KatanaSandbox(today=TODAY, clock=clock, webhook_client=client)
        sandbox.register_webhook(
            "https://ordergate.test/k",
            ["current_inventory.product_updated", "current_inventory.product_out_of_stock"],
        )
        *first, last = [code for code in SHELF_CODES if sandbox.on_hand("POT-DUTCH-5", code) > 0]
        for code in first:
            await sandbox.set_on_hand("POT-DUTCH-5", code, 0)
        before_the_last = len(endpoint.received)
        await sandbox.set_on_hand("POT-DUTCH-5", last, 0)

    actions = [json.loads(request.content)["action"] for request in endpoint.received]
    assert set(actions[:before_the_last]) == {"current_inventory.product_updated"}
    assert actions[before_the_last:] == [
        "current_inventory.product_updated",
        "current_inventory.product_out_of_stock",
    ]


async def test_changes_made_through_the_api_are_announced_after_the_answer(clock: FakeClock) -> None:
    """As Katana does for any change to stock: a stock adjustment, a DELIVERED fulfilment (not a
    PACKED one) and a purchase order row received, each announced once its answer has gone."""
    endpoint = Endpoint()
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        sandbox = KatanaSandbox(token=TOKEN, today=TODAY, clock=clock, webhook_client=client)
        sandbox.register_webhook("https://ordergate.test/k", ["current_inventory.product_updated"])
        lamp, mug = sandbox.variant_for("LAMP-DESK").id, sandbox.variant_for("MUG-BLUE").id
        ewr = sandbox.locations["DC-EWR"]
        heard: list[list[str]] = []

        start = 0

        def announced() -> list[str]:
            nonlocal start
            new, start = endpoint.received[start:], len(endpoint.received)
            return sorted(json.loads(request.content)["object"]["id"] for request in new)

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE) as katana:
            adjusted = await katana.post(
                "/stock_adjustments",
                json={
                    "stock_adjustment_number": "SA-1",
                    "location_id": ewr,
                    "stock_adjustment_rows": [
                        {"variant_id": lamp, "quantity": -2},
                        {"variant_id": mug, "quantity": 3},
                    ],
                },
                headers=AUTH,
            )
            answered_first = len(endpoint.received)
            await sandbox.delivered()
            heard.append(announced())

            customer = (await katana.post("/customers", json={"name": "Ada"}, headers=AUTH)).json()
            order = (
                await katana.post(
                    "/sales_orders",
                    json={
                        "customer_id": customer["id"],
                        "location_id": ewr,
                        "sales_order_rows": [{"variant_id": lamp, "quantity": 1}],
                    },
                    headers=AUTH,
                )
            ).json()
            rows = [{"sales_order_row_id": order["sales_order_rows"][0]["id"], "quantity": 1}]
            for status in ("PACKED", "DELIVERED"):
                fulfilled = await katana.post(
                    "/sales_order_fulfillments",
                    json={
                        "sales_order_id": order["id"],
                        "status": status,
                        "sales_order_fulfillment_rows": rows,
                    },
                    headers=AUTH,
                )
                assert fulfilled.status_code == 200, fulfilled.text
                await sandbox.delivered()
                heard.append(announced())

            row = next(r for r in sandbox.purchase_order("PO-1001").rows if r.variant_id == mug)
            received = await katana.post(
                "/purchase_order_receive",
                json={
                    "purchase_order_row_id": row.id,
                    "quantity": 5,
                    "received_date": "2026-03-02T10:00:00Z",
                },
                headers=AUTH,
            )
            await sandbox.delivered()
            heard.append(announced())

    assert adjusted.status_code == 200, adjusted.text
    assert received.status_code == 204, received.text
    assert answered_first == 0  # the answer did not wait for the webhooks
    assert heard == [sorted([str(lamp), str(mug)]), [], [str(lamp)], [str(mug)]]


async def test_held_webhooks_wait_until_they_are_delivered_and_are_dropped_at_close(clock: FakeClock) -> None:
    endpoint = Endpoint()
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        sandbox = KatanaSandbox(token=TOKEN, today=TODAY, clock=clock, webhook_client=client)
        sandbox.register_webhook("https://ordergate.test/k", ["current_inventory.product_updated"])
        sandbox.hold_deliveries = True
        body = {
            "stock_adjustment_number": "SA-2",
            "location_id": sandbox.locations["DC-EWR"],
            "stock_adjustment_rows": [{"variant_id": sandbox.variant_for("LAMP-DESK").id, "quantity": 1}],
        }
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE) as katana:
            for number in ("SA-2", "SA-3", "SA-4"):
                await katana.post(
                    "/stock_adjustments", json=body | {"stock_adjustment_number": number}, headers=AUTH
                )
            await sandbox.delivered()
            held = len(endpoint.received)
            delivered = await sandbox.deliver_held()
            after = len(endpoint.received)
            await katana.post(
                "/stock_adjustments", json=body | {"stock_adjustment_number": "SA-5"}, headers=AUTH
            )
        await sandbox.aclose()  # the last one is never delivered, and never left un-awaited

    assert (held, delivered, after, len(endpoint.received)) == (0, 3, 3, 3)


@pytest.mark.parametrize("failure", ["unreachable", "refused"])
async def test_a_failed_delivery_is_logged_and_never_raised(
    clock: FakeClock, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route to host", request=request)

    handler = unreachable if failure == "unreachable" else Endpoint(status=500)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        sandbox = KatanaSandbox(today=TODAY, clock=clock, webhook_client=client)
        sandbox.register_webhook("https://ordergate.test/k", ["current_inventory.product_updated"])
        with caplog.at_level(logging.WARNING, logger="ordergate.sandbox.katana"):
            await sandbox.set_on_hand("MUG-BLUE", "ST-SEA", 1)
        await sandbox.aclose()  # its retry, waiting, is dropped

    assert sandbox.on_hand("MUG-BLUE", "ST-SEA") == 1
    assert "current_inventory.product_updated" in caplog.text


def retry_numbers(endpoint: Endpoint) -> list[str | None]:
    return [request.headers.get("X-Katana-Retry-Num") for request in endpoint.received]


async def test_a_delivery_not_taken_is_sent_again_three_times_with_its_retry_number(clock: FakeClock) -> None:
    """As Katana does (the spec's `X-Katana-Retry-Num`, 1 to 3): the same bytes, signed alike,
    and nothing more once the third retry fails too."""
    endpoint = Endpoint(status=503, then=[503, 503, 503])
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        sandbox = KatanaSandbox(today=TODAY, clock=clock, webhook_client=client)
        sandbox.retry_delays = (0.01, 0.02, 0.03)
        sandbox.register_webhook("https://ordergate.test/k", ["current_inventory.product_updated"])
        await sandbox.set_on_hand("MUG-BLUE", "ST-SEA", 1)
        first = len(endpoint.received)
        await until(lambda: sandbox.pending_retries == 0, "the retries done")
        await sandbox.aclose()

    assert first == 1
    assert retry_numbers(endpoint) == [None, "1", "2", "3"]
    assert len({(request.content, request.headers["X-Sha2-Signature"]) for request in endpoint.received}) == 1
    assert sandbox.retries == 3


async def test_a_retry_that_is_taken_ends_the_retries(clock: FakeClock) -> None:
    endpoint = Endpoint(status=500, then=[200])
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        sandbox = KatanaSandbox(today=TODAY, clock=clock, webhook_client=client)
        sandbox.retry_delays = (0.01, 0.01, 0.01)
        sandbox.register_webhook("https://ordergate.test/k", ["current_inventory.product_updated"])
        await sandbox.set_on_hand("MUG-BLUE", "ST-SEA", 1)
        await until(lambda: sandbox.pending_retries == 0, "the retries done")
        await sandbox.aclose()

    assert retry_numbers(endpoint) == [None, "1"]


async def test_while_deliveries_are_held_a_retry_is_held_and_a_close_drops_one_waiting(
    clock: FakeClock,
) -> None:
    endpoint = Endpoint(status=503, then=[200, 503])
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        sandbox = KatanaSandbox(today=TODAY, clock=clock, webhook_client=client)
        sandbox.register_webhook("https://ordergate.test/k", ["current_inventory.product_updated"])
        sandbox.hold_deliveries = True
        await sandbox.set_on_hand("MUG-BLUE", "ST-SEA", 1)  # refused: its retry is held
        held = (len(endpoint.received), sandbox.pending_retries)
        assert await sandbox.deliver_held() == 1
        sandbox.hold_deliveries = False
        await sandbox.set_on_hand("MUG-BLUE", "ST-SEA", 2)  # refused: its retry waits 10 s
        waiting = sandbox.pending_retries
        await sandbox.aclose()

    assert held == (1, 0)
    assert retry_numbers(endpoint) == [None, "1", None]
    assert (waiting, sandbox.pending_retries) == (1, 0)


async def test_a_webhook_url_must_be_https(katana: httpx.AsyncClient) -> None:
    response = await katana.post(
        "/webhooks",
        json={"url": "http://ordergate.test/k", "subscribed_events": ["sales_order.created"]},
        headers=AUTH,
    )

    assert response.status_code == 422


# -- demo data ---------------------------------------------------------------------------------------


def test_the_demo_stock_covers_the_catalogue_at_every_shelf_and_the_vendor_only_for_big_items() -> None:
    stock = demo_on_hand()

    assert set(SHELF) == {sku for sku, *_ in CATALOGUE}
    assert set(SHELF_CODES) | {VENDOR_CODE} == {code for code, *_ in NETWORK}
    assert set(VENDOR) == {"RUG-JUTE-5X8", "CHAIR-OAK", "TABLE-SIDE", "DUVET-KING"}
    assert all(stock[("GIFT-CARD-50", code)] >= 999 for code in SHELF_CODES)
    assert any(units == 0 for units in stock.values())
    centres, stores = SHELF_CODES[:3], SHELF_CODES[3:]
    assert all(max(stock[(sku, c)] for c in centres) > max(stock[(sku, s)] for s in stores) for sku in SHELF)


def test_demo_purchase_orders_are_due_relative_to_today() -> None:
    orders = {order.order_no: order for order in demo_purchase_orders(TODAY)}

    assert {orders[no].expected_on - TODAY for no in ("PO-1001", "PO-1002", "PO-1003")} == {
        timedelta(days=3),
        timedelta(days=10),
        timedelta(days=21),
    }


def test_katana_location_ids_follow_the_network_order() -> None:
    assert list(KATANA_LOCATION_IDS.items()) == [
        (row[0], str(number)) for number, row in enumerate(NETWORK, start=1)
    ]


# -- the wire against Katana's OpenAPI document ----------------------------------------------------------


async def test_every_answer_matches_the_katana_spec(
    katana: httpx.AsyncClient, sandbox: KatanaSandbox, clock: FakeClock
) -> None:
    check = spec.katana(BASE)
    mug = sandbox.variant_for("MUG-BLUE").id
    customer = await katana.post(
        "/customers", json={"name": "Ann Lee", "email": "ann@example.com"}, headers=AUTH
    )
    answers = [
        await katana.get("/locations", headers=AUTH),
        await katana.get("/variants", params={"sku": ["MUG-BLUE", "LAMP-DESK"]}, headers=AUTH),
        await katana.get("/inventory", params={"variant_id": [mug], "limit": 250}, headers=AUTH),
        await katana.get("/purchase_orders", params={"status": "NOT_RECEIVED"}, headers=AUTH),
        await katana.get("/purchase_orders", params={"status": "PARTIALLY_RECEIVED"}, headers=AUTH),
        customer,
        await katana.get("/customers", params={"email": "ann@example.com"}, headers=AUTH),
        await katana.post(
            "/sales_orders",
            json={
                "order_no": "OG-1",
                "customer_id": customer.json()["id"],
                "location_id": 1,
                "currency": "USD",
                "delivery_date": "2026-03-09T00:00:00.000Z",
                "ecommerce_order_type": "ordergate",
                "ecommerce_order_id": "og-1",
                "sales_order_rows": [
                    {"variant_id": mug, "quantity": 2, "price_per_unit": 14, "location_id": 1}
                ],
            },
            headers=AUTH,
        ),
        await katana.get("/sales_orders", params={"ecommerce_order_id": "og-1"}, headers=AUTH),
        await katana.post(
            "/webhooks",
            json={
                "url": "https://ordergate.test/webhooks/katana",
                "subscribed_events": ["current_inventory.product_updated"],
            },
            headers=AUTH,
        ),
        await katana.get("/webhooks", headers=AUTH),
        await katana.get("/inventory", headers={"Authorization": "Bearer wrong"}),
    ]
    sandbox.limiter.limit = 0
    answers.append(await katana.get("/inventory", headers=AUTH))

    assert [answer.status_code for answer in answers] == [200] * 11 + [401, 429]
    assert all(
        answer.json()["data"]
        for answer in answers
        if answer.request.method == "GET" and answer.status_code == 200
    )
    for answer in answers:
        if answer.status_code == 200:
            check.check_request(answer.request)
        check.check_response(answer)


async def test_a_webhook_delivery_matches_the_spec_webhook_payload(clock: FakeClock) -> None:
    check = spec.katana(BASE)
    endpoint = Endpoint()
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        sandbox = KatanaSandbox(today=TODAY, clock=clock, webhook_client=client)
        sandbox.register_webhook("https://ordergate.test/k", ["current_inventory.product_updated"])
        await sandbox.set_on_hand("MUG-BLUE", "ST-SEA", 1)

    check.check_webhook("current_inventory_events", endpoint.received[0])
