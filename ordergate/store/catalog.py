"""Products and locations."""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from ordergate.models.catalog import Product
from ordergate.models.fulfillment import OPEN_FULFILLMENT_STATUSES
from ordergate.models.location import Location
from ordergate.store import tables
from ordergate.store.changes import catalog_changed
from ordergate.store.engine import by_keys, insert_for
from ordergate.store.records import fetch


class CatalogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def products_by_skus(self, skus: Sequence[str]) -> dict[str, Product]:
        if not skus:
            return {}
        rows = await self.session.execute(by_keys(Product, tables.products.c.sku), {"ids": list(set(skus))})
        return {p.sku: p for p in rows.scalars()}

    async def products_by_ids(self, ids: Sequence[str]) -> dict[str, Product]:
        if not ids:
            return {}
        rows = await self.session.execute(select(Product).where(tables.products.c.id.in_(set(ids))))
        return {p.id: p for p in rows.scalars()}

    async def product_page(self, first: int, after_sku: str | None) -> tuple[list[Product], bool]:
        query = (
            select(Product).where(tables.products.c.active).order_by(tables.products.c.sku).limit(first + 1)
        )
        if after_sku is not None:
            query = query.where(tables.products.c.sku > after_sku)
        rows = list((await self.session.execute(query)).scalars())
        return rows[:first], len(rows) > first

    async def count_products(self) -> int:
        query = select(sa.func.count()).select_from(Product).where(tables.products.c.active)
        return int((await self.session.execute(query)).scalar_one())

    async def locations(self) -> list[Location]:
        rows = await self.session.execute(_locations())
        return list(rows.scalars())

    async def locations_by_ids(self, ids: Sequence[str]) -> dict[str, Location]:
        if not ids:
            return {}
        statement = by_keys(Location, tables.locations.c.id)
        rows = await fetch(self.session, Location, statement, {"ids": list(set(ids))})
        return {loc.id: loc for loc in rows}

    async def lock_open(self, ids: Collection[str]) -> set[str]:
        """Of these locations, those still active, each row locked until the transaction ends
        against the lock a change of the location takes (`location_for_update`). A transaction
        that routed work to them takes it before it commits: when a deactivation holds the row,
        this waits for it and, as READ COMMITTED re-checks a row it waited for, leaves the
        location out when it was closed; when this holds the row, the deactivation waits, then
        counts this transaction's work as the location's open work. FOR KEY SHARE is the lock a
        fulfilment order's foreign key takes anyway: placements never wait for each other on
        it. (SQLite has one writer at a time: there, a plain read.)"""
        if not ids:
            return set()
        return set((await self.session.execute(_open_locked(), {"ids": sorted(ids)})).scalars())

    async def location_for_update(self, location_id: str) -> Location | None:
        """A location to change through the session (the audit trail and the views see it)."""
        query = select(Location).where(tables.locations.c.id == location_id).with_for_update()
        return (await self.session.execute(query)).scalars().first()

    async def add_location(self, location: Location) -> bool:
        """Keep a new location; False when its code or ERP id is taken meanwhile (the unique
        indexes decide between admins creating the same code at once)."""
        try:
            async with self.session.begin_nested():
                self.session.add(location)
        except IntegrityError:
            return False
        return True

    async def open_fulfillment_counts(self, location_ids: Sequence[str]) -> dict[str, int]:
        if not location_ids:
            return {}
        query = (
            select(tables.fulfillment_orders.c.location_id, sa.func.count())
            .where(tables.fulfillment_orders.c.location_id.in_(set(location_ids)))
            .where(tables.fulfillment_orders.c.status.in_([s.value for s in OPEN_FULFILLMENT_STATUSES]))
            .group_by(tables.fulfillment_orders.c.location_id)
        )
        rows = await self.session.execute(query)
        return {location_id: int(count) for location_id, count in rows.all()}

    async def active_skus(self) -> list[str]:
        return list(
            (
                await self.session.execute(select(tables.products.c.sku).where(tables.products.c.active))
            ).scalars()
        )

    async def add_missing(self, products: Sequence[Product], locations: Sequence[Location]) -> int:
        """Insert the products and locations whose SKU or code is new; concurrent seeders
        (replicas starting together) skip each other's rows instead of failing.

        The keys already there are read first (every start after the first finds them all and
        writes nothing), and the rest go as parameters of one statement compiled once per
        process: inline multi-row VALUES were compiled anew on every start (19 of the 65 ms a
        start's preparation took on SQLite, 13 ms again when nothing was missing)."""
        added = 0
        catalog_changed(self.session)
        for table, rows, key in ((tables.products, products, "sku"), (tables.locations, locations, "code")):
            column = table.c[key]
            wanted = [getattr(row, key) for row in rows]
            present = (
                set((await self.session.execute(select(column).where(column.in_(wanted)))).scalars())
                if wanted
                else set()
            )
            values = [
                {c.name: getattr(row, c.name) for c in table.columns}
                for row in rows
                if getattr(row, key) not in present
            ]
            if not values:
                continue
            insert = insert_for(self.session)
            statement = insert(table).on_conflict_do_nothing(index_elements=[key]).returning(column)
            added += len((await self.session.execute(statement, values)).all())
        return added


@functools.cache
def _open_locked() -> sa.Select[Any]:
    """`CatalogRepository.lock_open`'s statement, built once per process: one per placement."""
    return (
        sa.select(tables.locations.c.id)
        .where(tables.locations.c.id.in_(sa.bindparam("ids", expanding=True)), tables.locations.c.active)
        .with_for_update(read=True, key_share=True)
    )


@functools.cache
def _locations() -> Any:
    """`CatalogRepository.locations`' statement, built once per process: every routing reads it."""
    return select(Location).order_by(tables.locations.c.code)
