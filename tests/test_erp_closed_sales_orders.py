"""Units that reach a node after its sales order in Katana was delivered (a backorder allocated
there when the purchase order arrives): Katana cannot change the rows of a delivered sales order,
so they go to a second one, `<number>-<node>-2`, which their parcel fulfils; Katana's stock ends
right and no outbox task is left retrying."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ordergate.bootstrap import SANDBOX_KATANA_URL, Sandboxes
from ordergate.connectors.erp.katana import KatanaErp
from ordergate.connectors.http import UpstreamPolicy
from ordergate.models.outbox import ERP_FULFILMENT, ERP_SALES_ORDER, ERP_SALES_ORDER_AMEND, OutboxTask
from ordergate.models.scope import OrderScope
from ordergate.sandbox.katana import KatanaSandbox
from ordergate.usecases import erp_sync
from ordergate.usecases.services import Services
from ordergate.workers.handlers import outbox_handlers
from ordergate.workers.relay import relay_once
from tests.builders import a_line, a_token, an_order_input
from tests.clock import MovingClock, moving
from tests.contract import operation
from tests.graphql_client import execute
from tests.test_fulfillment import location_ids
from tests.test_inventory import only_at

pytestmark = pytest.mark.no_relay

AGENT = a_token("agent")
DALLAS = a_token("associate", locations=("DC-DFW",))
WOOL = "THROW-WOOL"  # backorderable: 40 due at DC-DFW on PO-1002
ADDRESS = {
    "name": "Ada Shopper",
    "line1": "1 Congress Ave",
    "city": "Austin",
    "region": "TX",
    "postalCode": "78701",
    "countryCode": "US",
}
ORDER = """query($id: ID!) {
  order(id: $id) {
    id number
    lines { id sku quantity quantityFulfilled }
    backorders { status quantityWaiting quantityAllocated location { code } }
    fulfillmentOrders { id status location { code } lines { sku quantity } }
  }
}"""
CANCEL = """mutation($input: CancelOrderInput!) { cancelOrder(input: $input) { userErrors { code } } }"""


@pytest.fixture
def clock(services: Services) -> Iterator[MovingClock]:
    with moving(services) as clock:
        yield clock


def katana(sandboxes: Sandboxes) -> KatanaSandbox:
    assert sandboxes.katana is not None
    return sandboxes.katana


async def relay(services: Services, clock: MovingClock) -> None:
    """Every task the relay can do, retries included (an hour later, past any backoff)."""
    for _ in range(3):
        while await relay_once(services, outbox_handlers(services)):
            pass
        clock.advance(3600)


async def erp_tasks(services: Services) -> list[OutboxTask]:
    async with services.store.read() as uow:
        return [
            task
            for kind in (ERP_SALES_ORDER, ERP_SALES_ORDER_AMEND, ERP_FULFILMENT)
            for task in await uow.outbox.by_kind(kind)
        ]


async def read(client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    body = await execute(client, ORDER, {"id": order_id}, token=AGENT)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["order"]
    return found


async def place_wool(client: httpx.AsyncClient, quantity: int) -> dict[str, Any]:
    body = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(lines=[a_line(WOOL, quantity)], shippingAddress=ADDRESS)},
        token=AGENT,
    )
    assert body["data"]["placeOrder"]["userErrors"] == [], body
    order: dict[str, Any] = body["data"]["placeOrder"]["order"]
    return order


async def ship(client: httpx.AsyncClient, fo_id: str) -> None:
    for name in ("Accept", "StartPicking", "Pack"):
        assert "errors" not in await execute(client, operation(name), {"id": fo_id}, token=DALLAS)
    body = await execute(client, operation("Ship"), {"input": {"fulfillmentOrderId": fo_id}}, token=DALLAS)
    assert body["data"]["shipFulfillmentOrder"]["userErrors"] == [], body


def rows(sales_order: dict[str, Any], sandbox: KatanaSandbox) -> list[tuple[str, Any]]:
    sku_of = {variant.id: variant.sku for variant in sandbox.variants.values()}
    return sorted((sku_of[row["variant_id"]], row["quantity"]) for row in sales_order["sales_order_rows"])


async def backordered_then_delivered(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> tuple[dict[str, Any], str]:
    """An order of 5 wool throws at Dallas: 2 on hand shipped (its sales order DELIVERED), then
    the purchase order received and the 3 waiting allocated there. The order and the new work."""
    await only_at(services, sandboxes, WOOL, "DC-DFW", 2)
    order = await read(client, (await place_wool(client, 5))["id"])
    [first] = order["fulfillmentOrders"]
    assert (first["location"]["code"], first["lines"]) == ("DC-DFW", [{"sku": WOOL, "quantity": 2}])
    assert [(b["quantityWaiting"], b["location"]["code"]) for b in order["backorders"]] == [(3, "DC-DFW")]
    await relay(services, clock)
    await ship(client, first["id"])
    await relay(services, clock)
    [delivered] = katana(sandboxes).sales_orders_for(f"{order['number']}-DC-DFW")
    assert delivered["status"] == "DELIVERED"

    await katana(sandboxes).receive_purchase_order("PO-1002")  # the webhook allocates the 3

    order = await read(client, order["id"])
    assert [(b["status"], b["quantityAllocated"]) for b in order["backorders"]] == [("ALLOCATED", 3)]
    [second] = [fo for fo in order["fulfillmentOrders"] if fo["id"] != first["id"]]
    assert (second["location"]["code"], second["lines"]) == ("DC-DFW", [{"sku": WOOL, "quantity": 3}])
    return order, second["id"]


async def test_units_allocated_after_the_node_s_sales_order_was_delivered_go_to_a_second_one(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    sandbox = katana(sandboxes)
    order, second = await backordered_then_delivered(client, services, sandboxes, clock)
    on_hand = sandbox.on_hand(WOOL, "DC-DFW")  # the 2 shipped are out, the 40 received are in

    await relay(services, clock)
    await ship(client, second)
    await relay(services, clock)

    key = f"{order['number']}-DC-DFW"
    [first_so] = sandbox.sales_orders_for(key)
    [second_so] = sandbox.sales_orders_for(f"{key}-2")
    assert (first_so["status"], rows(first_so, sandbox)) == ("DELIVERED", [(WOOL, 2)])
    assert (second_so["status"], rows(second_so, sandbox)) == ("DELIVERED", [(WOOL, 3)])
    assert second_so["location_id"] == sandbox.locations["DC-DFW"]
    assert sandbox.on_hand(WOOL, "DC-DFW") == on_hand - 3
    assert sandbox.committed.get((sandbox.variant_for(WOOL).id, sandbox.locations["DC-DFW"]), 0) == 0
    assert [(t.kind, t.key, t.last_error) for t in await erp_tasks(services) if t.done_at is None] == []


async def test_the_second_sales_order_is_amended_when_its_units_are_cancelled(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    sandbox = katana(sandboxes)
    order, _ = await backordered_then_delivered(client, services, sandboxes, clock)
    await relay(services, clock)
    key = f"{order['number']}-DC-DFW"
    [second_so] = sandbox.sales_orders_for(f"{key}-2")
    assert rows(second_so, sandbox) == [(WOOL, 3)]
    line = order["lines"][0]["id"]

    body = await execute(
        client,
        CANCEL,
        {"input": {"orderId": order["id"], "reason": "CUSTOMER", "lines": [{"lineId": line, "quantity": 1}]}},
        token=AGENT,
    )
    await relay(services, clock)

    assert body["data"]["cancelOrder"]["userErrors"] == []
    assert rows(sandbox.sales_orders_for(f"{key}-2")[0], sandbox) == [(WOOL, 2)]
    assert rows(sandbox.sales_orders_for(key)[0], sandbox) == [(WOOL, 2)]  # delivered, untouched
    committed = sandbox.committed.get((sandbox.variant_for(WOOL).id, sandbox.locations["DC-DFW"]))
    assert committed == Decimal(2)
    assert [(t.kind, t.key, t.last_error) for t in await erp_tasks(services) if t.done_at is None] == []


class Losing(httpx.AsyncBaseTransport):
    """The Katana sandbox, whose answer to the first `label` request ("POST /sales_orders") is
    lost after the sandbox applied it, as a cut connection would."""

    def __init__(self, sandbox: KatanaSandbox, label: str) -> None:
        self._asgi = httpx.ASGITransport(app=sandbox.app)
        self._label: str | None = label

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = await self._asgi.handle_async_request(request)
        if f"{request.method} {request.url.path}" == self._label:
            self._label = None
            raise httpx.ReadError("connection reset after the request was processed", request=request)
        return answer


@asynccontextmanager
async def answers_lost(services: Services, sandbox: KatanaSandbox, label: str) -> AsyncIterator[None]:
    """Katana applies the first `label` request and its answer is lost (a cut connection)."""
    working = services.erp
    losing = KatanaErp.create(
        SANDBOX_KATANA_URL,
        "sandbox",
        transport=Losing(sandbox, label),
        policy=UpstreamPolicy(name="katana", base_url=SANDBOX_KATANA_URL, attempts=1),
    )
    services.erp = losing
    try:
        yield
    finally:
        services.erp = working
        await losing.aclose()


async def test_a_second_sales_order_whose_answer_was_lost_is_found_by_the_retry_not_made_twice(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    sandbox = katana(sandboxes)
    order, second = await backordered_then_delivered(client, services, sandboxes, clock)
    async with answers_lost(services, sandbox, "POST /sales_orders"):
        while await relay_once(services, outbox_handlers(services)):
            pass
        [lost] = [t for t in await erp_tasks(services) if t.done_at is None]
        assert (lost.kind, lost.attempts) == (ERP_SALES_ORDER_AMEND, 1)
        key = f"{order['number']}-DC-DFW"
        assert len(sandbox.sales_orders_for(f"{key}-2")) == 1  # Katana made it; we never heard

        await relay(services, clock)
        await ship(client, second)
        await relay(services, clock)

    [second_so] = sandbox.sales_orders_for(f"{key}-2", include_deleted=True)
    assert (second_so["status"], rows(second_so, sandbox)) == ("DELIVERED", [(WOOL, 3)])
    async with services.store.read() as uow:
        ref = await uow.erp.sales_order(f"{key}-2")
    assert ref is not None
    assert ref.erp_id == str(second_so["id"])
    assert [(t.kind, t.key, t.last_error) for t in await erp_tasks(services) if t.done_at is None] == []


async def test_a_second_sales_order_whose_answer_was_lost_is_deleted_when_its_units_are_cancelled(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    sandbox = katana(sandboxes)
    order, _ = await backordered_then_delivered(client, services, sandboxes, clock)
    key = f"{order['number']}-DC-DFW"
    async with answers_lost(services, sandbox, "POST /sales_orders"):
        while await relay_once(services, outbox_handlers(services)):
            pass
    [made] = sandbox.sales_orders_for(f"{key}-2")  # Katana made it; we never heard
    line = order["lines"][0]["id"]
    body = await execute(
        client,
        CANCEL,
        {"input": {"orderId": order["id"], "reason": "CUSTOMER", "lines": [{"lineId": line, "quantity": 3}]}},
        token=AGENT,
    )

    await relay(services, clock)

    assert body["data"]["cancelOrder"]["userErrors"] == []
    assert sandbox.sales_orders_for(f"{key}-2") == []  # not left showing 3 throws to deliver
    assert [so["id"] for so in sandbox.sales_orders_for(f"{key}-2", include_deleted=True)] == [made["id"]]
    amended = [t for t in await erp_tasks(services) if t.kind == ERP_SALES_ORDER_AMEND]
    assert any(t.result == f"deleted {made['id']}, made by an earlier try" for t in amended)
    assert [(t.kind, t.key, t.last_error) for t in await erp_tasks(services) if t.done_at is None] == []


async def test_a_parcel_reported_before_its_units_reached_katana_waits_for_them(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    sandbox = katana(sandboxes)
    order, second = await backordered_then_delivered(client, services, sandboxes, clock)
    await ship(client, second)  # shipped before the relay told Katana of the 3 units

    working = services.erp
    down = KatanaErp.create(
        "http://katana.down",
        "token",
        transport=httpx.MockTransport(lambda _: httpx.Response(503)),
        policy=UpstreamPolicy(name="katana-down", base_url="http://katana.down", attempts=1),
    )
    services.erp = down
    try:
        await relay_once(services, outbox_handlers(services))  # the amendment fails, backs off
    finally:
        services.erp = working
        await down.aclose()
    await relay_once(services, outbox_handlers(services))  # the fulfilment is due, the amendment not

    waiting = {t.kind: t for t in await erp_tasks(services) if t.done_at is None}
    assert set(waiting) == {ERP_SALES_ORDER_AMEND, ERP_FULFILMENT}
    assert "amendments to make first" in (waiting[ERP_FULFILMENT].last_error or "")

    await relay(services, clock)

    key = f"{order['number']}-DC-DFW"
    [second_so] = sandbox.sales_orders_for(f"{key}-2")
    assert (second_so["status"], rows(second_so, sandbox)) == ("DELIVERED", [(WOOL, 3)])
    assert [(t.kind, t.key, t.last_error) for t in await erp_tasks(services) if t.done_at is None] == []


NEWARK = a_token("associate", locations=("DC-EWR",))
EVERYTHING = OrderScope(everything=True)
TIMELINE = "query($id: ID!) { order(id: $id) { timeline { type message } } }"


async def two_works_at_dallas(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> tuple[dict[str, Any], str, str]:
    """A mug from Dallas and a kettle from Newark; Newark rejects its work and the kettle is
    routed to Dallas too, whose sales order then holds both: the order, the mug's work and the
    kettle's line."""
    await only_at(services, sandboxes, "MUG-BLUE", "DC-DFW", 5)
    await only_at(services, sandboxes, "KETTLE-STEEL", "DC-EWR", 1)
    body = await execute(
        client,
        operation("PlaceOrder"),
        {
            "input": an_order_input(
                lines=[a_line("MUG-BLUE", 1), a_line("KETTLE-STEEL", 1)], shippingAddress=ADDRESS
            )
        },
        token=AGENT,
    )
    placed = body["data"]["placeOrder"]["order"]
    works = {
        fo["location"]["code"]: fo["id"] for fo in (await read(client, placed["id"]))["fulfillmentOrders"]
    }
    assert sorted(works) == ["DC-DFW", "DC-EWR"]
    await relay(services, clock)
    await katana(sandboxes).set_on_hand("KETTLE-STEEL", "DC-DFW", 3)
    services.freshness.stock_read_at.pop("KETTLE-STEEL", None)
    rejected = await execute(
        client, operation("Reject"), {"id": works["DC-EWR"], "reason": "dented"}, token=NEWARK
    )
    assert "errors" not in rejected, rejected
    await relay(services, clock)
    order = await read(client, placed["id"])
    live = sorted(
        (fo["location"]["code"], fo["lines"][0]["sku"])
        for fo in order["fulfillmentOrders"]
        if fo["status"] == "OPEN"
    )
    assert live == [("DC-DFW", "KETTLE-STEEL"), ("DC-DFW", "MUG-BLUE")]
    kettle = next(line["id"] for line in order["lines"] if line["sku"] == "KETTLE-STEEL")
    return order, works["DC-DFW"], kettle


