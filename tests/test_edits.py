"""editOrder: a preview that changes nothing, a commit that re-routes what changed, prices the
order again and settles the card, guarded by the version the caller read."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ordergate.bootstrap import Sandboxes
from ordergate.models.allocation import Plan, PlanLine
from ordergate.usecases.rerouting import moves
from ordergate.usecases.services import Services
from ordergate.workers.handlers import outbox_handlers
from ordergate.workers.relay import relay_once
from tests.builders import a_line, a_token, an_address
from tests.graphql_client import execute
from tests.server import HOLD
from tests.test_fraud_and_tax import available
from tests.test_inventory import sold_unheard
from tests.test_limits import counting_statements
from tests.test_payments_flow import place, sandbox, ship

pytestmark = pytest.mark.no_relay

AGENT = a_token("agent")
ANN = a_token("customer", email="ann@example.com")
EDIT = """mutation($input: EditOrderInput!) { editOrder(input: $input) {
  dryRun rerouted
  changes { lineId sku quantityBefore quantityAfter }
  totalBefore { amount } totalAfter { amount } authorizeMore { amount } refund { amount }
  order { id version total { amount } tax { amount } lines { id sku quantity tax { amount } } }
  userErrors { code field message }
} }"""
READ = """query($id: ID!) { order(id: $id) {
  version status total { amount } subtotal { amount } tax { amount } shippingTax { amount }
  lines { id sku quantity tax { amount } }
  fulfillmentOrders { id status lines { sku quantity } }
  payments { kind status amount { amount } }
  shippingAddress { region }
  shippingTotal { amount }
} }"""


async def read(client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    body = await execute(client, READ, {"id": order_id}, token=AGENT)
    assert "errors" not in body, body
    order: dict[str, Any] = body["data"]["order"]
    return order


async def edit(client: httpx.AsyncClient, token: str = AGENT, **input: Any) -> dict[str, Any]:
    body = await execute(client, EDIT, {"input": input}, token=token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["editOrder"]
    return payload


def line_id(order: dict[str, Any], sku: str) -> str:
    return str(next(line["id"] for line in order["lines"] if line["sku"] == sku))


def open_units(order: dict[str, Any]) -> dict[str, int]:
    units: dict[str, int] = {}
    for fo in order["fulfillmentOrders"]:
        if fo["status"] not in ("CANCELLED", "REJECTED"):
            for line in fo["lines"]:
                units[line["sku"]] = units.get(line["sku"], 0) + line["quantity"]
    return units


def codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]


@pytest.mark.warmed
@pytest.mark.parametrize("dry_run", [True, False])
async def test_an_edit_routes_from_the_erps_stock_now_not_an_old_snapshot(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, dry_run: bool
) -> None:
    """The plates sold out at the ERP since this gateway read them (its snapshot is past the
    TTL, and no webhook told it): an edit that adds two reads the ERP first, as placeOrder does,
    and is refused, instead of allocating plates that are not there."""
    order = (await place(client))["order"]
    before = await read(client, order["id"])
    sold_unheard(services, sandboxes, "PLATE-DINNER")

    payload = await edit(
        client,
        orderId=order["id"],
        expectedVersion=before["version"],
        dryRun=dry_run,
        addLines=[a_line("PLATE-DINNER", 2)],
        **({} if dry_run else {"idempotencyKey": "add-plates"}),
    )

    assert codes(payload) == ["NO_ROUTE"]
    assert open_units(await read(client, order["id"])) == open_units(before)
    assert await available(client, "PLATE-DINNER") == 0


@pytest.mark.warmed
async def test_an_edit_of_no_such_order_reads_nothing_from_the_erp(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    """What an edit adds is read before the edit is routed, but not for an order that does not
    exist: a request cannot spend the ERP's budget on made-up order ids."""
    sold_unheard(services, sandboxes, "PLATE-DINNER")

    payload = await edit(
        client, orderId="no-such-order", expectedVersion=1, dryRun=True, addLines=[a_line("PLATE-DINNER", 2)]
    )

    assert codes(payload) == ["NOT_FOUND"]
    assert "PLATE-DINNER" not in services.freshness.stock_read_at


