"""A node's work through the store associate's contract operations."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ordergate.bootstrap import Sandboxes
from ordergate.usecases.services import Services
from tests.builders import a_line, a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import error_codes, execute
from tests.test_inventory import sold_unheard

AGENT = a_token("agent")
DALLAS = a_token("associate", locations=("DC-DFW",))
CHICAGO = a_token("associate", locations=("ST-CHI",))


async def location_ids(client: httpx.AsyncClient) -> dict[str, str]:
    body = await execute(client, "{ locations { id code } }", token=AGENT)
    return {loc["code"]: loc["id"] for loc in body["data"]["locations"]}


async def place(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    body = await execute(client, operation("PlaceOrder"), {"input": an_order_input(**overrides)}, token=AGENT)
    order: dict[str, Any] = body["data"]["placeOrder"]["order"]
    return order


async def step(client: httpx.AsyncClient, name: str, token: str, **variables: Any) -> dict[str, Any]:
    body = await execute(client, operation(name), variables, token=token)
    assert "errors" not in body, body
    payload: dict[str, Any] = next(iter(body["data"].values()))
    return payload


async def shares(client: httpx.AsyncClient, order_id: str) -> list[tuple[str, str]]:
    body = await execute(
        client,
        "query($id: ID!) { order(id: $id) { fulfillmentOrders { status location { code } } } }",
        {"id": order_id},
        token=AGENT,
    )
    return [(fo["location"]["code"], fo["status"]) for fo in body["data"]["order"]["fulfillmentOrders"]]


async def test_the_work_queue_shows_a_nodes_orders_to_its_associate(client: httpx.AsyncClient) -> None:
    order = await place(client)
    ids = await location_ids(client)

    body = await execute(
        client, operation("WorkQueue"), {"locationId": ids["DC-DFW"], "status": ["OPEN"]}, token=DALLAS
    )

    [edge] = body["data"]["fulfillmentOrders"]["edges"]
    assert edge["node"]["order"] == {"number": order["number"], "customer": {"displayName": "Ann Lee"}}
    assert edge["node"]["lines"] == [
        {"sku": "KNIFE-CHEF-8", "quantity": 1},
        {"sku": "MUG-BLUE", "quantity": 2},
    ]


@pytest.mark.parametrize(
    ("token", "code"),
    [(CHICAGO, "NOT_FOUND"), (a_token("storefront"), "FORBIDDEN"), (a_token("customer"), "FORBIDDEN")],
)
async def test_other_nodes_and_other_roles_see_no_queue(
    client: httpx.AsyncClient, token: str, code: str
) -> None:
    await place(client)
    ids = await location_ids(client)

    body = await execute(client, operation("WorkQueue"), {"locationId": ids["DC-DFW"]}, token=token)

    assert error_codes(body) == [code]


async def test_accept_pick_pack_in_order_and_nothing_out_of_order(client: httpx.AsyncClient) -> None:
    fo_id = (await place(client))["fulfillmentOrders"][0]["id"]

    too_early = await step(client, "Pack", DALLAS, id=fo_id)
    accepted = await step(client, "Accept", DALLAS, id=fo_id)
    picking = await step(client, "StartPicking", DALLAS, id=fo_id)
    packed = await step(client, "Pack", DALLAS, id=fo_id)
    wrong_method = await step(client, "ReadyForPickup", DALLAS, id=fo_id)
    too_late = await step(client, "Reject", DALLAS, id=fo_id, reason="changed my mind")

    assert [e["code"] for e in too_early["userErrors"]] == ["INVALID_TRANSITION"]
    assert [p["fulfillmentOrder"]["status"] for p in (accepted, picking, packed)] == [
        "ACCEPTED",
        "PICKING",
        "PACKED",
    ]
    assert [e["code"] for e in wrong_method["userErrors"]] == ["INVALID_TRANSITION"]
    assert [e["code"] for e in too_late["userErrors"]] == ["INVALID_TRANSITION"]


async def test_an_associate_cannot_move_another_nodes_work(client: httpx.AsyncClient) -> None:
    fo_id = (await place(client))["fulfillmentOrders"][0]["id"]

    payload = await step(client, "Accept", CHICAGO, id=fo_id)

    assert [e["code"] for e in payload["userErrors"]] == ["NOT_FOUND"]


async def test_a_held_order_cannot_progress(client: httpx.AsyncClient) -> None:
    order = await place(client)
    await execute(
        client,
        "mutation($id: ID!) "
        "{ holdOrder(input: {orderId: $id, reason: AWAITING_PAYMENT}) { order { status } } }",
        {"id": order["id"]},
        token=AGENT,
    )

    payload = await step(client, "Accept", DALLAS, id=order["fulfillmentOrders"][0]["id"])

    assert [e["code"] for e in payload["userErrors"]] == ["INVALID_TRANSITION"]


async def test_a_pickup_order_is_collected_and_completes(
    client: httpx.AsyncClient, services: Services
) -> None:
    ids = await location_ids(client)
    order = await place(
        client,
        deliveryMethod="PICKUP",
        shippingAddress=None,
        pickupLocationId=ids["ST-CHI"],
        lines=[a_line("MUG-BLUE", 2)],
    )
    fo_id = order["fulfillmentOrders"][0]["id"]
    async with services.store.read() as uow:
        [before] = [p for p in await uow.inventory.positions(["MUG-BLUE"]) if p.location_id == ids["ST-CHI"]]

    for name in ("Accept", "StartPicking", "Pack", "ReadyForPickup"):
        await step(client, name, CHICAGO, id=fo_id)
    handed = await step(client, "HandOver", CHICAGO, id=fo_id)

    assert handed["fulfillmentOrder"]["status"] == "PICKED_UP"
    tracked = await execute(
        client,
        "query($id: ID!) { order(id: $id) "
        "{ status fulfillmentStatus lines { quantityFulfilled } timeline { type } } }",
        {"id": order["id"]},
        token=AGENT,
    )
    assert tracked["data"]["order"]["status"] == "COMPLETED"
    assert tracked["data"]["order"]["fulfillmentStatus"] == "FULFILLED"
    assert tracked["data"]["order"]["lines"] == [{"quantityFulfilled": 2}]
    assert [e["type"] for e in tracked["data"]["order"]["timeline"]][-2:] == [
        "FULFILLMENT_PICKED_UP",
        "ORDER_COMPLETED",
    ]
    async with services.store.read() as uow:
        [after] = [p for p in await uow.inventory.positions(["MUG-BLUE"]) if p.location_id == ids["ST-CHI"]]
    assert (after.on_hand, after.allocated) == (before.on_hand - 2, before.allocated - 2)


async def test_a_rejection_re_routes_to_another_node(client: httpx.AsyncClient, services: Services) -> None:
    order = await place(client, lines=[a_line("KETTLE-STEEL", 1)])
    ids = await location_ids(client)
    promise = "query($id: ID!) { order(id: $id) { estimatedDelivery } }"
    was = (await execute(client, promise, {"id": order["id"]}, token=AGENT))["data"]["order"]

    rejected = await step(
        client, "Reject", DALLAS, id=order["fulfillmentOrders"][0]["id"], reason="shelf is empty"
    )

    assert rejected["fulfillmentOrder"]["status"] == "REJECTED"
    body = await execute(
        client,
        "query($id: ID!) { order(id: $id) "
        "{ status estimatedDelivery fulfillmentOrders { status location { code } } timeline { type } } }",
        {"id": order["id"]},
        token=AGENT,
    )
    shares = body["data"]["order"]["fulfillmentOrders"]
    assert shares[0] == {"status": "REJECTED", "location": {"code": "DC-DFW"}}
    assert shares[1]["status"] == "OPEN"
    assert shares[1]["location"]["code"] != "DC-DFW"
    # the node that took over is further from the customer: the promise moves later, and says so
    types = [e["type"] for e in body["data"]["order"]["timeline"]]
    assert body["data"]["order"]["estimatedDelivery"] > was["estimatedDelivery"]
    assert types[types.index("ORDER_REROUTED") + 1] == "ORDER_DELAYED"
    assert types.count("ORDER_DELAYED") == 1
    async with services.store.read() as uow:
        positions = {p.location_id: p.allocated for p in await uow.inventory.positions(["KETTLE-STEEL"])}
    assert positions[ids["DC-DFW"]] == 0
    assert sum(positions.values()) == 1


@pytest.mark.warmed
async def test_a_rejection_routes_from_the_erps_stock_now_not_an_old_snapshot(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    """The kettles sold out at the ERP everywhere but Newark since this gateway read them (its
    snapshot is past the TTL, and no webhook told it): Dallas rejects, and the units go to
    Newark, not to the node the old snapshot would have chosen."""
    order = await place(client, lines=[a_line("KETTLE-STEEL", 1)])
    sold_unheard(services, sandboxes, "KETTLE-STEEL", "DC-EWR", "DC-DFW")

    await step(client, "Reject", DALLAS, id=order["fulfillmentOrders"][0]["id"], reason="shelf is empty")

    assert await shares(client, order["id"]) == [("DC-DFW", "REJECTED"), ("DC-EWR", "OPEN")]


async def test_when_no_node_can_take_over_the_order_waits_for_an_agent(client: httpx.AsyncClient) -> None:
    ids = await location_ids(client)
    order = await place(
        client,
        deliveryMethod="PICKUP",
        shippingAddress=None,
        pickupLocationId=ids["ST-CHI"],
        lines=[a_line("MUG-BLUE", 1)],
    )

    await step(client, "Reject", CHICAGO, id=order["fulfillmentOrders"][0]["id"], reason="damaged")

    body = await execute(
        client,
        "query($id: ID!) { order(id: $id) { status holds { reason } } }",
        {"id": order["id"]},
        token=AGENT,
    )
    assert body["data"]["order"] == {"status": "ON_HOLD", "holds": [{"reason": "OTHER"}]}


async def test_a_rejection_needs_a_reason(client: httpx.AsyncClient) -> None:
    fo_id = (await place(client))["fulfillmentOrders"][0]["id"]

    payload = await step(client, "Reject", DALLAS, id=fo_id, reason="  ")

    assert [e["code"] for e in payload["userErrors"]] == ["INVALID_REASON"]


async def test_a_location_s_code_names_it_wherever_its_id_would(client: httpx.AsyncClient) -> None:
    """Store associates and storefronts know `DC-DFW` and `ST-CHI`, not generated ids."""
    ids = await location_ids(client)
    order = await place(client)

    by_id = await execute(client, operation("WorkQueue"), {"locationId": ids["DC-DFW"]}, token=DALLAS)
    by_code = await execute(client, operation("WorkQueue"), {"locationId": "dc-dfw"}, token=DALLAS)
    assert by_code == by_id
    assert [e["node"]["order"]["number"] for e in by_code["data"]["fulfillmentOrders"]["edges"]] == [
        order["number"]
    ]

    pickup = await place(client, deliveryMethod="PICKUP", shippingAddress=None, pickupLocationId="ST-CHI")
    assert [(fo["deliveryMethod"], fo["location"]["id"]) for fo in pickup["fulfillmentOrders"]] == [
        ("PICKUP", ids["ST-CHI"])
    ]
    board = await execute(
        client,
        "query($f: OrderFilter) { orders(first: 5, filter: $f) { edges { node { id } } } }",
        {"f": {"locationId": "ST-CHI"}},
        token=AGENT,
    )
    assert [e["node"]["id"] for e in board["data"]["orders"]["edges"]] == [pickup["id"]]


async def test_an_unknown_location_is_named_in_the_error(client: httpx.AsyncClient) -> None:
    queue = await execute(client, operation("WorkQueue"), {"locationId": "DC-NOPE"}, token=DALLAS)
    assert error_codes(queue) == ["NOT_FOUND"]
    assert "'DC-NOPE'" in queue["errors"][0]["message"]

    body = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(deliveryMethod="PICKUP", shippingAddress=None, pickupLocationId="ST-NOPE")},
        token=AGENT,
    )
    [problem] = body["data"]["placeOrder"]["userErrors"]
    assert problem["code"] == "INVALID_PICKUP_LOCATION"
    assert "'ST-NOPE'" in problem["message"]
