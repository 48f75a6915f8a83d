"""Amending a Katana sales order (rows reduced, removed, added; the order deleted) against the
Katana sandbox over HTTP, and every exchange checked against Katana's OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ordergate.connectors.erp.base import SalesOrderLine
from ordergate.connectors.erp.katana import KatanaErp
from ordergate.sandbox.katana import KatanaSandbox
from tests import spec
from tests.connectors.test_katana import BASE, TODAY, TOKEN, WEBHOOK_TOKEN, FakeClock, Wire, a_push, connect

MUG = SalesOrderLine("MUG-BLUE", 2, Decimal("14.00"))
PLATE = SalesOrderLine("PLATE-DINNER", 4, Decimal("12.50"))


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


def rows(sandbox: KatanaSandbox, sales_order_id: str) -> list[tuple[str, Any]]:
    [order] = [o for o in sandbox.sales_orders if str(o["id"]) == sales_order_id]
    sku_of = {variant.id: variant.sku for variant in sandbox.variants.values()}
    return sorted((sku_of[row["variant_id"]], row["quantity"]) for row in order["sales_order_rows"])


def shapes(wire: Wire) -> list[str]:
    return [re.sub(r"/\d+$", "/{id}", sent) for sent in wire.sent()]


def committed(sandbox: KatanaSandbox, sku: str, location_id: str) -> Decimal:
    return sandbox.committed.get((sandbox.variant_for(sku).id, int(location_id)), Decimal(0))


async def test_a_row_is_reduced_and_a_row_no_longer_wanted_is_removed(
    erp: KatanaErp, sandbox: KatanaSandbox, wire: Wire
) -> None:
    sales_order_id = await erp.push_sales_order(a_push(lines=[MUG, PLATE]))
    wire.clear()

    kept = await erp.amend_sales_order(
        sales_order_id, a_push(lines=[SalesOrderLine("MUG-BLUE", 1, MUG.unit_price)])
    )

    assert kept == sales_order_id
    assert rows(sandbox, sales_order_id) == [("MUG-BLUE", 1)]
    location = a_push().erp_location_id
    assert (committed(sandbox, "MUG-BLUE", location), committed(sandbox, "PLATE-DINNER", location)) == (
        Decimal(1),
        Decimal(0),
    )
    assert shapes(wire) == [
        "GET /sales_orders/{id}",
        "PATCH /sales_order_rows/{id}",
        "DELETE /sales_order_rows/{id}",
    ]


async def test_amending_to_what_katana_already_holds_only_reads(
    erp: KatanaErp, sandbox: KatanaSandbox, wire: Wire
) -> None:
    sales_order_id = await erp.push_sales_order(a_push(lines=[MUG, PLATE]))
    await erp.amend_sales_order(sales_order_id, a_push(lines=[MUG]))
    before = rows(sandbox, sales_order_id)
    wire.clear()

    again = await erp.amend_sales_order(sales_order_id, a_push(lines=[MUG]))

    assert again == sales_order_id
    assert rows(sandbox, sales_order_id) == before == [("MUG-BLUE", 2)]
    assert wire.sent() == [f"GET /sales_orders/{sales_order_id}"]


async def test_nothing_left_deletes_the_sales_order_and_deleting_again_is_harmless(
    erp: KatanaErp, sandbox: KatanaSandbox, wire: Wire
) -> None:
    push = a_push(lines=[MUG, PLATE])
    sales_order_id = await erp.push_sales_order(push)

    first = await erp.amend_sales_order(sales_order_id, a_push(lines=[]))
    second = await erp.amend_sales_order(sales_order_id, a_push(lines=[]))

    assert (first, second) == (None, None)
    assert sandbox.sales_orders_for(push.order_id) == []
    [deleted] = sandbox.sales_orders_for(push.order_id, include_deleted=True)
    assert deleted["deleted_at"] is not None
    assert committed(sandbox, "MUG-BLUE", push.erp_location_id) == 0
    assert wire.sent().count(f"DELETE /sales_orders/{sales_order_id}") == 1


async def test_units_coming_back_add_a_row_or_a_new_sales_order_when_katana_deleted_it(
    erp: KatanaErp, sandbox: KatanaSandbox
) -> None:
    push = a_push(lines=[MUG])
    sales_order_id = await erp.push_sales_order(push)

    grown = await erp.amend_sales_order(sales_order_id, a_push(lines=[MUG, PLATE]))
    await erp.amend_sales_order(sales_order_id, a_push(lines=[]))
    reborn = await erp.amend_sales_order(sales_order_id, a_push(lines=[PLATE]))

    assert grown == sales_order_id
    assert reborn is not None
    assert reborn != sales_order_id
    assert rows(sandbox, reborn) == [("PLATE-DINNER", 4)]
    assert [str(o["id"]) for o in sandbox.sales_orders_for(push.order_id)] == [reborn]
    assert await erp.push_sales_order(push) == reborn  # the push's cache forgot the deleted one


async def test_every_amendment_request_and_answer_match_the_katana_spec(
    erp: KatanaErp, sandbox: KatanaSandbox, wire: Wire
) -> None:
    katana = spec.katana(BASE)
    sales_order_id = await erp.push_sales_order(a_push(lines=[MUG, PLATE]))
    await erp.amend_sales_order(sales_order_id, a_push(lines=[SalesOrderLine("MUG-BLUE", 3, MUG.unit_price)]))
    await erp.amend_sales_order(
        sales_order_id, a_push(lines=[MUG, SalesOrderLine("KNIFE-CHEF-8", 1, Decimal("49.99"))])
    )
    await erp.amend_sales_order(sales_order_id, a_push(lines=[]))
    await erp.amend_sales_order(sales_order_id, a_push(lines=[]))  # a 404 read

    for response in wire.exchanges:
        katana.check_request(response.request)
        katana.check_response(response)
    assert set(shapes(wire)) >= {
        "GET /sales_orders/{id}",
        "PATCH /sales_order_rows/{id}",
        "POST /sales_order_rows",
        "DELETE /sales_order_rows/{id}",
        "DELETE /sales_orders/{id}",
    }
    assert 404 in {response.status_code for response in wire.exchanges}


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/sales_orders/999999", None, 404),
        ("DELETE", "/sales_orders/999999", None, 404),
        ("PATCH", "/sales_order_rows/999999", {"quantity": 1}, 404),
        ("DELETE", "/sales_order_rows/999999", None, 404),
        ("PATCH", "/sales_order_rows/{row}", {"quantity": -1}, 422),
        ("PATCH", "/sales_order_rows/{row}", {"quantity": "two"}, 422),
        ("PATCH", "/sales_order_rows/{row}", {"quantity": 1, "colour": "red"}, 422),
        ("POST", "/sales_order_rows", {"sales_order_id": 999999, "variant_id": 1, "quantity": 1}, 422),
        ("POST", "/sales_order_rows", {"sales_order_id": "{order}", "variant_id": 1, "quantity": 1}, 422),
        (
            "POST",
            "/sales_order_rows",
            {"sales_order_id": "{order}", "variant_id": "{variant}", "quantity": 0},
            422,
        ),
    ],
)
async def test_the_sandbox_refuses_bad_amendments_in_katana_s_error_format(
    erp: KatanaErp,
    sandbox: KatanaSandbox,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
) -> None:
    katana = spec.katana(BASE)
    sales_order_id = int(await erp.push_sales_order(a_push(lines=[MUG])))
    row_id = sandbox.sales_orders[0]["sales_order_rows"][0]["id"]
    fill = {"{order}": sales_order_id, "{variant}": sandbox.variant_for("MUG-BLUE").id}
    if body is not None:
        body = {
            name: fill.get(value, value) if isinstance(value, str) else value for name, value in body.items()
        }
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE) as raw:
        response = await raw.request(
            method,
            path.replace("{row}", str(row_id)),
            json=body,
            headers={"Authorization": f"Bearer {TOKEN}"},
        )

    assert response.status_code == status, response.text
    assert response.json()["statusCode"] == status
    katana.check_response(response)
    assert rows(sandbox, str(sales_order_id)) == [("MUG-BLUE", 2)]


async def test_a_discounted_row_carries_its_discount_and_an_amendment_keeps_it_right(
    erp: KatanaErp, sandbox: KatanaSandbox, wire: Wire
) -> None:
    """Two mugs with 1.90 of a storefront's coupon on them; one is cancelled, and the row keeps
    the other's 0.95; Katana's row totals are net of it, and every exchange is Katana's format."""
    mugs = SalesOrderLine("MUG-BLUE", 2, Decimal("14.00"), discount=Decimal("1.90"))
    sales_order_id = await erp.push_sales_order(a_push(lines=[mugs, PLATE]))
    [order] = [o for o in sandbox.sales_orders if str(o["id"]) == sales_order_id]
    pushed = {row["variant_id"]: (row["total_discount"], row["total"]) for row in order["sales_order_rows"]}
    wire.clear()

    await erp.amend_sales_order(
        sales_order_id,
        a_push(lines=[SalesOrderLine("MUG-BLUE", 1, Decimal("14.00"), discount=Decimal("0.95")), PLATE]),
    )
    again = await erp.amend_sales_order(
        sales_order_id,
        a_push(lines=[SalesOrderLine("MUG-BLUE", 1, Decimal("14.00"), discount=Decimal("0.95")), PLATE]),
    )

    mug, plate = sandbox.variant_for("MUG-BLUE").id, sandbox.variant_for("PLATE-DINNER").id
    assert pushed == {mug: ("1.9000000000", 26.1), plate: (None, 50.0)}
    after = {row["variant_id"]: (row["total_discount"], row["total"]) for row in order["sales_order_rows"]}
    assert after == {mug: ("0.9500000000", 13.05), plate: (None, 50.0)}
    assert again == sales_order_id
    assert shapes(wire) == [
        "GET /sales_orders/{id}",
        "PATCH /sales_order_rows/{id}",
        "GET /sales_orders/{id}",
    ]
    katana = spec.katana(BASE)
    for response in wire.exchanges:
        katana.check_request(response.request)
        katana.check_response(response)
