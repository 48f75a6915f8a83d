"""The process's event hub: one read of the log for every subscriber, bounded queues, and a
slow subscriber told to resume instead of holding anyone up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from ordergate.models.errors import ResumeRequired
from ordergate.models.events import OrderEvent
from ordergate.models.identity import Principal, Role
from ordergate.models.pagination import encode_cursor
from ordergate.usecases import events
from ordergate.usecases.services import Services
from ordergate.workers.hub import EventHub
from tests.builders import a_token
from tests.graphql_client import execute
from tests.server import HOLD, RELEASE
from tests.test_fulfillment import place

AGENT = a_token("agent")
ADMIN = Principal("admin-test", Role.ADMIN)
WAIT = 5.0


class Toggler:
    """Holds and releases one order in turn: one event each."""

    def __init__(self, client: httpx.AsyncClient, order_id: str) -> None:
        self.client, self.order_id, self.held = client, order_id, False

    async def __call__(self, times: int = 1) -> None:
        for _ in range(times):
            if self.held:
                body = await execute(self.client, RELEASE, {"input": {"orderId": self.order_id}}, token=AGENT)
            else:
                variables = {"input": {"orderId": self.order_id, "reason": "OTHER"}}
                body = await execute(self.client, HOLD, variables, token=AGENT)
            assert "errors" not in body, body
            self.held = not self.held


async def take(stream: AsyncIterator[OrderEvent], count: int) -> list[OrderEvent]:
    return [await asyncio.wait_for(anext(stream), WAIT) for _ in range(count)]


@contextmanager
def counting_reads(services: Services) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engine = services.store.read_engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_a_slow_subscriber_is_told_to_resume_and_nobody_else_waits(
    client: httpx.AsyncClient, services: Services
) -> None:
    assert isinstance(services.hub, EventHub)
    services.hub.capacity = 3
    order = await place(client)
    toggle = Toggler(client, order["id"])
    slow = events.follow(services, ADMIN, order["id"], None)
    fast = events.follow(services, ADMIN, order["id"], None)
    first_slow = asyncio.ensure_future(anext(slow))
    first_fast = asyncio.ensure_future(anext(fast))
    await asyncio.sleep(0.1)  # both subscribed
    await toggle()
    first = await asyncio.wait_for(first_slow, WAIT)
    assert (await asyncio.wait_for(first_fast, WAIT)).cursor == first.cursor

    fast_saw: list[OrderEvent] = []
    for _ in range(8):  # the slow one stops reading; the fast one keeps up
        await toggle()
        fast_saw += await take(fast, 1)
    queued = await take(slow, 3)  # what fitted in its queue is still delivered, in order
    with pytest.raises(ResumeRequired) as behind:
        await asyncio.wait_for(anext(slow), WAIT)

    assert [e.seq for e in fast_saw] == list(range(first.seq + 1, first.seq + 9))
    assert [e.cursor for e in queued] == [e.cursor for e in fast_saw[:3]]
    resume_after = behind.value.extensions["resumeAfter"]
    assert resume_after == events.event_cursor(queued[-1])
    resumed = events.follow(services, ADMIN, order["id"], str(resume_after))
    rest = await take(resumed, 5)
    assert [e.seq for e in rest] == [e.seq for e in fast_saw[3:]]  # exactly what it missed
    for stream in (fast, resumed):
        await stream.aclose()  # type: ignore[attr-defined]


@pytest.mark.no_relay  # the dispatchers (webhooks, email) read the log too, whenever a commit wakes them
async def test_the_hub_reads_the_log_once_however_many_follow(
    client: httpx.AsyncClient, services: Services
) -> None:
    reads: dict[int, int] = {}
    for subscribers in (1, 200):
        toggle = Toggler(client, (await place(client))["id"])
        async with services.store.read() as uow:
            head = encode_cursor(await uow.events.head())
        streams = [events.follow(services, ADMIN, None, head) for _ in range(subscribers)]
        await toggle()  # each stream gets this one by replay or from the hub, then is live
        firsts = await asyncio.wait_for(asyncio.gather(*(anext(s) for s in streams)), 60)
        with counting_reads(services) as statements:
            await toggle()
            seconds = await asyncio.wait_for(asyncio.gather(*(anext(s) for s in streams)), 30)
        assert len({e.cursor for e in firsts}) == len({e.cursor for e in seconds}) == 1
        reads[subscribers] = len([s for s in statements if "order_events" in s])
        for stream in streams:
            await stream.aclose()  # type: ignore[attr-defined]
    assert reads[200] == reads[1]
    assert reads[1] > 0


async def test_a_customer_s_firehose_of_their_order_skips_other_people_s_events(
    client: httpx.AsyncClient, services: Services
) -> None:
    mine = await place(client)
    theirs = await place(client, customer={"email": "bob@example.com"})
    ann = Principal("ann", Role.CUSTOMER, email="ann@example.com")
    stream = events.follow(services, ann, mine["id"], None)
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.1)

    await Toggler(client, theirs["id"])()
    await Toggler(client, mine["id"])()
    got = await asyncio.wait_for(waiting, WAIT)

    assert (got.order_id, got.type) == (mine["id"], "ORDER_HELD")
    await stream.aclose()  # type: ignore[attr-defined]
