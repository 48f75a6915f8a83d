"""Units leaving and coming back, told to Katana: a sales order fulfilled (one fulfilment per
parcel or handover) and stock adjusted, against the Katana sandbox over HTTP, which applies them
to its own stock; every exchange checked against Katana's OpenAPI document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from ordergate.connectors.erp.base import (
    SalesOrderFulfilment,
    SalesOrderHeld,
    SalesOrderLine,
    StockAdjustmentPush,
    StockLine,
)
from ordergate.connectors.erp.katana import KatanaErp
from ordergate.connectors.errors import UpstreamRejected
from ordergate.sandbox.katana import KatanaSandbox
from tests import spec
from tests.connectors.test_katana import (
    BASE,
    EWR,
    TODAY,
    TOKEN,
    WEBHOOK_TOKEN,
    FakeClock,
    Wire,
    a_push,
    connect,
)

SHIPPED_AT = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> KatanaSandbox:
    return KatanaSandbox(token=TOKEN, webhook_token=WEBHOOK_TOKEN, today=TODAY, clock=clock)


@pytest.fixture
def wire(sandbox: KatanaSandbox) -> Wire:
    return Wire(sandbox)


@pytest.fixture
async def erp(wire: Wire, clock: FakeClock) -> AsyncIterator[KatanaErp]:
    erp = connect(wire, clock)
    yield erp
    await erp.aclose()


def parcel(reference: str, *lines: tuple[str, int]) -> SalesOrderFulfilment:
    return SalesOrderFulfilment(
        reference=reference,
        lines=[StockLine(sku, units) for sku, units in lines],
        happened_at=SHIPPED_AT,
        carrier="ups",
        tracking_url=f"https://www.ups.com/track?tracknum={reference}",
    )


def adjustment(reference: str, *lines: tuple[str, int]) -> StockAdjustmentPush:
    return StockAdjustmentPush(
        reference=reference,
        erp_location_id=EWR,
        reason="return restocked",
        lines=[StockLine(sku, units) for sku, units in lines],
        happened_at=SHIPPED_AT,
    )


def stock(sandbox: KatanaSandbox, sku: str) -> tuple[Decimal, Decimal]:
    """(in stock, committed) at the sales orders' location."""
    key = (sandbox.variant_for(sku).id, int(EWR))
    return sandbox.inventory.get(key, Decimal(0)), sandbox.committed.get(key, Decimal(0))


async def test_two_parcels_fulfil_a_sales_order_and_take_their_units_out_of_stock(
    erp: KatanaErp, sandbox: KatanaSandbox
) -> None:
    sales_order_id = await erp.push_sales_order(a_push())  # 2 mugs, 4 plates
    mugs_before, _ = stock(sandbox, "MUG-BLUE")

    first = await erp.fulfil_sales_orders(
        [sales_order_id], parcel("1Z001", ("MUG-BLUE", 2), ("PLATE-DINNER", 1))
    )
    [order] = sandbox.sales_orders_for(a_push().order_id)
    assert order["status"] == "PARTIALLY_DELIVERED"
    second = await erp.fulfil_sales_orders([sales_order_id], parcel("1Z002", ("PLATE-DINNER", 3)))

    assert first != second
    assert order["status"] == "DELIVERED"
    assert stock(sandbox, "MUG-BLUE") == (mugs_before - 2, Decimal(0))
    assert [f["tracking_number"] for f in sandbox.fulfillments] == ["1Z001", "1Z002"]


async def test_the_same_parcel_again_is_the_first_fulfilment(erp: KatanaErp, sandbox: KatanaSandbox) -> None:
    sales_order_id = await erp.push_sales_order(a_push())
    before, _ = stock(sandbox, "MUG-BLUE")
    first = await erp.fulfil_sales_orders([sales_order_id], parcel("1Z001", ("MUG-BLUE", 2)))

    again = await erp.fulfil_sales_orders([sales_order_id], parcel("1Z001", ("MUG-BLUE", 2)))

    assert again == first
    assert len(sandbox.fulfillments) == 1
    assert stock(sandbox, "MUG-BLUE")[0] == before - 2


async def test_units_the_sales_order_does_not_hold_are_refused_and_nothing_moves(
    erp: KatanaErp, sandbox: KatanaSandbox
) -> None:
    sales_order_id = await erp.push_sales_order(a_push())
    before = stock(sandbox, "MUG-BLUE")

    with pytest.raises(UpstreamRejected) as refused:
        await erp.fulfil_sales_orders([sales_order_id], parcel("1Z001", ("MUG-BLUE", 3)))

    assert refused.value.status == 422
    assert stock(sandbox, "MUG-BLUE") == before
    assert sandbox.fulfillments == []


