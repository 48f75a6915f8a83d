"""The relay runs one lane per upstream: an ERP that does not answer (or answers 429 for a
minute) holds up its own lane and nothing else; a payment capture goes through meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ordergate.bootstrap import Sandboxes
from ordergate.models.outbox import (
    EMAIL_MESSAGE,
    ERP_SALES_ORDER,
    PAYMENT_CAPTURE,
    PAYMENT_REFUND,
    RETURN_LABEL,
    STOREFRONT_STATUS,
    WEBHOOK_DELIVERY,
    OutboxTask,
    lane_of,
)
from ordergate.sandbox.katana import KatanaSandbox
from ordergate.settings import Settings
from ordergate.usecases.services import Services
from ordergate.workers.handlers import outbox_handlers
from ordergate.workers.relay import lanes, relay_forever, relay_lane
from tests.flows import send_back
from tests.graphql_client import execute
from tests.server import DEADLINE
from tests.test_fulfillment import DALLAS, location_ids
from tests.test_payments_flow import AGENT, detail, place, ship
from tests.test_webhooks_out import Receiver, listening, register

STATUS = "query($id: ID!) { order(id: $id) { paymentStatus payments { kind status } } }"


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = DEADLINE) -> bool:
    """Whether `check` comes true within `seconds` (polled); a bound on waiting, not a timing."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + seconds
    while loop.time() < give_up:
        if await check():
            return True
        await asyncio.sleep(0.1)
    return await check()


def katana(sandboxes: Sandboxes) -> KatanaSandbox:
    assert sandboxes.katana is not None
    return sandboxes.katana


def test_each_upstream_has_its_lane_and_payments_share_none_with_the_erp() -> None:
    assert {lane_of(k) for k in (PAYMENT_CAPTURE, PAYMENT_REFUND)} == {"payments"}
    assert (
        len(
            {
                lane_of(k)
                for k in (ERP_SALES_ORDER, PAYMENT_CAPTURE, RETURN_LABEL, STOREFRONT_STATUS, WEBHOOK_DELIVERY)
            }
        )
        == 5
    )


async def test_the_handlers_split_into_lanes_by_upstream(services: Services) -> None:
    split = lanes(outbox_handlers(services))

    assert set(split) == {"erp", "storefront", "payments", "carriers", "webhooks", "email"}
    assert set(split["email"]) == {EMAIL_MESSAGE}
    assert set(split["payments"]) == {PAYMENT_CAPTURE, PAYMENT_REFUND, "payment.void"}


@pytest.mark.warmed  # the ERP went away after the gateway read its stock
async def test_an_erp_that_does_not_answer_holds_back_no_payment_capture(
    client: httpx.AsyncClient, sandboxes: Sandboxes
) -> None:
    erp = katana(sandboxes)
    erp.stall()
    try:
        order = (await place(client))["order"]  # its sales order is now the ERP lane's, stuck
        await ship(client, order)

        async def paid() -> bool:
            body: dict[str, Any] = await execute(client, STATUS, {"id": order["id"]}, token=AGENT)
            return bool(body["data"]["order"]["paymentStatus"] == "PAID")

        captured = await eventually(paid)
        erp_still_waiting, erp_sales_orders = erp.waiting, list(erp.sales_orders)
    finally:
        erp.resume()

    assert captured, "the capture waited for the ERP"
    assert erp_still_waiting >= 1  # captured while the ERP's request was still unanswered
    assert erp_sales_orders == []


@pytest.mark.warmed  # the ERP went away after the gateway read its stock
async def test_each_lane_reports_its_backlog_and_lag(client: httpx.AsyncClient, sandboxes: Sandboxes) -> None:
    erp = katana(sandboxes)
    erp.stall()
    try:
        await place(client)  # a sales order for the ERP's lane, which cannot finish it
        scraped = (await client.get("/metrics")).text
    finally:
        erp.resume()

    lanes_seen = {
        line.split('"')[1]
        for line in scraped.splitlines()
        if line.startswith("ordergate_outbox_lane_pending{")
    }
    assert {"erp", "payments", "storefront", "carriers", "webhooks"} <= lanes_seen
    assert 'ordergate_outbox_lane_pending{lane="erp"} 1.0' in scraped
    assert 'ordergate_outbox_lane_pending{lane="payments"} 0.0' in scraped


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The customer's webhook receiver below listens on 127.0.0.1."""
    return replace(settings, webhooks=replace(settings.webhooks, allow_private=True))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A customer's webhook endpoint on a real port, answering 204."""
    async with listening(Receiver(lambda: datetime.now(UTC))) as receiver:
        yield receiver