async def test_a_dry_run_shows_the_diff_and_the_money_and_changes_nothing(client: httpx.AsyncClient) -> None:
    order_id = (await place(client))["order"]["id"]
    before = await read(client, order_id)
    mugs_before = await available(client, "MUG-BLUE")

    preview = await edit(
        client,
        orderId=order_id,
        expectedVersion=before["version"],
        dryRun=True,
        lines=[{"lineId": line_id(before, "MUG-BLUE"), "quantity": 3}],
        addLines=[a_line("PLATE-DINNER", 2)],
    )

    assert preview["userErrors"] == []
    assert preview["dryRun"] is True
    assert preview["changes"] == [
        {"lineId": line_id(before, "MUG-BLUE"), "sku": "MUG-BLUE", "quantityBefore": 2, "quantityAfter": 3},
        {"lineId": None, "sku": "PLATE-DINNER", "quantityBefore": 0, "quantityAfter": 2},
    ]
    old, new = Decimal(preview["totalBefore"]["amount"]), Decimal(preview["totalAfter"]["amount"])
    # each line taxed whole at Texas's 6.25%: mugs 42.00 -> 2.62 (was 1.75), plates 25.00 -> 1.56
    assert (old, new - old) == (
        Decimal(before["total"]["amount"]),
        Decimal("14.00") + Decimal("0.87") + Decimal("26.56"),
    )
    assert Decimal(preview["authorizeMore"]["amount"]) == new - old
    assert await read(client, order_id) == before
    assert await available(client, "MUG-BLUE") == mugs_before


async def test_a_commit_reallocates_reprices_and_authorises_the_difference(
    client: httpx.AsyncClient, sandboxes: Sandboxes
) -> None:
    order_id = (await place(client))["order"]["id"]
    before = await read(client, order_id)
    mugs, plates = await available(client, "MUG-BLUE"), await available(client, "PLATE-DINNER")

    done = await edit(
        client,
        orderId=order_id,
        expectedVersion=before["version"],
        lines=[{"lineId": line_id(before, "MUG-BLUE"), "quantity": 3}],
        addLines=[a_line("PLATE-DINNER", 2)],
    )

    assert done["userErrors"] == []
    assert done["dryRun"] is False
    after = await read(client, order_id)
    total = Decimal(after["total"]["amount"])
    assert after["version"] > before["version"]
    assert [(line["sku"], line["quantity"]) for line in after["lines"]] == [
        ("MUG-BLUE", 3),
        ("KNIFE-CHEF-8", 1),
        ("PLATE-DINNER", 2),
    ]
    assert open_units(after) == {"MUG-BLUE": 3, "KNIFE-CHEF-8": 1, "PLATE-DINNER": 2}
    # the node keeps its work (same fulfilment order, amended), not a cancelled one and a new one
    kept = {fo["id"] for fo in before["fulfillmentOrders"]}
    assert kept <= {fo["id"] for fo in after["fulfillmentOrders"] if fo["status"] == "OPEN"}
    assert (await available(client, "MUG-BLUE"), await available(client, "PLATE-DINNER")) == (
        mugs - 1,
        plates - 2,
    )
    line_taxes = sum(Decimal(line["tax"]["amount"]) for line in after["lines"])
    assert Decimal(after["tax"]["amount"]) == line_taxes + Decimal(after["shippingTax"]["amount"])
    authorised = [Decimal(p["amount"]["amount"]) for p in after["payments"] if p["kind"] == "AUTHORIZATION"]
    assert len(authorised) == 2
    assert sum(authorised) == total
    [intent] = sandbox(sandboxes).intents.values()
    assert intent.amount == int(total * 100)


