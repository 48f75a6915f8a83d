"""Per-process read views of what storefronts ask for on every page and what changes far less
often: the catalogue, the network's locations and each SKU's stock figures (positions, live
holds, incoming supply, waiting backorders).

How current a view is (the bound the README states):
- a commit in this process drops what it changed from this process's views before the request
  that made it gets its answer (`Services.committed`);
- other replicas drop it when the broker tells them (`Broker.announce`: Redis pub/sub, within
  milliseconds), and drop everything when their subscription (re)starts, since messages may
  have been lost meanwhile;
- whatever happens to the broker, nothing is served from a view read more than `max_age` ago
  (ORDERGATE_READ_VIEW_SECONDS, 1 s by default; 0 turns the views off).

A read that began before a change it did not see and ends after that change was announced is
answered but not kept (per-SKU change counters), so a late read never overwrites a drop. Holds
are kept with their expiry and summed at answer time, so an expired hold stops counting on time
without any change being announced. Answers are labelled as before: `asOf` is the ERP snapshot's
time and `stale` says the ERP could not be read; the views never make a figure older than that.

The number of SKUs kept is capped (`max_skus`, oldest dropped first): a client asking for
random SKUs cannot grow a replica's memory without bound.

What an answer was made of can be written down as it is made (`watch`, a `Reading`: the
versions of the views it read, the oldest figure, the first hold to expire), so that a kept
answer (`schema.answers`) is served only while every one of those is unchanged (`current`).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from ordergate.models.catalog import Product
from ordergate.models.inventory import HoldLine, IncomingSupplyRecord, PositionFigures, held_units
from ordergate.models.location import Location
from ordergate.store.inventory import PositionAt
from ordergate.store.unit_of_work import Store

Key = tuple[str, str]  # (sku, location id)


@dataclass(frozen=True)
class StockInputs:
    """What a stock answer is made of, as read from the store or kept by a view."""

    positions: list[PositionFigures]
    held: dict[Key, int]
    incoming: dict[str, list[IncomingSupplyRecord]]
    waiting: dict[Key, int]
    safety: dict[Key, int]  # safety stock set per SKU and node (the rest: the node's own)


@dataclass(frozen=True)
class _SkuRows:
    positions: tuple[PositionFigures, ...]
    holds: tuple[HoldLine, ...]
    incoming: tuple[IncomingSupplyRecord, ...]
    waiting: tuple[tuple[str, int], ...]  # location, units
    safety: tuple[tuple[str, int], ...]  # location, units
    read_at: float


@dataclass(frozen=True)
class CataloguePage:
    products: list[Product]
    has_next: bool
    total: int


@dataclass
class Reading:
    """What one answer was made from, written down while it is made: the views' versions it
    read (everything's, the catalogue's, each SKU's), when its oldest figure was read (the
    views' timer), the first expiry of a hold it counted, and whether anything it showed was a
    fallback (an ERP that could not be read: such an answer is not kept)."""

    epoch: int
    catalogue: int | None = None
    skus: dict[str, int] = field(default_factory=dict)
    oldest: float = math.inf
    holds_until: datetime | None = None
    fallback: bool = False

    def read_at(self, when: float) -> None:
        self.oldest = min(self.oldest, when)


_READING: ContextVar[Reading | None] = ContextVar("ordergate_reading", default=None)


def mark_fallback() -> None:
    """The answer being made shows a fallback (a stale snapshot): it must not be kept."""
    reading = _READING.get()
    if reading is not None:
        reading.fallback = True


@dataclass
class ReadViews:
    max_age: float = 1.0  # seconds; 0: every answer is read from the store
    max_skus: int = 50_000
    max_pages: int = 1_000
    timer: Callable[[], float] = time.monotonic
    _stock: dict[str, _SkuRows] = field(default_factory=dict)
    _changes: dict[str, int] = field(default_factory=dict)  # per SKU: drops so far
    _epoch: int = 0  # drops of everything so far
    _locations: tuple[list[Location], float] | None = None
    _pages: dict[tuple[str | None, int], tuple[CataloguePage, float]] = field(default_factory=dict)
    _catalogue_epoch: int = 0
    hits: int = 0
    misses: int = 0

    # -- what changed ----------------------------------------------------------------------

    def changed(self, skus: Iterable[str], catalog: bool) -> None:
        for sku in skus:
            self._changes[sku] = self._changes.get(sku, 0) + 1
            self._stock.pop(sku, None)
        if catalog:
            self._catalogue_epoch += 1
            self._locations = None
            self._pages.clear()

    def change_counts(self, skus: Iterable[str]) -> dict[str, int]:
        """How many changes to each SKU this process has heard of (its own commits and other
        replicas' announcements): a SKU whose count moved may show other figures."""
        changes = self._changes
        return {sku: count for sku in skus if (count := changes.get(sku, 0))}

    def epochs(self) -> tuple[int, int]:
        """Drops of everything (changes may have been missed) and of the catalogue so far."""
        return self._epoch, self._catalogue_epoch

    def drop_all(self) -> None:
        """Changes may have been missed (a broker subscription restarted): forget everything."""
        self._epoch += 1
        self._catalogue_epoch += 1
        self._stock.clear()
        self._locations = None
        self._pages.clear()

    def _fresh(self, read_at: float) -> bool:
        return self.timer() - read_at < self.max_age

    # -- what an answer was made from ------------------------------------------------------

    @contextlib.contextmanager
    def watch(self) -> Iterator[Reading]:
        """Write down what the views hand out in this context (and the tasks it starts)."""
        reading = Reading(epoch=self._epoch)
        token = _READING.set(reading)
        try:
            yield reading
        finally:
            _READING.reset(token)

    def current(self, reading: Reading, now: datetime) -> bool:
        """Whether an answer made from `reading` still says what one made now would: nothing it
        read was dropped since, its oldest figure is younger than `max_age`, and no hold it
        counted has expired by `now`."""
        if reading.fallback or reading.epoch != self._epoch or self.timer() - reading.oldest >= self.max_age:
            return False
        if reading.catalogue is not None and reading.catalogue != self._catalogue_epoch:
            return False
        if reading.holds_until is not None and now >= reading.holds_until:
            return False
        changes = self._changes
        return all(changes.get(sku, 0) == seen for sku, seen in reading.skus.items())

    def _note_catalogue(self, epoch: int, read_at: float) -> None:
        reading = _READING.get()
        if reading is not None:
            reading.catalogue = epoch if reading.catalogue is None else min(reading.catalogue, epoch)
            reading.read_at(read_at)

    def _note_stock(self, seen: dict[str, int], rows: Iterable[_SkuRows], now: datetime) -> None:
        reading = _READING.get()
        if reading is None:
            return
        for sku, count in seen.items():
            reading.skus.setdefault(sku, count)
        for kept in rows:
            reading.read_at(kept.read_at)
            for line in kept.holds:
                expires_at = line[3]
                if expires_at > now and (reading.holds_until is None or expires_at < reading.holds_until):
                    reading.holds_until = expires_at

    # -- stock -----------------------------------------------------------------------------

    async def stock(self, store: Store, skus: Sequence[str], now: datetime) -> StockInputs:
        """These SKUs' stock inputs as of `now`: kept rows where fresh, the rest read in one
        read transaction (and kept, unless a change to them was announced meanwhile)."""
        kept = {
            sku: rows
            for sku in skus
            if (rows := self._stock.get(sku)) is not None and self._fresh(rows.read_at)
        }
        missing = [sku for sku in skus if sku not in kept]
        seen = {sku: self._changes.get(sku, 0) for sku in skus}
        self.hits += len(kept)
        self.misses += len(missing)
        if missing:
            kept.update(await self._read_stock(store, missing, now))
        self._note_stock(seen, kept.values(), now)
        return _inputs(kept, now)

    async def _read_stock(self, store: Store, skus: list[str], now: datetime) -> dict[str, _SkuRows]:
        epoch, before = self._epoch, {sku: self._changes.get(sku, 0) for sku in skus}
        read_at = self.timer()
        async with store.read() as uow:
            at = await uow.inventory.stock_at(skus, None)  # holds are kept line by line (below),
            holds = await uow.inventory.live_holds(skus, now)  # to expire one by one, not summed
            incoming = await uow.inventory.incoming(skus)
        by_sku: dict[str, list[PositionAt]] = {}
        for row in at:
            by_sku.setdefault(row.key[0], []).append(row)
        found: dict[str, _SkuRows] = {}
        for sku in skus:
            of_sku = by_sku.get(sku, [])
            found[sku] = _SkuRows(
                positions=tuple(row.position for row in of_sku if row.position is not None),
                holds=tuple(line for line in holds if line[0] == sku),
                incoming=tuple(incoming.get(sku, ())),
                waiting=tuple((row.key[1], row.waiting) for row in of_sku if row.waiting),
                safety=tuple((row.key[1], row.safety) for row in of_sku if row.safety is not None),
                read_at=read_at,
            )
        if self.max_age > 0 and epoch == self._epoch:
            for sku, rows in found.items():
                if self._changes.get(sku, 0) == before[sku]:
                    self._keep(sku, rows)
        return found

    def _keep(self, sku: str, rows: _SkuRows) -> None:
        self._stock.pop(sku, None)  # re-inserted last: the dict's order is the order of reading
        while len(self._stock) >= self.max_skus:
            self._stock.pop(next(iter(self._stock)))
        self._stock[sku] = rows

    # -- the catalogue ---------------------------------------------------------------------

    async def locations(self, store: Store) -> list[Location]:
        if self._locations is not None and self._fresh(self._locations[1]):
            self._note_catalogue(self._catalogue_epoch, self._locations[1])
            return self._locations[0]
        epoch, read_at = self._catalogue_epoch, self.timer()
        async with store.read() as uow:
            found = await uow.catalog.locations()
        if self.max_age > 0 and epoch == self._catalogue_epoch:
            self._locations = (found, read_at)
        self._note_catalogue(epoch, read_at)
        return found

    async def product_page(self, store: Store, first: int, after_sku: str | None) -> CataloguePage:
        """Active products in SKU order after `after_sku`, `first` of them: pages are kept as
        asked for (at most `max_pages`), not the whole catalogue."""
        key = (after_sku, first)
        found = self._pages.get(key)
        if found is not None and self._fresh(found[1]):
            self.hits += 1
            self._note_catalogue(self._catalogue_epoch, found[1])
            return found[0]
        self.misses += 1
        epoch, read_at = self._catalogue_epoch, self.timer()
        async with store.read() as uow:
            rows, has_next = await uow.catalog.product_page(first, after_sku)
            total = await uow.catalog.count_products()
        page = CataloguePage(rows, has_next, total)
        if self.max_age > 0 and epoch == self._catalogue_epoch:
            self._pages.pop(key, None)
            while len(self._pages) >= self.max_pages:
                self._pages.pop(next(iter(self._pages)))
            self._pages[key] = (page, read_at)
        self._note_catalogue(epoch, read_at)
        return page


def _inputs(rows: dict[str, _SkuRows], now: datetime) -> StockInputs:
    positions: list[PositionFigures] = []
    incoming: dict[str, list[IncomingSupplyRecord]] = {}
    waiting: dict[Key, int] = {}
    safety: dict[Key, int] = {}
    for sku in sorted(rows):
        kept = rows[sku]
        positions.extend(kept.positions)
        if kept.incoming:
            incoming[sku] = list(kept.incoming)
        for location, units in kept.waiting:
            waiting[(sku, location)] = units
        for location, units in kept.safety:
            safety[(sku, location)] = units
    held = held_units((line for kept in rows.values() for line in kept.holds), now)
    return StockInputs(positions, held, incoming, waiting, safety)