async def test_a_deleted_sales_order_cannot_be_fulfilled(erp: KatanaErp) -> None:
    sales_order_id = await erp.push_sales_order(a_push())
    await erp.amend_sales_order(sales_order_id, a_push(lines=[]))

    with pytest.raises(UpstreamRejected) as refused:
        await erp.fulfil_sales_orders([sales_order_id], parcel("1Z001", ("MUG-BLUE", 1)))

    assert refused.value.status == 404


async def test_a_sales_order_tells_what_it_holds_and_that_it_closed_once_units_of_it_left(
    erp: KatanaErp, wire: Wire
) -> None:
    sales_order_id = await erp.push_sales_order(a_push())  # 2 mugs, 4 plates
    before = await erp.sales_order(sales_order_id)

    await erp.fulfil_sales_orders([sales_order_id], parcel("1Z001", ("MUG-BLUE", 1)))
    after = await erp.sales_order(sales_order_id)

    assert before == SalesOrderHeld(sales_order_id, {"MUG-BLUE": 2, "PLATE-DINNER": 4}, closed=False)
    assert after == SalesOrderHeld(sales_order_id, {"MUG-BLUE": 2, "PLATE-DINNER": 4}, closed=True)
    assert await erp.sales_order("999999") is None
    katana = spec.katana(BASE)
    for response in wire.exchanges:
        katana.check_request(response.request)
        katana.check_response(response)


async def test_a_sales_order_tells_what_its_rows_have_off_as_its_coupon_share_stays_there_once_closed(
    erp: KatanaErp, wire: Wire
) -> None:
    """What a closed sales order booked of a storefront's coupon is its for good: the gateway
    reads it to share the rest over the open ones (`models.erp.open_discounts`)."""
    mugs = SalesOrderLine("MUG-BLUE", 2, Decimal("14.00"), discount=Decimal("3.33"))
    plates = SalesOrderLine("PLATE-DINNER", 4, Decimal("12.50"))
    sales_order_id = await erp.push_sales_order(a_push(lines=[mugs, plates]))

    await erp.fulfil_sales_orders([sales_order_id], parcel("1Z001", ("MUG-BLUE", 1)))
    held = await erp.sales_order(sales_order_id)

    assert held == SalesOrderHeld(
        sales_order_id,
        {"MUG-BLUE": 2, "PLATE-DINNER": 4},
        closed=True,
        discounts={"MUG-BLUE": Decimal("3.33")},
    )
    katana = spec.katana(BASE)
    for response in wire.exchanges:
        katana.check_request(response.request)
        katana.check_response(response)


async def test_a_closed_sales_order_is_not_amended_and_nothing_is_sent_to_change_it(
    erp: KatanaErp, sandbox: KatanaSandbox, wire: Wire
) -> None:
    sales_order_id = await erp.push_sales_order(a_push())
    await erp.fulfil_sales_orders([sales_order_id], parcel("1Z001", ("MUG-BLUE", 2), ("PLATE-DINNER", 4)))
    wire.clear()

    with pytest.raises(UpstreamRejected) as refused:
        await erp.amend_sales_order(
            sales_order_id, a_push(lines=[SalesOrderLine("MUG-BLUE", 5, Decimal(14))])
        )

    assert refused.value.status == 409
    assert wire.sent() == [f"GET /sales_orders/{sales_order_id}"]
    [order] = sandbox.sales_orders_for(a_push().order_id)
    assert order["status"] == "DELIVERED"


async def test_a_parcel_takes_the_first_sales_order_s_open_rows_then_the_next_s_once_however_retried(
    erp: KatanaErp, sandbox: KatanaSandbox, wire: Wire
) -> None:
    mug = SalesOrderLine("MUG-BLUE", 2, Decimal(14))
    first = await erp.push_sales_order(a_push("order-1-EWR", lines=[mug]))
    await erp.fulfil_sales_orders([first], parcel("1Z001", ("MUG-BLUE", 1)))  # closed, 1 mug open
    second = await erp.push_sales_order(a_push("order-1-EWR-2", lines=[replace(mug, quantity=3)]))
    before, _ = stock(sandbox, "MUG-BLUE")

    taken = await erp.fulfil_sales_orders([first, second], parcel("1Z002", ("MUG-BLUE", 4)))
    again = await erp.fulfil_sales_orders([first, second], parcel("1Z002", ("MUG-BLUE", 4)))

    assert again == taken
    assert stock(sandbox, "MUG-BLUE") == (before - 4, Decimal(0))
    spread = [
        (f["sales_order_id"], [row["quantity"] for row in f["sales_order_fulfillment_rows"]])
        for f in sandbox.fulfillments
        if f["tracking_number"] == "1Z002"
    ]
    assert spread == [(int(first), [1]), (int(second), [3])]
    assert [o["status"] for o in sandbox.sales_orders] == ["DELIVERED", "DELIVERED"]
    with pytest.raises(UpstreamRejected) as refused:
        await erp.fulfil_sales_orders([first, second], parcel("1Z003", ("MUG-BLUE", 1)))
    assert refused.value.status == 422
    katana = spec.katana(BASE)
    for response in wire.exchanges:
        katana.check_request(response.request)
        katana.check_response(response)


