"""The brokers: in-process wake-ups, and wake-ups across replicas through real Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import pytest
from redis.asyncio import Redis

from ordergate.broker.memory import MemoryBroker
from ordergate.broker.redis import RedisBroker
from tests.services import REDIS_URL, require_redis

DEADLINE = 5.0  # no single wait in these tests may take longer
LONG = 30.0  # a listener timeout the tests never reach: a return before it was a wake-up
SHORT = 0.3


async def waiting(wait: Coroutine[Any, Any, bool]) -> asyncio.Task[bool]:
    """A task blocked in `wait` (it has started and not returned)."""
    task = asyncio.create_task(wait)
    await asyncio.sleep(0.05)
    assert not task.done(), "the listener returned before anything woke it"
    return task


# --- MemoryBroker --------------------------------------------------------------------------


async def test_a_waiting_listener_is_woken_by_notify() -> None:
    broker = MemoryBroker()
    async with broker.listen() as listener:
        task = await waiting(listener.wait(LONG))

        await broker.notify()

        assert await asyncio.wait_for(task, DEADLINE) is True


async def test_notify_wakes_every_listener() -> None:
    broker = MemoryBroker()
    async with broker.listen() as first, broker.listen() as second:
        tasks = [await waiting(first.wait(LONG)), await waiting(second.wait(LONG))]

        await broker.notify()

        assert await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE) == [True, True]


async def test_a_wait_without_a_wake_up_times_out_with_false() -> None:
    broker = MemoryBroker()
    async with broker.listen() as listener:
        started = time.monotonic()
        assert await asyncio.wait_for(listener.wait(SHORT), DEADLINE) is False
        assert time.monotonic() - started >= SHORT * 0.9


async def test_a_wake_up_between_reads_is_kept_for_the_next_wait_and_used_once() -> None:
    broker = MemoryBroker()
    async with broker.listen() as listener:
        await broker.notify()  # while the subscriber is reading the log, not waiting
        await broker.notify()

        started = time.monotonic()
        assert await asyncio.wait_for(listener.wait(LONG), DEADLINE) is True
        assert time.monotonic() - started < 1.0
        # Both wake-ups are answered by the one re-read that follows; the next wait blocks.
        assert await asyncio.wait_for(listener.wait(SHORT), DEADLINE) is False


async def test_listeners_are_removed_on_exit_even_after_an_error() -> None:
    broker = MemoryBroker()

    async def failing_subscriber() -> None:
        async with broker.listen():
            assert broker.listener_count == 2
            raise RuntimeError("subscriber failed")

    async with broker.listen():
        assert broker.listener_count == 1
        with pytest.raises(RuntimeError, match="subscriber failed"):
            await failing_subscriber()
        assert broker.listener_count == 1
    assert broker.listener_count == 0
    await broker.notify()  # nobody left to wake; nothing breaks


async def test_a_cancelled_subscriber_leaves_no_listener() -> None:
    broker = MemoryBroker()
    entered = asyncio.Event()

    async def subscriber() -> None:
        async with broker.listen() as listener:
            entered.set()
            await listener.wait(LONG)

    task = asyncio.create_task(subscriber())
    await asyncio.wait_for(entered.wait(), DEADLINE)
    assert broker.listener_count == 1

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, DEADLINE)
    assert broker.listener_count == 0


async def test_stop_wakes_waiting_listeners() -> None:
    broker = MemoryBroker()
    await broker.start()
    async with broker.listen() as listener:
        task = await waiting(listener.wait(LONG))

        await broker.stop()

        assert await asyncio.wait_for(task, DEADLINE) is True


# --- RedisBroker ---------------------------------------------------------------------------


@pytest.fixture
def channel() -> str:
    """A channel of this test's own: other test runs may share the Redis server."""
    return f"ordergate-test:{uuid.uuid4().hex}"


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    require_redis()
    client = Redis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        await asyncio.wait_for(client.aclose(), DEADLINE)


BrokerFactory = Callable[[str], Awaitable[RedisBroker]]


@pytest.fixture
async def started_broker() -> AsyncIterator[BrokerFactory]:
    """Starts RedisBrokers, subscribed before they are handed out; stops them all at the end."""
    require_redis()
    brokers: list[RedisBroker] = []

    async def start(channel: str) -> RedisBroker:
        broker = RedisBroker(REDIS_URL, channel=channel, reconnect_seconds=0.2)
        brokers.append(broker)
        await broker.start()
        await broker.wait_subscribed(DEADLINE)
        return broker

    try:
        yield start
    finally:
        for broker in brokers:
            await asyncio.wait_for(broker.stop(), DEADLINE)


async def subscribers(redis: Redis, channel: str) -> int:
    counts = await asyncio.wait_for(redis.pubsub_numsub(channel), DEADLINE)
    return int(counts[0][1])


async def eventually_subscribers(redis: Redis, channel: str, expected: int) -> None:
    """Redis drops a closed connection's subscriptions a moment after it closes."""
    deadline = time.monotonic() + DEADLINE
    while (count := await subscribers(redis, channel)) != expected:
        assert time.monotonic() < deadline, f"{count} subscribers on {channel}, expected {expected}"
        await asyncio.sleep(0.05)


@pytest.mark.redis
async def test_a_notify_on_one_replica_wakes_a_listener_on_another(
    started_broker: BrokerFactory, channel: str, redis: Redis
) -> None:
    publisher, subscriber = await started_broker(channel), await started_broker(channel)
    assert await subscribers(redis, channel) == 2

    async with subscriber.listen() as listener:
        task = await waiting(listener.wait(LONG))

        await publisher.notify()

        assert await asyncio.wait_for(task, DEADLINE) is True


