"""Parcels followed to the door: carrier sandboxes advance and tell the gateway by webhook."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from ordergate.bootstrap import Sandboxes
from ordergate.models.errors import InvalidTransition, StoreBusy
from ordergate.sandbox.shipengine import ShipEngineSandbox
from ordergate.sandbox.ups import UpsSandbox
from ordergate.usecases import tracking as tracking_usecase
from tests.builders import a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute

AGENT = a_token("agent")
DALLAS = a_token("associate", locations=("DC-DFW",))


async def shipped(client: httpx.AsyncClient, carrier: str) -> dict[str, Any]:
    body = await execute(client, operation("PlaceOrder"), {"input": an_order_input()}, token=AGENT)
    order: dict[str, Any] = body["data"]["placeOrder"]["order"]
    fo_id = order["fulfillmentOrders"][0]["id"]
    for name in ("Accept", "StartPicking", "Pack"):
        await execute(client, operation(name), {"id": fo_id}, token=DALLAS)
    await execute(
        client, operation("Ship"), {"input": {"fulfillmentOrderId": fo_id, "carrier": carrier}}, token=DALLAS
    )
    return order


async def tracking(client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    body = await execute(client, operation("OrderTracking"), {"id": order_id}, token=a_token("customer"))
    tracked: dict[str, Any] = body["data"]["order"]
    return tracked


@pytest.mark.parametrize("carrier", ["shipengine", "ups"])
async def test_a_shipped_parcel_is_followed_to_delivered(
    client: httpx.AsyncClient, sandboxes: Sandboxes, carrier: str
) -> None:
    order = await shipped(client, carrier)
    sandbox = carrier_sandbox(sandboxes, carrier)

    await delivered(sandbox)

    tracked = await tracking(client, order["id"])
    [shipment] = tracked["shipments"]
    assert shipment["status"] == "DELIVERED"
    statuses = [e["status"] for e in shipment["events"]]
    assert statuses[-1] == "DELIVERED"
    assert "IN_TRANSIT" in statuses
    assert "OUT_FOR_DELIVERY" in statuses
    ours = [e["type"] for e in tracked["timeline"] if e["type"] != "CARRIER_SCAN"]
    assert ours[-2:] == ["SHIPMENT_DELIVERED", "ORDER_COMPLETED"]
    assert ours.count("ORDER_COMPLETED") == 1
    # The carrier's scans are merged in, in time order, each naming the parcel.
    scans = [e for e in tracked["timeline"] if e["type"] == "CARRIER_SCAN"]
    assert len(scans) == len(shipment["events"])
    assert all(shipment["trackingNumber"] in e["message"] for e in scans)
    times = [e["occurredAt"] for e in tracked["timeline"]]
    assert times == sorted(times)
    assert all(e["message"] for e in tracked["timeline"])
    assert tracked["status"] == "COMPLETED"


class Recording(httpx.AsyncBaseTransport):
    """Passes deliveries on to the gateway and keeps a copy, so a test can send one again."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[str, bytes, dict[str, str]]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.sent.append((request.url.path, body, dict(request.headers)))
        return await self.inner.handle_async_request(request)


async def test_a_repeated_tracking_delivery_adds_nothing(
    client: httpx.AsyncClient, app: Starlette, sandboxes: Sandboxes
) -> None:
    order = await shipped(client, "shipengine")
    sandbox = carrier_sandbox(sandboxes, "shipengine")
    recording = recorded(app, sandbox)
    await sandbox.advance(time.time() + 31)
    before = await tracking(client, order["id"])

    for path, body, headers in recording.sent:  # the carrier says it all again
        again = await client.post(path, content=body, headers=headers)
        assert again.json()["changed"] == 0

    after = await tracking(client, order["id"])
    assert recording.sent
    assert after["shipments"][0]["events"] == before["shipments"][0]["events"]
    assert [e["type"] for e in after["timeline"]] == [e["type"] for e in before["timeline"]]


@pytest.mark.parametrize("carrier", ["shipengine", "ups"])
async def test_an_older_message_arriving_late_moves_no_delivered_parcel_back(
    client: httpx.AsyncClient, app: Starlette, sandboxes: Sandboxes, carrier: str
) -> None:
    """Carriers retry and deliver out of order: the first scan's message, sent again after the
    parcel was delivered, adds nothing and changes no status."""
    order = await shipped(client, carrier)
    sandbox = carrier_sandbox(sandboxes, carrier)
    recording = recorded(app, sandbox)
    await delivered(sandbox)
    before = await tracking(client, order["id"])
    assert (before["status"], before["shipments"][0]["status"]) == ("COMPLETED", "DELIVERED")

    path, body, headers = recording.sent[0]  # the parcel accepted, said again
    again = await client.post(path, content=body, headers=headers)

    assert (again.status_code, again.json()["changed"]) == (200, 0)
    after = await tracking(client, order["id"])
    assert (after["status"], after["shipments"][0]["status"]) == ("COMPLETED", "DELIVERED")
    assert after["timeline"] == before["timeline"]


