"""The inventory loop with the ERP, closed: units that leave a node (shipped, written off) or come
back to it (a return restocked) reach the ERP through the outbox, and a stock refresh from the
ERP never counts them twice or loses them, whether it comes before the ERP heard of them, while
the message is in flight, or after."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ordergate.bootstrap import Sandboxes
from ordergate.models.location import Location
from ordergate.models.movements import REREAD_EVERY, REREAD_MARGIN, reread_at
from ordergate.models.outbox import ERP_FULFILMENT, ERP_STOCK_ADJUSTMENT, ERP_STOCK_REREAD, OutboxTask
from ordergate.sandbox.katana import KatanaSandbox
from ordergate.usecases import inventory, stock_notices
from ordergate.usecases.inventory import refresh_stock
from ordergate.usecases.services import Services
from ordergate.workers.handlers import outbox_handlers
from ordergate.workers.relay import relay_once
from tests.builders import a_line, a_token, an_order_input
from tests.clock import MovingClock, moving
from tests.contract import operation
from tests.flows import send_back
from tests.graphql_client import execute

pytestmark = pytest.mark.no_relay

AGENT = a_token("agent")
DALLAS = a_token("associate", locations=("DC-DFW",))
MUG = "MUG-BLUE"
KNIFE = "KNIFE-CHEF-8"
TOWEL = "TOWEL-LINEN-2"
REJECT = """mutation($id: ID!, $damaged: Boolean!) {
  rejectFulfillmentOrder(id: $id, reason: "units broken on the shelf", damaged: $damaged) {
    fulfillmentOrder { status } userErrors { code }
  }
}"""


@pytest.fixture
def clock(services: Services) -> Iterator[MovingClock]:
    with moving(services) as clock:
        yield clock


def katana(sandboxes: Sandboxes) -> KatanaSandbox:
    assert sandboxes.katana is not None
    return sandboxes.katana


@pytest.fixture(autouse=True)
def notices_when_told(services: Services, sandboxes: Sandboxes) -> None:
    """Katana announces every change to its stock, our own parcels and write-offs too, some
    time after its answer. Here those webhooks wait until a test delivers them (`deliver_held`):
    each test says when they come."""
    katana(sandboxes).hold_deliveries = True


async def relay(services: Services) -> None:
    while await relay_once(services, outbox_handlers(services)):
        pass


async def refresh(services: Services, clock: MovingClock, *skus: str) -> None:
    """A stock refresh from the ERP, well after anything before it (past the TTL and the skew)."""
    clock.advance(30)
    services.freshness.stock_read_at.clear()
    assert await refresh_stock(services, list(skus)) == set()


async def position(services: Services, sku: str, code: str) -> tuple[int, int]:
    """(on hand, allocated) of a SKU at a node, as ordergate holds it."""
    async with services.store.read() as uow:
        location = next(loc for loc in await uow.catalog.locations() if loc.code == code)
        found = [p for p in await uow.inventory.positions([sku]) if p.location_id == location.id]
    return (found[0].on_hand, found[0].allocated) if found else (0, 0)


async def place(client: httpx.AsyncClient, quantity: int = 2) -> dict[str, Any]:
    body = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(lines=[a_line(MUG, quantity)])},
        token=AGENT,
    )
    assert body["data"]["placeOrder"]["userErrors"] == [], body
    order: dict[str, Any] = body["data"]["placeOrder"]["order"]
    return order


async def ship(client: httpx.AsyncClient, order: dict[str, Any], associate: str = DALLAS) -> None:
    [fo] = order["fulfillmentOrders"]
    for name in ("Accept", "StartPicking", "Pack"):
        await execute(client, operation(name), {"id": fo["id"]}, token=associate)
    body = await execute(
        client, operation("Ship"), {"input": {"fulfillmentOrderId": fo["id"]}}, token=associate
    )
    assert body["data"]["shipFulfillmentOrder"]["userErrors"] == [], body


async def test_shipped_units_stay_gone_whenever_the_refresh_comes(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    erp = katana(sandboxes)
    on_shelf = int(erp.on_hand(MUG, "DC-DFW"))
    order = await place(client)
    await relay(services)  # the sales order reaches the ERP
    assert await position(services, MUG, "DC-DFW") == (on_shelf, 2)

    await ship(client, order)
    assert await position(services, MUG, "DC-DFW") == (on_shelf - 2, 0)

    await refresh(services, clock, MUG)  # before the ERP hears of the parcel
    assert await position(services, MUG, "DC-DFW") == (on_shelf - 2, 0)

    await relay(services)  # the sales order is fulfilled
    assert int(erp.on_hand(MUG, "DC-DFW")) == on_shelf - 2
    [sales_order] = erp.sales_orders_for(f"{order['number']}-DC-DFW")
    assert sales_order["status"] == "DELIVERED"
    async with services.store.read() as uow:
        [task] = await uow.outbox.by_kind(ERP_FULFILMENT)
    assert task.done_at is not None, task.last_error

    await refresh(services, clock, MUG)  # after: the ERP's figure includes it, counted once
    assert await position(services, MUG, "DC-DFW") == (on_shelf - 2, 0)
    async with services.store.read() as uow:
        assert await uow.inventory.uncounted_movements([(MUG, (await _id(services, "DC-DFW")))]) == {}


async def a_parcel_on_its_way(client: httpx.AsyncClient, services: Services, clock: MovingClock) -> None:
    """Two mugs shipped from Dallas, the parcel's message sent to the ERP and its answer not back."""
    order = await place(client)
    await relay(services)
    await ship(client, order)
    async with services.store.write() as uow:
        await uow.inventory.mark_movements(f"fulfil:{order['fulfillmentOrders'][0]['id']}", sent_at=clock())