async def test_taking_units_and_lines_off_gives_their_stock_back(client: httpx.AsyncClient) -> None:
    order_id = (await place(client))["order"]["id"]
    before = await read(client, order_id)
    knives = await available(client, "KNIFE-CHEF-8")

    done = await edit(
        client,
        orderId=order_id,
        expectedVersion=before["version"],
        lines=[{"lineId": line_id(before, "KNIFE-CHEF-8"), "quantity": 0}],
    )

    assert done["userErrors"] == []
    after = await read(client, order_id)
    assert [(line["sku"], line["quantity"]) for line in after["lines"]] == [("MUG-BLUE", 2)]
    assert open_units(after) == {"MUG-BLUE": 2}
    assert await available(client, "KNIFE-CHEF-8") == knives + 1
    # 28.00 at 6.25%; shipping stays what the order bought (free: it was over 75.00 when placed)
    assert (after["subtotal"]["amount"], after["tax"]["amount"], after["total"]["amount"]) == (
        "28.00",
        "1.75",
        "29.75",
    )
    assert after["shippingTotal"]["amount"] == before["shippingTotal"]["amount"] == "0.00"
    assert [p["kind"] for p in after["payments"]] == ["AUTHORIZATION"]  # less to charge: nothing to do now


async def test_a_new_address_reprices_the_order_for_where_it_goes(client: httpx.AsyncClient) -> None:
    order_id = (await place(client))["order"]["id"]
    before = await read(client, order_id)
    california = an_address(city="San Francisco", region="CA", postalCode="94103", line1="1 Market St")

    done = await edit(client, orderId=order_id, expectedVersion=before["version"], shippingAddress=california)

    assert done["userErrors"] == []
    after = await read(client, order_id)
    assert after["shippingAddress"] == {"region": "CA"}
    assert after["shippingTax"]["amount"] == "0.00"  # California does not tax delivery
    assert [line["tax"]["amount"] for line in after["lines"]] == ["2.03", "6.45"]  # 7.25%


async def test_an_edit_from_a_stale_read_is_refused_and_changes_nothing(client: httpx.AsyncClient) -> None:
    order_id = (await place(client))["order"]["id"]
    before = await read(client, order_id)
    mug = {"lineId": line_id(before, "MUG-BLUE"), "quantity": 1}
    first = await edit(client, orderId=order_id, expectedVersion=before["version"], lines=[mug])
    between = await read(client, order_id)

    second = await edit(
        client,
        orderId=order_id,
        expectedVersion=before["version"],
        lines=[{"lineId": line_id(before, "MUG-BLUE"), "quantity": 5}],
    )

    assert first["userErrors"] == []
    assert codes(second) == ["VERSION_CONFLICT"]
    assert second["userErrors"][0]["field"] == ["input", "expectedVersion"]
    assert await read(client, order_id) == between


async def test_units_that_left_cannot_be_edited_away(client: httpx.AsyncClient) -> None:
    placed = (await place(client))["order"]
    await ship(client, placed)
    shipped = await read(client, placed["id"])

    payload = await edit(
        client,
        orderId=placed["id"],
        expectedVersion=shipped["version"],
        lines=[{"lineId": line_id(shipped, "MUG-BLUE"), "quantity": 1}],
    )

    assert codes(payload) == ["INVALID_TRANSITION"] or codes(payload) == ["NOT_EDITABLE"]
    assert await read(client, placed["id"]) == shipped


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"lines": [{"lineId": "nope", "quantity": 1}]}, "NOT_FOUND"),
        ({"addLines": [a_line("NO-SUCH-SKU", 1)]}, "UNKNOWN_SKU"),
        ({"lines": [{"lineId": "MUG", "quantity": -1}]}, "INVALID_QUANTITY"),
        ({}, "NOTHING_TO_EDIT"),
    ],
)
async def test_bad_edits_are_refused_with_their_code(
    client: httpx.AsyncClient, change: dict[str, Any], code: str
) -> None:
    order_id = (await place(client))["order"]["id"]
    before = await read(client, order_id)
    for line in change.get("lines", []):
        if line["lineId"] == "MUG":
            line["lineId"] = line_id(before, "MUG-BLUE")

    payload = await edit(client, orderId=order_id, expectedVersion=before["version"], **change)

    assert codes(payload) == [code]
    assert await read(client, order_id) == before


