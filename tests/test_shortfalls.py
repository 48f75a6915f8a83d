"""Units an order holds that the ERP's count finds gone: the newest not-started work at that
node is routed again, at once after the ERP's notice, or by the backorder loop's round after a
read past the TTL (`rerouting.route_shortfalls`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from ordergate.bootstrap import Sandboxes
from ordergate.usecases import inventory, rerouting, stock_notices
from ordergate.usecases.services import STUCK_FOR, Services
from ordergate.workers.loops import stock_pass
from tests.builders import a_line, a_token
from tests.graphql_client import error_codes, execute
from tests.test_fulfillment import AGENT, CHICAGO, DALLAS, location_ids, place, shares, step
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
    await start_picking(client, newer)

    await katana(sandboxes).set_on_hand("MUG-BLUE", "DC-DFW", 2)

    assert await shares(client, newer) == [("DC-DFW", "PICKING")]
    assert sorted(code == "DC-DFW" for code, _ in await shares(client, older)) == [False, True]
    assert ("DC-DFW", "CANCELLED") in await shares(client, older)


async def test_a_pickup_the_store_must_keep_stays_and_an_older_order_that_can_ship_from_elsewhere_moves(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    """The newest work at a short shelf is a pickup there: no other node can take it. The older
    ship order moves instead, so the shelf's units serve the pickup and nobody's pick is short."""
    sold_unheard(services, sandboxes, "MUG-BLUE", "ST-CHI")  # the older order can ship only from Chicago
    older = await place(client, lines=[a_line("MUG-BLUE", 2)])
    newer = await place(
        client,
        lines=[a_line("MUG-BLUE", 2)],
        deliveryMethod="PICKUP",
        shippingAddress=None,
        pickupLocationId="ST-CHI",
    )
    for order in (older, newer):
        assert await shares(client, order["id"]) == [("ST-CHI", "OPEN")]
    sandbox = katana(sandboxes)
    sandbox.inventory[(sandbox.variant_for("MUG-BLUE").id, sandbox.locations["DC-DFW"])] = Decimal(40)

    await sandbox.set_on_hand("MUG-BLUE", "ST-CHI", 2)  # its notice reads Dallas's mugs too

    assert await shares(client, newer["id"]) == [("ST-CHI", "OPEN")]
    assert sorted(await shares(client, older["id"])) == [("DC-DFW", "OPEN"), ("ST-CHI", "CANCELLED")]
    chicago = (await location_ids(client))["ST-CHI"]
    assert await sellable_at(services, "MUG-BLUE", chicago) == (2, 2)


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


async def test_the_loop_s_round_leaves_an_order_that_could_not_move_until_units_are_freed_or_a_while_passes(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, monkeypatch: pytest.MonkeyPatch
) -> None:
    older, newer = await two_mug_orders(client)
    sold_unheard(services, sandboxes, "MUG-BLUE", "DC-DFW")
    await katana(sandboxes).set_on_hand("MUG-BLUE", "DC-DFW", 2)  # nowhere to go: both stay
    assert services.stuck_lately.of([older, newer]) == [older, newer]
    now = [0.0]
    services.stuck_lately.timer = lambda: now[0]
    services.stuck_lately.note([older, newer], {older: 0, newer: 0})  # no mug free anywhere
    tried: list[str] = []
    route_short = rerouting._route_short

    async def counted(services: Services, order_id: str, *, read_first: bool) -> rerouting.Shortfall:
        tried.append(order_id)
        return await route_short(services, order_id, read_first=read_first)

    monkeypatch.setattr(rerouting, "_route_short", counted)

    await stock_pass(services)  # nothing has changed: the round leaves both
    assert tried == []

    sandbox = katana(sandboxes)
    sandbox.inventory[(sandbox.variant_for("MUG-BLUE").id, sandbox.locations["DC-EWR"])] = Decimal(10)
    services.freshness.stock_read_at.pop("MUG-BLUE")
    await inventory.refresh_stock(services, ["MUG-BLUE"])  # Newark has mugs again, unannounced
    await stock_pass(services)  # 10 more units free: tried at once, not after STUCK_FOR

    assert tried == [newer]
    assert sorted(await shares(client, newer)) == [("DC-DFW", "CANCELLED"), ("DC-EWR", "OPEN")]
    assert await shares(client, older) == [("DC-DFW", "OPEN")]  # covered once the newer moved: not tried
    assert services.stuck_lately.of([newer]) == []


async def test_an_order_no_freed_units_could_move_is_tried_again_once_the_while_has_passed(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    older, newer = await two_mug_orders(client)
    sold_unheard(services, sandboxes, "MUG-BLUE", "DC-DFW")
    now = [0.0]
    services.stuck_lately.timer = lambda: now[0]
    await katana(sandboxes).set_on_hand("MUG-BLUE", "DC-DFW", 2)  # both stay, noted at 0
    assert services.stuck_lately.mark(newer) == 0

    now[0] = STUCK_FOR - 1
    await stock_pass(services)
    assert services.stuck_lately.of([newer]) == [newer]  # left, as noted at 0
    now[0] = STUCK_FOR + 1
    await stock_pass(services)  # tried again: it stays, and is noted anew

    assert services.stuck_lately.of([older, newer]) == [older, newer]
    now[0] = STUCK_FOR * 2  # from the new note, still within the while
    assert services.stuck_lately.of([newer]) == [newer]


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
    await hold(client, newer)

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


SHORT_POSITIONS = """
query($at: ID, $first: Int!, $after: String, $orderBy: ShortPositionOrder! = SKU) {
  shortPositions(locationId: $at, first: $first, after: $after, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      sku location { code } onHand allocated missing asOf shortSince
      holders { quantity reason openedAt fulfillmentOrder { status order { id } } }
    } }
  }
}
"""


async def short_positions(
    client: httpx.AsyncClient, token: str = AGENT, **variables: object
) -> dict[str, Any]:
    return await execute(client, SHORT_POSITIONS, {"first": 10, **variables}, token=token)


async def test_operations_see_each_short_position_with_the_work_holding_it_and_why_it_is_still_there(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    """Nowhere else has mugs, so the pass moves nothing: the newest order is on hold, the next
    started, the oldest not started."""
    oldest, middle = await two_mug_orders(client)
    newest = (await place(client, lines=[a_line("MUG-BLUE", 1)]))["id"]
    await hold(client, newest)
    await start_picking(client, middle)
    sold_unheard(services, sandboxes, "MUG-BLUE", "DC-DFW")
    assert (await short_positions(client))["data"]["shortPositions"]["totalCount"] == 0

    await katana(sandboxes).set_on_hand("MUG-BLUE", "DC-DFW", 1)

    found = (await short_positions(client))["data"]["shortPositions"]
    assert found["totalCount"] == 1
    [position] = [edge["node"] for edge in found["edges"]]
    assert {k: position[k] for k in ("sku", "location", "onHand", "allocated", "missing")} == {
        "sku": "MUG-BLUE",
        "location": {"code": "DC-DFW"},
        "onHand": 1,
        "allocated": 5,
        "missing": 4,
    }
    assert [
        (h["fulfillmentOrder"]["order"]["id"], h["quantity"], h["reason"], h["fulfillmentOrder"]["status"])
        for h in position["holders"]
    ] == [
        (newest, 1, "ORDER_ON_HOLD", "OPEN"),
        (middle, 2, "STARTED", "PICKING"),
        (oldest, 2, "NOT_STARTED", "OPEN"),
    ]


async def test_a_position_the_pass_covered_is_not_listed(
    client: httpx.AsyncClient, sandboxes: Sandboxes
) -> None:
    await two_mug_orders(client)

    await katana(sandboxes).set_on_hand("MUG-BLUE", "DC-DFW", 2)  # the newer order moves

    assert (await short_positions(client))["data"]["shortPositions"]["edges"] == []


async def test_an_associate_sees_their_node_s_short_positions_and_no_one_else_s(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    await two_mug_orders(client)
    sold_unheard(services, sandboxes, "MUG-BLUE", "DC-DFW")
    await katana(sandboxes).set_on_hand("MUG-BLUE", "DC-DFW", 3)

    mine = await short_positions(client, DALLAS, at="dc-dfw")
    every = await short_positions(client, DALLAS)
    elsewhere = await short_positions(client, CHICAGO, at="DC-DFW")
    customer = await short_positions(client, a_token("customer", email="ann@example.com"))

    assert [e["node"]["missing"] for e in mine["data"]["shortPositions"]["edges"]] == [1]
    assert error_codes(every) == ["FORBIDDEN"]
    assert error_codes(elsewhere) == ["NOT_FOUND"]
    assert error_codes(customer) == ["FORBIDDEN"]


async def test_short_positions_come_a_page_at_a_time_by_sku_and_node(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    for sku in ("MUG-BLUE", "PLATE-DINNER"):
        await place(client, lines=[a_line(sku, 2)])
        sold_unheard(services, sandboxes, sku, "DC-DFW")
    for sku in ("PLATE-DINNER", "MUG-BLUE"):
        await katana(sandboxes).set_on_hand(sku, "DC-DFW", 0)

    first = (await short_positions(client, first=1))["data"]["shortPositions"]
    rest = (await short_positions(client, first=1, after=first["pageInfo"]["endCursor"]))["data"][
        "shortPositions"
    ]
    forged = await short_positions(client, after="not-a-cursor")

    assert (first["totalCount"], first["pageInfo"]["hasNextPage"]) == (2, True)
    assert [e["node"]["sku"] for e in first["edges"] + rest["edges"]] == ["MUG-BLUE", "PLATE-DINNER"]
    assert rest["pageInfo"]["hasNextPage"] is False
    assert error_codes(forged) == ["INVALID_CURSOR"]


async def hold(client: httpx.AsyncClient, order_id: str) -> None:
    held = await execute(
        client,
        "mutation($input: HoldOrderInput!) { holdOrder(input: $input) { userErrors { code } } }",
        {"input": {"orderId": order_id, "reason": "OTHER"}},
        token=AGENT,
    )
    assert held["data"]["holdOrder"]["userErrors"] == []


async def start_picking(client: httpx.AsyncClient, order_id: str) -> None:
    body = await execute(
        client,
        "query($id: ID!) { order(id: $id) { fulfillmentOrders { id } } }",
        {"id": order_id},
        token=AGENT,
    )
    [work] = body["data"]["order"]["fulfillmentOrders"]
    await step(client, "Accept", DALLAS, id=work["id"])
    await step(client, "StartPicking", DALLAS, id=work["id"])


QUEUE = """
query($at: ID!) {
  fulfillmentOrders(locationId: $at, first: 20) { edges { node { order { id } lines { sku } shortSkus } } }
}
"""
MINE = "query($id: ID!) { order(id: $id) { fulfillmentOrders { shortSkus } } }"


async def test_a_node_s_queue_marks_the_work_whose_units_a_count_left_short(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    older, newer = await two_mug_orders(client)
    knives = (await place(client, lines=[a_line("KNIFE-CHEF-8", 1), a_line("MUG-BLUE", 1)]))["id"]
    sold_unheard(services, sandboxes, "MUG-BLUE", "DC-DFW")  # nowhere to move them

    async def queue() -> dict[str, list[str]]:
        body = await execute(client, QUEUE, {"at": "DC-DFW"}, token=DALLAS)
        return {
            e["node"]["order"]["id"]: e["node"]["shortSkus"]
            for e in body["data"]["fulfillmentOrders"]["edges"]
        }

    assert all(skus == [] for skus in (await queue()).values())
    await katana(sandboxes).set_on_hand("MUG-BLUE", "DC-DFW", 3)

    marked = await queue()
    customer = await execute(client, MINE, {"id": older}, token=a_token("customer", email="ann@example.com"))
    await katana(sandboxes).set_on_hand("MUG-BLUE", "DC-DFW", 40)  # a recount finds them

    assert {order: marked[order] for order in (older, newer, knives)} == {
        older: ["MUG-BLUE"],
        newer: ["MUG-BLUE"],
        knives: ["MUG-BLUE"],  # its knife is on the shelf
    }
    assert customer["data"]["order"]["fulfillmentOrders"] == [{"shortSkus": []}]  # staff only
    assert all(skus == [] for skus in (await queue()).values())


KPIS = """
query($day: Date!) {
  networkMetrics(from: $day, to: $day) { totals { orders rerouteRate shortStockRerouteRate } }
}
"""


async def test_network_metrics_count_the_orders_moved_off_short_stock(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    async def moved() -> tuple[int, int]:
        body = await execute(client, KPIS, {"day": services.clock().date().isoformat()}, token=AGENT)
        totals = body["data"]["networkMetrics"]["totals"]
        return round(totals["rerouteRate"] * totals["orders"]), round(
            totals["shortStockRerouteRate"] * totals["orders"]
        )

    await two_mug_orders(client)
    assert await moved() == (0, 0)

    await katana(sandboxes).set_on_hand("MUG-BLUE", "DC-DFW", 2)  # the newer order moves

    assert await moved() == (1, 1)