async def test_a_refresh_while_the_message_is_in_flight_keeps_the_local_figure(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    erp = katana(sandboxes)
    on_shelf = int(erp.on_hand(MUG, "DC-DFW"))
    await a_parcel_on_its_way(client, services, clock)
    clock.advance(30)
    services.freshness.stock_read_at.clear()
    await refresh_stock(services, [MUG])  # the ERP has not applied it yet
    assert await position(services, MUG, "DC-DFW") == (on_shelf - 2, 0)

    await erp.adjust(MUG, "DC-DFW", -2)  # now it has; the answer is still not back
    clock.advance(30)
    services.freshness.stock_read_at.clear()
    await refresh_stock(services, [MUG])
    assert await position(services, MUG, "DC-DFW") == (on_shelf - 2, 0)


async def test_a_restocked_return_stays_on_the_shelf_and_reaches_the_erp(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    erp = katana(sandboxes)
    order = await place(client)
    await relay(services)
    await ship(client, order)
    await relay(services)
    on_shelf = int(erp.on_hand(MUG, "DC-DFW"))
    dallas = await _id(services, "DC-DFW")

    received = await send_back(client, order["id"], order["lines"][0]["id"], dallas, quantity=1)
    assert received["userErrors"] == []
    assert await position(services, MUG, "DC-DFW") == (on_shelf + 1, 0)
    await refresh(services, clock, MUG)
    assert await position(services, MUG, "DC-DFW") == (on_shelf + 1, 0)

    await relay(services)
    assert int(erp.on_hand(MUG, "DC-DFW")) == on_shelf + 1
    [adjustment] = erp.adjustments
    assert adjustment["stock_adjustment_rows"][0]["quantity"] == 1
    await refresh(services, clock, MUG)
    assert await position(services, MUG, "DC-DFW") == (on_shelf + 1, 0)


async def test_a_damaged_return_does_not_come_back_on_sale(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    erp = katana(sandboxes)
    order = await place(client)
    await relay(services)
    await ship(client, order)
    await relay(services)
    on_shelf = int(erp.on_hand(MUG, "DC-DFW"))

    received = await send_back(
        client, order["id"], order["lines"][0]["id"], await _id(services, "DC-DFW"), disposition="DAMAGED"
    )
    assert received["userErrors"] == []
    await relay(services)
    await refresh(services, clock, MUG)

    assert await position(services, MUG, "DC-DFW") == (on_shelf, 0)
    assert int(erp.on_hand(MUG, "DC-DFW")) == on_shelf
    assert erp.adjustments == []  # it left the ERP's stock with the parcel and stays out


async def test_a_node_that_rejects_for_damage_loses_those_units_and_the_next_order_goes_elsewhere(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    erp = katana(sandboxes)
    await erp.set_on_hand(MUG, "DC-DFW", 2)
    await refresh(services, clock, MUG)
    order = await place(client)
    assert order["fulfillmentOrders"][0]["location"]["code"] == "DC-DFW"

    rejected = await execute(
        client, REJECT, {"id": order["fulfillmentOrders"][0]["id"], "damaged": True}, token=DALLAS
    )
    assert rejected["data"]["rejectFulfillmentOrder"]["userErrors"] == []
    assert await position(services, MUG, "DC-DFW") == (0, 0)
    await relay(services)
    assert int(erp.on_hand(MUG, "DC-DFW")) == 0
    [adjustment] = erp.adjustments
    assert (adjustment["location_id"], adjustment["stock_adjustment_rows"][0]["quantity"]) == (
        erp.locations["DC-DFW"],
        -2,
    )
    async with services.store.read() as uow:
        [task] = await uow.outbox.by_kind(ERP_STOCK_ADJUSTMENT)
    assert task.done_at is not None, task.last_error

    await refresh(services, clock, MUG)
    assert await position(services, MUG, "DC-DFW") == (0, 0)
    again = await place(client)
    assert again["fulfillmentOrders"][0]["location"]["code"] != "DC-DFW"


async def test_a_rejection_without_damage_leaves_the_stock_alone(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    erp = katana(sandboxes)
    on_shelf = int(erp.on_hand(MUG, "DC-DFW"))
    order = await place(client)

    rejected = await execute(
        client, REJECT, {"id": order["fulfillmentOrders"][0]["id"], "damaged": False}, token=DALLAS
    )

    assert rejected["data"]["rejectFulfillmentOrder"]["userErrors"] == []
    assert await position(services, MUG, "DC-DFW") == (on_shelf, 0)
    await relay(services)
    assert erp.adjustments == []


async def test_a_handover_at_the_counter_fulfils_the_stores_sales_order(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    erp = katana(sandboxes)
    chicago = a_token("associate", locations=("ST-CHI",))
    on_shelf = int(erp.on_hand(MUG, "ST-CHI"))
    body = await execute(
        client,
        operation("PlaceOrder"),
        {
            "input": an_order_input(
                deliveryMethod="PICKUP",
                shippingAddress=None,
                pickupLocationId=await _id(services, "ST-CHI"),
                lines=[a_line(MUG, 2)],
            )
        },
        token=AGENT,
    )
    order = body["data"]["placeOrder"]["order"]
    await relay(services)
    fo_id = order["fulfillmentOrders"][0]["id"]
    for name in ("Accept", "StartPicking", "Pack", "ReadyForPickup", "HandOver"):
        await execute(client, operation(name), {"id": fo_id}, token=chicago)

    await relay(services)
    await refresh(services, clock, MUG)

    assert int(erp.on_hand(MUG, "ST-CHI")) == on_shelf - 2
    assert await position(services, MUG, "ST-CHI") == (on_shelf - 2, 0)
    [fulfilment] = erp.fulfillments
    assert fulfilment["tracking_number"] == f"HANDOVER-{fo_id}"
    assert erp.sales_orders_for(f"{order['number']}-ST-CHI")[0]["status"] == "DELIVERED"


async def locations(services: Services) -> list[Location]:
    async with services.store.read() as uow:
        return list(await uow.catalog.locations())


async def _id(services: Services, code: str) -> str:
    async with services.store.read() as uow:
        return next(loc.id for loc in await uow.catalog.locations() if loc.code == code)


async def a_parcel_reaches_the_erp(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> int:
    """Two mugs shipped from Dallas, their message reaching the ERP now; the mugs on the shelf
    before the order."""
    on_shelf = int(katana(sandboxes).on_hand(MUG, "DC-DFW"))
    order = await place(client)
    await relay(services)
    await ship(client, order)
    clock.advance(30)
    await relay(services)
    return on_shelf


async def receipt_as_a_parcel_arrives(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> int:
    """A parcel's message reaching the ERP, and in the same moment a receipt of 10 there, which the
    ERP announces."""
    on_shelf = await a_parcel_reaches_the_erp(client, services, sandboxes, clock)
    await katana(sandboxes).adjust(MUG, "DC-DFW", 10)
    return on_shelf


async def test_a_read_that_could_not_place_a_movement_is_made_again_once_the_skew_has_passed(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    on_shelf = await receipt_as_a_parcel_arrives(client, services, sandboxes, clock)
    services.freshness.stock_read_at.clear()
    await refresh_stock(services, [MUG])  # too close to the parcel's message to place it
    undecided = await position(services, MUG, "DC-DFW")

    clock.advance(services.policy.clock_skew.total_seconds() + 0.5)  # far less than the TTL
    await refresh_stock(services, [MUG])

    assert undecided == (on_shelf - 2, 0)  # kept its own figure: the receipt is not known yet
    assert services.policy.clock_skew < services.policy.stock_ttl
    assert await position(services, MUG, "DC-DFW") == (on_shelf - 2 + 10, 0)


async def reread_tasks(services: Services) -> list[OutboxTask]:
    async with services.store.read() as uow:
        return list(await uow.outbox.by_kind(ERP_STOCK_REREAD))


def until_due(clock: MovingClock, task: OutboxTask) -> None:
    clock.advance((task.available_at - clock()).total_seconds())


def inventory_reads(sandboxes: Sandboxes) -> int:
    return katana(sandboxes).answered["GET /inventory"]


async def test_a_notice_whose_read_could_not_place_a_movement_is_read_again_by_the_relay(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    """The receipt's notice comes in the moment the parcel's message reached the ERP: a read then
    could not be placed against the parcel, and without a request asking for the SKU the receipt
    would go unread. The notice queues a read for once the skew has passed, which the relay makes,
    and does not read the ERP in vain before."""
    on_shelf = await a_parcel_reaches_the_erp(client, services, sandboxes, clock)
    reads_before = inventory_reads(sandboxes)
    await katana(sandboxes).adjust(MUG, "DC-DFW", 10)  # a receipt, announced at once
    reads_at_once = inventory_reads(sandboxes) - reads_before

    assert await position(services, MUG, "DC-DFW") == (on_shelf - 2, 0)
    [task] = await reread_tasks(services)
    assert (task.payload, task.done_at) == ({"skus": [MUG]}, None)
    skew = services.policy.clock_skew
    assert skew + REREAD_MARGIN <= task.available_at - clock() <= skew + REREAD_MARGIN + REREAD_EVERY
    clock.advance((task.available_at - clock()).total_seconds() - 0.1)
    await relay(services)  # not due yet: nothing read
    assert await position(services, MUG, "DC-DFW") == (on_shelf - 2, 0)

    until_due(clock, task)
    await relay(services)

    assert (reads_at_once, inventory_reads(sandboxes) - reads_before) == (0, 1)
    assert await position(services, MUG, "DC-DFW") == (on_shelf - 2 + 10, 0)
    [task] = await reread_tasks(services)
    assert task.done_at is not None, task.last_error


async def test_the_erp_announcing_our_own_parcel_back_leaves_its_units_counted_once(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    """Katana's webhook for the fulfilment the relay posted comes the moment it answered: a read
    then could not be placed against our message, so the notice is read once the skew has passed,
    by one request. The units leave the figure once, then and at every read after."""
    erp = katana(sandboxes)
    on_shelf = int(erp.on_hand(MUG, "DC-DFW"))
    order = await place(client)
    await relay(services)
    await ship(client, order)
    await relay(services)  # the parcel reaches the ERP, which owes a webhook for it

    reads_before = inventory_reads(sandboxes)
    delivered = await erp.deliver_held()
    at_once, queued = await position(services, MUG, "DC-DFW"), await reread_tasks(services)
    until_due(clock, queued[0])
    await relay(services)
    read_again = await position(services, MUG, "DC-DFW")
    reads = inventory_reads(sandboxes) - reads_before
    await refresh(services, clock, MUG)

    assert delivered == 1
    assert reads == 1
    assert int(erp.on_hand(MUG, "DC-DFW")) == on_shelf - 2
    assert at_once == read_again == await position(services, MUG, "DC-DFW") == (on_shelf - 2, 0)
    assert [(task.payload, task.done_at) for task in queued] == [({"skus": [MUG]}, None)]
    assert [task.done_at is not None for task in await reread_tasks(services)] == [True]
    async with services.store.read() as uow:
        assert await uow.inventory.uncounted_movements([(MUG, (await _id(services, "DC-DFW")))]) == {}


async def test_notices_of_a_parcel_of_two_skus_are_read_again_by_one_request(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    """A parcel of two SKUs reaches the ERP, which announces each SKU back: one read of both once
    the skew has passed, not two reads at once and two more then. A receipt of a third SKU that
    comes meanwhile, at a node where nothing of ours moves, is read at once."""
    erp = katana(sandboxes)
    body = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(lines=[a_line(MUG, 1), a_line(KNIFE, 1)])},
        token=AGENT,
    )
    assert body["data"]["placeOrder"]["userErrors"] == [], body
    order = body["data"]["placeOrder"]["order"]
    assert len(order["fulfillmentOrders"]) == 1, order  # one parcel, from one node
    code = order["fulfillmentOrders"][0]["location"]["code"]
    shelf = {sku: int(erp.on_hand(sku, code)) for sku in (MUG, KNIFE)}
    await relay(services)
    await ship(client, order, associate=a_token("associate", locations=(code,)))
    await relay(services)

    reads_before = inventory_reads(sandboxes)
    assert await erp.deliver_held() == 1  # one change, announced per variant
    at_once = inventory_reads(sandboxes) - reads_before
    [queued] = await reread_tasks(services)
    elsewhere = "DC-EWR" if code != "DC-EWR" else "DC-DFW"
    on_shelf_there = int(erp.on_hand(TOWEL, elsewhere))
    await erp.adjust(TOWEL, elsewhere, 7)  # announced at once
    receipt_read = await position(services, TOWEL, elsewhere)
    until_due(clock, queued)
    await relay(services)

    assert at_once == 0
    assert queued.payload == {"skus": sorted([KNIFE, MUG])}
    assert receipt_read == (on_shelf_there + 7, 0)
    assert inventory_reads(sandboxes) - reads_before == 2  # the receipt's, then the parcel's two SKUs
    for sku in (MUG, KNIFE):
        assert await position(services, sku, code) == (shelf[sku] - 1, 0)
    assert [task.done_at is not None for task in await reread_tasks(services)] == [True]


async def test_notices_coming_together_share_the_read_queued_for_their_time(
    services: Services, clock: MovingClock
) -> None:
    """Two notices written at once (two replicas, say) join one task; a notice whose time's task a
    relay has already taken (its clock ahead) gets one of its own, so no SKU is left unread."""
    now, skew = clock(), services.policy.clock_skew

    async def notice(sku: str) -> None:
        async with services.store.write() as uow:
            await inventory.read_later(uow, [sku], now, skew)

    await asyncio.gather(notice(MUG), notice(KNIFE))
    [task] = await reread_tasks(services)
    async with services.store.write() as uow:
        taken = await uow.outbox.by_id(task.id)
        assert taken is not None
        taken.leases += 1
        uow.save(taken)
    await notice(TOWEL)

    tasks = await reread_tasks(services)
    assert task.payload == {"skus": sorted([KNIFE, MUG])}
    assert sorted((t.available_at, sorted(t.payload["skus"])) for t in tasks) == [
        (task.available_at, [KNIFE, MUG]),
        (task.available_at, [TOWEL]),
    ]
    assert task.available_at == reread_at(now, skew)


async def test_a_notice_the_gateway_could_not_take_while_the_erp_was_throttled_is_taken_on_its_retry(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    """Katana over its rate limit: the gateway cannot read what the notice announced, so it does
    not acknowledge it (503), and Katana sends it again (`X-Katana-Retry-Num`). The retry, once the
    limit has passed, is read: the receipt is not lost to the TTL."""
    erp = katana(sandboxes)
    on_shelf = int(erp.on_hand(TOWEL, "DC-EWR"))
    services.freshness.stock_read_at.clear()
    before = await position(services, TOWEL, "DC-EWR")
    erp.throttle(seconds=3600, retry_after=0)
    await erp.adjust(TOWEL, "DC-EWR", 5)  # announced at once: answered 503, its retry held
    refused = await position(services, TOWEL, "DC-EWR")
    erp.throttle(seconds=0)

    assert await erp.deliver_held() == 1
    assert erp.retries == 1
    assert refused == before != (on_shelf + 5, 0)
    assert await position(services, TOWEL, "DC-EWR") == (on_shelf + 5, 0)


async def test_a_notice_read_at_once_queues_nothing(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    erp = katana(sandboxes)
    on_shelf = int(erp.on_hand(MUG, "DC-DFW"))

    await erp.adjust(MUG, "DC-DFW", 10)

    assert await position(services, MUG, "DC-DFW") == (on_shelf + 10, 0)
    assert await reread_tasks(services) == []


async def test_a_read_again_that_still_cannot_place_the_movement_is_tried_again_later(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    """The parcel's message is still on its way (sent, no answer): the read again cannot place it
    either, and says so to the relay, which tries again with its backoff; after `READS` reads it
    is left to the next read past the TTL."""
    erp = katana(sandboxes)
    await a_parcel_on_its_way(client, services, clock)
    await erp.adjust(MUG, "DC-DFW", 10)
    [task] = await reread_tasks(services)
    clock.advance(30)

    with pytest.raises(stock_notices.StillMoving, match=MUG):
        await stock_notices.reread(services, task)
    task.attempts = stock_notices.READS - 1
    assert "left to the next read" in await stock_notices.reread(services, task)


async def test_skus_a_read_again_placed_are_acted_on_though_another_in_its_task_is_still_moving(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, clock: MovingClock
) -> None:
    """Notices of a few seconds share one read again. The mugs' parcel is still on its way, so
    the task is tried again later; the knife, which a count found gone where an order holds it,
    is acted on now (the order routed to a node that has one), not after the relay's backoff."""
    erp = katana(sandboxes)
    await a_parcel_on_its_way(client, services, clock)
    body = await execute(
        client, operation("PlaceOrder"), {"input": an_order_input(lines=[a_line(KNIFE, 1)])}, token=AGENT
    )
    [knives] = body["data"]["placeOrder"]["order"]["fulfillmentOrders"]
    code = knives["location"]["code"]
    erp.inventory[(erp.variant_for(KNIFE).id, erp.locations[code])] = Decimal(0)  # counted: none
    async with services.store.write() as uow:
        await inventory.read_later(uow, [KNIFE, MUG], clock(), services.policy.clock_skew)
    [task] = await reread_tasks(services)
    until_due(clock, task)

    with pytest.raises(stock_notices.StillMoving, match=MUG):
        await stock_notices.reread(services, task)

    assert await position(services, KNIFE, code) == (0, 0)  # the order went to another node
    async with services.store.read() as uow:
        held = {p.location_id: p.allocated for p in await uow.inventory.positions([KNIFE]) if p.allocated}
    assert list(held.values()) == [1]
    assert code not in {loc.code for loc in await locations(services) if loc.id in held}
