"""What any broker offers: a wake-up after commits, and listeners that wait for one."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

# What a replica does when another one changed what its read views hold (`usecases.views`):
# drop those SKUs (and the catalogue, when told), or everything when changes may have been missed.
Changed = Callable[[Iterable[str], bool], None]
Missed = Callable[[], None]


@dataclass(frozen=True)
class ReadElsewhere:
    """Another replica's hold on a SKU's ERP read: reading it now, or read it within its TTL and
    fresh for `fresh_for` seconds more."""

    reading: bool
    fresh_for: float = 0.0


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

    def keep_reads_for(self, database: str) -> None:
        """Keep what is shared about ERP reads under this database's name (`database_id`): the
        replicas of one deployment share them, and nothing is taken from a deployment (or a
        database made again under the same name) that shares the broker."""
        ...

    async def claim_reads(self, skus: Sequence[str], token: str, hold: float) -> dict[str, ReadElsewhere]:
        """Claim the ERP stock read of `skus` for this replica (`token`) for `hold` seconds.
        Returns the SKUs another replica holds (reading now, or read within its TTL); the rest
        are this replica's to read. On trouble with the broker: none held elsewhere."""
        ...

    async def reads_settled(
        self, token: str, fresh_for: Mapping[str, float], supply_fresh_for: Mapping[str, float]
    ) -> None:
        """This replica's read of each SKU ended: fresh for that many seconds, or failed (0: the
        claim goes); its incoming supply, when read too, fresh for `supply_fresh_for`. A claim no
        longer this read's (forgotten since) is left alone, and so is its supply."""
        ...

    async def supply_fresh_elsewhere(self, skus: Sequence[str]) -> dict[str, float]:
        """The SKUs whose incoming supply a replica read within its TTL: seconds it stays fresh."""
        ...

    async def reads_elsewhere(self, skus: Sequence[str]) -> dict[str, ReadElsewhere]:
        """Where each SKU's read stands now (the SKUs nobody holds are left out)."""
        ...

    async def forget_reads(self, skus: Sequence[str]) -> None:
        """The ERP said these SKUs changed: no replica's earlier read holds them any more."""
        ...

    async def lead(self, role: str, token: str, hold: float) -> bool:
        """Whether this replica (`token`) does `role` for all of them for the next `hold` seconds:
        taken when no replica holds it, renewed when this one does. On trouble with the broker:
        True (every replica doing it is what happens without a broker; none doing it is worse)."""
        ...

    async def step_down(self, role: str, token: str) -> None:
        """Give `role` up if this replica (`token`) holds it: another takes it at its next try."""
        ...
