"""Selling against incoming supply: backorders and pre-orders.

A product's selling policy says what may be sold beyond the units on hand:

    ON_HAND     only units on hand (the default)
    BACKORDER   units on hand first; the rest against open purchase orders, promised for the
                day the supply arrives plus the node's lead time
    PRE_ORDER   before the release date, every unit waits (against on hand and incoming
                supply) and nothing goes out before that day; from the release date on, as
                BACKORDER

A policy may be limited to some channels (`policy_channels`); elsewhere the product sells
ON_HAND. Backordered units wait at one node, against its supply, in the order they were placed:
each waiting unit takes the earliest supply not already promised to an earlier one (`free`),
so what is still free is what may be promised next (`ATP` in DOMAIN.md: incoming minus
unallocated demand). When units arrive (a purchase-order receipt, a return, a cancellation)
the oldest waiting lines at that node take them first (`serve`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum

from ordergate.models.availability import NodeStock, Supply, ats
from ordergate.models.calendar import add_business_days
from ordergate.models.errors import Problem
from ordergate.models.ids import new_id

MAX_POLICY_CHANNELS = 20
MAX_CHANNEL = 64


class SellingPolicy(StrEnum):
    ON_HAND = "ON_HAND"
    BACKORDER = "BACKORDER"
    PRE_ORDER = "PRE_ORDER"


class BackorderStatus(StrEnum):
    WAITING = "WAITING"
    ALLOCATED = "ALLOCATED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class ProductPolicy:
    """A product's policy as stored: the policy, the release date of a pre-order, and the
    channels it applies to (empty: every channel)."""

    policy: SellingPolicy = SellingPolicy.ON_HAND
    release_on: date | None = None
    channels: tuple[str, ...] = ()


def check_policy(product: ProductPolicy) -> list[Problem]:
    """Why a product may not be given this policy; empty when it may."""
    problems: list[Problem] = []
    if product.policy is SellingPolicy.PRE_ORDER and product.release_on is None:
        problems.append(
            Problem("RELEASE_DATE_REQUIRED", "a pre-order needs its release date", ("release_on",))
        )
    if product.policy is not SellingPolicy.PRE_ORDER and product.release_on is not None:
        problems.append(
            Problem("INVALID_RELEASE_DATE", "only a pre-order has a release date", ("release_on",))
        )
    if len(product.channels) > MAX_POLICY_CHANNELS:
        problems.append(
            Problem("TOO_MANY_CHANNELS", f"name at most {MAX_POLICY_CHANNELS} channels", ("channels",))
        )
    for index, channel in enumerate(product.channels[:MAX_POLICY_CHANNELS]):
        if not 0 < len(channel) <= MAX_CHANNEL or channel != channel.strip():
            problems.append(
                Problem("INVALID_CHANNEL", "a channel is 1 to 64 characters", ("channels", str(index)))
            )
    return problems


def effective_policy(product: ProductPolicy, channel: str | None, today: date) -> SellingPolicy:
    """The policy a sale in `channel` on `today` is under."""
    if product.channels and (channel is None or channel not in product.channels):
        return SellingPolicy.ON_HAND
    if product.policy is SellingPolicy.PRE_ORDER and (
        product.release_on is None or today >= product.release_on
    ):
        return SellingPolicy.BACKORDER
    return product.policy


@dataclass(kw_only=True, eq=False)
class Backorder:
    """Units of an order line waiting for supply at one node, in the order placed."""

    id: str = field(default_factory=new_id)
    order_id: str
    order_line_id: str
    sku: str
    location_id: str
    kind: SellingPolicy
    quantity: int  # units still waiting
    quantity_allocated: int = 0
    status: BackorderStatus = BackorderStatus.WAITING
    release_on: date | None = None  # a pre-order: nothing goes out before this day
    promised_on: date | None = None
    placed_at: datetime
    updated_at: datetime


def set_aside(node: NodeStock, waiting: int, now: datetime) -> NodeStock:
    """A node as new sales see it when `waiting` units wait there: units on hand go to the
    waiting lines first (they are theirs as soon as they arrive, whoever asks before the next
    allocation pass), and only supply not promised to the rest is free to promise."""
    on_hand_for_them = min(waiting, ats(node, now))
    return replace(
        node,
        reserved=node.reserved + on_hand_for_them,
        incoming=free(node.incoming, waiting - on_hand_for_them),
    )


def free(incoming: Iterable[Supply], waiting: int) -> tuple[Supply, ...]:
    """The supply not yet promised: `waiting` units take the earliest supply first."""
    left: list[Supply] = []
    for supply in sorted(incoming, key=lambda s: s.expected_on):
        taken = min(waiting, supply.quantity)
        waiting -= taken
        if supply.quantity > taken:
            left.append(Supply(supply.quantity - taken, supply.expected_on))
    return tuple(left)


@dataclass(frozen=True)
class Promise:
    """Where and when units that are not on hand can be promised."""

    location_id: str
    quantity: int
    ready_on: date  # the day the node has the units (and, for a pre-order, may send them)
    promised_on: date  # the day the customer has them


def promise(
    nodes: Sequence[NodeStock], quantity: int, now: datetime, *, kind: SellingPolicy, release_on: date | None
) -> Promise | None:
    """The node that can promise `quantity` waiting units soonest (ties: the nearer, then the
    first given): a backorder counts only the supply still free (a backorder is placed because
    the units on hand were not enough), a pre-order counts the units on hand too. None when no
    node's supply covers it."""
    best: Promise | None = None
    for node in nodes:
        on_hand = ats(node, now) if kind is SellingPolicy.PRE_ORDER else 0
        ready = _covered_on(on_hand, node.incoming, quantity, now.date())
        if ready is None:
            continue
        if release_on is not None and ready < release_on:
            ready = release_on
        promised = Promise(node.location_id, quantity, ready, add_business_days(ready, node.lead_days))
        if best is None or promised.promised_on < best.promised_on:
            best = promised
    return best


def _covered_on(on_hand: int, incoming: Iterable[Supply], quantity: int, today: date) -> date | None:
    if on_hand >= quantity:
        return today
    total = on_hand
    for supply in sorted(incoming, key=lambda s: s.expected_on):
        total += supply.quantity
        if total >= quantity:
            return max(supply.expected_on, today)
    return None


@dataclass(frozen=True)
class Waiting:
    """Units of a line a sale leaves waiting for supply, where and until when."""

    sku: str
    kind: SellingPolicy
    release_on: date | None
    promise: Promise


def serve(
    waiting: Sequence[Backorder], available: Mapping[tuple[str, str], int], today: date
) -> list[tuple[Backorder, int]]:
    """Which waiting lines take how many of the units now sellable (`available`, by SKU and
    location id), oldest first; a pre-order waits for its release date, and a line that
    cannot be filled whole keeps the units that would reach it (no later line jumps ahead)."""
    taken: list[tuple[Backorder, int]] = []
    left = dict(available)
    blocked: set[tuple[str, str]] = set()
    for backorder in sorted(waiting, key=lambda b: (b.placed_at, b.id)):
        key = (backorder.sku, backorder.location_id)
        if backorder.status is not BackorderStatus.WAITING or key in blocked:
            continue
        if backorder.release_on is not None and today < backorder.release_on:
            blocked.add(key)
            continue
        units = min(backorder.quantity, left.get(key, 0))
        if units > 0:
            taken.append((backorder, units))
            left[key] -= units
        if units < backorder.quantity:
            blocked.add(key)
    return taken
