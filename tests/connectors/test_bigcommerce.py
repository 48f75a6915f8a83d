"""The BigCommerce connector against the BigCommerce sandbox, over HTTP (httpx's ASGI transport).

The sandbox is mounted at `/sandbox/bigcommerce` as the gateway mounts it, and every exchange is
checked against BigCommerce's own documents (tests/spec.py maps the mount onto their server
URL). The orders v2 document is named `.oas2` but is OpenAPI 3.0.0, so openapi-core validates v2
traffic directly; a `204 No Content` empty page is what BigCommerce sends although
`GET /v2/orders` declares only 200, so such answers are checked as requests only, and so is an
empty hook list (the webhooks document says `minItems: 1`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from ordergate.connectors.errors import (
    UpstreamProtocolError,
    UpstreamRejected,
    UpstreamUnavailable,
    WebhookRejected,
)
from ordergate.connectors.storefront.base import (
    AvailabilityPush,
    OrderAction,
    PushedStatus,
    ShipmentPush,
    StorefrontOrder,
    StorefrontPayment,
)
from ordergate.connectors.storefront.bigcommerce import (
    SECRET_HEADER,
    STATUS_ACTIONS,
    STATUS_IDS,
    BigCommerceStorefront,
    channel_of,
    payment_of,
    status_of,
)
from ordergate.models.address import Address
from ordergate.sandbox.bigcommerce import BIGCOMMERCE_LOCATION_IDS, BigCommerceSandbox
from ordergate.sandbox.seed import CATALOGUE
from tests import spec

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
BASE = "http://gateway.test/sandbox/bigcommerce"
TOKEN = "bc-test-token"
SECRET = "hook-secret-1"
ALL_SKUS = [sku for sku, *_ in CATALOGUE]


class FakeClock:
    """Wall and monotonic time in one; `sleep` moves it on and remembers for how long."""

    def __init__(self) -> None:
        self.now = START.timestamp()
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Wire(httpx.AsyncBaseTransport):
    """The sandbox mounted in a gateway-like app, over ASGI, keeping every exchange."""

    def __init__(self, sandbox: BigCommerceSandbox) -> None:
        gateway = Starlette(routes=[Mount("/sandbox/bigcommerce", app=sandbox.app)])
        self._asgi = httpx.ASGITransport(app=gateway)
        self.exchanges: list[httpx.Response] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = await self._asgi.handle_async_request(request)
        response = httpx.Response(
            answer.status_code, headers=answer.headers, content=await answer.aread(), request=request
        )
        self.exchanges.append(response)
        return response

    def sent(self) -> list[str]:
        prefix = len("/sandbox/bigcommerce")
        return [f"{r.request.method} {r.request.url.path[prefix:]}" for r in self.exchanges]

    def clear(self) -> None:
        self.exchanges.clear()


class Endpoint:
    """A webhook receiver that records what it is sent."""

    def __init__(self) -> None:
        self.received: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        return httpx.Response(200)


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
def wire(sandbox: BigCommerceSandbox) -> Wire:
    return Wire(sandbox)


def connect(
    transport: httpx.AsyncBaseTransport, clock: FakeClock, secrets: Sequence[str] = (SECRET,)
) -> BigCommerceStorefront:
    return BigCommerceStorefront.create(
        BASE, TOKEN, secrets, transport=transport, clock=clock, wall_clock=clock, sleep=clock.sleep
    )


@pytest.fixture
async def storefront(wire: Wire, clock: FakeClock) -> AsyncIterator[BigCommerceStorefront]:
    storefront = connect(wire, clock)
    yield storefront
    await storefront.aclose()


def mocked(handler: Any, clock: FakeClock) -> BigCommerceStorefront:
    return connect(httpx.MockTransport(handler), clock)


# -- orders ------------------------------------------------------------------------------------------


async def test_a_backfill_pages_through_the_seeded_orders_until_an_empty_page(
    storefront: BigCommerceStorefront, wire: Wire
) -> None:
    pages = [await storefront.orders_page(page=number, limit=4) for number in (1, 2, 3)]

    assert [(page.page, page.has_more, len(page.orders)) for page in pages] == [
        (1, True, 4),
        (2, True, 4),
        (3, False, 0),
    ]
    ids = [order.external_id for page in pages for order in page.orders]
    assert ids == [str(number) for number in range(100, 108)]
    assert all(order.lines and order.shipping_address is not None for page in pages for order in page.orders)
    assert wire.exchanges[-1].status_code == 204


async def test_an_order_is_read_with_its_lines_and_address_as_exact_decimals_and_utc_dates(
    storefront: BigCommerceStorefront, clock: FakeClock
) -> None:
    order = await storefront.order("100")

    assert order is not None
    assert (order.status_code, order.status, order.action, order.customer_id) == (
        "10",
        "Completed",
        OrderAction.DONE,
        1,
    )
    assert (order.email, order.first_name, order.last_name) == ("ann.lee@example.com", "Ann", "Lee")
    assert (order.subtotal, order.shipping, order.tax, order.total) == (
        Decimal("78.0000"),
        Decimal("0.0000"),
        Decimal("6.2400"),
        Decimal("84.2400"),
    )
    assert order.date_created == START - timedelta(days=12)
    assert order.date_created.tzinfo is UTC
    assert [(line.sku, line.quantity, line.unit_price) for line in order.lines] == [
        ("MUG-BLUE", 2, Decimal("14.0000")),
        ("PLATE-DINNER", 4, Decimal("12.5000")),
    ]
    assert order.shipping_address == Address(
        name="Ann Lee",
        line1="88 Greenwich St",
        city="New York",
        region="NY",
        postal_code="10006",
        country_code="US",
        phone="212-555-0142",
    )
    assert order.shipping_address_id == 1


async def test_what_the_merchant_refunded_is_read_as_the_order_s_running_total(
    storefront: BigCommerceStorefront, sandbox: BigCommerceSandbox
) -> None:
    await storefront.register_webhooks("https://ordergate.test/webhooks/bigcommerce")
    before = await storefront.order("100")
    await sandbox.refund(100, Decimal("4.24"))
    partly = await storefront.order("100")
    await sandbox.refund(100, Decimal("80.00"))
    whole = await storefront.order("100")

    assert before is not None
    assert partly is not None
    assert whole is not None
    assert (before.refunded, before.payment) == (Decimal("0.0000"), StorefrontPayment.CAPTURED)
    assert (partly.refunded, partly.status, partly.action) == (
        Decimal("4.2400"),
        "Partially Refunded",
        OrderAction.IMPORT,
    )
    assert (whole.refunded, whole.status, whole.action) == (
        Decimal("84.2400"),
        "Refunded",
        OrderAction.CANCEL,
    )
    notices = [storefront.verify_webhook(d.headers, d.body) for d in sandbox.deliveries]
    assert [(n.scope, n.order_id) for n in notices if "refund" in n.scope] == [
        ("store/order/refund/created", "100"),
        ("store/order/refund/created", "100"),
    ]


async def test_a_guest_order_has_no_customer_id(storefront: BigCommerceStorefront) -> None:
    order = await storefront.order("107")

    assert order is not None
    assert (order.customer_id, order.email) == (None, "guest.shopper@example.com")


async def test_an_unknown_order_is_none(storefront: BigCommerceStorefront) -> None:
    assert await storefront.order("9999") is None


async def test_min_date_modified_goes_as_rfc_2822_and_only_later_orders_come_back(
    storefront: BigCommerceStorefront, sandbox: BigCommerceSandbox, wire: Wire
) -> None:
    created = await sandbox.create_order("priya.patel@example.com", [("MUG-WHITE", 3)])
    wire.clear()

    page = await storefront.orders_page(min_date_modified=START - timedelta(days=3))

    assert [order.external_id for order in page.orders] == ["106", "107", str(created["id"])]
    assert wire.exchanges[0].request.url.params["min_date_modified"] == "Fri, 27 Feb 2026 08:00:00 +0000"
    with pytest.raises(ValueError, match="timezone-aware"):
        await storefront.orders_page(min_date_modified=datetime(2026, 3, 1))


async def test_the_sub_requests_of_a_page_run_side_by_side_but_never_more_than_four_orders_at_once(
    sandbox: BigCommerceSandbox, clock: FakeClock
) -> None:
    inner = httpx.ASGITransport(app=Starlette(routes=[Mount("/sandbox/bigcommerce", app=sandbox.app)]))
    in_flight, peak = 0, 0

    class Slow(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0)
            try:
                return await inner.handle_async_request(request)
            finally:
                in_flight -= 1

    storefront = connect(Slow(), clock)
    page = await storefront.orders_page(limit=8)
    await storefront.aclose()

    assert len(page.orders) == 8
    assert 2 < peak <= 8


async def read_from_the_wire(
    summary: dict[str, Any], line: dict[str, Any], clock: FakeClock
) -> StorefrontOrder | None:
    """The order a storefront answering with this summary and this one line gives."""

    def bigcommerce(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[line] if request.url.path.endswith("/products") else summary)

    storefront = mocked(bigcommerce, clock)
    order = await storefront.order(str(summary["id"]))
    await storefront.aclose()
    return order


async def test_v2_strings_and_dates_in_any_offset_are_read_exactly(clock: FakeClock) -> None:
    summary = {
        "id": 5001,
        "status_id": 11,
        "status": "Awaiting Fulfillment",
        "customer_id": 0,
        "date_created": "Tue, 03 Mar 2026 09:05:00 -0500",
        "date_modified": "Tue, 03 Mar 2026 09:06:00 -0000",
        "subtotal_ex_tax": "19.9900",
        "shipping_cost_ex_tax": "7.9500",
        "total_tax": "1.6000",
        "total_inc_tax": "29.5400",
        "currency_code": "USD",
        "shipping_address_count": 0,
        "external_source": "M-MIG",
        "external_order_id": "AMZ-113",
        "billing_address": {"email": "x@example.com", "first_name": "X", "last_name": "Y", "phone": "1"},
    }
    line = {"id": 9, "sku": "MUG-BLUE", "name": "Mug", "quantity": 1, "price_ex_tax": "19.9900"}

    order = await read_from_the_wire(summary, line, clock)

    assert order is not None
    assert (order.subtotal, order.shipping, order.tax, order.total) == tuple(
        map(Decimal, ("19.9900", "7.9500", "1.6000", "29.5400"))
    )
    assert order.date_created == datetime(2026, 3, 3, 14, 5, tzinfo=UTC)
    assert order.date_modified == datetime(2026, 3, 3, 9, 6, tzinfo=UTC)
    assert (order.customer_id, order.shipping_address) == (None, None)
    assert (order.external_source, order.external_order_id) == ("M-MIG", "AMZ-113")
    assert order.lines[0].unit_price == Decimal("19.9900")


async def test_discounts_and_coupons_come_off_and_handling_and_wrapping_count_as_getting_it_there(
    clock: FakeClock,
) -> None:
    """The order of the orders v2 document's example (218): 5.00 discount and a 5.00 coupon,
    here with 2.00 of handling and 1.50 of gift wrapping; what we read adds up to its total."""
    summary = {
        "id": 218,
        "status_id": 11,
        "status": "Awaiting Fulfillment",
        "customer_id": 11,
        "date_created": "Tue, 05 Mar 2019 21:40:11 +0000",
        "date_modified": "Mon, 11 Mar 2019 15:17:25 +0000",
        "subtotal_ex_tax": "62.6800",
        "shipping_cost_ex_tax": "11.0900",
        "handling_cost_ex_tax": "2.0000",
        "wrapping_cost_ex_tax": "1.5000",
        "total_tax": "5.3100",
        "total_inc_tax": "72.5800",
        "discount_amount": "5.0000",
        "coupon_discount": "5.0000",
        "currency_code": "USD",
        "billing_address": {"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe"},
    }
    line = {"id": 9, "sku": "MUG-BLUE", "name": "Mug", "quantity": 4, "price_ex_tax": "15.6700"}

    order = await read_from_the_wire(summary, line, clock)

    assert order is not None
    assert (order.discount, order.shipping) == (Decimal("10.00"), Decimal("14.59"))
    assert order.subtotal - order.discount + order.shipping + order.tax == order.total


@pytest.mark.parametrize(
    "body", [b'{"not": "a list"}', b"<html>", b'[{"id": "x"}]'], ids=["object", "not-json", "bad-id"]
)
async def test_an_unreadable_order_list_is_a_protocol_error(clock: FakeClock, body: bytes) -> None:
    storefront = mocked(lambda request: httpx.Response(200, content=body), clock)

    with pytest.raises(UpstreamProtocolError):
        await storefront.orders_page()
    await storefront.aclose()


async def test_an_empty_array_is_an_empty_page_like_204(clock: FakeClock) -> None:
    storefront = mocked(lambda request: httpx.Response(200, json=[]), clock)

    page = await storefront.orders_page(page=7)
    await storefront.aclose()

    assert (page.orders, page.page, page.has_more) == ((), 7, False)


# -- customers ---------------------------------------------------------------------------------------


async def test_customers_for_many_ids_are_one_request(storefront: BigCommerceStorefront, wire: Wire) -> None:
    wanted = [12, 3, 999, 1, 3]

    found = await storefront.customers(wanted)

    assert list(found) == [12, 3, 1]
    assert wire.sent() == ["GET /v3/customers"]
    assert wire.exchanges[0].request.url.params["id:in"] == "12,3,999,1"
    ann = found[1]
    assert (ann.email, ann.phone, ann.customer_group_id) == ("ann.lee@example.com", "212-555-0142", 0)
    assert [(a.line1, a.region, a.postal_code) for a in ann.addresses] == [("88 Greenwich St", "NY", "10006")]
    assert found[3].addresses[0].region == "IL"


async def test_three_hundred_ids_are_two_requests(storefront: BigCommerceStorefront, wire: Wire) -> None:
    found = await storefront.customers(list(range(1, 301)))

    assert len(found) == 12
    assert wire.sent() == ["GET /v3/customers", "GET /v3/customers"]


async def test_customers_by_email_match_without_regard_to_case_in_one_request(
    storefront: BigCommerceStorefront, wire: Wire
) -> None:
    found = await storefront.customers_by_email(
        ["Ann.Lee@Example.com", "nobody@example.com", "grace.kim@example.com"]
    )

    assert {asked: customer.id for asked, customer in found.items()} == {
        "Ann.Lee@Example.com": 1,
        "grace.kim@example.com": 9,
    }
    assert wire.sent() == ["GET /v3/customers"]


async def test_a_search_uses_name_like_or_email_in_by_the_look_of_the_query(
    storefront: BigCommerceStorefront, wire: Wire
) -> None:
    by_name, more = await storefront.search_customers("pat", limit=5)
    by_email, _ = await storefront.search_customers("emily.chen@example.com")
    page_one, more_one = await storefront.search_customers("o", limit=2)

    assert ([c.last_name for c in by_name], more) == (["Patel"], False)
    assert [c.id for c in by_email] == [5]
    assert (len(page_one), more_one) == (2, True)
    filters = [sorted(set(r.request.url.params) - {"page", "limit", "include"}) for r in wire.exchanges]
    assert filters == [["name:like"], ["email:in"], ["name:like"]]


# -- catalogue ---------------------------------------------------------------------------------------


async def test_variants_come_in_pages_named_after_their_products(
    storefront: BigCommerceStorefront, wire: Wire, sandbox: BigCommerceSandbox
) -> None:
    first, more = await storefront.variants(limit=20)
    rest, last = await storefront.variants(page=2, limit=20)

    assert (len(first), more, len(rest), last) == (20, True, 4, False)
    mug = first[0]
    product = sandbox.product_for("MUG-BLUE")
    assert (mug.sku, mug.name, mug.price, mug.variant_id, mug.product_id) == (
        "MUG-BLUE",
        "Stoneware Mug, Blue",
        Decimal("14.0"),
        product.variant_id,
        product.id,
    )
    assert wire.sent() == ["GET /v3/catalog/variants", "GET /v3/catalog/products"] * 2


async def test_variants_by_sku_leave_unknown_skus_out(storefront: BigCommerceStorefront, wire: Wire) -> None:
    found = await storefront.variants_by_sku(["LAMP-DESK", "NO-SUCH-SKU", "GIFT-CARD-50"])

    assert {sku: (v.name, v.price) for sku, v in found.items()} == {
        "LAMP-DESK": ("Brass Desk Lamp", Decimal("119.0")),
        "GIFT-CARD-50": ("Gift Card $50", Decimal("50.0")),
    }
    assert wire.sent().count("GET /v3/catalog/products") == 1


# -- pushes ------------------------------------------------------------------------------------------


def a_shipment(
    order_id: str, items: tuple[tuple[str, int], ...], tracking: str = "1Z999AA10123456784"
) -> ShipmentPush:
    return ShipmentPush(order_external_id=order_id, tracking_number=tracking, carrier="ups", items=items)


async def test_a_shipment_pushed_twice_exists_once_with_one_id(
    storefront: BigCommerceStorefront, sandbox: BigCommerceSandbox, wire: Wire, clock: FakeClock
) -> None:
    order = await storefront.order("105")
    assert order is not None
    items = tuple((line.sku, line.quantity) for line in order.lines)

    first = await storefront.push_shipment(a_shipment("105", items))
    again = await storefront.push_shipment(a_shipment("105", items))
    restarted = connect(wire, clock)
    after_restart = await restarted.push_shipment(a_shipment("105", items))
    await restarted.aclose()

    assert first == again == after_restart
    [shipment] = sandbox.orders[105].shipments
    assert (str(shipment["id"]), shipment["shipping_provider"], shipment["order_address_id"]) == (
        first,
        "ups",
        order.shipping_address_id,
    )
    assert sandbox.orders[105].status_id == STATUS_IDS[PushedStatus.SHIPPED]
    assert wire.sent().count("POST /v2/orders/105/shipments") == 1


async def test_concurrent_pushes_of_one_shipment_create_it_once(
    storefront: BigCommerceStorefront, sandbox: BigCommerceSandbox
) -> None:
    line = sandbox.orders[106].lines[0]

    ids = await asyncio.gather(
        *(storefront.push_shipment(a_shipment("106", ((line.sku, 1),))) for _ in range(5))
    )

    assert len(set(ids)) == 1
    assert len(sandbox.orders[106].shipments) == 1


async def test_a_second_parcel_with_another_tracking_number_is_a_second_shipment(
    storefront: BigCommerceStorefront, sandbox: BigCommerceSandbox
) -> None:
    chair = await sandbox.create_order(2, [("CHAIR-OAK", 2)])
    [line] = sandbox.orders[chair["id"]].lines

    one = await storefront.push_shipment(
        a_shipment(str(chair["id"]), ((line.sku, 1),), "9400100000000000000001")
    )
    partly = sandbox.orders[chair["id"]].status_id
    two = await storefront.push_shipment(
        a_shipment(str(chair["id"]), ((line.sku, 1),), "9400100000000000000002")
    )

    assert one != two
    assert (partly, sandbox.orders[chair["id"]].status_id) == (
        STATUS_IDS[PushedStatus.PARTIALLY_SHIPPED],
        STATUS_IDS[PushedStatus.SHIPPED],
    )
    assert [s["tracking_number"] for s in sandbox.orders[chair["id"]].shipments] == [
        "9400100000000000000001",
        "9400100000000000000002",
    ]


async def test_an_unknown_carrier_goes_as_a_tracking_carrier(
    storefront: BigCommerceStorefront, sandbox: BigCommerceSandbox
) -> None:
    line = sandbox.orders[106].lines[0]

    await storefront.push_shipment(
        ShipmentPush(order_external_id="106", tracking_number="DHL123", carrier="DHL", items=((line.sku, 1),))
    )

    [shipment] = sandbox.orders[106].shipments
    assert (shipment["shipping_provider"], shipment["tracking_carrier"]) == ("", "dhl")


async def test_over_shipping_is_rejected_and_creates_nothing(
    storefront: BigCommerceStorefront, sandbox: BigCommerceSandbox
) -> None:
    line = sandbox.orders[106].lines[0]

    with pytest.raises(UpstreamRejected) as caught:
        await storefront.push_shipment(a_shipment("106", ((line.sku, 5),)))

    assert caught.value.status == 400
    assert sandbox.orders[106].shipments == []


async def test_one_sku_sold_on_two_lines_ships_onto_each_as_far_as_it_has_units_left(
    storefront: BigCommerceStorefront, sandbox: BigCommerceSandbox
) -> None:
    """Two engraved mugs, one line each (same SKU), and a plate; shipped in two parcels."""
    sold = await sandbox.create_order(2, [("MUG-BLUE", 1), ("PLATE-DINNER", 2), ("MUG-BLUE", 2)])
    first, plate, second = sandbox.orders[sold["id"]].lines

    await storefront.push_shipment(a_shipment(str(sold["id"]), (("MUG-BLUE", 2), ("PLATE-DINNER", 1)), "T1"))
    await storefront.push_shipment(a_shipment(str(sold["id"]), (("MUG-BLUE", 1), ("PLATE-DINNER", 1)), "T2"))
    with pytest.raises(UpstreamRejected):  # nothing of the mugs is left to ship
        await storefront.push_shipment(a_shipment(str(sold["id"]), (("MUG-BLUE", 1),), "T3"))

    assert [
        [(i["order_product_id"], i["quantity"]) for i in s["items"]]
        for s in sandbox.orders[sold["id"]].shipments
    ] == [
        [(first.id, 1), (second.id, 1), (plate.id, 1)],
        [(second.id, 1), (plate.id, 1)],
    ]
    assert sandbox.orders[sold["id"]].status_id == STATUS_IDS[PushedStatus.SHIPPED]


async def test_set_status_puts_the_status_id(
    storefront: BigCommerceStorefront, sandbox: BigCommerceSandbox
) -> None:
    await storefront.set_status("106", PushedStatus.CANCELLED)

    assert sandbox.orders[106].status_id == 5


async def test_availability_goes_by_sku_and_location(
    storefront: BigCommerceStorefront, sandbox: BigCommerceSandbox, wire: Wire
) -> None:
    nyc, ewr = BIGCOMMERCE_LOCATION_IDS["ST-NYC"], BIGCOMMERCE_LOCATION_IDS["DC-EWR"]

    await storefront.set_availability(
        [
            AvailabilityPush("MUG-BLUE", nyc, 7),
            AvailabilityPush("MUG-BLUE", ewr, 120),
            AvailabilityPush("LAMP-DESK", nyc, -3),
        ]
    )

    assert sandbox.available == {("MUG-BLUE", nyc): 7, ("MUG-BLUE", ewr): 120, ("LAMP-DESK", nyc): 0}
    assert wire.sent() == ["PUT /v3/inventory/adjustments/absolute"]


async def test_availability_is_sent_in_chunks_of_2000_items(clock: FakeClock) -> None:
    sizes: list[int] = []

    def bigcommerce(request: httpx.Request) -> httpx.Response:
        sizes.append(len(json.loads(request.content)["items"]))
        return httpx.Response(200, json={"transaction_id": "t"})

    storefront = mocked(bigcommerce, clock)
    await storefront.set_availability([AvailabilityPush(f"SKU-{n}", 1, n) for n in range(4100)])
    await storefront.aclose()

    assert sizes == [2000, 2000, 100]


async def test_locations_are_the_network(storefront: BigCommerceStorefront) -> None:
    locations = await storefront.locations()

    assert {location.code: location.id for location in locations} == BIGCOMMERCE_LOCATION_IDS
    assert all(location.enabled for location in locations)


# -- failures and rate limits ------------------------------------------------------------------------


async def test_a_spent_budget_is_waited_out_for_the_milliseconds_bigcommerce_names(clock: FakeClock) -> None:
    sandbox = BigCommerceSandbox(token=TOKEN, clock=clock, rate_limit=3)
    wire = Wire(sandbox)
    async with httpx.AsyncClient(
        transport=Wire(sandbox), base_url=BASE, headers={"X-Auth-Token": TOKEN}
    ) as other:
        for _ in range(3):
            assert (await other.get("/v3/inventory/locations")).status_code == 200
            clock.now += 2.5
    storefront = connect(wire, clock)

    locations = await storefront.locations()
    await storefront.aclose()

    assert len(locations) == 10
    assert [r.status_code for r in wire.exchanges] == [429, 200]
    assert wire.exchanges[0].headers["X-Rate-Limit-Time-Reset-Ms"] == "22500"
    assert sum(clock.slept) == pytest.approx(22.5)


async def test_the_last_request_of_a_window_makes_the_next_one_wait_for_the_reset(clock: FakeClock) -> None:
    sandbox = BigCommerceSandbox(token=TOKEN, clock=clock, rate_limit=3)
    wire = Wire(sandbox)
    storefront = connect(wire, clock)

    await storefront.set_status("106", PushedStatus.AWAITING_PICKUP)
    clock.now += 4
    await storefront.set_status("106", PushedStatus.COMPLETED)
    waited_before = list(clock.slept)
    await storefront.set_status("106", PushedStatus.AWAITING_PICKUP)
    await storefront.aclose()

    assert [r.status_code for r in wire.exchanges] == [200, 200, 200]
    assert [r.headers["X-Rate-Limit-Requests-Left"] for r in wire.exchanges] == ["2", "1", "2"]
    assert waited_before == []
    assert clock.slept == [pytest.approx(26.0)]


async def test_an_outage_is_upstream_unavailable_after_retries(
    storefront: BigCommerceStorefront, sandbox: BigCommerceSandbox, wire: Wire
) -> None:
    sandbox.down = True

    with pytest.raises(UpstreamUnavailable) as caught:
        await storefront.customers([1])

    assert caught.value.status == 503
    assert [r.status_code for r in wire.exchanges] == [503, 503, 503]


async def test_a_timeout_is_upstream_unavailable(clock: FakeClock) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    storefront = mocked(slow, clock)
    with pytest.raises(UpstreamUnavailable):
        await storefront.order("100")
    await storefront.aclose()


async def test_a_wrong_token_is_rejected(wire: Wire, clock: FakeClock) -> None:
    storefront = BigCommerceStorefront.create(BASE, "wrong", transport=wire, clock=clock, sleep=clock.sleep)

    with pytest.raises(UpstreamRejected) as caught:
        await storefront.locations()
    await storefront.aclose()

    assert caught.value.status == 401


# -- webhooks ----------------------------------------------------------------------------------------


async def a_delivery(sandbox: BigCommerceSandbox, endpoint: Endpoint, secret: str = SECRET) -> httpx.Request:
    sandbox.register_hook(
        "store/order/*", "https://ordergate.test/webhooks/bigcommerce", {SECRET_HEADER: secret}
    )
    await sandbox.create_order(1, [("MUG-BLUE", 1)])
    return endpoint.received[-1]


async def test_an_order_created_webhook_with_our_secret_names_the_order(
    storefront: BigCommerceStorefront, sandbox: BigCommerceSandbox, endpoint: Endpoint, clock: FakeClock
) -> None:
    delivery = await a_delivery(sandbox, endpoint)

    notice = storefront.verify_webhook(delivery.headers, delivery.content)

    assert (notice.scope, notice.resource_type, notice.resource_id) == ("store/order/created", "order", 108)
    assert notice.order_id == "108"
    assert (notice.store_id, notice.producer, notice.created_at) == ("1001", "stores/ogsandbox", START)
    again = await sandbox.redeliver()
    assert storefront.verify_webhook(again.headers, again.body).delivery_id == notice.delivery_id
    spec.bigcommerce(BASE).document("/v3/hooks").check_schema(
        "store_order_created", json.loads(delivery.content)
    )


async def test_a_status_change_webhook_carries_both_statuses(
    storefront: BigCommerceStorefront, sandbox: BigCommerceSandbox, endpoint: Endpoint
) -> None:
    sandbox.register_hook("store/order/statusUpdated", "https://ordergate.test/w", {SECRET_HEADER: SECRET})

    await storefront.set_status("106", PushedStatus.CANCELLED)

    [delivery] = endpoint.received
    notice = storefront.verify_webhook(delivery.headers, delivery.content)
    assert (notice.scope, notice.previous_status_id, notice.new_status_id) == (
        "store/order/statusUpdated",
        11,
        5,
    )


async def test_during_rotation_the_old_and_the_new_secret_are_both_accepted(
    wire: Wire, clock: FakeClock, sandbox: BigCommerceSandbox, endpoint: Endpoint
) -> None:
    storefront = connect(wire, clock, secrets=["hook-secret-2", SECRET])
    old = await a_delivery(sandbox, endpoint)
    sandbox.hooks.clear()
    new = await a_delivery(sandbox, endpoint, secret="hook-secret-2")

    assert storefront.verify_webhook(old.headers, old.content).scope == "store/order/created"
    assert storefront.verify_webhook(new.headers, new.content).scope == "store/order/created"
    await storefront.aclose()


GOOD_BODY = json.dumps(
    {
        "scope": "store/order/updated",
        "store_id": "1001",
        "data": {"type": "order", "id": 100},
        "hash": "abc",
        "created_at": 1772438400,
        "producer": "stores/ogsandbox",
    }
).encode()


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({SECRET_HEADER: "not-our-secret"}, "INVALID_SIGNATURE"),
        ({SECRET_HEADER: ""}, "INVALID_SIGNATURE"),
        ({"X-Other": SECRET}, "INVALID_SIGNATURE"),
    ],
    ids=["wrong", "empty", "missing"],
)
async def test_a_delivery_without_our_secret_is_refused(
    storefront: BigCommerceStorefront, headers: dict[str, str], code: str
) -> None:
    with pytest.raises(WebhookRejected) as caught:
        storefront.verify_webhook(headers, GOOD_BODY)

    assert caught.value.code == code


async def test_the_secret_header_is_read_in_any_case(storefront: BigCommerceStorefront) -> None:
    assert storefront.verify_webhook({SECRET_HEADER.lower(): SECRET}, GOOD_BODY).resource_id == 100


async def test_no_configured_secret_refuses_everything(wire: Wire, clock: FakeClock) -> None:
    storefront = connect(wire, clock, secrets=[])

    with pytest.raises(WebhookRejected) as caught:
        storefront.verify_webhook({SECRET_HEADER: ""}, GOOD_BODY)
    await storefront.aclose()

    assert caught.value.code == "NOT_CONFIGURED"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"scope": "store/order/created"}',
        GOOD_BODY.replace(b'"id": 100', b'"id": "100"'),
        GOOD_BODY.replace(b'"created_at": 1772438400', b'"created_at": "yesterday"'),
    ],
    ids=["not-json", "array", "no-data", "string-id", "string-created-at"],
)
async def test_an_authentic_body_that_is_not_a_callback_is_malformed(
    storefront: BigCommerceStorefront, body: bytes
) -> None:
    with pytest.raises(WebhookRejected) as caught:
        storefront.verify_webhook({SECRET_HEADER: SECRET}, body)

    assert caught.value.code == "MALFORMED_PAYLOAD"


async def test_registering_hooks_sends_our_secret_header_once_per_scope(
    storefront: BigCommerceStorefront, sandbox: BigCommerceSandbox
) -> None:
    first = await storefront.register_webhooks("https://ordergate.test/webhooks/bigcommerce")
    again = await storefront.register_webhooks("https://ordergate.test/webhooks/bigcommerce")

    assert first == again == [1, 2, 3, 4]
    assert [(hook.scope, hook.headers) for hook in sandbox.hooks] == [
        ("store/order/created", {SECRET_HEADER: SECRET}),
        ("store/order/updated", {SECRET_HEADER: SECRET}),
        ("store/order/statusUpdated", {SECRET_HEADER: SECRET}),
        ("store/order/refund/created", {SECRET_HEADER: SECRET}),  # what a merchant refunds there
    ]


# -- statuses ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status_id", "label_and_action"), sorted(STATUS_ACTIONS.items()))
def test_each_bigcommerce_status_maps_to_one_action(
    status_id: int, label_and_action: tuple[str, OrderAction]
) -> None:
    assert status_of(status_id) is label_and_action[1]


def test_the_status_table_covers_bigcommerce_s_fifteen_statuses_and_holds_unknown_ones() -> None:
    actions = {status_id: status_of(status_id) for status_id in range(15)}

    assert [s for s, a in actions.items() if a is OrderAction.IMPORT] == [1, 3, 8, 9, 11, 14]
    assert [s for s, a in actions.items() if a is OrderAction.IGNORE] == [0, 6, 7]
    assert [s for s, a in actions.items() if a is OrderAction.HOLD] == [12, 13]
    assert [s for s, a in actions.items() if a is OrderAction.CANCEL] == [4, 5]
    assert [s for s, a in actions.items() if a is OrderAction.DONE] == [2, 10]
    assert status_of(99) is OrderAction.HOLD
    assert {status.name: STATUS_IDS[status] for status in PushedStatus} == {
        "SHIPPED": 2,
        "PARTIALLY_SHIPPED": 3,
        "CANCELLED": 5,
        "AWAITING_PICKUP": 8,
        "COMPLETED": 10,
    }


def test_payment_words_and_channel_ids_become_the_domain_s() -> None:
    assert [
        payment_of(word) for word in ("Captured", "paid", "authorized", "capture pending", "", "declined")
    ] == [
        StorefrontPayment.CAPTURED,
        StorefrontPayment.CAPTURED,
        StorefrontPayment.AUTHORISED,
        StorefrontPayment.AUTHORISED,
        StorefrontPayment.NONE,
        StorefrontPayment.NONE,
    ]
    assert (channel_of(1), channel_of(7)) == ("web", "bigcommerce-7")


# -- the wire against BigCommerce's documents ----------------------------------------------------------


async def test_every_request_sent_and_every_answer_match_the_bigcommerce_specs(
    storefront: BigCommerceStorefront, sandbox: BigCommerceSandbox, wire: Wire
) -> None:
    checks = spec.bigcommerce(BASE)
    await storefront.orders_page(limit=5)
    await storefront.orders_page(page=2, limit=5, min_date_modified=START - timedelta(days=30))
    await storefront.orders_page(page=9, limit=5)
    await storefront.order("103")
    await storefront.customers([1, 2, 3])
    await storefront.customers_by_email(["ann.lee@example.com"])
    await storefront.search_customers("lee")
    await storefront.search_customers("ann.lee@example.com")
    await storefront.variants(limit=10)
    await storefront.variants_by_sku(["MUG-BLUE", "LAMP-DESK"])
    line = sandbox.orders[106].lines[0]
    await storefront.push_shipment(a_shipment("106", ((line.sku, 1),)))
    await storefront.push_shipment(a_shipment("106", ((line.sku, 1),)))
    await storefront.set_status("106", PushedStatus.COMPLETED)
    await storefront.set_availability([AvailabilityPush("MUG-BLUE", 1, 5)])
    await storefront.locations()
    await storefront.register_webhooks("https://ordergate.test/webhooks/bigcommerce")
    await storefront.register_webhooks("https://ordergate.test/webhooks/bigcommerce")

    for response in wire.exchanges:
        checks.check_request(response.request)
        assert response.request.headers["Content-Type"] == "application/json"
        if response.status_code != 204 and not _no_hooks_yet(response):
            checks.check_response(response)
    assert {path.split(" ")[0] + " " + path.split(" ")[1].split("/")[1] for path in wire.sent()} == {
        "GET v2",
        "GET v3",
        "POST v2",
        "POST v3",
        "PUT v2",
        "PUT v3",
    }
    assert [r.status_code for r in wire.exchanges].count(204) >= 2


def _no_hooks_yet(response: httpx.Response) -> bool:
    """The webhooks document gives `GET /hooks` a `data` of `minItems: 1`, so the true answer of a
    store with no hooks yet, an empty list, is left unchecked."""
    return response.request.url.path.endswith("/v3/hooks") and response.json()["data"] == []
