"""Wake-ups across replicas through Redis pub/sub. Messages lost while a replica is away
cost nothing: listeners re-read the log from their own cursor."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ordergate.broker.base import Changed, Missed
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
        self._changes_channel = f"{channel}:changes"
        self._origin = uuid.uuid4().hex  # this replica's own announcements come back: skip them
        self._changed: Changed | None = None
        self._missed: Missed | None = None
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

    def on_change(self, changed: Changed, missed: Missed) -> None:
        self._changed, self._missed = changed, missed

    async def announce(self, stock: frozenset[str], catalog: bool) -> None:
        message = {"from": self._origin, "stock": sorted(stock), "catalog": catalog}
        try:
            await self._publisher.publish(self._changes_channel, json.dumps(message).encode())
        except (RedisError, OSError) as exc:
            # Other replicas' views expire within their maximum age (usecases.views).
            log.warning("redis publish of a change failed: %s", exc)

    def _heard(self, data: bytes) -> None:
        try:
            message = json.loads(data)
            stock = [str(sku) for sku in message["stock"]]
            catalog, origin = bool(message["catalog"]), message["from"]
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a change announcement that is not ours to read")
            return
        if origin != self._origin and self._changed is not None:
            self._changed(stock, catalog)

    @asynccontextmanager
    async def listen(self) -> AsyncIterator[MemoryListener]:
        async with self._local.listen() as listener:
            yield listener

    async def _relay(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel, self._changes_channel)
                    self._subscribed.set()
                    # A reconnect may have missed messages: wake everyone to re-read, and
                    # forget what the read views kept.
                    self._local.wake_all()
                    if self._missed is not None:
                        self._missed()
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        if message.get("channel") == self._changes_channel.encode():
                            self._heard(message["data"])
                        else:
                            self._local.wake_all()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self._subscribed.clear()
                log.warning("redis subscription lost (%s); retrying", exc)
                await asyncio.sleep(self._reconnect_seconds)
