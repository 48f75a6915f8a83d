"""One reader of the event log per process, fanning out to every subscription in it.

The hub follows the log from its head, woken by the broker (or its poll), reads each new
batch once with who may see each order (its email and the nodes working on it), and offers
each event to the subscribers whose filter accepts it (`usecases.feed`: bounded queues, a
subscriber that falls behind is told to resume). Ten thousand subscriptions cost one query
per batch, not ten thousand.

A subscriber registers before it replays the log from its own cursor, so anything the hub
reads after registration is queued, and anything read before is in the replay; the seam is
closed by skipping cursors already delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from ordergate.broker.base import Broker
from ordergate.models.scope import OrderScope
from ordergate.store.unit_of_work import Store
from ordergate.usecases.feed import Delivered, Subscriber

log = logging.getLogger("ordergate.fanout")

EVERYTHING = OrderScope(everything=True)
BATCH = 500
QUEUE_CAPACITY = 1000
RETRY_SECONDS = 1.0


class EventHub:
    def __init__(
        self,
        store: Store,
        broker: Broker,
        *,
        poll_seconds: float = 5.0,
        capacity: int = QUEUE_CAPACITY,
    ) -> None:
        self.store = store
        self.broker = broker
        self.poll_seconds = poll_seconds
        self.capacity = capacity
        self._subscribers: set[Subscriber] = set()
        self._position: int | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    @property
    def live_count(self) -> int:
        """Subscribers past their replay, waiting on the hub."""
        return sum(1 for subscriber in self._subscribers if subscriber.live)

    @contextlib.asynccontextmanager
    async def subscribe(self, accepts: Callable[[Delivered], bool]) -> AsyncIterator[Subscriber]:
        await self._start()
        assert self._position is not None
        subscriber = Subscriber(accepts, self.capacity, self._position)
        self._subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            self._subscribers.discard(subscriber)

    async def _start(self) -> None:
        if self._task is None or self._task.done():
            self._ready.clear()
            self._task = asyncio.create_task(self._run(), name="ordergate-event-hub")
        await self._ready.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        async with self.broker.listen() as listener:
            while True:
                try:
                    if self._position is None:
                        async with self.store.read() as uow:
                            self._position = await uow.events.head()
                        self._ready.set()
                    await self._drain()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("the event hub could not read the log; retrying")
                    await asyncio.sleep(RETRY_SECONDS)
                    continue
                await listener.wait(self.poll_seconds)

    async def _drain(self) -> None:
        assert self._position is not None
        while True:
            async with self.store.read() as uow:
                batch = await uow.events.after(self._position, EVERYTHING, None, BATCH)
                audience = await uow.events.audience(list({event.order_id for event in batch}))
            for event in batch:
                email, nodes = audience.get(event.order_id, ("", frozenset()))
                item = Delivered(event, email, nodes)
                for subscriber in list(self._subscribers):
                    if subscriber.accepts(item):
                        subscriber.offer(item)
                self._position = event.cursor
            if len(batch) < BATCH:
                return
