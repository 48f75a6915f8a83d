"""Delivery options a shopper can buy: which ones are offered, the id each carries, and whether
an order placed with one still gets what was offered.

`fulfillmentOptions` offers STANDARD (the plan routing prefers: the one an order placed without
an option gets), EXPRESS (the plan that arrives soonest, when it is sooner than STANDARD) and a
pickup at each nearby store that has the whole cart. Each option's id names its service level,
the locations its units leave from (by code) and the date it was offered for; `placeOrder`
takes it back as `deliveryOptionId` and routes from those locations only, charging the option's
price (`models.pricing`). When those locations can no longer send the cart by that date the
order is refused (DELIVERY_OPTION_UNAVAILABLE), never silently sent another way or later.

Pure: `usecases.routing.delivery_options` offers, `usecases.orders` checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from ordergate.models.errors import Problem
from ordergate.models.order import DeliveryMethod, ServiceLevel

FIELD = ("delivery_option_id",)
PICKUP = "PICKUP"
MAX_ID = 512


@dataclass(frozen=True)
class DeliveryChoice:
    """An option as its id says it: how, from where (location codes, sorted) and by when."""

    method: DeliveryMethod
    level: ServiceLevel  # STANDARD for a pickup
    locations: tuple[str, ...]
    by: date | None

    @property
    def id(self) -> str:
        head = PICKUP if self.method is DeliveryMethod.PICKUP else self.level.value
        return f"{head}:{'+'.join(self.locations)}:{self.by.isoformat() if self.by else '-'}"


def choice(
    method: DeliveryMethod, level: ServiceLevel, codes: Sequence[str], by: date | None
) -> DeliveryChoice:
    return DeliveryChoice(method, level, tuple(sorted(set(codes))), by)


def parse(text: str) -> DeliveryChoice | None:
    """The choice an id names; None for text that is not an option's id."""
    if len(text) > MAX_ID:
        return None
    parts = text.split(":")
    if len(parts) != 3 or not parts[1]:
        return None
    head, codes, by = parts
    if head == PICKUP:
        method, level = DeliveryMethod.PICKUP, ServiceLevel.STANDARD
    elif head in ServiceLevel.__members__:
        method, level = DeliveryMethod.SHIP, ServiceLevel(head)
    else:
        return None
    locations = tuple(codes.split("+"))
    if any(not code for code in locations) or list(locations) != sorted(set(locations)):
        return None
    if method is DeliveryMethod.PICKUP and len(locations) != 1:
        return None
    try:
        promised = None if by == "-" else date.fromisoformat(by)
    except ValueError:
        return None
    return DeliveryChoice(method, level, locations, promised)


def check_choice(
    text: str | None, method: DeliveryMethod, pickup_code: str | None
) -> tuple[DeliveryChoice | None, list[Problem]]:
    """The option an order asks for, or INVALID_DELIVERY_OPTION: not an option's id, an option
    for another delivery method, or a pickup at another store than the order's."""
    if text is None:
        return None, []
    chosen = parse(text)
    if chosen is None:
        return None, [Problem("INVALID_DELIVERY_OPTION", "not a delivery option's id", FIELD)]
    if chosen.method is not method:
        message = f"that option is a {chosen.method.value} option, and this order is {method.value}"
        return None, [Problem("INVALID_DELIVERY_OPTION", message, FIELD)]
    if method is DeliveryMethod.PICKUP and chosen.locations != (pickup_code,):
        message = "that option is a pickup at another location than pickupLocationId"
        return None, [Problem("INVALID_DELIVERY_OPTION", message, FIELD)]
    return chosen, []


def unmet(chosen: DeliveryChoice, codes: Sequence[str], arrives: date | None, waits: bool) -> Problem | None:
    """DELIVERY_OPTION_UNAVAILABLE when the route found sends units from elsewhere, waits for
    supply, or arrives after the date the option was offered for."""
    if waits or not set(codes) <= set(chosen.locations):
        message = "the locations of this delivery option can no longer send the whole order"
    elif chosen.by is not None and (arrives is None or arrives > chosen.by):
        message = f"this delivery option can no longer arrive by {chosen.by.isoformat()}"
    else:
        return None
    return Problem("DELIVERY_OPTION_UNAVAILABLE", message + ": ask for the options again", FIELD)


@dataclass(frozen=True)
class Candidate:
    """A shipping plan routing found, in routing's order of preference, and when it arrives."""

    codes: tuple[str, ...]
    arrives: date | None


def offer(candidates: Sequence[Candidate]) -> list[tuple[ServiceLevel, int]]:
    """Which plans are offered: (STANDARD, 0) for routing's choice, and (EXPRESS, i) for the
    plan that arrives soonest when it is sooner than STANDARD (ties: routing's preference)."""
    if not candidates:
        return []
    offered = [(ServiceLevel.STANDARD, 0)]
    standard = candidates[0].arrives
    dated = [(c.arrives, i) for i, c in enumerate(candidates) if c.arrives is not None]
    if dated:
        soonest, index = min(dated)
        if standard is None or soonest < standard:
            offered.append((ServiceLevel.EXPRESS, index))
    return offered
