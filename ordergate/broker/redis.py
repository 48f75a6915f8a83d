"""Wake-ups across replicas through Redis pub/sub. Messages lost while a replica is away
cost nothing: listeners re-read the log from their own cursor."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ordergate.broker.memory import MemoryBroker, MemoryListener

log = logging.getLogger(__name__)
CHANNEL = "ordergate:events"


class RedisBroker:
    def __init__(
        self, url: str, channel: str = CHANNEL, reconnect_seconds: float = 1.0, publish_timeout: float = 0.5
    ) -> None:
        # Publishing runs inside a mutation's response: give up fast and let other replicas
        # catch up on their periodic re-read. Listening waits as long as it takes.
        self._publisher = Redis.from_url(
            url, socket_timeout=publish_timeout, socket_connect_timeout=publish_timeout
        )
        self._redis = Redis.from_url(url)
        self._channel = channel
        self._local = MemoryBroker()
        self._reconnect_seconds = reconnect_seconds
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._relay(), name="ordergate-redis-relay")

    async def wait_subscribed(self, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            await self._subscribed.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._local.stop()
        await self._redis.aclose()
        await self._publisher.aclose()

    async def notify(self) -> None:
        self._local.wake_all()
        try:
            await self._publisher.publish(self._channel, b"1")
        except (RedisError, OSError) as exc:
            # Other replicas fall back to their periodic re-read of the log.
            log.warning("redis publish failed: %s", exc)

    @asynccontextmanager
    async def listen(self) -> AsyncIterator[MemoryListener]:
        async with self._local.listen() as listener:
            yield listener

    async def _relay(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    self._subscribed.set()
                    # A reconnect may have missed messages: wake everyone to re-read.
                    self._local.wake_all()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._local.wake_all()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self._subscribed.clear()
                log.warning("redis subscription lost (%s); retrying", exc)
                await asyncio.sleep(self._reconnect_seconds)
