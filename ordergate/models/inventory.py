"""Inventory records: positions per (SKU, location), holds, incoming supply and the ledger."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from ordergate.models.allocation import Want
from ordergate.models.errors import Problem
from ordergate.models.ids import new_id


@dataclass(kw_only=True, eq=False)
class InventoryPosition:
    """`on_hand` is the ERP's last snapshot (as of `as_of`); `allocated` is ours: units
    committed to orders and not yet shipped. Row-locked when allocating or holding."""

    sku: str
    location_id: str
    on_hand: int = 0
    allocated: int = 0
    as_of: datetime


@dataclass(frozen=True, slots=True)
class PositionFigures:
    """A position's figures as a stock read saw them: plain values, not the stored record (an
    `InventoryPosition` made outside a session costs about eight times as much, per row of
    every read)."""

    sku: str
    location_id: str
    on_hand: int
    allocated: int
    as_of: datetime


@dataclass(kw_only=True, eq=False)
class SafetyStock:
    """Units of a SKU a node keeps back from sale, set by an admin for that SKU; where none is
    set, the node's own figure (`Location.safety_stock`) holds."""

    sku: str
    location_id: str
    quantity: int
    updated_by: str
    updated_at: datetime


MAX_SAFETY_STOCK = 1_000_000


class ReservationStatus(StrEnum):
    ACTIVE = "ACTIVE"
    CONSUMED = "CONSUMED"
    RELEASED = "RELEASED"


@dataclass(kw_only=True, eq=False)
class Reservation:
    """A hold on units for a cart or checkout; it stops counting at `expires_at` by itself."""

    id: str = field(default_factory=new_id)
    status: ReservationStatus
    channel: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    order_id: str | None = None


@dataclass(kw_only=True, eq=False)
class ReservationLine:
    id: str = field(default_factory=new_id)
    reservation_id: str
    sku: str
    location_id: str
    quantity: int


@dataclass(kw_only=True, eq=False)
class IncomingSupplyRecord:
    """Open purchase-order quantity expected at a location, as the ERP last reported it."""

    id: str = field(default_factory=new_id)
    sku: str
    location_id: str
    quantity: int
    expected_on: date
    reference: str
    as_of: datetime


class LedgerKind(StrEnum):
    SNAPSHOT = "SNAPSHOT"
    ALLOCATE = "ALLOCATE"
    RESERVE = "RESERVE"
    RELEASE = "RELEASE"
    SHIP = "SHIP"
    RETURN = "RETURN"
    ADJUST = "ADJUST"


@dataclass(kw_only=True, eq=False)
class LedgerEntry:
    """What ordergate did to a position, and why: the audit trail between ERP snapshots."""

    id: str = field(default_factory=new_id)
    sku: str
    location_id: str
    kind: LedgerKind
    quantity: int
    order_id: str | None = None
    reservation_id: str | None = None
    actor: str
    occurred_at: datetime


@dataclass(kw_only=True, eq=False)
class WebhookDelivery:
    """Deliveries already taken in, so a retried webhook has one effect."""

    source: str
    delivery_id: str
    received_at: datetime


def release_problem(reservation: Reservation, now: datetime, field: tuple[str, ...]) -> Problem | None:
    """Why a hold can no longer be changed or released (it holds nothing now), or None;
    `field` names where the request named the hold."""
    if reservation.status is ReservationStatus.CONSUMED:
        return Problem("HOLD_NOT_ACTIVE", "the hold was used by an order", field)
    if reservation.status is ReservationStatus.RELEASED:
        return Problem("HOLD_NOT_ACTIVE", "the hold was already released", field)
    if reservation.expires_at <= now:
        return Problem("HOLD_NOT_ACTIVE", "the hold has expired", field)
    return None


@dataclass(frozen=True)
class HoldChange:
    """A hold changed to hold `wants`: each line it keeps with its new quantity (0: given back),
    and the units of each SKU still to be found at some node."""

    kept: tuple[tuple[ReservationLine, int], ...]
    extra: tuple[Want, ...]

    @property
    def frees(self) -> bool:
        return any(quantity < line.quantity for line, quantity in self.kept)


def plan_hold_change(lines: Sequence[ReservationLine], wants: Sequence[Want]) -> HoldChange:
    """What a hold keeps when its cart changes to `wants`: a SKU the cart wants fewer of keeps
    its first lines' units in line order, one it no longer wants gives them all back, and one it
    wants more of keeps them all and needs the difference found."""
    wanted = {want.sku: want.quantity for want in wants}
    left = dict(wanted)
    kept = []
    for line in lines:
        take = min(line.quantity, left.get(line.sku, 0))
        kept.append((line, take))
        if line.sku in left:
            left[line.sku] -= take
    extra = tuple(Want(sku, quantity) for sku, quantity in left.items() if quantity > 0)
    return HoldChange(tuple(kept), extra)


# A line of a live hold: (sku, location id, units, expires at, hold id).
HoldLine = tuple[str, str, int, datetime, str]


def held_units(
    lines: Iterable[HoldLine], now: datetime, excluding: str | None = None
) -> dict[tuple[str, str], int]:
    """Units held per (sku, location) at `now`: a hold counts until it expires, without anyone
    cleaning up; `excluding` is the hold an order is using up itself."""
    held: dict[tuple[str, str], int] = {}
    for sku, location, units, expires_at, hold_id in lines:
        if expires_at > now and hold_id != excluding:
            held[(sku, location)] = held.get((sku, location), 0) + units
    return held