@pytest.mark.parametrize(
    ("failure", "code"),
    [(StoreBusy("every connection is in use"), "STORE_BUSY"), (InvalidTransition("a bug"), "NOT_TAKEN")],
)
async def test_a_delivery_the_gateway_cannot_take_is_a_503_and_its_retry_is_taken(
    client: httpx.AsyncClient,
    app: Starlette,
    sandboxes: Sandboxes,
    monkeypatch: pytest.MonkeyPatch,
    failure: Exception,
    code: str,
) -> None:
    order = await shipped(client, "shipengine")
    sandbox = carrier_sandbox(sandboxes, "shipengine")
    recording = recorded(app, sandbox)
    taking = tracking_usecase.apply_updates

    async def failing(*args: Any, **kwargs: Any) -> int:
        raise failure

    monkeypatch.setattr(tracking_usecase, "apply_updates", failing)
    await sandbox.advance(time.time() + 31)
    [(path, body, headers)] = recording.sent

    refused = await client.post(path, content=body, headers=headers)
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == code
    assert "Traceback" not in refused.text
    assert (await tracking(client, order["id"]))["shipments"][0]["status"] == "LABEL_CREATED"

    monkeypatch.setattr(tracking_usecase, "apply_updates", taking)
    retried = await client.post(path, content=body, headers=headers)
    assert (retried.status_code, retried.json()["changed"]) == (200, 1)
    assert (await tracking(client, order["id"]))["shipments"][0]["status"] == "ACCEPTED"


@pytest.mark.parametrize(
    ("path", "header"),
    [("/webhooks/shipengine", "x-ordergate-webhook-secret"), ("/webhooks/ups", "credential")],
)
async def test_a_tracking_webhook_without_our_secret_is_refused(
    client: httpx.AsyncClient, path: str, header: str
) -> None:
    response = await client.post(
        path, content=b"{}", headers={header: "not-ours", "content-type": "application/json"}
    )

    assert response.status_code == 401


def carrier_sandbox(sandboxes: Sandboxes, carrier: str) -> ShipEngineSandbox | UpsSandbox:
    sandbox = sandboxes.shipengine if carrier == "shipengine" else sandboxes.ups
    assert sandbox is not None
    return sandbox


def recorded(app: Starlette, sandbox: ShipEngineSandbox | UpsSandbox) -> Recording:
    """The sandbox's webhooks from now on go to `app` through a `Recording`, kept to send again."""
    recording = Recording(httpx.ASGITransport(app=app))
    sandbox.webhook_client = httpx.AsyncClient(transport=recording, base_url="http://ordergate.test")
    return recording


async def delivered(sandbox: ShipEngineSandbox | UpsSandbox) -> None:
    """Every scan to the door: five steps of the sandbox's clock."""
    for step in range(1, 6):
        await sandbox.advance(time.time() + step * 31)


HOLD = """mutation($id: ID!) {
  holdOrder(input: {orderId: $id, reason: OTHER, note: "the customer called"}) {
    order { status } userErrors { code message }
  }
}"""
RELEASE = """mutation($id: ID!) {
  releaseOrderHold(input: {orderId: $id}) { order { status } userErrors { code message } }
}"""


@pytest.mark.parametrize("carrier", ["shipengine", "ups"])
async def test_a_parcel_delivered_while_its_order_is_held_is_taken_and_the_release_completes_it(
    client: httpx.AsyncClient, app: Starlette, sandboxes: Sandboxes, carrier: str
) -> None:
    """Every unit left, then an agent held the order: the carrier's delivery is taken (the
    parcel DELIVERED, the order still ON_HOLD: the hold stands), and the release completes it.
    Found by the seeded walk: the delivery answered 500 and was lost."""
    order = await shipped(client, carrier)
    held = await execute(client, HOLD, {"id": order["id"]}, token=AGENT)
    assert held["data"]["holdOrder"] == {"order": {"status": "ON_HOLD"}, "userErrors": []}
    sandbox = carrier_sandbox(sandboxes, carrier)
    recording = recorded(app, sandbox)

    await delivered(sandbox)

    assert recording.sent
    for path, body, headers in recording.sent:  # each was taken: a repeat changes nothing
        again = await client.post(path, content=body, headers=headers)
        assert (again.status_code, again.json()["changed"]) == (200, 0)
    tracked = await tracking(client, order["id"])
    assert tracked["shipments"][0]["status"] == "DELIVERED"
    assert tracked["status"] == "ON_HOLD"
    assert "ORDER_COMPLETED" not in [e["type"] for e in tracked["timeline"]]

    released = await execute(client, RELEASE, {"id": order["id"]}, token=AGENT)

    assert released["data"]["releaseOrderHold"] == {"order": {"status": "COMPLETED"}, "userErrors": []}
    ours = [
        e["type"] for e in (await tracking(client, order["id"]))["timeline"] if e["type"] != "CARRIER_SCAN"
    ]
    assert ours[-3:] == ["SHIPMENT_DELIVERED", "ORDER_RELEASED", "ORDER_COMPLETED"]
