"""A return's parcel as the carrier tracks it: its label's webhooks reach the return (the label's
tracking and when the carrier first had the parcel), the customer is told when it is on its way
back and when it reached us, and a return that expired before its parcel was picked up is
awaited again once the carrier has it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from ordergate.bootstrap import Sandboxes
from ordergate.models.events import customer_message
from ordergate.models.outbox import RETURN_EXPIRY, RETURN_LABEL_VOID
from ordergate.usecases import returns
from ordergate.usecases.services import Services
from tests.graphql_client import execute
from tests.test_return_expiry import DAYS, later, page_text
from tests.test_return_labels import (
    AGENT,
    ANN,
    asked,
    label_bought,
    label_tasks,
    received,
    relay,
    return_label,
    shipengine,
)
from tests.test_tracking import delivered, recorded

pytestmark = pytest.mark.no_relay

TRACKED = """query($id: ID!) { order(id: $id) { statusPageUrl
  returns { id status label { status tracking pickedUpAt sendBy } }
  timeline { type message } } }"""


async def tracked(client: httpx.AsyncClient, order_id: str, token: str = AGENT) -> dict[str, Any]:
    body = await execute(client, TRACKED, {"id": order_id}, token=token)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["order"]
    return found


async def expired(services: Services, return_id: str) -> object:
    """The return's expiry, run now (the gateway's clock past its label's time): the void it
    promises is not run. What the expiry said."""
    [expiry] = await label_tasks(services, return_id, RETURN_EXPIRY)
    return await returns.expire_return(services, expiry)


def told(order: dict[str, Any]) -> list[str]:
    return [event["type"] for event in order["timeline"] if event["type"].startswith("RETURN_")]


async def test_the_customer_is_told_their_return_is_on_its_way_and_then_that_it_reached_us(
    client: httpx.AsyncClient, app: Starlette, services: Services, sandboxes: Sandboxes
) -> None:
    order, return_id, lines = await label_bought(client, services)
    carrier = shipengine(sandboxes)
    recording = recorded(app, carrier)
    waiting = await tracked(client, order["id"], token=ANN)

    page_waiting = await page_text(client, waiting["statusPageUrl"])
    await carrier.advance(carrier.clock() + carrier.step_seconds)  # the carrier has the parcel
    on_its_way = await tracked(client, order["id"], token=ANN)
    page_on_its_way = await page_text(client, waiting["statusPageUrl"])
    await delivered(carrier)
    arrived = await tracked(client, order["id"], token=ANN)
    page_arrived = await page_text(client, waiting["statusPageUrl"])
    repeats = [
        await client.post(path, content=body, headers=headers) for path, body, headers in recording.sent
    ]
    receipt = await received(client, return_id, lines)

    label = return_label(sandboxes)
    first_scan = min(datetime.fromisoformat(event["occurred_at"]) for event in label.events)
    assert waiting["returns"][0]["label"]["tracking"] is None
    assert waiting["returns"][0]["label"]["sendBy"] is not None
    assert on_its_way["returns"][0]["status"] == "APPROVED"
    assert on_its_way["returns"][0]["label"]["tracking"] == "ACCEPTED"
    assert datetime.fromisoformat(on_its_way["returns"][0]["label"]["pickedUpAt"]) == first_scan
    assert on_its_way["returns"][0]["label"]["sendBy"] is None  # nothing more to send
    assert told(on_its_way)[-1] == "RETURN_IN_TRANSIT"
    [transit] = [e for e in on_its_way["timeline"] if e["type"] == "RETURN_IN_TRANSIT"]
    assert transit["message"] == customer_message("RETURN_IN_TRANSIT")
    assert arrived["returns"][0]["label"]["tracking"] == "DELIVERED"
    assert told(arrived).count("RETURN_IN_TRANSIT") == told(arrived).count("RETURN_DELIVERED") == 1
    assert told(arrived)[-1] == "RETURN_DELIVERED"
    assert [(r.status_code, r.json()["changed"]) for r in repeats] == [(200, 0)] * len(repeats)
    assert told(await tracked(client, order["id"]))[-3:] == [
        "RETURN_DELIVERED",
        "RETURN_RECEIVED",
        "RETURN_CLOSED",
    ]
    assert receipt["orderReturn"]["status"] == "CLOSED"
    assert "Print the return label" in page_waiting
    assert "On its way back to us: the carrier has had it since " in page_on_its_way
    assert "Print the return label" not in page_on_its_way
    assert "It has reached us: we will check the items." in page_arrived


async def test_a_return_that_expired_before_its_parcel_was_picked_up_is_awaited_again_once_it_is(
    client: httpx.AsyncClient, app: Starlette, services: Services, sandboxes: Sandboxes
) -> None:
    order, return_id, lines = await label_bought(client, services)
    carrier = shipengine(sandboxes)
    recorded(app, carrier)
    with later(services, DAYS + timedelta(hours=1)):
        said = await expired(services, return_id)
        before = await tracked(client, order["id"])

        await carrier.advance(carrier.clock() + carrier.step_seconds)  # the customer posts it, late
        again = await tracked(client, order["id"], token=ANN)
        await relay(services)  # the void promised at the expiry
        receipt = await received(client, return_id, lines)

    assert isinstance(said, str)
    assert said.startswith("expired: not picked up by")
    assert before["returns"][0]["status"] == "EXPIRED"
    assert again["returns"][0]["status"] == "APPROVED"
    assert again["returns"][0]["label"]["tracking"] == "ACCEPTED"
    assert told(again)[-2:] == ["RETURN_EXPIRED", "RETURN_IN_TRANSIT"]
    async with services.store.read() as uow:
        events = (await uow.events.by_order_ids([order["id"]]))[order["id"]]
    [transit] = [event for event in events if event.type == "RETURN_IN_TRANSIT"]
    assert (transit.actor, transit.data["return_id"], transit.data["reopened"]) == (
        "carrier",
        return_id,
        True,
    )
    [void] = await label_tasks(services, return_id, RETURN_LABEL_VOID)
    assert (void.result or "").startswith("nothing to void")
    assert return_label(sandboxes).voided_at is None
    assert receipt["orderReturn"]["status"] == "CLOSED"  # received: nothing was paid, closed at once


async def test_a_late_parcel_whose_units_were_asked_for_again_leaves_its_expired_return_as_it_is(
    client: httpx.AsyncClient, app: Starlette, services: Services, sandboxes: Sandboxes
) -> None:
    order, return_id, _ = await label_bought(client, services)
    carrier = shipengine(sandboxes)
    recorded(app, carrier)
    with later(services, DAYS + timedelta(hours=1)):
        await expired(services, return_id)
        second = await asked(client, order)  # Ann asks for the mug again

        await carrier.advance(carrier.clock() + carrier.step_seconds)  # and posts the first parcel
        after = await tracked(client, order["id"])

    statuses = {r["id"]: r["status"] for r in after["returns"]}
    assert statuses == {return_id: "EXPIRED", second: "REQUESTED"}
    [first] = [r for r in after["returns"] if r["id"] == return_id]
    assert first["label"]["tracking"] == "ACCEPTED"  # kept all the same
    assert "RETURN_IN_TRANSIT" not in told(after)
