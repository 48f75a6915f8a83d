"""The in-process broker: one asyncio.Event per listener."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

from ordergate.broker.base import Changed, Missed, ReadElsewhere


class MemoryListener:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    def wake(self) -> None:
        self._event.set()

    async def wait(self, timeout: float) -> bool:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
        # that arrives as the event is set, and a cancelled loop would then run on forever.
        try:
            async with asyncio.timeout(timeout):
                await self._event.wait()
        except TimeoutError:
            return False
        finally:
            self._event.clear()
        return True


class MemoryBroker:
    def __init__(self) -> None:
        self._listeners: set[MemoryListener] = set()

    @property
    def listener_count(self) -> int:
        return len(self._listeners)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self.wake_all()

    def wake_all(self) -> None:
        for listener in list(self._listeners):
            listener.wake()

    async def notify(self) -> None:
        self.wake_all()

    async def announce(self, stock: frozenset[str], catalog: bool) -> None:
        """One process: its own views were told already; there is no one else to tell."""
        return

    def on_change(self, changed: Changed, missed: Missed) -> None:
        return None

    # One process: its reads are shared in-process (`usecases.inventory.refresh_stock`).
    def keep_reads_for(self, database: str) -> None:
        return None

    async def claim_reads(self, skus: Sequence[str], token: str, hold: float) -> dict[str, ReadElsewhere]:
        return {}

    async def reads_settled(
        self, token: str, fresh_for: Mapping[str, float], supply_fresh_for: Mapping[str, float]
    ) -> None:
        return None

    async def supply_fresh_elsewhere(self, skus: Sequence[str]) -> dict[str, float]:
        return {}

    async def reads_elsewhere(self, skus: Sequence[str]) -> dict[str, ReadElsewhere]:
        return {}

    async def forget_reads(self, skus: Sequence[str]) -> None:
        return None

    async def lead(self, role: str, token: str, hold: float) -> bool:
        return True  # one process: it does everything

    async def step_down(self, role: str, token: str) -> None:
        return None

    @asynccontextmanager
    async def listen(self) -> AsyncIterator[MemoryListener]:
        listener = MemoryListener()
        self._listeners.add(listener)
        try:
            yield listener
        finally:
            self._listeners.discard(listener)
