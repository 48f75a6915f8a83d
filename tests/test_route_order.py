"""An agent's routeOrder: see where an order would go now (dry run) or move its open work there;
and the estimate a customer sees before any parcel exists."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import select

from ordergate.bootstrap import Sandboxes
from ordergate.models.location import Location
from ordergate.store import tables
from ordergate.usecases.services import Services
from tests.builders import a_line, a_token
from tests.graphql_client import execute
from tests.test_edits import WRITES
from tests.test_fulfillment import AGENT, CHICAGO, DALLAS, location_ids, place, shares, step
from tests.test_inventory import sold_unheard
from tests.test_limits import counting_statements

ROUTE = """
mutation Route($id: ID!, $dryRun: Boolean!) {
  routeOrder(orderId: $id, dryRun: $dryRun) {
    changed dryRun
    decision { chosen candidates { location { id code } excluded reasons score } }
    order { id status fulfillmentOrders { id status location { code } lines { sku quantity } } }
    userErrors { code field message }
  }
}
"""


async def route(
    client: httpx.AsyncClient, order_id: str, *, dry_run: bool, token: str = AGENT
) -> dict[str, Any]:
    body = await execute(client, ROUTE, {"id": order_id, "dryRun": dry_run}, token=token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["routeOrder"]
    return payload


async def preview_then_move(
    client: httpx.AsyncClient, order_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """routeOrder as a dry run, then committed."""
    return await route(client, order_id, dry_run=True), await route(client, order_id, dry_run=False)


async def close(services: Services, code: str) -> None:
    async with services.store.write() as uow:
        [location] = (
            (await uow.session.execute(select(Location).where(tables.locations.c.code == code)))
            .scalars()
            .all()
        )
        location.active = False
        uow.session.add(location)


async def sellable_at(services: Services, sku: str, location_id: str) -> tuple[int, int]:
    async with services.store.read() as uow:
        [position] = [p for p in await uow.inventory.positions([sku]) if p.location_id == location_id]
    return position.on_hand, position.allocated


async def test_a_dry_run_shows_the_decision_and_changes_nothing(client: httpx.AsyncClient) -> None:
    order = await place(client)
    before = await shares(client, order["id"])

    payload = await route(client, order["id"], dry_run=True)

    assert payload["userErrors"] == []
    assert (payload["dryRun"], payload["changed"]) == (True, False)
    assert payload["decision"]["chosen"] == ["DC-DFW"]
    scored = [c for c in payload["decision"]["candidates"] if not c["excluded"]]
    assert scored
    assert all(c["score"] is not None for c in scored)
    assert await shares(client, order["id"]) == before == [("DC-DFW", "OPEN")]


async def test_a_closed_node_s_open_work_moves_and_the_dry_run_said_so_first(
    client: httpx.AsyncClient, services: Services
) -> None:
    order = await place(client, lines=[a_line("MUG-BLUE", 2)])
    ids = await location_ids(client)
    dallas = await sellable_at(services, "MUG-BLUE", ids["DC-DFW"])
    await close(services, "DC-DFW")

    preview = await route(client, order["id"], dry_run=True)
    unchanged = await shares(client, order["id"])
    still = await sellable_at(services, "MUG-BLUE", ids["DC-DFW"])
    moved = await route(client, order["id"], dry_run=False)

    assert (preview["dryRun"], preview["changed"]) == (True, True)
    assert unchanged == [("DC-DFW", "OPEN")]
    assert still == dallas
    assert (moved["dryRun"], moved["changed"], moved["userErrors"]) == (False, True, [])
    assert moved["decision"]["chosen"] == preview["decision"]["chosen"]
    [new_home] = moved["decision"]["chosen"]
    assert new_home != "DC-DFW"
    # A closed node is no candidate at all.
    assert "DC-DFW" not in [c["location"]["code"] for c in moved["decision"]["candidates"]]
    assert sorted(await shares(client, order["id"])) == sorted([("DC-DFW", "CANCELLED"), (new_home, "OPEN")])
    on_hand, allocated = await sellable_at(services, "MUG-BLUE", ids["DC-DFW"])
    assert (on_hand, allocated) == (dallas[0], dallas[1] - 2)
    timeline = await execute(
        client, "query($id: ID!) { order(id: $id) { timeline { type } } }", {"id": order["id"]}, token=AGENT
    )
    assert [e["type"] for e in timeline["data"]["order"]["timeline"]][-3:] == [
        "FULFILLMENT_CANCELLED",
        "ORDER_REROUTED",
        "FULFILLMENT_OPENED",
    ]


async def test_started_work_stays_where_it_is(client: httpx.AsyncClient) -> None:
    order = await place(client)
    fo_id = order["fulfillmentOrders"][0]["id"]
    for name in ("Accept", "StartPicking"):
        await step(client, name, DALLAS, id=fo_id)

    payload = await route(client, order["id"], dry_run=False)

    assert [e["code"] for e in payload["userErrors"]] == ["NOTHING_TO_ROUTE"]
    assert await shares(client, order["id"]) == [("DC-DFW", "PICKING")]


async def test_a_route_nobody_can_take_keeps_the_allocation(
    client: httpx.AsyncClient, services: Services
) -> None:
    ids = await location_ids(client)
    order = await place(
        client,
        deliveryMethod="PICKUP",
        shippingAddress=None,
        pickupLocationId=ids["ST-CHI"],
        lines=[a_line("MUG-BLUE", 1)],
    )
    await close(services, "ST-CHI")

    payload = await route(client, order["id"], dry_run=False)

    assert [e["code"] for e in payload["userErrors"]] == ["INVALID_PICKUP_LOCATION"]
    assert await shares(client, order["id"]) == [("ST-CHI", "OPEN")]


@pytest.mark.parametrize(
    ("token", "code"),
    [(a_token("customer"), "FORBIDDEN"), (DALLAS, "FORBIDDEN"), (a_token("storefront"), "FORBIDDEN")],
)
async def test_only_agents_and_admins_route(client: httpx.AsyncClient, token: str, code: str) -> None:
    order = await place(client)

    payload = await route(client, order["id"], dry_run=True, token=token)

    assert [e["code"] for e in payload["userErrors"]] == [code]
    assert payload["decision"] is None


async def test_an_unknown_order_is_not_found(client: httpx.AsyncClient) -> None:
    payload = await route(client, "no-such-order", dry_run=True)

    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("NOT_FOUND", ["orderId"])]


async def test_a_pickup_order_is_expected_when_the_store_has_it_ready(client: httpx.AsyncClient) -> None:
    ids = await location_ids(client)
    stores = await execute(client, "{ locations { code handlingDays } }", token=AGENT)
    handling = next(s["handlingDays"] for s in stores["data"]["locations"] if s["code"] == "ST-CHI")
    order = await place(
        client,
        deliveryMethod="PICKUP",
        shippingAddress=None,
        pickupLocationId=ids["ST-CHI"],
        lines=[a_line("MUG-BLUE", 1)],
    )
    today = datetime.now(ZoneInfo("America/Chicago")).date()  # the store's calendar
    query = "query($id: ID!) { order(id: $id) { estimatedDelivery } }"

    placed = await execute(client, query, {"id": order["id"]}, token=AGENT)
    fo_id = order["fulfillmentOrders"][0]["id"]
    for name in ("Accept", "StartPicking", "Pack", "ReadyForPickup"):
        await step(client, name, CHICAGO, id=fo_id)
    ready = await execute(client, query, {"id": order["id"]}, token=AGENT)

    assert placed["data"]["order"]["estimatedDelivery"] == (today + timedelta(days=handling)).isoformat()
    assert ready["data"]["order"]["estimatedDelivery"] == today.isoformat()


async def test_a_shipped_order_is_expected_on_the_date_routing_promised(client: httpx.AsyncClient) -> None:
    options = await execute(
        client,
        'query { fulfillmentOptions(lines: [{sku: "MUG-BLUE", quantity: 2}], '
        'destination: {countryCode: "US", postalCode: "78701"}) { deliveryMethod estimatedDelivery } }',
        token=AGENT,
    )
    order = await place(client, lines=[a_line("MUG-BLUE", 2)])

    body = await execute(
        client, "query($id: ID!) { order(id: $id) { estimatedDelivery } }", {"id": order["id"]}, token=AGENT
    )

    [best, *_] = [o for o in options["data"]["fulfillmentOptions"] if o["deliveryMethod"] == "SHIP"]
    assert body["data"]["order"]["estimatedDelivery"] == best["estimatedDelivery"] is not None


@pytest.mark.no_relay
@pytest.mark.warmed
async def test_a_route_is_decided_from_the_erps_stock_now_not_an_old_snapshot(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    """Dallas closes, and meanwhile the mugs sold out at the ERP everywhere but Newark, which
    this gateway has not heard (its snapshot is past the TTL, and no webhook told it): routing
    the order again reads the ERP first, as placeOrder does, and moves the work to Newark, not
    to a node whose mugs are gone."""
    order = await place(client, lines=[a_line("MUG-BLUE", 2)])
    await close(services, "DC-DFW")
    sold_unheard(services, sandboxes, "MUG-BLUE", "DC-EWR")

    preview, moved = await preview_then_move(client, order["id"])

    assert (preview["userErrors"], preview["changed"], preview["decision"]["chosen"]) == (
        [],
        True,
        ["DC-EWR"],
    )
    assert (moved["userErrors"], moved["decision"]["chosen"]) == ([], ["DC-EWR"])


@pytest.mark.no_relay
@pytest.mark.warmed
async def test_work_at_a_node_whose_units_the_erp_counted_gone_moves_where_they_are(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    """Dallas still holds the order's two mugs, but the ERP now counts none there (nor anywhere
    but Newark): routing again does not count the order's own units at Dallas as free, and moves
    the work to Newark."""
    order = await place(client, lines=[a_line("MUG-BLUE", 2)])
    assert await shares(client, order["id"]) == [("DC-DFW", "OPEN")]
    sold_unheard(services, sandboxes, "MUG-BLUE", "DC-EWR")

    preview, moved = await preview_then_move(client, order["id"])

    assert (preview["userErrors"], preview["changed"], preview["decision"]["chosen"]) == (
        [],
        True,
        ["DC-EWR"],
    )
    assert (moved["userErrors"], moved["changed"]) == ([], True)
    assert sorted(await shares(client, order["id"])) == [("DC-DFW", "CANCELLED"), ("DC-EWR", "OPEN")]


@pytest.mark.warmed  # a read of stock past its TTL writes the ERP's figures, as any answer's does
@pytest.mark.no_relay  # statements are counted: the placement's relay work is not the dry run's
async def test_a_dry_run_writes_nothing_at_all(client: httpx.AsyncClient, services: Services) -> None:
    order = await place(client)

    with counting_statements(services) as statements:
        payload = await route(client, order["id"], dry_run=True)

    assert payload["userErrors"] == []
    assert [s for s in statements if s.lstrip().upper().startswith(WRITES)] == []


async def test_work_an_agent_moves_further_from_the_customer_tells_them_the_later_day(
    client: httpx.AsyncClient, services: Services
) -> None:
    """Dallas closes; the kettle's work moves to a node further from Austin, so the order's
    promise moves later: ORDER_DELAYED follows on its timeline (the customer's email with it)."""
    order = await place(client, lines=[a_line("KETTLE-STEEL", 1)])
    promise = "query($id: ID!) { order(id: $id) { estimatedDelivery timeline { type } } }"
    before = (await execute(client, promise, {"id": order["id"]}, token=AGENT))["data"]["order"]
    await close(services, "DC-DFW")

    moved = await route(client, order["id"], dry_run=False)
    after = (await execute(client, promise, {"id": order["id"]}, token=AGENT))["data"]["order"]

    assert moved["changed"] is True
    assert after["estimatedDelivery"] > before["estimatedDelivery"]
    assert [e["type"] for e in after["timeline"]][-4:] == [
        "FULFILLMENT_CANCELLED",
        "ORDER_REROUTED",
        "FULFILLMENT_OPENED",
        "ORDER_DELAYED",
    ]
    assert "ORDER_DELAYED" not in [e["type"] for e in before["timeline"]]
