"""The BigCommerce sandbox as any BigCommerce client meets it: auth, paging, rate limit, outages,
seeded data, orders and their statuses, shipments, inventory, and webhooks with custom headers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest
import zipcodes

from ordergate.connectors.storefront.bigcommerce import US_STATES
from ordergate.sandbox.bigcommerce import (
    BIGCOMMERCE_LOCATION_IDS,
    DEMO_CUSTOMERS,
    DEMO_ORDERS,
    BigCommerceSandbox,
)
from ordergate.sandbox.seed import CATALOGUE, NETWORK
from tests import spec

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
BASE = "http://bigcommerce.test"
TOKEN = "bc-test-token"
AUTH = {"X-Auth-Token": TOKEN, "Accept": "application/json", "Content-Type": "application/json"}
HOOK = "https://ordergate.test/webhooks/bigcommerce"


class FakeClock:
    def __init__(self) -> None:
        self.now = START.timestamp()

    def __call__(self) -> float:
        return self.now


class Endpoint:
    def __init__(self) -> None:
        self.received: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        return httpx.Response(200)

    def scopes(self) -> list[str]:
        return [json.loads(request.content)["scope"] for request in self.received]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def endpoint() -> Endpoint:
    return Endpoint()


@pytest.fixture
async def sandbox(clock: FakeClock, endpoint: Endpoint) -> AsyncIterator[BigCommerceSandbox]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        yield BigCommerceSandbox(token=TOKEN, clock=clock, webhook_client=client)


@pytest.fixture
async def bigcommerce(sandbox: BigCommerceSandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=AUTH) as client:
        yield client


# -- auth, rate limit, outages -------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "wrong"], ids=["none", "wrong"])
async def test_a_request_without_the_configured_token_is_401_in_each_version_s_format(
    bigcommerce: httpx.AsyncClient, token: str | None
) -> None:
    headers = {"X-Auth-Token": token} if token else {}
    bigcommerce.headers.pop("X-Auth-Token")

    v2 = await bigcommerce.get("/v2/orders", headers=headers)
    v3 = await bigcommerce.get("/v3/customers", headers=headers)

    assert (v2.status_code, v3.status_code) == (401, 401)
    assert v2.json()[0]["status"] == 401
    assert v3.json()["status"] == 401
    assert v3.headers["Content-Type"] == "application/problem+json"


async def test_any_token_is_let_in_when_none_is_configured(clock: FakeClock) -> None:
    sandbox = BigCommerceSandbox(clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE) as client:
        assert (await client.get("/v2/orders", headers={"X-Auth-Token": "anything"})).status_code == 200
        assert (await client.get("/v2/orders")).status_code == 401


async def test_the_151st_request_in_30_seconds_is_429_until_the_window_resets(
    bigcommerce: httpx.AsyncClient, clock: FakeClock
) -> None:
    for _ in range(150):
        last = await bigcommerce.get("/v3/inventory/locations")
        clock.now += 0.125
    refused = await bigcommerce.get("/v3/inventory/locations")
    clock.now = START.timestamp() + 30

    assert last.status_code == 200
    assert last.headers["X-Rate-Limit-Requests-Left"] == "0"
    assert refused.status_code == 429
    assert (
        refused.headers["X-Rate-Limit-Requests-Quota"],
        refused.headers["X-Rate-Limit-Time-Window-Ms"],
    ) == (
        "150",
        "30000",
    )
    assert refused.headers["X-Rate-Limit-Time-Reset-Ms"] == "11250"
    assert (await bigcommerce.get("/v3/inventory/locations")).headers["X-Rate-Limit-Requests-Left"] == "149"


async def test_the_budget_is_per_token(clock: FakeClock) -> None:
    sandbox = BigCommerceSandbox(clock=clock, rate_limit=1)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE) as client:
        first = await client.get("/v2/orders", headers={"X-Auth-Token": "a"})
        spent = await client.get("/v2/orders", headers={"X-Auth-Token": "a"})
        other = await client.get("/v2/orders", headers={"X-Auth-Token": "b"})

    assert (first.status_code, spent.status_code, other.status_code) == (200, 429, 200)


async def test_down_answers_503_to_everything(
    bigcommerce: httpx.AsyncClient, sandbox: BigCommerceSandbox
) -> None:
    sandbox.down = True

    assert (await bigcommerce.get("/v2/orders/100")).status_code == 503
    assert (await bigcommerce.get("/v3/customers")).status_code == 503
    sandbox.down = False
    assert (await bigcommerce.get("/v2/orders/100")).status_code == 200


# -- v2 orders -----------------------------------------------------------------------------------------


async def test_orders_are_bare_arrays_paged_by_page_and_limit_and_an_empty_page_is_204(
    bigcommerce: httpx.AsyncClient,
) -> None:
    default = await bigcommerce.get("/v2/orders")
    second = await bigcommerce.get("/v2/orders", params={"limit": 3, "page": 2})
    beyond = await bigcommerce.get("/v2/orders", params={"limit": 3, "page": 4})

    assert [order["id"] for order in default.json()] == list(range(100, 108))
    assert [order["id"] for order in second.json()] == [103, 104, 105]
    assert (beyond.status_code, beyond.content) == (204, b"")


async def test_money_is_four_decimal_strings_and_dates_are_rfc_2822(bigcommerce: httpx.AsyncClient) -> None:
    order = (await bigcommerce.get("/v2/orders/101")).json()
    [line] = (await bigcommerce.get("/v2/orders/101/products")).json()

    assert (
        order["subtotal_ex_tax"],
        order["shipping_cost_ex_tax"],
        order["total_tax"],
        order["total_inc_tax"],
    ) == (
        "45.0000",
        "7.9500",
        "3.6000",
        "56.5500",
    )
    assert order["date_created"] == "Thu, 19 Feb 2026 08:00:00 +0000"
    assert parsedate_to_datetime(order["date_modified"]) == parsedate_to_datetime(
        order["date_created"]
    ).replace(day=20)
    assert (line["sku"], line["quantity"], line["price_ex_tax"], line["quantity_shipped"]) == (
        "PAN-CAST-10",
        1,
        "45.0000",
        1,
    )


async def test_orders_filter_by_min_date_modified_in_either_format_and_sort(
    bigcommerce: httpx.AsyncClient,
) -> None:
    rfc = await bigcommerce.get("/v2/orders", params={"min_date_modified": "Fri, 27 Feb 2026 08:00:00 +0000"})
    iso = await bigcommerce.get("/v2/orders", params={"min_date_modified": "2026-02-27T03:00:00-05:00"})
    newest = await bigcommerce.get("/v2/orders", params={"sort": "date_created:desc", "limit": 2})
    bad = await bigcommerce.get("/v2/orders", params={"min_date_modified": "last week"})

    assert [o["id"] for o in rfc.json()] == [o["id"] for o in iso.json()] == [106, 107]
    assert [o["id"] for o in newest.json()] == [107, 106]
    assert bad.status_code == 400


async def test_an_unknown_order_is_404(bigcommerce: httpx.AsyncClient) -> None:
    response = await bigcommerce.get("/v2/orders/999")

    assert response.status_code == 404
    assert response.json() == [{"status": 404, "message": "The requested resource was not found."}]


async def test_a_shopper_s_order_posted_by_product_id_is_priced_from_the_catalogue_and_announced(
    bigcommerce: httpx.AsyncClient, sandbox: BigCommerceSandbox, endpoint: Endpoint
) -> None:
    sandbox.register_hook("store/order/created", HOOK, {"X-Ordergate-Webhook-Secret": "s3"})
    mug = sandbox.product_for("MUG-BLUE")
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

    created = await bigcommerce.post("/v2/orders", json=body)

    assert created.status_code == 200
    order = created.json()
    assert (order["id"], order["status_id"], order["subtotal_ex_tax"], order["shipping_address_count"]) == (
        108,
        11,
        "42.0000",
        1,
    )
    [delivery] = endpoint.received
    assert delivery.headers["X-Ordergate-Webhook-Secret"] == "s3"
    assert json.loads(delivery.content)["data"] == {"type": "order", "id": 108}


@pytest.mark.parametrize("given", ["5.00", 5, 5.0])
async def test_a_merchant_s_discount_comes_off_the_goods_before_tax(
    bigcommerce: httpx.AsyncClient, sandbox: BigCommerceSandbox, given: object
) -> None:
    mug = sandbox.product_for("MUG-BLUE")
    body = {
        "billing_address": {"zip": "75204", "email": "d@example.com"},
        "products": [{"product_id": mug.id, "quantity": 3}],
        "discount_amount": given,
    }

    order = (await bigcommerce.post("/v2/orders", json=body)).json()

    assert (order["subtotal_ex_tax"], order["discount_amount"], order["coupon_discount"]) == (
        "42.0000",
        "5.0000",
        "0.0000",
    )
    assert order["total_tax"] == "2.9600"  # 8% of 37.00
    assert (
        order["total_inc_tax"]
        == f"{Decimal('37.00') + Decimal(order['shipping_cost_ex_tax']) + Decimal('2.96'):.4f}"
    )


@pytest.mark.parametrize("given", [-1, "1e999999", "0.001", True, "five"])
async def test_a_discount_that_is_not_cents_is_refused(bigcommerce: httpx.AsyncClient, given: object) -> None:
    body = {
        "billing_address": {"zip": "10006"},
        "products": [{"name": "X", "quantity": 1, "price_ex_tax": 1.0}],
    }

    response = await bigcommerce.post("/v2/orders", json=body | {"discount_amount": given})

    assert response.status_code == 400


async def test_an_order_naming_an_unknown_product_is_refused(bigcommerce: httpx.AsyncClient) -> None:
    body = {"billing_address": {"zip": "10006"}, "products": [{"product_id": 1, "quantity": 1}]}

    assert (await bigcommerce.post("/v2/orders", json=body)).status_code == 400


async def test_a_status_change_fires_updated_and_status_updated_and_a_plain_put_only_updated(
    bigcommerce: httpx.AsyncClient, sandbox: BigCommerceSandbox, endpoint: Endpoint
) -> None:
    sandbox.register_hook("store/order/*", HOOK, {"X-Secret": "s"})

    await bigcommerce.put("/v2/orders/106", json={"status_id": 9})
    await bigcommerce.put("/v2/orders/106", json={"staff_notes": "gift wrap"})

    assert endpoint.scopes() == ["store/order/updated", "store/order/statusUpdated", "store/order/updated"]
    status = json.loads(endpoint.received[1].content)["data"]["status"]
    assert status == {"previous_status_id": 11, "new_status_id": 9}
    assert sandbox.orders[106].staff_notes == "gift wrap"


async def test_shipments_move_an_order_to_partially_shipped_then_shipped(
    bigcommerce: httpx.AsyncClient, sandbox: BigCommerceSandbox
) -> None:
    order = sandbox.orders[106]
    address_id = order.shipping_addresses[0]["id"]
    first, *rest = order.lines

    none_yet = await bigcommerce.get("/v2/orders/106/shipments")
    partly = await bigcommerce.post(
        "/v2/orders/106/shipments",
        json={
            "order_address_id": address_id,
            "tracking_number": "T1",
            "items": [{"order_product_id": first.id, "quantity": 1}],
        },
    )
    status_after_first = order.status_id
    too_many = await bigcommerce.post(
        "/v2/orders/106/shipments",
        json={"order_address_id": address_id, "items": [{"order_product_id": first.id, "quantity": 1}]},
    )
    await bigcommerce.post(
        "/v2/orders/106/shipments",
        json={
            "order_address_id": address_id,
            "tracking_number": "T2",
            "items": [{"order_product_id": line.id, "quantity": line.quantity} for line in rest],
        },
    )
    listed = await bigcommerce.get("/v2/orders/106/shipments")

    assert none_yet.status_code == 204
    assert (partly.status_code, status_after_first, too_many.status_code, order.status_id) == (201, 3, 400, 2)
    assert [s["tracking_number"] for s in listed.json()] == ["T1", "T2"]
    assert order.shipped_at == START.timestamp()


# -- v3 --------------------------------------------------------------------------------------------------


async def test_customers_are_filtered_by_ids_emails_and_names_with_addresses_on_request(
    bigcommerce: httpx.AsyncClient,
) -> None:
    by_id = await bigcommerce.get("/v3/customers", params={"id:in": "2,5,99", "include": "addresses"})
    by_email = await bigcommerce.get("/v3/customers", params={"email:in": "GRACE.KIM@example.com"})
    by_name = await bigcommerce.get("/v3/customers", params={"name:like": "ramirez,kim"})

    assert [c["id"] for c in by_id.json()["data"]] == [2, 5]
    assert by_id.json()["data"][0]["addresses"][0]["state_or_province"] == "New Jersey"
    assert [c["id"] for c in by_email.json()["data"]] == [9]
    assert "addresses" not in by_email.json()["data"][0]
    assert [c["last_name"] for c in by_name.json()["data"]] == ["Ramirez", "Kim"]


async def test_v3_lists_carry_meta_pagination(bigcommerce: httpx.AsyncClient) -> None:
    response = await bigcommerce.get("/v3/catalog/variants", params={"page": 2, "limit": 10})

    assert len(response.json()["data"]) == 10
    assert response.json()["meta"]["pagination"] == {
        "total": len(CATALOGUE),
        "count": 10,
        "per_page": 10,
        "current_page": 2,
        "total_pages": 3,
        "links": {"current": "?page=2&limit=10", "previous": "?page=1&limit=10", "next": "?page=3&limit=10"},
    }


async def test_absolute_adjustments_set_what_the_storefront_may_sell(
    bigcommerce: httpx.AsyncClient, sandbox: BigCommerceSandbox
) -> None:
    sea = BIGCOMMERCE_LOCATION_IDS["ST-SEA"]
    variant_id = sandbox.product_for("LAMP-DESK").variant_id
    items = [
        {"location_id": sea, "sku": "MUG-BLUE", "quantity": 4},
        {"location_id": sea, "variant_id": variant_id, "quantity": 2},
    ]

    done = await bigcommerce.put("/v3/inventory/adjustments/absolute", json={"items": items})
    unknown = await bigcommerce.put(
        "/v3/inventory/adjustments/absolute",
        json={"items": [{"location_id": sea, "sku": "NOPE", "quantity": 1}]},
    )
    too_many = await bigcommerce.put(
        "/v3/inventory/adjustments/absolute",
        json={"items": [{"location_id": sea, "sku": "MUG-BLUE", "quantity": 1}] * 2001},
    )

    assert done.status_code == 200
    assert sandbox.available == {("MUG-BLUE", sea): 4, ("LAMP-DESK", sea): 2}
    assert (unknown.status_code, too_many.status_code) == (422, 422)


async def test_hooks_are_registered_with_custom_headers_and_listed(bigcommerce: httpx.AsyncClient) -> None:
    created = await bigcommerce.post(
        "/v3/hooks",
        json={
            "scope": "store/order/created",
            "destination": HOOK,
            "is_active": True,
            "headers": {"X-A": "1"},
        },
    )
    insecure = await bigcommerce.post(
        "/v3/hooks", json={"scope": "store/order/created", "destination": "http://x"}
    )
    listed = await bigcommerce.get("/v3/hooks")

    assert created.json()["data"]["headers"] == {"X-A": "1"}
    assert insecure.status_code == 422
    assert listed.json()["data"] == [created.json()["data"]]


# -- operator's side and webhooks ----------------------------------------------------------------------


async def test_create_order_fires_order_created_with_the_hook_s_headers_and_bigcommerce_s_payload(
    sandbox: BigCommerceSandbox, endpoint: Endpoint
) -> None:
    sandbox.register_hook("store/order/created", HOOK, {"X-Ordergate-Webhook-Secret": "s3cret"})

    order = await sandbox.create_order("ann.lee@example.com", [("MUG-BLUE", 1), ("KETTLE-STEEL", 1)])

    [delivery] = endpoint.received
    payload = json.loads(delivery.content)
    assert str(delivery.url) == HOOK
    assert delivery.headers["X-Ordergate-Webhook-Secret"] == "s3cret"
    assert payload == {
        "scope": "store/order/created",
        "store_id": "1001",
        "data": {"type": "order", "id": order["id"]},
        "hash": hashlib.sha1(json.dumps(payload["data"], separators=(",", ":")).encode()).hexdigest(),  # noqa: S324
        "created_at": int(START.timestamp()),
        "producer": "stores/ogsandbox",
    }
    assert (order["customer_id"], order["status_id"], order["billing_address"]["zip"]) == (1, 11, "10006")
    spec.bigcommerce(BASE).document("/v3/hooks").check_schema("store_order_created", payload)


async def test_a_merchant_s_refund_fires_refund_created_and_the_order_says_what_was_refunded(
    bigcommerce: httpx.AsyncClient, sandbox: BigCommerceSandbox, endpoint: Endpoint
) -> None:
    sandbox.register_hook("store/order/*", HOOK, {"X-Ordergate-Webhook-Secret": "s3cret"})
    refund = {"items": [{"item_type": "PRODUCT", "item_id": sandbox.orders[100].lines[0].id, "quantity": 1}]}

    first = await bigcommerce.post(
        "/v3/orders/100/payment_actions/refunds",
        json=refund | {"payments": [{"provider_id": "storecredit", "amount": 4.24, "offline": False}]},
    )
    too_much = await bigcommerce.post(
        "/v3/orders/100/payment_actions/refunds",
        json=refund | {"payments": [{"provider_id": "storecredit", "amount": 80.01, "offline": False}]},
    )
    rest = await bigcommerce.post(
        "/v3/orders/100/payment_actions/refunds",
        json=refund | {"payments": [{"provider_id": "storecredit", "amount": 80.00, "offline": False}]},
    )
    order = (await bigcommerce.get("/v2/orders/100")).json()
    products = (await bigcommerce.get("/v2/orders/100/products")).json()

    assert (first.status_code, too_much.status_code, rest.status_code) == (201, 422, 201)
    # each refund was for one of the order's two mugs; its plates were refunded as money only
    assert [(p["sku"], p["quantity_refunded"], p["is_refunded"]) for p in products] == [
        ("MUG-BLUE", 2, True),
        ("PLATE-DINNER", 0, False),
    ]
    assert first.json()["data"]["total_amount"] == 4.24
    assert (order["refunded_amount"], order["payment_status"], order["status_id"]) == (
        "84.2400",
        "refunded",
        4,
    )
    payloads = [json.loads(delivery.content) for delivery in endpoint.received]
    refunds = [p for p in payloads if p["scope"] == "store/order/refund/created"]
    assert [p["data"]["refund"]["refund_id"] for p in refunds] == [1, 2]
    assert [p["scope"] for p in payloads].count("store/order/statusUpdated") == 2  # 14, then 4
    for payload in refunds:
        spec.bigcommerce(BASE).document("/v3/hooks").check_schema("store_order_refund_created", payload)


async def test_a_refund_is_for_units_the_order_has_left_to_refund(
    bigcommerce: httpx.AsyncClient, sandbox: BigCommerceSandbox
) -> None:
    mugs = sandbox.orders[100].lines[0].id  # two of them

    def refund(item_id: Any, quantity: Any) -> dict[str, Any]:
        return {
            "items": [{"item_type": "PRODUCT", "item_id": item_id, "quantity": quantity}],
            "payments": [{"provider_id": "storecredit", "amount": 1.00, "offline": False}],
        }

    answers = [
        await bigcommerce.post("/v3/orders/100/payment_actions/refunds", json=refund(mugs, 3)),
        await bigcommerce.post("/v3/orders/100/payment_actions/refunds", json=refund(999, 1)),
        await bigcommerce.post("/v3/orders/100/payment_actions/refunds", json=refund(mugs, 0)),
        await bigcommerce.post("/v3/orders/100/payment_actions/refunds", json=refund(mugs, 2)),
        await bigcommerce.post("/v3/orders/100/payment_actions/refunds", json=refund(mugs, 1)),
    ]

    assert [answer.status_code for answer in answers] == [422, 422, 422, 201, 422]
    assert sandbox.orders[100].lines[0].quantity_refunded == 2
    assert sandbox.orders[100].refunded == Decimal("1.00")  # the refused ones took nothing


async def test_a_delivery_can_be_redelivered_byte_for_byte(
    sandbox: BigCommerceSandbox, endpoint: Endpoint
) -> None:
    sandbox.register_hook("store/order/created", HOOK, {"X-S": "1"})
    await sandbox.create_order(3, [("MUG-BLUE", 1)])

    await sandbox.redeliver()

    first, again = endpoint.received
    assert first.content == again.content
    assert again.headers["X-S"] == "1"
    assert [delivery.status for delivery in sandbox.deliveries] == [200, 200]


async def test_a_guest_order_is_billed_to_its_shipping_address(sandbox: BigCommerceSandbox) -> None:
    address = {
        "first_name": "Pat",
        "last_name": "Doe",
        "street_1": "1 Main St",
        "city": "Austin",
        "state": "Texas",
        "zip": "78701",
    }

    order = await sandbox.create_order("pat@example.com", [("MUG-BLUE", 1)], shipping_address=address)

    assert (order["customer_id"], order["billing_address"]["email"], order["billing_address"]["zip"]) == (
        0,
        "pat@example.com",
        "78701",
    )


async def test_a_failed_delivery_is_recorded_and_never_raised(clock: FakeClock) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(unreachable)) as client:
        sandbox = BigCommerceSandbox(clock=clock, webhook_client=client)
        sandbox.register_hook("store/order/*", HOOK)
        await sandbox.set_status(106, 9)

    assert sandbox.orders[106].status_id == 9
    assert [delivery.status for delivery in sandbox.deliveries] == [None, None]


# -- demo data -------------------------------------------------------------------------------------------


def test_demo_customers_live_at_real_us_zip_codes_in_the_states_named(sandbox: BigCommerceSandbox) -> None:
    assert len(sandbox.customers) == len(DEMO_CUSTOMERS) == 12
    for customer in sandbox.customers.values():
        [address] = customer.addresses
        [found] = zipcodes.matching(address["postal_code"])  # type: ignore[no-untyped-call]
        state = US_STATES[address["state_or_province"].lower()]
        assert (found["city"], found["state"]) == (address["city"], state)
    assert len({c.email for c in sandbox.customers.values()}) == 12


def test_demo_orders_span_customers_and_are_completed_or_awaiting_fulfillment(
    sandbox: BigCommerceSandbox,
) -> None:
    orders = list(sandbox.orders.values())

    assert len(orders) == len(DEMO_ORDERS) == 8
    assert {order.status_id for order in orders} == {10, 11}
    assert len({order.customer_id for order in orders}) >= 6
    assert all(
        line.quantity_shipped == line.quantity for o in orders if o.status_id == 10 for line in o.lines
    )
    assert sorted(order.created_at for order in orders) == [order.created_at for order in orders]


def test_location_ids_follow_the_network_order() -> None:
    assert list(BIGCOMMERCE_LOCATION_IDS.items()) == [(row[0], n) for n, row in enumerate(NETWORK, start=1)]


# -- the wire against BigCommerce's documents ----------------------------------------------------------


async def test_every_answer_matches_the_bigcommerce_specs(
    bigcommerce: httpx.AsyncClient, sandbox: BigCommerceSandbox
) -> None:
    checks = spec.bigcommerce(BASE)
    mug = sandbox.product_for("MUG-BLUE")
    line = sandbox.orders[107].lines[0]
    line_100 = sandbox.orders[100].lines[0].id
    address_id = sandbox.orders[107].shipping_addresses[0]["id"]
    answers = [
        await bigcommerce.get("/v2/orders", params={"limit": 5, "page": 1}),
        await bigcommerce.get("/v2/orders/100"),
        await bigcommerce.get("/v2/orders/100/products"),
        await bigcommerce.get("/v2/orders/100/shipping_addresses"),
        await bigcommerce.post(
            "/v2/orders",
            json={
                "customer_id": 1,
                "billing_address": {
                    "first_name": "Ann",
                    "last_name": "Lee",
                    "zip": "10006",
                    "country_iso2": "US",
                },
                "products": [
                    {"product_id": mug.id, "quantity": 1},
                    {
                        "name": "Engraving",
                        "quantity": 1,
                        "price_inc_tax": 5.4,
                        "price_ex_tax": 5,
                        "sku": "ENGRAVE",
                    },
                ],
            },
        ),
        await bigcommerce.put("/v2/orders/108", json={"status_id": 9}),
        await bigcommerce.post(
            "/v2/orders/107/shipments",
            json={
                "order_address_id": address_id,
                "tracking_number": "1Z1",
                "shipping_provider": "ups",
                "items": [{"order_product_id": line.id, "quantity": 1}],
            },
        ),
        await bigcommerce.get("/v2/orders/107/shipments"),
        await bigcommerce.get("/v3/customers", params={"id:in": "1,2", "include": "addresses"}),
        await bigcommerce.get("/v3/catalog/variants", params={"sku": "MUG-BLUE"}),
        await bigcommerce.get("/v3/catalog/products", params={"id:in": str(mug.id)}),
        await bigcommerce.get(
            "/v3/catalog/products", params={"id:in": str(mug.id), "include_fields": "name"}
        ),
        await bigcommerce.put(
            "/v3/inventory/adjustments/absolute",
            json={"reason": "test", "items": [{"location_id": 1, "sku": "MUG-BLUE", "quantity": 3}]},
        ),
        await bigcommerce.get("/v3/inventory/locations"),
        await bigcommerce.post(
            "/v3/hooks", json={"scope": "store/order/*", "destination": HOOK, "headers": {"X-A": "b"}}
        ),
        await bigcommerce.get("/v3/hooks"),
        await bigcommerce.post(
            "/v3/orders/100/payment_actions/refunds",
            json={
                "items": [{"item_type": "PRODUCT", "item_id": line_100, "quantity": 1}],
                "payments": [{"provider_id": "storecredit", "amount": 4.24, "offline": False}],
            },
        ),
        await bigcommerce.put(
            f"/v2/orders/107/shipping_addresses/{address_id}",
            json={"street_1": "2 Elm St", "city": "Austin"},
        ),
    ]

    assert [answer.status_code for answer in answers] == [200] * 6 + [201] + [200] * 9 + [201, 200]
    for answer in answers:
        checks.check_request(answer.request)
        checks.check_response(answer)
