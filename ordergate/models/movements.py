"""Units that moved at a node and that the ERP must hear of, and the rule that joins them to the
ERP's stock figures without counting a unit twice or losing one.

A node's on-hand figure is the ERP's last snapshot plus the movements the ERP has not counted
yet. When units leave (shipped, handed over, written off as damaged) or come back (a return
restocked), ordergate changes its own figure at once and records a movement; the outbox tells
the ERP (a fulfilment of the sales order, a stock adjustment), and the movement records when it
was first sent and when the ERP acknowledged it.

A snapshot is read over a window (the request left at `started`, the answer came at
`finished`); the ERP applied a movement somewhere between its first sending and its
acknowledgement. So, for each movement not yet counted:

- acknowledged strictly before the read started: the ERP's figure includes it (now counted);
- not sent, or first sent strictly after the read finished: the figure cannot include it, so it
  is added to it;
- otherwise the two overlapped and nobody can tell: the snapshot is not used for that position
  (the local figure stands, which already includes the movement) and the next read decides.

`skew` widens the overlap by the clock difference allowed between replicas. Whatever order the
read, the sending and the acknowledgement happen in, each unit is counted exactly once; the
tests walk every interleaving.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from ordergate.models.ids import new_id


class MovementKind(StrEnum):
    SHIP = "SHIP"  # left with a parcel or with the customer at pickup: the sales order is fulfilled
    RESTOCK = "RESTOCK"  # a return put back on the shelf
    WRITE_OFF = "WRITE_OFF"  # found damaged or missing at the node: gone from its stock


@dataclass(kw_only=True, eq=False)
class StockMovement:
    """`quantity` is signed: what the movement did to the node's on-hand. `task_key` is the outbox
    task that tells the ERP (one task for the movements one message carries)."""

    id: str = field(default_factory=new_id)
    sku: str
    location_id: str
    kind: MovementKind
    quantity: int
    order_id: str | None = None
    task_key: str
    created_at: datetime
    sent_at: datetime | None = None  # first sent to the ERP (the outcome may be unknown)
    acked_at: datetime | None = None  # the ERP said it has it
    counted_at: datetime | None = None  # a snapshot read after the acknowledgement includes it


@dataclass(frozen=True)
class ReadWindow:
    started: datetime
    finished: datetime


@dataclass(frozen=True)
class Reconciled:
    """The on-hand to store (None: keep the local figure, the snapshot cannot be placed) and the
    movements the snapshot now includes."""

    on_hand: int | None
    counted: tuple[str, ...] = ()
    in_flight: int = 0  # units added to the ERP's figure because it cannot include them yet


def included(movement: StockMovement, window: ReadWindow, skew: timedelta) -> bool | None:
    """Whether a snapshot read over `window` includes the movement: True, False, or None when
    the read overlapped its sending and nobody can tell."""
    if movement.acked_at is not None and movement.acked_at < window.started - skew:
        return True
    if movement.sent_at is None or movement.sent_at > window.finished + skew:
        return False
    return None


def placeable(movements: Iterable[StockMovement], at: datetime, skew: timedelta) -> bool:
    """Whether a read of the ERP made at `at` could place every one of a position's movements not
    counted yet (`included` gives True or False for each): False while one was sent and not
    acknowledged, or acknowledged within the skew of `at`. A notice of such a SKU is read once the
    skew has passed, not at once to be read again then."""
    window = ReadWindow(at, at)
    return all(m.counted_at is not None or included(m, window, skew) is not None for m in movements)


REREAD_MARGIN = timedelta(seconds=1)  # past the skew, so the read is placed whatever the clocks
REREAD_EVERY = timedelta(seconds=5)  # the grid reads again are made on: notices within a step share one


def reread_at(now: datetime, skew: timedelta) -> datetime:
    """When the ERP is read again for a notice that came at `now` and could not be read at once:
    once the skew has passed (and a margin), at the next mark of a grid of `REREAD_EVERY`, so every
    notice of that span is read by one request (the ERP's rate limit is shared with the orders and
    parcels it is sent). Replicas whose clocks agree within the skew pick the same mark or the next."""
    step = REREAD_EVERY.total_seconds()
    earliest = (now + skew + REREAD_MARGIN).timestamp()
    return datetime.fromtimestamp(math.ceil(earliest / step) * step, tz=UTC)


def reconcile(
    erp_on_hand: int, movements: Iterable[StockMovement], window: ReadWindow, skew: timedelta
) -> Reconciled:
    """One position's on-hand after a snapshot: the ERP's figure plus what it cannot include yet."""
    counted: list[str] = []
    in_flight = 0
    for movement in movements:
        if movement.counted_at is not None:
            continue
        verdict = included(movement, window, skew)
        if verdict is None:
            return Reconciled(None)
        if verdict:
            counted.append(movement.id)
        else:
            in_flight += movement.quantity
    return Reconciled(max(0, erp_on_hand + in_flight), tuple(counted), in_flight)