async def test_taking_every_line_off_is_a_cancellation_not_an_edit(client: httpx.AsyncClient) -> None:
    order_id = (await place(client))["order"]["id"]
    before = await read(client, order_id)

    payload = await edit(
        client,
        orderId=order_id,
        expectedVersion=before["version"],
        lines=[{"lineId": line["id"], "quantity": 0} for line in before["lines"]],
    )

    assert codes(payload) == ["NOTHING_LEFT"]


async def test_a_declined_card_for_the_larger_total_changes_nothing(client: httpx.AsyncClient) -> None:
    order_id = (await place(client))["order"]["id"]
    before = await read(client, order_id)

    payload = await edit(
        client, orderId=order_id, expectedVersion=before["version"], addLines=[a_line("CHAIR-OAK", 35)]
    )  # over the sandbox issuer's 10,000.00

    assert codes(payload) == ["PAYMENT_DECLINED"]
    assert await read(client, order_id) == before


async def test_customers_edit_their_own_orders_within_the_window(
    client: httpx.AsyncClient, services: Services
) -> None:
    mine = (await place(client))["order"]["id"]
    theirs = (await place(client, customer={"email": "bob@example.com"}))["order"]["id"]
    order = await read(client, mine)
    other = await read(client, theirs)

    own = await edit(
        client, ANN, orderId=mine, expectedVersion=order["version"], addLines=[a_line("MUG-BLUE", 1)]
    )
    foreign = await edit(
        client, ANN, orderId=theirs, expectedVersion=other["version"], addLines=[a_line("MUG-BLUE", 1)]
    )
    services.policy = dataclasses.replace(services.policy, edit_window=timedelta(0))
    late = await edit(
        client,
        ANN,
        orderId=mine,
        expectedVersion=(await read(client, mine))["version"],
        addLines=[a_line("MUG-BLUE", 1)],
    )

    assert own["userErrors"] == []
    assert codes(foreign) == ["NOT_FOUND"]
    assert codes(late) == ["EDIT_WINDOW_CLOSED"]
    assert [line["quantity"] for line in (await read(client, mine))["lines"]] == [3, 1]


async def test_edits_are_idempotent_by_key(client: httpx.AsyncClient) -> None:
    order_id = (await place(client))["order"]["id"]
    before = await read(client, order_id)
    request = {
        "orderId": order_id,
        "expectedVersion": before["version"],
        "addLines": [a_line("MUG-BLUE", 1)],
        "idempotencyKey": "edit-once",
    }

    first = await edit(client, **request)
    again = await edit(client, **request)  # the order's version has moved on: the key answers

    assert first["userErrors"] == []
    assert again["userErrors"] == []
    assert again["order"] == first["order"]
    assert [line["quantity"] for line in (await read(client, order_id))["lines"]] == [3, 1]


async def test_a_key_reused_for_another_edit_neither_raises_nor_voids_the_authorisation(
    client: httpx.AsyncClient, sandboxes: Sandboxes
) -> None:
    order_id = (await place(client))["order"]["id"]
    before = await read(client, order_id)
    first = await edit(
        client,
        orderId=order_id,
        expectedVersion=before["version"],
        addLines=[a_line("MUG-BLUE", 1)],
        idempotencyKey="edit-once",
    )
    edited = await read(client, order_id)
    [intent] = sandbox(sandboxes).intents.values()
    authorised = intent.amount

    reused = await edit(
        client,
        orderId=order_id,
        expectedVersion=edited["version"],  # current: only the key stands in its way
        addLines=[a_line("MUG-BLUE", 2)],
        idempotencyKey="edit-once",
    )

    assert first["userErrors"] == []
    assert codes(reused) == ["IDEMPOTENCY_KEY_REUSED"]
    assert await read(client, order_id) == edited
    assert (intent.status, intent.amount) == ("requires_capture", authorised)
    assert [call.path.rsplit("/", 1)[-1] for call in sandbox(sandboxes).calls] == [
        "payment_intents",
        "increment_authorization",
    ]