@pytest.mark.warmed  # the ERP went away after the gateway read its stock
async def test_an_erp_answering_429_for_a_minute_holds_back_no_capture_refund_or_customer_webhook(
    client: httpx.AsyncClient, sandboxes: Sandboxes, receiver: Receiver
) -> None:
    erp = katana(sandboxes)
    registered = await register(client, receiver.url(), ["FULFILLMENT_SHIPPED"])
    assert registered["userErrors"] == []
    erp.throttle(seconds=60, retry_after=15)  # its client sleeps through one of those: 15 s a try

    order = (await place(client, lines=[{"sku": "MUG-BLUE", "quantity": 2}]))["order"]
    await ship(client, order)
    line = (await detail(client, order["id"]))["lines"][0]["id"]
    received = await send_back(
        client, order["id"], line, (await location_ids(client))["DC-DFW"], receiver=DALLAS
    )
    assert received["userErrors"] == []

    async def refunded_and_told() -> bool:
        body: dict[str, Any] = await execute(client, STATUS, {"id": order["id"]}, token=AGENT)
        kinds = {(p["kind"], p["status"]) for p in body["data"]["order"]["payments"]}
        told = any(order["id"].encode() in r.body for r in receiver.accepted())
        return {("CAPTURE", "SUCCEEDED"), ("REFUND", "SUCCEEDED")} <= kinds and told

    done = await eventually(refunded_and_told)

    assert done, "a capture, a refund or a customer webhook waited for the rate-limited ERP"
    assert erp.refused >= 1  # the ERP's lane did ask, and was told to come back in a minute
    assert erp.sales_orders == []  # and is still waiting: the minute has not passed


@pytest.mark.no_relay
async def test_a_lane_stops_when_cancelled_even_if_a_handler_swallowed_the_cancellation(
    services: Services,
) -> None:
    """As aiosmtplib's `wait_for` can on Python 3.11: the cancellation arrives, the handler
    returns normally. The lane must still stop, not loop on with the cancellation pending."""
    started = asyncio.Event()

    async def swallowing(_: Services, task: OutboxTask) -> str:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            return "swallowed"
        return "slept"

    now = datetime.now(UTC)
    async with services.store.write() as uow:
        uow.outbox.add(OutboxTask(kind="test.swallow", key="1", available_at=now, created_at=now))
    lane = asyncio.create_task(relay_lane(services, "other", {"test.swallow": swallowing}))
    await asyncio.wait_for(started.wait(), DEADLINE)

    lane.cancel()
    done, _ = await asyncio.wait({lane}, timeout=DEADLINE)

    assert done == {lane}
    assert lane.cancelled()


@pytest.mark.no_relay
async def test_work_an_earlier_run_left_is_done_at_start_and_work_that_comes_due_when_due(
    services: Services,
) -> None:
    """No commit of this process wakes the lane: the watch finds the left work as the relay
    starts, and the task due a moment later at its next look."""
    done: list[str] = []

    async def record(_: Services, task: OutboxTask) -> str:
        done.append(task.key)
        return "ok"

    now = datetime.now(UTC)
    async with services.store.write() as uow:
        uow.outbox.add(OutboxTask(kind="test.left", key="left", available_at=now, created_at=now))
        later = now + timedelta(seconds=0.3)
        uow.outbox.add(OutboxTask(kind="test.left", key="later", available_at=later, created_at=now))
    services.wakeups.lane("other").clear()  # as in a new process: nothing woke the lane
    relay = asyncio.create_task(relay_forever(services, {"test.left": record}, idle_seconds=0.1))
    try:
        left_done = await eventually(lambda: _true(done[:1] == ["left"]))
        both_done = await eventually(lambda: _true(done == ["left", "later"]))
    finally:
        relay.cancel()
        await asyncio.wait({relay}, timeout=DEADLINE)

    assert left_done
    assert both_done


@pytest.mark.no_relay
async def test_an_idle_relay_looks_for_due_work_in_one_read_and_writes_nothing(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six lanes used to look for themselves, each in a write transaction, every few seconds."""
    opened = {"read": 0, "write": 0}
    store = services.store

    def counted(kind: str, real: Callable[[], Any]) -> Callable[[], Any]:
        def opening() -> Any:
            opened[kind] += 1
            return real()

        return opening

    monkeypatch.setattr(store, "read", counted("read", store.read))
    monkeypatch.setattr(store, "write", counted("write", store.write))
    relay = asyncio.create_task(relay_forever(services, outbox_handlers(services), idle_seconds=0.05))
    looked = await eventually(lambda: _true(opened["read"] >= 4))
    relay.cancel()
    await asyncio.wait({relay}, timeout=DEADLINE)

    assert looked
    assert opened["write"] == 0


async def _true(value: bool) -> bool:
    return value