async def test_a_parcel_half_reported_before_a_lost_answer_is_completed_not_repeated(
    erp: KatanaErp, sandbox: KatanaSandbox
) -> None:
    mug = SalesOrderLine("MUG-BLUE", 2, Decimal(14))
    first = await erp.push_sales_order(a_push("order-1-EWR", lines=[mug]))
    second = await erp.push_sales_order(a_push("order-1-EWR-2", lines=[mug]))
    await erp.fulfil_sales_orders([first], parcel("1Z001", ("MUG-BLUE", 2)))  # as if cut off after one

    await erp.fulfil_sales_orders([first, second], parcel("1Z001", ("MUG-BLUE", 3)))

    assert [(f["sales_order_id"], f["tracking_number"]) for f in sandbox.fulfillments] == [
        (int(first), "1Z001"),
        (int(second), "1Z001"),
    ]
    assert [row["quantity"] for row in sandbox.fulfillments[1]["sales_order_fulfillment_rows"]] == [1]


async def test_an_adjustment_adds_and_takes_away_once_whatever_the_retries(
    erp: KatanaErp, sandbox: KatanaSandbox
) -> None:
    mugs, plates = stock(sandbox, "MUG-BLUE")[0], stock(sandbox, "PLATE-DINNER")[0]

    first = await erp.adjust_stock(adjustment("OG-1001-RETURN-1", ("MUG-BLUE", 2), ("PLATE-DINNER", -1)))
    again = await erp.adjust_stock(adjustment("OG-1001-RETURN-1", ("MUG-BLUE", 2), ("PLATE-DINNER", -1)))

    assert again == first
    assert (stock(sandbox, "MUG-BLUE")[0], stock(sandbox, "PLATE-DINNER")[0]) == (mugs + 2, plates - 1)
    [record] = sandbox.adjustments
    assert (record["stock_adjustment_number"], record["location_id"]) == ("OG-1001-RETURN-1", int(EWR))


async def test_every_movement_request_and_answer_match_the_katana_spec(
    erp: KatanaErp, sandbox: KatanaSandbox, wire: Wire
) -> None:
    katana = spec.katana(BASE)
    sales_order_id = await erp.push_sales_order(a_push())
    await erp.fulfil_sales_orders([sales_order_id], parcel("1Z001", ("MUG-BLUE", 2)))
    await erp.fulfil_sales_orders([sales_order_id], parcel("1Z001", ("MUG-BLUE", 2)))
    with pytest.raises(UpstreamRejected):
        await erp.fulfil_sales_orders([sales_order_id], parcel("1Z002", ("MUG-BLUE", 1)))
    await erp.adjust_stock(adjustment("OG-1001-DAMAGED-1", ("PLATE-DINNER", -2)))
    await erp.adjust_stock(adjustment("OG-1001-DAMAGED-1", ("PLATE-DINNER", -2)))

    for response in wire.exchanges:
        katana.check_request(response.request)
        katana.check_response(response)
    sent = {line.split(" /")[0] + " /" + line.split(" /")[1].split("/")[0] for line in wire.sent()}
    assert sent >= {
        "GET /sales_order_fulfillments",
        "POST /sales_order_fulfillments",
        "GET /stock_adjustments",
        "POST /stock_adjustments",
    }


async def test_a_purchase_order_received_in_part_moves_its_units_from_incoming_to_on_hand(
    erp: KatanaErp, sandbox: KatanaSandbox, wire: Wire
) -> None:
    """The warehouse's receipt (`POST /purchase_order_receive`, as Katana's spec words it) in the
    sandbox, and what the connector reads after it, every exchange checked against the spec."""
    katana = spec.katana(BASE)
    order = sandbox.purchase_order("PO-1001")
    row = next(r for r in order.rows if sandbox.variants[r.variant_id].sku == "MUG-BLUE")
    mugs = stock(sandbox, "MUG-BLUE")[0]
    async with httpx.AsyncClient(transport=wire, base_url=BASE) as http:
        received = await http.post(
            "/purchase_order_receive",
            json=[{"purchase_order_row_id": row.id, "quantity": 50, "received_date": "2026-12-04T10:00:00Z"}],
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        too_much = await http.post(
            "/purchase_order_receive",
            json={"purchase_order_row_id": row.id, "quantity": 71, "received_date": "2026-12-04T10:00:00Z"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )

    incoming = [s for s in await erp.incoming_supply(["MUG-BLUE"]) if s.reference == "PO-1001"]

    assert (received.status_code, too_much.status_code) == (204, 422)
    assert stock(sandbox, "MUG-BLUE")[0] == mugs + 50
    assert order.status == "PARTIALLY_RECEIVED"
    assert [s.quantity for s in incoming] == [70]
    for response in wire.exchanges:
        katana.check_request(response.request)
        katana.check_response(response)
