"""A placement of a SKU placements were lately refused for, still short: refused before it claims
its key, touches the card or opens the order's transaction (`usecases/orders._sold_out`), with
the answer the order's own transaction gives, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ordergate.bootstrap import Sandboxes
from ordergate.usecases.services import SHORT_FOR, Lately, Services
from tests.builders import a_line, a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute
from tests.test_inventory import only_at
from tests.test_network_metrics import metrics, statements_and_commits

AGENT = a_token("agent")
SCARCE = "CHAIR-OAK"  # on hand per test: `scarce`; sold ON_HAND only


async def place(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    body = await execute(client, operation("PlaceOrder"), {"input": an_order_input(**overrides)}, token=AGENT)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["placeOrder"]
    return payload


async def scarce(services: Services, sandboxes: Sandboxes, units: int = 2) -> None:
    await only_at(services, sandboxes, SCARCE, "DC-DFW", units)


def claimed(statements: list[tuple[int, str]]) -> bool:
    """Whether the placement claimed its key (the order's path: `claim_first`)."""
    return any(s.lstrip().upper().startswith("INSERT INTO IDEMPOTENCY_KEYS") for _, s in statements)


async def sold_out(client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes) -> dict[str, Any]:
    """Every unit of SCARCE sold (the order that took them returned), and one placement refused
    for it by the order's transaction: the SKU is noted short."""
    await scarce(services, sandboxes)
    taken = await place(client, lines=[a_line(SCARCE, 2)])
    assert taken["userErrors"] == []
    with statements_and_commits(services) as statements:
        refused = await place(client, lines=[a_line(SCARCE, 1)])
    assert [e["code"] for e in refused["userErrors"]] == ["INSUFFICIENT_STOCK"]
    assert claimed(statements)  # not known short yet: the order's path
    assert services.short_lately.of([SCARCE]) == [SCARCE]
    order: dict[str, Any] = taken["order"]
    return order


@pytest.mark.no_relay  # statements are counted: the dispatchers' writes are not the placement's
async def test_a_sold_out_sku_is_refused_before_the_key_the_card_and_the_order(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    await sold_out(client, services, sandboxes)
    assert sandboxes.payments is not None
    calls = len(sandboxes.payments.calls)
    card = {"provider": "sandbox", "token": "tok_visa"}

    with statements_and_commits(services) as statements:
        refused = await place(client, lines=[a_line("MUG-BLUE", 1), a_line(SCARCE, 1)], payment=card)

    assert refused["order"] is None
    assert refused["userErrors"] == [
        {
            "code": "INSUFFICIENT_STOCK",
            "field": ["input", "lines", "1", "quantity"],
            "message": f"not enough {SCARCE} to sell 1",
        }
    ]
    assert not claimed(statements)
    assert not [
        s for _, s in statements if s.lstrip().upper().startswith(("INSERT INTO ORDERS", "UPDATE COUNTERS"))
    ]
    assert len(sandboxes.payments.calls) == calls  # the card was not touched
    today = services.clock().date()
    assert (await metrics(client, today, today))["totals"]["stockOutRefusals"] == 2  # counted as before


@pytest.mark.parametrize(
    "lines",
    [
        [(SCARCE, 1)],
        [("MUG-BLUE", 2), (SCARCE, 3)],
        [(SCARCE, 1), ("NO-SUCH-SKU", 1)],  # refused for the SKU first
        [(SCARCE, 1), ("RUG-JUTE-5X8", 900)],  # both lines short
    ],
)
async def test_the_answer_is_the_order_s_transaction_s_answer(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, lines: list[tuple[str, int]]
) -> None:
    await sold_out(client, services, sandboxes)
    order = [a_line(sku, quantity) for sku, quantity in lines]

    with statements_and_commits(services) as statements:
        hinted = await place(client, lines=order)
    services.short_lately.forget([SCARCE, "RUG-JUTE-5X8"])
    unhinted = await place(client, lines=order)

    assert hinted == unhinted
    assert hinted["order"] is None
    assert claimed(statements) == ("NO-SUCH-SKU" in dict(lines))


async def test_units_that_come_back_are_sold_at_once(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    taken = await sold_out(client, services, sandboxes)

    body = await execute(
        client,
        operation("CancelMyOrder"),
        {"input": {"orderId": taken["id"], "reason": "CUSTOMER"}},
        token=AGENT,
    )
    assert body["data"]["cancelOrder"]["userErrors"] == []
    placed = await place(client, lines=[a_line(SCARCE, 2)])

    assert placed["userErrors"] == []
    assert services.short_lately.of([SCARCE]) == []  # not short any more: not looked at first


async def test_a_restock_from_the_erp_sells_at_once(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    await sold_out(client, services, sandboxes)
    await scarce(services, sandboxes, units=3)  # 2 of them allocated to the first order

    placed = await place(client, lines=[a_line(SCARCE, 1)])

    assert placed["userErrors"] == []


async def test_a_repeat_of_the_order_that_took_the_last_units_gets_that_order(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    await scarce(services, sandboxes)
    first = an_order_input(idempotencyKey="last-two", lines=[a_line(SCARCE, 2)])
    taken = await place(client, **first)
    assert taken["userErrors"] == []
    assert [e["code"] for e in (await place(client, lines=[a_line(SCARCE, 1)]))["userErrors"]] == [
        "INSUFFICIENT_STOCK"
    ]

    repeat = await place(client, **first)
    reused = await place(client, **{**first, "lines": [a_line(SCARCE, 1)]})

    assert repeat["order"]["id"] == taken["order"]["id"]
    assert [e["code"] for e in reused["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]


async def test_a_sku_sold_against_incoming_supply_is_not_refused_for_want_of_units_on_hand(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    """THROW-WOOL may be backordered (40 on order at DC-DFW): with none on hand, an order for
    more than is on order is refused and one within it is still taken."""
    await only_at(services, sandboxes, "THROW-WOOL", "DC-DFW", 0)
    refused = await place(client, lines=[a_line("THROW-WOOL", 900)])
    assert [e["code"] for e in refused["userErrors"]] == ["INSUFFICIENT_STOCK"]
    assert services.short_lately.of(["THROW-WOOL"]) == ["THROW-WOOL"]

    waiting = await place(client, lines=[a_line("THROW-WOOL", 1)])

    assert waiting["userErrors"] == []


def test_a_sku_is_looked_at_first_for_a_while_after_its_last_refusal() -> None:
    now = [0.0]
    lately = Lately(SHORT_FOR, max_keys=2, timer=lambda: now[0])
    lately.note(["A", "B"])

    assert lately.of(["C", "B", "A", "B"]) == ["B", "A"]
    now[0] = SHORT_FOR - 1
    lately.note(["A"])  # renewed
    now[0] = SHORT_FOR + 1
    assert lately.of(["A", "B"]) == ["A"]
    lately.note(["C"])  # at most two: B, noted first, goes
    assert lately.of(["A", "B", "C"]) == ["A", "C"]
    lately.forget(["A"])
    assert lately.of(["A", "C"]) == ["C"]


def test_a_key_keeps_the_mark_it_was_last_noted_with_and_loses_it_when_it_goes() -> None:
    lately = Lately(SHORT_FOR, max_keys=2)
    lately.note(["A", "B"], {"A": 3, "B": 0})

    assert (lately.mark("A"), lately.mark("B"), lately.mark("C")) == (3, 0, None)
    lately.note(["A"])  # noted again without one: none
    lately.note(["C"], {"C": 5})  # at most two: B, noted first, goes with its mark
    lately.forget(["C"])
    assert (lately.mark("A"), lately.mark("B"), lately.mark("C")) == (None, None, None)
