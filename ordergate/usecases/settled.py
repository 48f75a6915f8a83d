"""What an outbox handler may hand back besides a short result: writes to make in the
transaction that settles its task as done."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ordergate.store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class DoneWith:
    """The task is done with `result`, and `write` keeps what the work learnt (an upstream's id
    for what it made) in the transaction that settles it: one transaction instead of two, and
    the two kept together or not at all. Not kept, the task is done again (at least once); its
    handler is idempotent as every handler is."""

    result: str
    write: Callable[[UnitOfWork], Awaitable[None]]
