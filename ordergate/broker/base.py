"""What any broker offers: a wake-up after commits, and listeners that wait for one."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

# What a replica does when another one changed what its read views hold (`usecases.views`):
# drop those SKUs (and the catalogue, when told), or everything when changes may have been missed.
Changed = Callable[[Iterable[str], bool], None]
Missed = Callable[[], None]


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

    async def announce(self, stock: frozenset[str], catalog: bool) -> None:
        """Tell other replicas what a commit here changed in the read views (this process has
        already dropped it from its own)."""
        ...

    def on_change(self, changed: Changed, missed: Missed) -> None:
        """Whom to tell when another replica announces a change, or when announcements may
        have been lost."""
        ...
