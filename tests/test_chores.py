"""The chores a gateway does every so often (the storefront's backfill and catalogue, the ERP's
stock of backordered SKUs) are done by one replica for all, through the broker: on real Redis,
the replica that leads does them, the others do not, and one that stops hands them over at once."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ordergate.broker.redis import RedisBroker
from ordergate.usecases import backorders, storefront
from ordergate.usecases.services import Services
from ordergate.workers import loops
from tests.services import REDIS_URL, require_redis
from tests.waiting import until

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

ROUND = 1.0  # seconds: the leader renews its hold (two rounds) every round
SHORT = ROUND / 2  # a round where many rounds must pass


@pytest.fixture
async def on_redis(services: Services) -> AsyncIterator[Services]:
    """The services, their broker a Redis one of a channel of the test's own."""
    require_redis()
    broker, services.broker = (
        services.broker,
        RedisBroker(REDIS_URL, channel=f"ordergate-test:{uuid.uuid4()}"),
    )
    try:
        yield services
    finally:
        await services.broker.stop()
        services.broker = broker


def recorded(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[str]:
    """The names of the loop tasks that call `module.name` (which still runs), in order."""
    calls: list[str] = []
    real = getattr(module, name)

    async def recording(*args: Any, **kwargs: Any) -> Any:
        task = asyncio.current_task()
        calls.append(task.get_name() if task is not None else "")
        return await real(*args, **kwargs)

    monkeypatch.setattr(module, name, recording)
    return calls


async def stopped(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.mark.redis
async def test_one_replica_syncs_the_storefront_for_all_and_another_takes_over_as_it_stops(
    on_redis: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = recorded(monkeypatch, storefront, "sync_orders")
    first = asyncio.create_task(loops.sync_storefront_forever(on_redis, ROUND), name="first")
    second: asyncio.Task[None] | None = None
    try:
        await until(lambda: calls == ["first"], "the first replica syncs")
        second = asyncio.create_task(loops.sync_storefront_forever(on_redis, ROUND), name="second")
        # two more rounds of the first (it renews its hold each round), two or more of the second
        await until(lambda: len(calls) >= 3, "the first replica syncs twice more")
        assert set(calls) == {"first"}

        await stopped(first)
        already = len(calls)
        # a bound on the wait, not on the takeover: under the whole suite's load 5 s ran out once
        await until(lambda: calls[already:] == ["second"], "the second replica takes over", seconds=15)
    finally:
        await stopped(first)
        if second is not None:
            await stopped(second)
    assert await on_redis.broker.lead(loops.SYNC_ROLE, "a third replica", 60) is True  # given up


@pytest.mark.redis
async def test_backorders_are_allocated_by_the_replica_that_leads_that_chore(
    on_redis: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = recorded(monkeypatch, backorders, "refresh_and_allocate")
    assert await on_redis.broker.lead(loops.BACKORDER_ROLE, "another replica", 60) is True
    loop = asyncio.create_task(loops.allocate_backorders_forever(on_redis, ROUND), name="ours")
    try:
        await asyncio.sleep(1.5 * ROUND)
        assert calls == []  # the other replica does it

        await on_redis.broker.step_down(loops.BACKORDER_ROLE, "another replica")
        await until(lambda: calls == ["ours"], "ours takes it over")
        assert await on_redis.broker.lead(loops.BACKORDER_ROLE, "another replica", 60) is False
    finally:
        await stopped(loop)


@pytest.mark.redis
async def test_a_chore_that_outlasts_its_hold_is_not_taken_up_by_another_replica_midway(
    on_redis: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The leader's backfill runs for four rounds, twice its hold: it keeps the role while it
    runs, so the other replica, trying every round, does not start the same work beside it."""
    calls: list[str] = []
    done = asyncio.Event()

    async def a_long_backfill(_: Services) -> None:
        task = asyncio.current_task()
        calls.append(task.get_name() if task is not None else "")
        if len(calls) == 1:
            await done.wait()

    monkeypatch.setattr(loops, "sync_storefront", a_long_backfill)
    first = asyncio.create_task(loops.sync_storefront_forever(on_redis, SHORT), name="first")
    second: asyncio.Task[None] | None = None
    try:
        await until(lambda: calls == ["first"], "the first replica starts its backfill")
        second = asyncio.create_task(loops.sync_storefront_forever(on_redis, SHORT), name="second")
        await asyncio.sleep(4 * SHORT)
        assert calls == ["first"]  # still the first one's backfill, alone

        done.set()
        await until(lambda: len(calls) >= 2, "the first replica's next round")
        assert set(calls) == {"first"}
    finally:
        done.set()
        await stopped(first)
        if second is not None:
            await stopped(second)


async def test_a_chore_loop_stopped_as_its_step_ends_stops(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gateway stops its loops by cancelling them; one cancelled just as its step ended, while
    it let go of the role's renewal, must stop too. It swallowed the cancellation and slept on
    to its next round, and the gateway's shutdown (every test's teardown) waited for it forever."""
    loop: list[asyncio.Task[None]] = []

    async def stopped_as_it_ends(_: Services) -> None:
        asyncio.get_running_loop().call_soon(loop[0].cancel)  # lands as the role is let go

    monkeypatch.setattr(loops, "sync_storefront", stopped_as_it_ends)
    loop.append(asyncio.create_task(loops.sync_storefront_forever(services, ROUND)))

    done, _ = await asyncio.wait(loop, timeout=3 * ROUND)
    if not done:
        await stopped(loop[0])
    assert done
    assert loop[0].cancelled()