async def test_the_relay_captures_the_edited_total_once_everything_ships(
    client: httpx.AsyncClient, services: Services
) -> None:
    placed = (await place(client))["order"]
    before = await read(client, placed["id"])
    await edit(
        client, orderId=placed["id"], expectedVersion=before["version"], addLines=[a_line("MUG-BLUE", 1)]
    )
    after = await read(client, placed["id"])

    await ship(
        client, after | {"fulfillmentOrders": [{"id": fo} for fo in await _open_fo_ids(client, placed["id"])]}
    )
    await relay_once(services, outbox_handlers(services))

    paid = await read(client, placed["id"])
    captured = [Decimal(p["amount"]["amount"]) for p in paid["payments"] if p["kind"] == "CAPTURE"]
    assert sum(captured) == Decimal(after["total"]["amount"])


async def _open_fo_ids(client: httpx.AsyncClient, order_id: str) -> list[str]:
    body = await execute(
        client,
        "query($id: ID!) { order(id: $id) { fulfillmentOrders { id status } } }",
        {"id": order_id},
        token=AGENT,
    )
    return [fo["id"] for fo in body["data"]["order"]["fulfillmentOrders"] if fo["status"] == "OPEN"]


async def test_units_added_to_an_order_finished_for_less_are_refused_for_the_card_cannot_pay_them(
    client: httpx.AsyncClient, services: Services
) -> None:
    """Once an order shipped for less than was authorised, the rest of the authorisation is let
    go: the card can be charged no more, so units added then would ship unpaid (a walk found
    one, seed 56). The edit is refused, and the order stays PAID."""
    placed = (await place(client))["order"]
    # the knife taken off: the card stays authorised for more than the order now costs
    smaller = await edit(
        client,
        orderId=placed["id"],
        expectedVersion=(await read(client, placed["id"]))["version"],
        lines=[{"lineId": line_id(placed, "KNIFE-CHEF-8"), "quantity": 0}],
    )
    order = await read(client, placed["id"])
    await ship(
        client, order | {"fulfillmentOrders": [{"id": fo} for fo in await _open_fo_ids(client, placed["id"])]}
    )
    await relay_once(services, outbox_handlers(services))
    paid = await read(client, placed["id"])
    added = await edit(
        client, orderId=placed["id"], expectedVersion=paid["version"], addLines=[a_line("MUG-BLUE", 1)]
    )
    status = "query($id: ID!) { order(id: $id) { paymentStatus total { amount } } }"
    after = await execute(client, status, {"id": placed["id"]}, token=AGENT)

    assert smaller["userErrors"] == []
    assert [e["code"] for e in added["userErrors"]] == ["PAYMENT_CAPTURED"]
    assert after["data"]["order"]["paymentStatus"] == "PAID"
    assert after["data"]["order"]["total"]["amount"] == paid["total"]["amount"]


WRITES = ("INSERT", "UPDATE", "DELETE", "SAVEPOINT", "BEGIN IMMEDIATE")


@pytest.mark.warmed  # a read of stock past its TTL writes the ERP's figures, as any answer's does
async def test_a_dry_run_writes_nothing_at_all(client: httpx.AsyncClient, services: Services) -> None:
    order_id = (await place(client))["order"]["id"]
    before = await read(client, order_id)

    with counting_statements(services) as statements:
        preview = await edit(
            client,
            orderId=order_id,
            expectedVersion=before["version"],
            dryRun=True,
            lines=[{"lineId": line_id(before, "MUG-BLUE"), "quantity": 3}],
            addLines=[a_line("PLATE-DINNER", 2)],
        )

    assert preview["userErrors"] == []
    assert preview["changes"]  # it did decide something
    assert [s for s in statements if s.lstrip().upper().startswith(WRITES)] == []


