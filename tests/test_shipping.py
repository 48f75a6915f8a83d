"""Shipping a packed fulfilment order through the contract's Ship operation."""

from __future__ import annotations

from typing import Any

import httpx

from ordergate.bootstrap import Sandboxes
from ordergate.connectors.carriers.shipengine import ShipEngineCarrier
from ordergate.connectors.http import UpstreamPolicy
from ordergate.usecases.services import Services
from tests.builders import a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute

AGENT = a_token("agent")
DALLAS = a_token("associate", locations=("DC-DFW",))


async def packed(client: httpx.AsyncClient) -> tuple[dict[str, Any], str]:
    body = await execute(client, operation("PlaceOrder"), {"input": an_order_input()}, token=AGENT)
    order = body["data"]["placeOrder"]["order"]
    fo_id = order["fulfillmentOrders"][0]["id"]
    for name in ("Accept", "StartPicking", "Pack"):
        await execute(client, operation(name), {"id": fo_id}, token=DALLAS)
    return order, fo_id


async def ship(client: httpx.AsyncClient, fo_id: str, **extra: Any) -> dict[str, Any]:
    body = await execute(
        client, operation("Ship"), {"input": {"fulfillmentOrderId": fo_id, **extra}}, token=DALLAS
    )
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["shipFulfillmentOrder"]
    return payload


async def test_a_packed_order_ships_with_one_label_and_is_fulfilled_but_not_yet_complete(
    client: httpx.AsyncClient, sandboxes: Sandboxes
) -> None:
    order, fo_id = await packed(client)

    shipped = await ship(client, fo_id)

    assert shipped["userErrors"] == []
    assert shipped["fulfillmentOrder"]["status"] == "SHIPPED"
    shipment = shipped["shipment"]
    assert (shipment["carrier"], shipment["status"]) == ("shipengine", "LABEL_CREATED")
    assert shipment["trackingNumber"]
    assert shipment["labelUrl"].startswith("http")
    assert sandboxes.shipengine is not None
    assert sandboxes.shipengine.purchases == 1
    tracked = await execute(client, operation("OrderTracking"), {"id": order["id"]}, token=AGENT)
    # Every unit left (FULFILLED); the order completes when the parcel is delivered.
    assert tracked["data"]["order"]["status"] == "IN_PROGRESS"
    assert tracked["data"]["order"]["fulfillmentStatus"] == "FULFILLED"
    assert [s["trackingNumber"] for s in tracked["data"]["order"]["shipments"]] == [
        shipment["trackingNumber"]
    ]
    # The customer's link: the page of the carrier ShipEngine bought the label from, for the number.
    [bought] = [
        x for x in sandboxes.shipengine.labels.values() if x.tracking_number == shipment["trackingNumber"]
    ]
    assert bought.carrier.carrier_code == "stamps_com"  # the cheapest service here: USPS
    assert [s["trackingUrl"] for s in tracked["data"]["order"]["shipments"]] == [
        f"https://tools.usps.com/go/TrackConfirmAction?tLabels={shipment['trackingNumber']}"
    ]


async def test_shipping_again_returns_the_same_shipment_and_buys_nothing(
    client: httpx.AsyncClient, sandboxes: Sandboxes
) -> None:
    _, fo_id = await packed(client)
    first = await ship(client, fo_id)

    again = await ship(client, fo_id, idempotencyKey="retry")

    assert again["shipment"]["id"] == first["shipment"]["id"]
    assert sandboxes.shipengine is not None
    assert sandboxes.shipengine.purchases == 1


async def test_ups_is_the_other_carrier(client: httpx.AsyncClient, sandboxes: Sandboxes) -> None:
    order, fo_id = await packed(client)

    shipped = await ship(client, fo_id, carrier="ups")

    assert shipped["shipment"]["carrier"] == "ups"
    assert shipped["shipment"]["trackingNumber"].startswith("1Z")
    [tracked] = (await execute(client, operation("OrderTracking"), {"id": order["id"]}, token=AGENT))["data"][
        "order"
    ]["shipments"]
    assert tracked["trackingUrl"] == f"https://www.ups.com/track?tracknum={tracked['trackingNumber']}"
    assert sandboxes.ups is not None
    assert sandboxes.ups.labels_purchased == 1


async def test_work_not_yet_packed_cannot_ship(client: httpx.AsyncClient, sandboxes: Sandboxes) -> None:
    body = await execute(client, operation("PlaceOrder"), {"input": an_order_input()}, token=AGENT)
    fo_id = body["data"]["placeOrder"]["order"]["fulfillmentOrders"][0]["id"]

    shipped = await ship(client, fo_id)

    assert [e["code"] for e in shipped["userErrors"]] == ["INVALID_TRANSITION"]
    assert sandboxes.shipengine is not None
    assert sandboxes.shipengine.purchases == 0


async def test_an_unknown_carrier_or_service_is_a_clear_error(client: httpx.AsyncClient) -> None:
    _, fo_id = await packed(client)

    unknown_carrier = await ship(client, fo_id, carrier="pigeon")
    unknown_service = await ship(client, fo_id, service="teleport")

    assert [e["code"] for e in unknown_carrier["userErrors"]] == ["UNKNOWN_CARRIER"]
    assert [e["code"] for e in unknown_service["userErrors"]] == ["UNKNOWN_SERVICE"]


async def test_a_carrier_that_is_down_leaves_the_work_packed(
    client: httpx.AsyncClient, services: Services
) -> None:
    order, fo_id = await packed(client)
    working = services.carriers["shipengine"]
    down = ShipEngineCarrier.create(
        "http://shipengine.down",
        "key",
        transport=httpx.MockTransport(lambda _: httpx.Response(503)),
        policy=UpstreamPolicy(name="shipengine-down", base_url="http://shipengine.down", attempts=1),
    )
    services.carriers["shipengine"] = down
    try:
        shipped = await ship(client, fo_id)
    finally:
        services.carriers["shipengine"] = working
        await down.aclose()

    assert [e["code"] for e in shipped["userErrors"]] == ["UPSTREAM_UNAVAILABLE"]
    body = await execute(
        client,
        "query($id: ID!) { order(id: $id) { fulfillmentOrders { status } } }",
        {"id": order["id"]},
        token=AGENT,
    )
    assert body["data"]["order"]["fulfillmentOrders"] == [{"status": "PACKED"}]