async def test_units_cancelled_after_their_sales_order_was_delivered_in_part_are_named_to_staff_once(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    sandbox = katana(sandboxes)
    order, mug_work, kettle = await two_works_at_dallas(client, services, sandboxes, clock)
    key = f"{order['number']}-DC-DFW"
    assert rows(sandbox.sales_orders_for(key)[0], sandbox) == [("KETTLE-STEEL", 1), ("MUG-BLUE", 1)]
    await ship(client, mug_work)
    await relay(services, clock)
    assert sandbox.sales_orders_for(key)[0]["status"] == "PARTIALLY_DELIVERED"

    body = await execute(
        client,
        CANCEL,
        {
            "input": {
                "orderId": order["id"],
                "reason": "CUSTOMER",
                "lines": [{"lineId": kettle, "quantity": 1}],
            }
        },
        token=AGENT,
    )
    await relay(services, clock)
    staff = (await execute(client, TIMELINE, {"id": order["id"]}, token=AGENT))["data"]["order"]["timeline"]
    customer = a_token("customer", email="ann@example.com")  # an_order_input's customer
    theirs = (await execute(client, TIMELINE, {"id": order["id"]}, token=customer))["data"]["order"][
        "timeline"
    ]
    dallas = (await location_ids(client))["DC-DFW"]
    async with services.store.write() as uow:  # another change at Dallas: amended again
        locked = await uow.orders.lock(order["id"], EVERYTHING)
        assert locked is not None
        await erp_sync.promise_amendments(uow, locked, [dallas], services.clock())
    await relay(services, clock)
    again = (await execute(client, TIMELINE, {"id": order["id"]}, token=AGENT))["data"]["order"]["timeline"]

    [so] = sandbox.sales_orders_for(key)
    assert body["data"]["cancelOrder"]["userErrors"] == []
    assert rows(so, sandbox) == [("KETTLE-STEEL", 1), ("MUG-BLUE", 1)]  # Katana changes no closed order
    [told] = [entry for entry in staff if entry["type"] == "ERP_UNITS_KEPT"]
    assert "will not ship" in told["message"]
    assert "ERP_UNITS_KEPT" not in [entry["type"] for entry in theirs]
    assert [entry["type"] for entry in again].count("ERP_UNITS_KEPT") == 1  # told once per figure
    amended = [
        t for t in await erp_tasks(services) if t.kind == ERP_SALES_ORDER_AMEND and t.key.startswith(key)
    ]
    assert any(f"closed {so['id']} keeps 1 KETTLE-STEEL unwanted" in (t.result or "") for t in amended)
    async with services.store.read() as uow:
        events = (await uow.events.by_order_ids([order["id"]]))[order["id"]]
    [kept] = [event for event in events if event.type == "ERP_UNITS_KEPT"]
    assert kept.data == {
        "location_id": dallas,
        "sales_orders": [str(so["id"])],
        "units": {"KETTLE-STEEL": 1},
    }
