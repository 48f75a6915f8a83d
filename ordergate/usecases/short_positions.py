"""The operations view of stock a count left short: positions where the ERP's figure leaves
fewer units on hand than orders hold there, with the work holding them and why it is still
there. The shortfall pass (`rerouting.route_shortfalls`) moves what it can after every ERP notice
and every backorder round; this is what is left, for a person to act on (a recount, a hold
released, a routeOrder, a short pick)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ordergate.models.errors import Forbidden
from ordergate.models.identity import Permission, Principal
from ordergate.models.inventory import PositionFigures
from ordergate.models.location import Location
from ordergate.models.pagination import Page, check_page, decode_cursor, decode_time_key_cursor, encode_cursor
from ordergate.models.replanning import Stuck, WorkHere, why_here
from ordergate.models.short_spells import NOT_NOTED, ShortOrder
from ordergate.usecases import catalog
from ordergate.usecases.services import Services

HOLDERS_SHOWN = 20  # per position, newest first: what a page of positions carries is bounded


@dataclass(frozen=True)
class Holder:
    """Work holding units at a short position, and why it is still there."""

    work: WorkHere
    why: Stuck


@dataclass(frozen=True)
class ShortPosition:
    figures: PositionFigures
    location: Location
    holders: list[Holder]  # newest work first, as the pass moves it; at most HOLDERS_SHOWN
    holder_count: int
    short_since: datetime | None  # its spell's start (`models.short_spells`); None until a pass notes it

    @property
    def missing(self) -> int:
        return self.figures.allocated - self.figures.on_hand


def position_cursor(order: ShortOrder) -> Callable[[ShortPosition], str]:
    """The cursor of a position in this order."""

    def cursor(position: ShortPosition) -> str:
        key = (position.figures.sku, position.figures.location_id)
        if order is ShortOrder.LONGEST_SHORT:
            return encode_cursor(position.short_since or NOT_NOTED, *key)
        return encode_cursor(*key)

    return cursor


def _after(order: ShortOrder, after: str | None) -> tuple[Any, ...] | None:
    if after is None:
        return None
    if order is ShortOrder.LONGEST_SHORT:
        return decode_time_key_cursor(after)
    sku, location_id = decode_cursor(after, 2)
    return (str(sku), str(location_id))


async def short_positions(
    services: Services,
    principal: Principal,
    location_ref: str | None,
    first: int,
    after: str | None,
    order: ShortOrder = ShortOrder.SKU,
) -> Page[ShortPosition]:
    """Short positions by (SKU, node), or the longest short first: every node's for agents and
    admins, one of theirs for an associate (by its id or code)."""
    if not principal.can(Permission.FULFIL):
        raise Forbidden("this role does not look after stock")
    if location_ref is None and not principal.sees_all_orders:
        raise Forbidden("associates ask for one of their locations (locationId)")
    check_page(first, services.policy.page_size_cap)
    key = _after(order, after)
    async with services.store.read() as uow:
        only = (
            await catalog.location_of_yours(services, uow, principal, location_ref) if location_ref else None
        )
        found, has_next, total = await uow.inventory.short_page(
            only.id if only else None, first, key, longest_first=order is ShortOrder.LONGEST_SHORT
        )
        figures = [f for f, _ in found]
        since = {(f.sku, f.location_id): started for f, started in found}
        work = await uow.orders.work_at(list(since))
        places = await uow.catalog.locations_by_ids(sorted({f.location_id for f in figures}))
    holders: dict[tuple[str, str], list[Holder]] = {}
    for here in work:
        holders.setdefault((here.sku, here.location_id), []).append(Holder(here, why_here(here)))
    page = [
        ShortPosition(
            f, places[f.location_id], here[:HOLDERS_SHOWN], len(here), since.get((f.sku, f.location_id))
        )
        for f in figures
        for here in [holders.get((f.sku, f.location_id), [])]
    ]
    return Page(page, has_next, total)
