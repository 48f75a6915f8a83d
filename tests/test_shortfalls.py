"""Units an order holds that the ERP's count finds gone: the newest not-started work at that
node is routed again, at once after the ERP's notice, or by the backorder loop's round after a
read past the TTL (`rerouting.route_shortfalls`)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from ordergate.bootstrap import Sandboxes
from ordergate.usecases import inventory, stock_notices
from ordergate.usecases.services import Services
from ordergate.workers.loops import stock_pass
from tests.builders import a_line, a_token
from tests.graphql_client import execute
from tests.test_fulfillment import AGENT, DALLAS, location_ids, place, shares, step
from tests.test_inventory import katana, sold_unheard
from tests.test_route_order import sellable_at


async def two_mug_orders(client: httpx.AsyncClient) -> tuple[str, str]:
    """Two orders of two mugs each, both worked at Dallas: the older first."""
    older = await place(client, lines=[a_line("MUG-BLUE", 2)])
    newer = await place(client, lines=[a_line("MUG-BLUE", 2)])
    for order in (older, newer):
        assert await shares(client, order["id"]) == [("DC-DFW", "OPEN")]
    return older["id"], newer["id"]


async def timeline(client: httpx.AsyncClient, order_id: str) -> list[str]:
    body = await execute(
        client, "query($id: ID!) { order(id: $id) { timeline { type } } }", {"id": order_id}, token=AGENT
    )
    return [event["type"] for event in body["data"]["order"]["timeline"]]


async def test_a_count_that_finds_units_gone_moves_the_newest_order_s_work_and_the_oldest_keeps_its_own(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    older, newer = await two_mug_orders(client)
    dallas = (await location_ids(client))["DC-DFW"]

    await katana(sandboxes).set_on_hand("MUG-BLUE", "DC-DFW", 2)  # its notice reaches the gateway

    assert await shares(client, older) == [("DC-DFW", "OPEN")]
    [(cancelled, gone), (elsewhere, open_)] = sorted(
        await shares(client, newer), key=lambda share: share[0] != "DC-DFW"
    )
    assert (cancelled, gone, open_) == ("DC-DFW", "CANCELLED", "OPEN")
    assert elsewhere != "DC-DFW"
    assert "ORDER_REROUTED" in await timeline(client, newer)
    assert "ORDER_REROUTED" not in await timeline(client, older)
    assert await sellable_at(services, "MUG-BLUE", dallas) == (2, 2)  # nothing over-committed


async def test_work_no_other_node_can_take_stays_and_the_notice_is_taken(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    older, newer = await two_mug_orders(client)
    dallas = (await location_ids(client))["DC-DFW"]
    sold_unheard(services, sandboxes, "MUG-BLUE", "DC-DFW")  # none anywhere else

    await katana(sandboxes).set_on_hand("MUG-BLUE", "DC-DFW", 2)

    for order_id in (older, newer):
        assert await shares(client, order_id) == [("DC-DFW", "OPEN")]
    assert await sellable_at(services, "MUG-BLUE", dallas) == (2, 4)  # its pick will be short


async def test_work_a_node_has_started_stays_and_the_next_newest_moves_instead(
    client: httpx.AsyncClient, sandboxes: Sandboxes
) -> None:
    older, newer = await two_mug_orders(client)
    body = await execute(
        client, "query($id: ID!) { order(id: $id) { fulfillmentOrders { id } } }", {"id": newer}, token=AGENT
    )
    [work] = body["data"]["order"]["fulfillmentOrders"]
    await step(client, "Accept", DALLAS, id=work["id"])
    await step(client, "StartPicking", DALLAS, id=work["id"])

    await katana(sandboxes).set_on_hand("MUG-BLUE", "DC-DFW", 2)

    assert await shares(client, newer) == [("DC-DFW", "PICKING")]
    assert sorted(code == "DC-DFW" for code, _ in await shares(client, older)) == [False, True]
    assert ("DC-DFW", "CANCELLED") in await shares(client, older)


async def test_a_shortfall_a_request_s_read_found_is_routed_again_by_the_backorder_loop_s_round(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    """The ERP sold Dallas's mugs down to 2 and told nobody; an availability answer past the TTL
    reads it. Nothing moves in that request; the backorder loop's next round moves the newer order."""
    older, newer = await two_mug_orders(client)
    dallas = (await location_ids(client))["DC-DFW"]
    sandbox = katana(sandboxes)
    sandbox.inventory[(sandbox.variant_for("MUG-BLUE").id, sandbox.locations["DC-DFW"])] = Decimal(2)
    services.freshness.stock_read_at.pop("MUG-BLUE")
    await inventory.refresh_stock(services, ["MUG-BLUE"])
    assert await sellable_at(services, "MUG-BLUE", dallas) == (2, 4)

    await stock_pass(services)

    assert await shares(client, older) == [("DC-DFW", "OPEN")]
    assert ("DC-DFW", "CANCELLED") in await shares(client, newer)
    assert await sellable_at(services, "MUG-BLUE", dallas) == (2, 2)


async def test_an_erp_notice_routes_so_many_orders_before_it_is_answered_and_the_loop_the_rest(
    client: httpx.AsyncClient, sandboxes: Sandboxes, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    older, newer = await two_mug_orders(client)
    monkeypatch.setattr(stock_notices, "SHORTFALLS_PER_NOTICE", 1)

    await katana(sandboxes).set_on_hand("MUG-BLUE", "DC-DFW", 0)

    assert ("DC-DFW", "CANCELLED") in await shares(client, newer)
    assert await shares(client, older) == [("DC-DFW", "OPEN")]

    await stock_pass(services)

    assert ("DC-DFW", "CANCELLED") in await shares(client, older)


async def test_an_order_an_agent_holds_keeps_its_work_and_covers_its_own_shortfall(
    client: httpx.AsyncClient, sandboxes: Sandboxes
) -> None:
    """The newer order is on hold: it is not moved while an agent looks at it, and the older
    order, whose units are on the shelf, keeps its work too."""
    older, newer = await two_mug_orders(client)
    held = await execute(
        client,
        "mutation($input: HoldOrderInput!) { holdOrder(input: $input) { userErrors { code } } }",
        {"input": {"orderId": newer, "reason": "OTHER"}},
        token=AGENT,
    )
    assert held["data"]["holdOrder"]["userErrors"] == []

    await katana(sandboxes).set_on_hand("MUG-BLUE", "DC-DFW", 2)

    assert [code for code, _ in await shares(client, newer)] == ["DC-DFW"]
    assert await shares(client, older) == [("DC-DFW", "OPEN")]


async def test_the_customer_reads_that_part_of_the_order_comes_from_elsewhere_not_that_it_was_cancelled(
    client: httpx.AsyncClient, sandboxes: Sandboxes
) -> None:
    _, newer = await two_mug_orders(client)

    await katana(sandboxes).set_on_hand("MUG-BLUE", "DC-DFW", 2)

    body = await execute(
        client,
        "query($id: ID!) { order(id: $id) { timeline { type message } } }",
        {"id": newer},
        token=a_token("customer", email="ann@example.com"),
    )
    seen = body["data"]["order"]["timeline"]
    assert [e["type"] for e in seen][-1] == "ORDER_REROUTED"
    assert not [e for e in seen if "cancel" in e["message"].lower()]
    assert "FULFILLMENT_CANCELLED" in await timeline(client, newer)  # staff read it