@pytest.mark.redis
async def test_a_notify_wakes_local_listeners_too(started_broker: BrokerFactory, channel: str) -> None:
    broker = await started_broker(channel)
    async with broker.listen() as listener:
        task = await waiting(listener.wait(LONG))

        await broker.notify()

        assert await asyncio.wait_for(task, DEADLINE) is True


@pytest.mark.redis
async def test_a_notify_on_another_channel_wakes_nobody(started_broker: BrokerFactory, channel: str) -> None:
    other = await started_broker(f"{channel}:other")
    subscriber = await started_broker(channel)

    async with subscriber.listen() as listener:
        await other.notify()

        assert await asyncio.wait_for(listener.wait(SHORT), DEADLINE) is False


@pytest.mark.redis
async def test_a_wake_up_from_another_replica_between_reads_is_not_lost(
    started_broker: BrokerFactory, channel: str
) -> None:
    publisher, subscriber = await started_broker(channel), await started_broker(channel)
    async with subscriber.listen() as listener:
        await publisher.notify()  # the subscriber is not waiting yet
        await asyncio.sleep(0.2)  # the message crosses Redis meanwhile

        started = time.monotonic()
        assert await asyncio.wait_for(listener.wait(LONG), DEADLINE) is True
        assert time.monotonic() - started < 1.0


@pytest.mark.redis
async def test_stop_unsubscribes_ends_the_relay_and_wakes_listeners(channel: str, redis: Redis) -> None:
    require_redis()
    broker = RedisBroker(REDIS_URL, channel=channel)
    await broker.start()
    try:
        await broker.wait_subscribed(DEADLINE)
        assert await subscribers(redis, channel) == 1
        async with broker.listen() as listener:
            task = await waiting(listener.wait(LONG))

            await asyncio.wait_for(broker.stop(), DEADLINE)

            assert await asyncio.wait_for(task, DEADLINE) is True
    finally:
        await asyncio.wait_for(broker.stop(), DEADLINE)  # a second stop is harmless

    await eventually_subscribers(redis, channel, 0)
    relays = [t for t in asyncio.all_tasks() if t.get_name() == "ordergate-redis-relay"]
    assert relays == []


@pytest.mark.redis
async def test_the_relay_resubscribes_after_losing_redis_and_wakes_listeners_to_re_read(
    started_broker: BrokerFactory, channel: str, redis: Redis
) -> None:
    name = f"ordergate-test-{uuid.uuid4().hex[:12]}"
    separator = "&" if "?" in REDIS_URL else "?"
    broker = RedisBroker(f"{REDIS_URL}{separator}client_name={name}", channel=channel, reconnect_seconds=0.2)
    await broker.start()
    try:
        await broker.wait_subscribed(DEADLINE)
        publisher = await started_broker(channel)
        ours = [c["id"] for c in await redis.client_list(_type="pubsub") if c.get("name") == name]
        assert len(ours) == 1, ours
        async with broker.listen() as listener:
            task = await waiting(listener.wait(LONG))

            await redis.client_kill_filter(_id=ours[0])

            # Messages sent while it was away are lost: it wakes everyone to re-read the log.
            assert await asyncio.wait_for(task, DEADLINE) is True
            await eventually_subscribers(redis, channel, 2)
            task = await waiting(listener.wait(LONG))
            await publisher.notify()
            assert await asyncio.wait_for(task, DEADLINE) is True
    finally:
        await asyncio.wait_for(broker.stop(), DEADLINE)


async def test_a_loop_cancelled_as_it_is_woken_stops() -> None:
    """On Python 3.11, asyncio.wait_for swallows a cancellation that lands as the awaited
    event is set; a worker loop on it then never stops, and shutdown hangs."""
    broker = MemoryBroker()

    async def worker() -> None:
        async with broker.listen() as listener:
            while True:
                await listener.wait(5.0)

    for _ in range(20):
        task = asyncio.create_task(worker())
        await asyncio.sleep(0.001)
        await broker.notify()
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=1.0)
        assert done == {task}
        assert task.cancelled()


@pytest.mark.redis
async def test_one_replica_at_a_time_leads_a_role_until_it_steps_down_or_its_hold_runs_out(
    started_broker: BrokerFactory, channel: str
) -> None:
    first, second = await started_broker(channel), await started_broker(channel)

    assert await first.lead("push", "a", 5.0) is True
    assert await second.lead("push", "b", 5.0) is False
    assert await first.lead("push", "a", 5.0) is True  # renewed, still its own
    assert await second.lead("other", "b", 5.0) is True  # roles are held apart

    await second.step_down("push", "b")  # not its to give up: nothing changes
    assert await second.lead("push", "b", 5.0) is False
    await first.step_down("push", "a")
    assert await second.lead("push", "b", 0.2) is True
    assert await first.lead("push", "a", 5.0) is False

    await asyncio.sleep(0.4)  # b's hold runs out: it stopped without stepping down
    assert await first.lead("push", "a", 5.0) is True


async def test_without_redis_every_replica_leads_whatever_asks() -> None:
    broker = MemoryBroker()
    assert await broker.lead("push", "a", 1.0) is True
    assert await broker.lead("push", "b", 1.0) is True


async def test_a_replica_that_cannot_reach_redis_leads_rather_than_leave_the_role_undone() -> None:
    broker = RedisBroker("redis://127.0.0.1:1/0", channel=f"ordergate-test:{uuid.uuid4().hex}")
    try:
        assert await broker.lead("push", "a", 1.0) is True
        await broker.step_down("push", "a")  # logged, not raised
    finally:
        await asyncio.wait_for(broker.stop(), DEADLINE)
