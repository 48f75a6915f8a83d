"""An approved return whose parcel the carrier has not picked up in its label's time expires: the
return is EXPIRED, its label voided for its refund, the customer told (timeline, email, page),
and the units may be asked for again. A parcel the carrier has is still awaited."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from ordergate.bootstrap import Sandboxes
from ordergate.models.events import customer_message
from ordergate.models.outbox import RETURN_EXPIRY, RETURN_LABEL_VOID
from ordergate.usecases.services import Services
from tests.graphql_client import execute
from tests.test_emails import email_tasks, inbox, send_due
from tests.test_fulfillment import DALLAS, location_ids
from tests.test_return_labels import (
    AGENT,
    ANN,
    RECEIVE,
    asked,
    label_bought,
    label_tasks,
    mutate,
    order_of,
    received,
    relay,
    return_label,
    returns_events,
    shipengine,
)
from tests.test_status_page import text_of

pytestmark = pytest.mark.no_relay

DAYS = timedelta(days=14)  # the default label time (ORDERGATE_RETURN_LABEL_DAYS)
SEND_BY = (
    "query($id: ID!) { order(id: $id) { statusPageUrl lines { quantityReturned }"
    " returns { id status label { status sendBy createdAt } } } }"
)


@contextmanager
def later(services: Services, by: timedelta) -> Iterator[datetime]:
    """The gateway's clock `by` ahead for the block (the carrier's own clock does not move)."""
    real = services.clock
    services.clock = lambda: real() + by
    try:
        yield services.clock()
    finally:
        services.clock = real


async def label_of(client: httpx.AsyncClient, order_id: str, token: str = AGENT) -> dict[str, Any]:
    body = await execute(client, SEND_BY, {"id": order_id}, token=token)
    found: dict[str, Any] = body["data"]["order"]
    return found


async def page_text(client: httpx.AsyncClient, url: str) -> str:
    parts = urlsplit(url)
    answer = await client.get(f"{parts.path}?{parts.query}")
    assert answer.status_code == 200
    return text_of(answer.text)


async def test_a_return_not_sent_in_the_label_s_time_expires_and_its_label_is_voided(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order, return_id, _lines = await label_bought(client, services)
    bought = (await label_of(client, order["id"], token=ANN))["returns"][0]["label"]
    [expiry] = await label_tasks(services, return_id, RETURN_EXPIRY)

    with later(services, DAYS - timedelta(minutes=1)):
        await relay(services)  # not due: nothing happens
    waiting = await order_of(client, order["id"])
    with later(services, DAYS + timedelta(minutes=1)):
        await relay(services)  # the expiry
        expired = await order_of(client, order["id"])
        await relay(services)  # the void it promised
    after = await order_of(client, order["id"])
    seen_by_ann = await order_of(client, order["id"], token=ANN)

    label = return_label(sandboxes)
    created_at = datetime.fromisoformat(bought["createdAt"])
    assert bought["status"] == "PURCHASED"
    assert bought["sendBy"] == (created_at + DAYS - timedelta(days=1)).date().isoformat()
    assert created_at + DAYS < expiry.available_at <= created_at + DAYS + timedelta(seconds=1)
    assert waiting["returns"][0]["status"] == "APPROVED"
    assert expired["returns"][0]["status"] == "EXPIRED"
    assert expired["returns"][0]["label"]["status"] == "PURCHASED"  # until the carrier voids it
    assert after["returns"][0]["label"]["status"] == "VOIDED"
    assert label.voided_at is not None
    assert returns_events(after)[-2:] == ["RETURN_EXPIRED", "RETURN_LABEL_VOIDED"]
    [told] = [e for e in seen_by_ann["timeline"] if e["type"] == "RETURN_EXPIRED"]
    assert told["message"] == customer_message("RETURN_EXPIRED")
    assert (await label_of(client, order["id"], token=ANN))["returns"][0]["label"]["sendBy"] is None
    [done] = await label_tasks(services, return_id, RETURN_EXPIRY)
    assert (done.result or "").startswith("expired: not picked up by")
    [void] = await label_tasks(services, return_id, RETURN_LABEL_VOID)
    assert void.result == f"voided {label.tracking_number}"


async def test_an_expired_return_is_refused_at_the_counter_and_its_units_may_be_asked_for_again(
    client: httpx.AsyncClient, services: Services
) -> None:
    order, return_id, lines = await label_bought(client, services)
    dallas = (await location_ids(client))["DC-DFW"]
    receipt = {
        "returnId": return_id,
        "locationId": dallas,
        "lines": [{"lineId": line, "disposition": "RESTOCK"} for line in lines],
    }
    with later(services, DAYS + timedelta(hours=1)):
        await relay(services)
        refused = await mutate(client, RECEIVE, receipt, DALLAS)
        again = await asked(client, order)  # Ann, inside the 30-day window since the parcel left
    after = await label_of(client, order["id"])

    assert [(e["code"], e["message"]) for e in refused["userErrors"]] == [
        ("INVALID_TRANSITION", "a return that is EXPIRED cannot be received")
    ]
    assert refused["orderReturn"] is None
    assert [line["quantityReturned"] for line in after["lines"]] == [0]
    assert {r["id"]: r["status"] for r in after["returns"]} == {return_id: "EXPIRED", again: "REQUESTED"}


@pytest.mark.parametrize("heard", [True, False])
async def test_a_parcel_the_carrier_picked_up_is_still_awaited_after_the_label_s_time(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, heard: bool
) -> None:
    """Whether the carrier's webhook told us (the return keeps when the carrier first had the
    parcel) or was lost (the expiry asks the carrier's tracking)."""
    order, return_id, lines = await label_bought(client, services)
    carrier = shipengine(sandboxes)
    if not heard:
        carrier.webhooks.clear()
    await carrier.advance(carrier.clock() + carrier.step_seconds)  # the carrier picks the parcel up

    with later(services, DAYS + timedelta(hours=1)):
        await relay(services)
        waiting = await order_of(client, order["id"])
        receipt = await received(client, return_id, lines)  # the parcel arrives, days late

    assert waiting["returns"][0]["status"] == "APPROVED"
    assert waiting["returns"][0]["label"]["status"] == "PURCHASED"
    assert "RETURN_EXPIRED" not in returns_events(waiting)
    [kept] = await label_tasks(services, return_id, RETURN_EXPIRY)
    if heard:
        assert (kept.result or "").startswith("kept waiting: the carrier has had the parcel since ")
    else:
        assert kept.result == "kept waiting: the carrier tracks the parcel as ACCEPTED"
    assert receipt["orderReturn"]["status"] == "CLOSED"  # nothing was paid: closed at once
    assert return_label(sandboxes).voided_at is None


async def test_a_return_received_in_time_does_not_expire(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order, return_id, lines = await label_bought(client, services)
    carrier = shipengine(sandboxes)
    await carrier.advance(carrier.clock() + carrier.step_seconds)
    await received(client, return_id, lines)

    with later(services, DAYS + timedelta(hours=1)):
        await relay(services)
    after = await order_of(client, order["id"])

    assert after["returns"][0]["status"] == "CLOSED"
    assert "RETURN_EXPIRED" not in returns_events(after)
    [looked] = await label_tasks(services, return_id, RETURN_EXPIRY)
    assert looked.result == "nothing to expire: the return is CLOSED, its label PURCHASED"


async def test_a_label_time_made_longer_is_looked_at_again_when_it_runs_out(
    client: httpx.AsyncClient, services: Services
) -> None:
    order, return_id, _ = await label_bought(client, services)
    services.policy = replace(services.policy, return_label_ttl=timedelta(days=30))  # a restart with 30

    with later(services, DAYS + timedelta(hours=1)):
        await relay(services)
    waiting = await order_of(client, order["id"])
    tasks = await label_tasks(services, return_id, RETURN_EXPIRY)
    with later(services, timedelta(days=30, hours=1)):
        await relay(services)
    after = await order_of(client, order["id"])

    assert waiting["returns"][0]["status"] == "APPROVED"
    assert sorted((task.result or "")[:14] for task in tasks) == ["", "not due until "]
    assert after["returns"][0]["status"] == "EXPIRED"


async def test_with_no_label_time_returns_wait_for_good(
    client: httpx.AsyncClient, services: Services
) -> None:
    services.policy = replace(services.policy, return_label_ttl=None)  # ORDERGATE_RETURN_LABEL_DAYS=0
    order, return_id, _ = await label_bought(client, services)

    with later(services, timedelta(days=400)):
        await relay(services)
    after = await label_of(client, order["id"])

    [waiting] = after["returns"]
    assert (waiting["status"], waiting["label"]["status"], waiting["label"]["sendBy"]) == (
        "APPROVED",
        "PURCHASED",
        None,
    )
    assert await label_tasks(services, return_id, RETURN_EXPIRY) == []


async def test_the_customer_is_told_the_day_to_send_by_and_then_that_the_return_expired(
    client: httpx.AsyncClient, services: Services
) -> None:
    order, _return_id, _ = await label_bought(client, services)
    await send_due(services)
    before = await label_of(client, order["id"], token=ANN)
    page_before = await page_text(client, before["statusPageUrl"])
    with later(services, DAYS + timedelta(hours=1)):
        await relay(services)
        await send_due(services)
        page_after = await page_text(client, before["statusPageUrl"])

    send_by = datetime.fromisoformat(before["returns"][0]["label"]["sendBy"])
    day = send_by.strftime("%A %d %B %Y")
    mails = {mail["subject"]: mail for mail in await inbox(client)}
    [label_mail] = [mail for subject, mail in mails.items() if "label" in subject.lower()]
    [expired_mail] = [mail for subject, mail in mails.items() if "expired" in subject.lower()]
    assert f"by {day}: after that the label no longer works" in label_mail["text"]
    assert "ask for a new return" in expired_mail["text"]
    assert "1 x Stoneware Mug, Blue" in expired_mail["text"]
    [sent] = [r for r in await email_tasks(services, order["id"]) if r.kind == "return_expired"]
    assert sent.status == "SENT"
    assert f"Print the return label and send the parcel by {send_by:%a, %b} {send_by.day}" in page_before
    assert "Print the return label" not in page_after
    assert "Returns Expired" in page_after