async def test_fewer_units_from_the_same_location_is_no_reroute(client: httpx.AsyncClient) -> None:
    """The customer was once told "sending from another location" when only the quantity changed."""
    order_id = (await place(client))["order"]["id"]
    before = await read(client, order_id)

    preview = await edit(
        client,
        orderId=order_id,
        expectedVersion=before["version"],
        dryRun=True,
        lines=[{"lineId": line_id(before, "MUG-BLUE"), "quantity": 1}],
    )
    done = await edit(
        client,
        orderId=order_id,
        expectedVersion=before["version"],
        lines=[{"lineId": line_id(before, "MUG-BLUE"), "quantity": 1}],
    )

    assert (preview["rerouted"], done["userErrors"], done["rerouted"]) == (False, [], False)
    assert open_units(await read(client, order_id))["MUG-BLUE"] == 1
    body = await execute(
        client, "query($id: ID!) { order(id: $id) { timeline { type } } }", {"id": order_id}, token=AGENT
    )
    assert "ORDER_REROUTED" not in [e["type"] for e in body["data"]["order"]["timeline"]]


def test_a_move_is_units_from_somewhere_new_not_new_quantities() -> None:
    current = Counter({("MUG", "dfw"): 2, ("KNIFE", "ewr"): 1})

    assert not moves(Plan((PlanLine("MUG", "dfw", 1), PlanLine("KNIFE", "ewr", 3))), current)
    assert not moves(Plan((PlanLine("MUG", "dfw", 2), PlanLine("PLATE", "ewr", 2))), current)  # added there
    assert moves(Plan((PlanLine("MUG", "ewr", 2), PlanLine("KNIFE", "ewr", 1))), current)  # mugs moved
    assert moves(Plan((PlanLine("MUG", "dfw", 2), PlanLine("PLATE", "ont", 2))), current)  # a new location


async def test_a_card_raised_for_an_edit_refused_under_its_lock_is_in_the_ledger_and_asked_no_more(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    """The card is raised before the edit is taken; an agent holds the order in between, so
    under its lock the edit meets another version and is refused. The provider holds the larger
    amount all the same: the ledger must too, or the next edit asks to raise the card to less
    than it holds (a refusal, PAYMENT_REJECTED) and the difference is never released."""
    order_id = (await place(client))["order"]["id"]
    before = await read(client, order_id)
    provider = services.payments["sandbox"]
    increment = provider.increment

    async def raised_then_held(reference: str, amount: Decimal, *, idempotency_key: str) -> Any:
        answer = await increment(reference, amount, idempotency_key=idempotency_key)
        held = await execute(
            client, HOLD, {"input": {"orderId": order_id, "reason": "OTHER", "note": "a call"}}, token=AGENT
        )
        assert held["data"]["holdOrder"]["userErrors"] == []
        return answer

    provider.increment = raised_then_held  # type: ignore[method-assign]
    outrun = await edit(
        client,
        orderId=order_id,
        expectedVersion=before["version"],
        lines=[{"lineId": line_id(before, "MUG-BLUE"), "quantity": 4}],
    )
    provider.increment = increment  # type: ignore[method-assign]
    held = await read(client, order_id)
    [intent] = sandbox(sandboxes).intents.values()
    within = await edit(
        client,
        orderId=order_id,
        expectedVersion=held["version"],
        lines=[{"lineId": line_id(before, "MUG-BLUE"), "quantity": 3}],  # more than before, less than asked
    )
    after = await read(client, order_id)

    assert codes(outrun) == ["VERSION_CONFLICT"]
    assert [line["quantity"] for line in held["lines"] if line["sku"] == "MUG-BLUE"] == [2]
    authorised = sum(Decimal(p["amount"]["amount"]) for p in held["payments"] if p["kind"] == "AUTHORIZATION")
    assert authorised * 100 == intent.amount  # what the card holds
    assert authorised > Decimal(held["total"]["amount"])
    assert within["userErrors"] == []
    assert Decimal(within["authorizeMore"]["amount"]) == 0
    assert [line["quantity"] for line in after["lines"] if line["sku"] == "MUG-BLUE"] == [3]
    assert [call.path.rsplit("/", 1)[-1] for call in sandbox(sandboxes).calls] == [
        "payment_intents",
        "increment_authorization",  # once, for the edit that was refused
    ]
