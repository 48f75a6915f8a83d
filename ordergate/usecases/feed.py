"""What a subscription receives from the process's event hub (`workers.hub`): each event once,
with who may see it, through a bounded queue per subscriber.

A subscriber's queue is bounded: when it is full the subscriber is marked behind, gets what
is already queued, and is then told to resume from its last cursor; nobody else waits for it.
The use cases see the hub only through `Feed`, which bootstrap fills with the real one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from ordergate.models.events import OrderEvent
from ordergate.models.scope import OrderScope


@dataclass(frozen=True)
class Delivered:
    """An event with who may see it, read once for every subscriber."""

    event: OrderEvent
    email: str
    nodes: frozenset[str]


def may_see(scope: OrderScope, item: Delivered) -> bool:
    """The hub's copy of the rule `store.orders.visible` applies in SQL."""
    if scope.everything:
        return True
    if scope.email is not None:
        return item.email == scope.email
    return bool(item.nodes.intersection(scope.location_codes))


class Behind(Exception):
    """The subscriber's queue overflowed; everything before the overflow was delivered."""


class Subscriber:
    def __init__(self, accepts: Callable[[Delivered], bool], capacity: int, start: int) -> None:
        self.accepts = accepts
        self.start = start  # the hub's position when it registered: everything after is queued
        self._queue: asyncio.Queue[Delivered] = asyncio.Queue(capacity)
        self.behind = False
        self.live = False  # replayed the log up to the hub's events, now served from the queue

    def offer(self, item: Delivered) -> None:
        if self.behind:
            return
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.behind = True

    async def next(self) -> Delivered:
        """The next queued event; raises Behind once the queue overflowed and is drained."""
        if self.behind and self._queue.empty():
            raise Behind
        return await self._queue.get()

    @property
    def queued(self) -> int:
        return self._queue.qsize()


class Feed(Protocol):
    """The process's one reader of the event log, as a use case sees it."""

    @property
    def subscriber_count(self) -> int: ...

    @property
    def live_count(self) -> int: ...

    def subscribe(self, accepts: Callable[[Delivered], bool]) -> AbstractAsyncContextManager[Subscriber]: ...

    async def stop(self) -> None: ...
