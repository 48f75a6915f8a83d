"""What any broker offers: a wake-up after commits, and listeners that wait for one."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol


class Listener(Protocol):
    async def wait(self, timeout: float) -> bool:
        """True when woken, False when the timeout passed first."""
        ...


class Broker(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def notify(self) -> None:
        """Tell every listener, here and in other replicas, that the log has grown."""
        ...

    def listen(self) -> AbstractAsyncContextManager[Listener]: ...
