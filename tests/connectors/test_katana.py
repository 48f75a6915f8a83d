"""The Katana connector against the Katana sandbox, over HTTP (httpx's ASGI transport)."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordergate.connectors.erp.base import IncomingSupply, SalesOrderLine, SalesOrderPush
from ordergate.connectors.erp.katana import KatanaErp
from ordergate.connectors.errors import UpstreamRejected, WebhookRejected
from ordergate.sandbox.katana import KATANA_LOCATION_IDS, KatanaSandbox, sign
from ordergate.sandbox.seed import CATALOGUE, NETWORK
from tests import spec

TODAY = date(2026, 3, 2)
BASE = "http://katana.test"
TOKEN = "katana-test-token"
WEBHOOK_TOKEN = "0123456789abcdef"
ALL_SKUS = [sku for sku, *_ in CATALOGUE]
EWR, DFW, ONT, NYC = (KATANA_LOCATION_IDS[code] for code in ("DC-EWR", "DC-DFW", "DC-ONT", "ST-NYC"))


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
    """The sandbox over ASGI, keeping every exchange (requests and read responses)."""

    def __init__(self, sandbox: KatanaSandbox) -> None:
        self._asgi = httpx.ASGITransport(app=sandbox.app)
        self.exchanges: list[httpx.Response] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = await self._asgi.handle_async_request(request)
        response = httpx.Response(
            answer.status_code, headers=answer.headers, content=await answer.aread(), request=request
        )
        self.exchanges.append(response)
        return response

    def sent(self) -> list[str]:
        return [f"{r.request.method} {r.request.url.path}" for r in self.exchanges]

    def clear(self) -> None:
        self.exchanges.clear()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> KatanaSandbox:
    return KatanaSandbox(token=TOKEN, webhook_token=WEBHOOK_TOKEN, today=TODAY, clock=clock)


@pytest.fixture
def wire(sandbox: KatanaSandbox) -> Wire:
    return Wire(sandbox)


def connect(wire: Wire, clock: FakeClock, secrets: Sequence[str] = (WEBHOOK_TOKEN,)) -> KatanaErp:
    return KatanaErp.create(
        BASE, TOKEN, secrets, transport=wire, clock=clock, wall_clock=clock, sleep=clock.sleep
    )


@pytest.fixture
async def erp(wire: Wire, clock: FakeClock) -> AsyncIterator[KatanaErp]:
    erp = connect(wire, clock)
    yield erp
    await erp.aclose()


def a_push(order_id: str = "0b9e6c1e-order-1", **overrides: Any) -> SalesOrderPush:
    fields: dict[str, Any] = {
        "order_id": order_id,
        "order_number": "OG-1001",
        "customer_name": "Ann Lee",
        "customer_email": "ann@example.com",
        "erp_location_id": EWR,
        "currency": "USD",
        "lines": [
            SalesOrderLine("MUG-BLUE", 2, Decimal("14.00")),
            SalesOrderLine("PLATE-DINNER", 4, Decimal("12.50")),
        ],
        "delivery_date": TODAY + timedelta(days=5),
    }
    return SalesOrderPush(**{**fields, **overrides})


async def test_locations_are_the_demo_network_under_katana_ids(erp: KatanaErp, wire: Wire) -> None:
    locations = await erp.locations()

    by_id = {location.erp_id: location for location in locations}
    assert set(by_id) == set(KATANA_LOCATION_IDS.values())
    for code, name, _kind, line1, city, region, postal, *_ in NETWORK:
        location = by_id[KATANA_LOCATION_IDS[code]]
        assert (location.name, location.line1, location.city, location.region) == (name, line1, city, region)
        assert (location.postal_code, location.country_code) == (postal, "US")
    assert wire.sent() == ["GET /locations"]


async def test_stock_levels_read_on_hand_per_location_and_leave_unknown_skus_out(erp: KatanaErp) -> None:
    levels = await erp.stock_levels(["MUG-BLUE", "NO-SUCH-SKU", "RUG-JUTE-5X8"])

    on_hand = {(level.sku, level.erp_location_id): level.on_hand for level in levels}
    assert on_hand[("MUG-BLUE", EWR)] == 240
    assert on_hand[("RUG-JUTE-5X8", KATANA_LOCATION_IDS["VN-HOMEGOODS"])] == 60
    assert on_hand[("RUG-JUTE-5X8", KATANA_LOCATION_IDS["ST-CHI"])] == 0
    assert ("MUG-BLUE", KATANA_LOCATION_IDS["VN-HOMEGOODS"]) not in on_hand
    assert {level.sku for level in levels} == {"MUG-BLUE", "RUG-JUTE-5X8"}
    assert len(levels) == 9 + 10


async def test_decimal_quantities_become_whole_units_rounded_down(
    erp: KatanaErp, sandbox: KatanaSandbox, wire: Wire
) -> None:
    await sandbox.set_on_hand("MUG-BLUE", "ST-NYC", Decimal("7.75"))
    await sandbox.set_on_hand("MUG-WHITE", "ST-NYC", Decimal("0.5"))

    levels = await erp.stock_levels(["MUG-BLUE", "MUG-WHITE", "PLATE-DINNER"])

    on_hand = {(level.sku, level.erp_location_id): level.on_hand for level in levels}
    assert (on_hand[("MUG-BLUE", NYC)], on_hand[("MUG-WHITE", NYC)], on_hand[("PLATE-DINNER", NYC)]) == (
        7,
        0,
        48,
    )
    assert all(type(level.on_hand) is int for level in levels)
    wire_quantities = {row["quantity_in_stock"] for row in wire.exchanges[-1].json()["data"]}
    assert {"7.75", "0.5", "48.0"} <= wire_quantities


@pytest.mark.parametrize("size", [1, 10, 24])
async def test_a_warm_stock_read_is_one_inventory_request_whatever_the_number_of_skus(
    erp: KatanaErp, wire: Wire, size: int
) -> None:
    await erp.stock_levels(ALL_SKUS)
    assert wire.sent() == ["GET /variants", "GET /inventory"]
    wire.clear()

    levels = await erp.stock_levels(ALL_SKUS[:size])

    assert wire.sent() == ["GET /inventory"]
    assert {level.sku for level in levels} == set(ALL_SKUS[:size])


async def test_variant_lookups_are_batched_and_unknown_skus_are_not_asked_again(
    erp: KatanaErp, wire: Wire
) -> None:
    await erp.stock_levels(["MUG-BLUE", "NO-SUCH-SKU"])
    await erp.stock_levels(["MUG-BLUE", "NO-SUCH-SKU", "KETTLE-STEEL", "LAMP-DESK"])

    variant_queries = [
        r.request.url.params.get_list("sku") for r in wire.exchanges if r.request.url.path == "/variants"
    ]
    assert variant_queries == [["MUG-BLUE", "NO-SUCH-SKU"], ["KETTLE-STEEL", "LAMP-DESK"]]


async def test_skus_learnt_once_cost_no_lookup_when_read_or_sold_later(erp: KatanaErp, wire: Wire) -> None:
    await erp.learn(ALL_SKUS)
    assert wire.sent() == ["GET /variants"]
    wire.clear()

    await erp.stock_levels(ALL_SKUS[:3])
    await erp.push_sales_order(a_push(), first=True)

    assert "GET /variants" not in wire.sent()


async def test_a_long_sku_list_is_looked_up_in_batches_that_fit_in_a_url(erp: KatanaErp, wire: Wire) -> None:
    skus = [f"UNKNOWN-{number:04d}-{'X' * 30}" for number in range(600)]

    assert await erp.stock_levels(skus) == []

    lookups = [r.request.url for r in wire.exchanges if r.request.url.path == "/variants"]
    assert [sku for url in lookups for sku in url.params.get_list("sku")] == skus
    assert all(len(url.query) < 6200 and len(url.params.get_list("sku")) <= 250 for url in lookups)
    assert len(lookups) == 5


@settings(max_examples=60, deadline=None)
@given(units=st.decimals(min_value=-1000, max_value=100_000, places=3))
async def test_any_decimal_string_is_read_as_whole_units_rounded_down(units: Decimal) -> None:
    variant = {"id": 7, "sku": "MUG-BLUE"}
    row = {"variant_id": 7, "location_id": 1, "quantity_in_stock": str(units)}

    def katana(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [variant if request.url.path == "/variants" else row]})

    erp = KatanaErp.create(BASE, TOKEN, transport=httpx.MockTransport(katana))
    [level] = await erp.stock_levels(["MUG-BLUE"])
    await erp.aclose()

    assert level.on_hand == math.floor(units)
    assert type(level.on_hand) is int


async def test_pages_are_followed_to_the_last_one(clock: FakeClock) -> None:
    sandbox = KatanaSandbox(token=TOKEN, today=TODAY, clock=clock, max_page_size=7)
    wire = Wire(sandbox)
    erp = connect(wire, clock)

    levels = await erp.stock_levels(ALL_SKUS)
    await erp.aclose()

    assert len(levels) == len(ALL_SKUS) * 9 + 4
    inventory_pages = [
        r.request.url.params["page"] for r in wire.exchanges if r.request.url.path == "/inventory"
    ]
    assert inventory_pages == [str(page) for page in range(1, 33)]
    assert json.loads(wire.exchanges[-1].headers["X-Pagination"])["last_page"] == "true"


async def test_incoming_supply_is_the_unreceived_rows_of_open_purchase_orders(
    erp: KatanaErp, wire: Wire
) -> None:
    supply = await erp.incoming_supply(
        ["CHAIR-OAK", "VASE-CERAMIC", "CANDLE-CEDAR", "MUG-WHITE", "NO-SUCH-SKU"]
    )

    assert supply == [
        IncomingSupply("CHAIR-OAK", DFW, 16, TODAY + timedelta(days=10), "PO-1002"),
        IncomingSupply("VASE-CERAMIC", EWR, 36, TODAY + timedelta(days=10), "PO-1004"),
        IncomingSupply("CHAIR-OAK", ONT, 20, TODAY + timedelta(days=21), "PO-1003"),
    ]
    statuses = [
        r.request.url.params.get("status") for r in wire.exchanges if r.request.url.path == "/purchase_orders"
    ]
    assert statuses == ["NOT_RECEIVED", "PARTIALLY_RECEIVED"]


async def test_a_sales_order_pushed_twice_exists_once_with_one_id(
    erp: KatanaErp, sandbox: KatanaSandbox, wire: Wire, clock: FakeClock
) -> None:
    first = await erp.push_sales_order(a_push())
    again = await erp.push_sales_order(a_push())
    restarted = connect(wire, clock)
    after_restart = await restarted.push_sales_order(a_push())
    await restarted.aclose()

    assert first == again == after_restart
    [order] = sandbox.sales_orders_for(a_push().order_id)
    assert str(order["id"]) == first
    assert order["location_id"] == int(EWR)
    assert order["customer_id"] == sandbox.customers[0]["id"]
    assert [
        (row["variant_id"], row["quantity"], row["price_per_unit"]) for row in order["sales_order_rows"]
    ] == [
        (sandbox.variant_for("MUG-BLUE").id, 2, "14.0000000000"),
        (sandbox.variant_for("PLATE-DINNER").id, 4, "12.5000000000"),
    ]
    assert wire.sent().count("POST /sales_orders") == 1


async def test_concurrent_pushes_of_one_order_create_one_sales_order(
    erp: KatanaErp, sandbox: KatanaSandbox
) -> None:
    ids = await asyncio.gather(*(erp.push_sales_order(a_push()) for _ in range(5)))

    assert len(set(ids)) == 1
    assert len(sandbox.sales_orders_for(a_push().order_id)) == 1


async def test_a_customer_is_found_by_email_before_one_is_created(
    erp: KatanaErp, sandbox: KatanaSandbox
) -> None:
    await erp.push_sales_order(a_push("order-1"))
    await erp.push_sales_order(a_push("order-2", customer_email="ANN@example.com"))

    assert len(sandbox.customers) == 1
    assert len(sandbox.sales_orders) == 2


async def test_an_order_with_no_address_to_give_is_a_customer_of_its_own_with_no_email(
    erp: KatanaErp, sandbox: KatanaSandbox, wire: Wire
) -> None:
    # a sale kept under a stand-in address (models.commands.sale_email): no address to give
    await erp.push_sales_order(a_push("order-1", customer_email=None, customer_name="Sam Guest"))

    [customer] = sandbox.customers
    assert (customer["name"], customer["email"]) == ("Sam Guest", None)
    assert "GET /customers" not in wire.sent()  # nobody to find by an address that is not one


async def test_a_push_naming_an_unknown_sku_is_rejected_and_creates_nothing(
    erp: KatanaErp, sandbox: KatanaSandbox
) -> None:
    with pytest.raises(UpstreamRejected) as caught:
        await erp.push_sales_order(a_push(lines=[SalesOrderLine("NO-SUCH-SKU", 1, Decimal("1.00"))]))

    assert "NO-SUCH-SKU" in caught.value.message
    assert sandbox.sales_orders == []
    assert sandbox.customers == []


async def test_resolve_skus_maps_variant_ids_and_leaves_unknown_ones_out(
    erp: KatanaErp, sandbox: KatanaSandbox
) -> None:
    mug, gift = sandbox.variant_for("MUG-BLUE").id, sandbox.variant_for("GIFT-CARD-50").id

    assert await erp.resolve_skus([str(mug), str(gift), "999999", "prod-456"]) == {
        str(mug): "MUG-BLUE",
        str(gift): "GIFT-CARD-50",
    }


async def test_a_429_is_retried_after_the_seconds_katana_asks_for(clock: FakeClock) -> None:
    sandbox = KatanaSandbox(token=TOKEN, today=TODAY, clock=clock, rate_limit=3)
    wire = Wire(sandbox)
    erp = connect(wire, clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app),
        base_url=BASE,
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as another_replica:
        for _ in range(3):
            assert (await another_replica.get("/locations")).status_code == 200
            clock.now += 15

    locations = await erp.locations()
    await erp.aclose()

    assert len(locations) == 10
    assert [r.status_code for r in wire.exchanges] == [429, 200]
    assert wire.exchanges[0].headers["Retry-After"] == "15"
    assert clock.slept == [15.0]


# -- webhooks ----------------------------------------------------------------------------------------


async def a_delivery(sandbox: KatanaSandbox, sku: str = "MUG-BLUE", units: int = 3) -> httpx.Request:
    """What the sandbox sends a registered endpoint when stock of `sku` changes."""
    received: list[httpx.Request] = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        sandbox.webhook_client = client
        sandbox.register_webhook(
            "https://ordergate.test/webhooks/katana", ["current_inventory.product_updated"]
        )
        await sandbox.set_on_hand(sku, "ST-NYC", units)
    [delivery] = received
    return delivery


async def test_a_signed_inventory_webhook_names_the_changed_variant(
    erp: KatanaErp, sandbox: KatanaSandbox
) -> None:
    await erp.stock_levels(["MUG-BLUE"])
    delivery = await a_delivery(sandbox)

    notice = erp.verify_webhook(delivery.content, delivery.headers)

    variant_id = str(sandbox.variant_for("MUG-BLUE").id)
    assert notice.event == "current_inventory.product_updated"
    assert (notice.variant_ids, notice.skus) == ((variant_id,), ("MUG-BLUE",))
    assert notice.delivery_id == erp.verify_webhook(delivery.content, dict(delivery.headers)).delivery_id
    assert await erp.resolve_skus(notice.variant_ids) == {variant_id: "MUG-BLUE"}


async def test_a_tampered_body_is_refused(erp: KatanaErp, sandbox: KatanaSandbox) -> None:
    delivery = await a_delivery(sandbox)
    tampered = delivery.content.replace(b'"UPDATED"', b'"DELETED"')

    with pytest.raises(WebhookRejected) as caught:
        erp.verify_webhook(tampered, delivery.headers)

    assert caught.value.code == "INVALID_SIGNATURE"


async def test_json_re_serialised_with_the_same_data_is_refused(
    erp: KatanaErp, sandbox: KatanaSandbox
) -> None:
    delivery = await a_delivery(sandbox)
    same_data = json.dumps(json.loads(delivery.content), indent=2).encode()

    with pytest.raises(WebhookRejected) as caught:
        erp.verify_webhook(same_data, delivery.headers)

    assert caught.value.code == "INVALID_SIGNATURE"


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Sha2-Signature": sign(b"{}", "fedcba9876543210")},
        {"X-Sha2-Signature": "not hex"},
        {},
    ],
    ids=["wrong-secret", "not-hex", "missing"],
)
async def test_a_signature_not_made_with_our_secret_is_refused(
    erp: KatanaErp, headers: dict[str, str]
) -> None:
    with pytest.raises(WebhookRejected) as caught:
        erp.verify_webhook(b"{}", headers)

    assert caught.value.code == "INVALID_SIGNATURE"


async def test_during_rotation_the_old_and_the_new_secret_are_both_accepted(
    wire: Wire, clock: FakeClock, sandbox: KatanaSandbox
) -> None:
    erp = connect(wire, clock, secrets=["fedcba9876543210", WEBHOOK_TOKEN])
    old = await a_delivery(sandbox)
    sandbox.webhooks.clear()
    sandbox.webhook_token = "fedcba9876543210"
    new = await a_delivery(sandbox, units=4)

    assert erp.verify_webhook(old.content, old.headers).event == "current_inventory.product_updated"
    assert erp.verify_webhook(new.content, new.headers).event == "current_inventory.product_updated"
    assert old.headers["X-Sha2-Signature"] != new.headers["X-Sha2-Signature"]
    await erp.aclose()


async def test_a_prefixed_signature_is_read_too(erp: KatanaErp) -> None:
    body = b'{"resource_type":"variant","action":"variant.updated","webhook_id":1,"object":{"id":"2001"}}'

    notice = erp.verify_webhook(body, {"x-sha2-signature": "sha256=" + sign(body, WEBHOOK_TOKEN)})

    assert notice.variant_ids == ("2001",)


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"action":"current_inventory.product_updated"}'])
async def test_a_signed_body_that_is_not_a_katana_event_is_malformed(erp: KatanaErp, body: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        erp.verify_webhook(body, {"X-Sha2-Signature": sign(body, WEBHOOK_TOKEN)})

    assert caught.value.code == "MALFORMED_PAYLOAD"


# -- the wire against Katana's OpenAPI document ----------------------------------------------------------


async def test_every_request_sent_and_every_answer_match_the_katana_spec(
    sandbox: KatanaSandbox, wire: Wire, clock: FakeClock
) -> None:
    katana = spec.katana(BASE)
    erp = connect(wire, clock)
    await erp.locations()
    await erp.stock_levels(ALL_SKUS)
    await erp.incoming_supply(ALL_SKUS)
    await erp.push_sales_order(a_push())
    await erp.push_sales_order(a_push("order-3", customer_email=None))
    await erp.aclose()
    cold = connect(wire, clock)
    await cold.resolve_skus([str(sandbox.variant_for("MUG-BLUE").id)])
    await cold.push_sales_order(a_push())
    await cold.aclose()

    for response in wire.exchanges:
        katana.check_request(response.request)
        katana.check_response(response)
    assert set(wire.sent()) == {
        "GET /locations",
        "GET /variants",
        "GET /inventory",
        "GET /purchase_orders",
        "GET /sales_orders",
        "GET /customers",
        "POST /customers",
        "POST /sales_orders",
    }


async def test_a_first_push_creates_without_looking_and_any_other_looks_first(
    erp: KatanaErp, sandbox: KatanaSandbox, wire: Wire, clock: FakeClock
) -> None:
    await erp.push_sales_order(a_push("order-1"), first=True)
    first = wire.sent()
    wire.clear()
    await erp.push_sales_order(a_push("order-2"))

    assert "GET /sales_orders" not in first
    assert first.count("POST /sales_orders") == 1
    assert wire.sent()[0] == "GET /sales_orders"
    assert len(sandbox.sales_orders) == 2
