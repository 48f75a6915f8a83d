"""Positions, holds and incoming supply; allocation as an atomic, conditional primitive."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from ordergate.models.allocation import PlanLine
from ordergate.models.inventory import (
    HoldLine,
    IncomingSupplyRecord,
    InventoryPosition,
    LedgerEntry,
    LedgerKind,
    PositionFigures,
    Reservation,
    ReservationLine,
    ReservationStatus,
    SafetyStock,
    WebhookDelivery,
    held_units,
)
from ordergate.models.movements import ReadWindow, StockMovement, reconcile
from ordergate.models.short_spells import NOT_NOTED
from ordergate.models.supply import Backorder, BackorderStatus
from ordergate.store import tables
from ordergate.store.changes import stock_changed
from ordergate.store.columns import UTCDateTime
from ordergate.store.engine import insert_for
from ordergate.store.orders import group

Key = tuple[str, str]  # (sku, location_id)


class NotEnoughStock(Exception):
    """A conditional allocation found fewer units than the plan needs."""

    def __init__(self, line: PlanLine) -> None:
        super().__init__(f"{line.sku} at {line.location_id}")
        self.line = line


@dataclass(frozen=True)
class PositionAt:
    """A (sku, location) with its position's row (None: no units were ever counted there) and
    what is set aside there (`InventoryRepository.stock_at`, `set_aside_at`)."""

    key: Key
    position: PositionFigures | None
    held: int
    safety: int | None
    waiting: int


LATER_AT_MOST = timedelta(minutes=1)
"""How much later than a read another stored read can have finished and still be taken as the
newer one. A read takes seconds (`stock_read_timeout`); a stored read stamped further ahead
than this came from a clock that jumped or runs ahead, and must not keep every later read out."""


def read_later(stored: datetime, this: datetime) -> bool:
    """Whether a stored read finished after this one (and so is kept in its place)."""
    return this < stored <= this + LATER_AT_MOST


class InventoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def positions(self, skus: Sequence[str]) -> list[InventoryPosition]:
        """Positions of these SKUs in (sku, location) order (a stock view reads them with what is
        set aside at each: `stock_at`)."""
        if not skus:
            return []
        query = _positions_of_skus()
        return list((await self.session.execute(query, {"skus": sorted(set(skus))})).scalars())

    async def over_committed(self, skus: Sequence[str] | None = None) -> dict[Key, int]:
        """Positions (of these SKUs, or all) where the ERP's last count left fewer units on hand
        than are allocated: the units missing at each (a partial index keeps them, so the pass
        that looks every few seconds reads only those)."""
        query = _over_committed()
        if skus is not None:
            if not skus:
                return {}
            query = query.where(_POSITION.sku.in_(sorted(set(skus))))
        rows = (await self.session.execute(query)).all()
        return {(str(sku), str(location_id)): int(missing) for sku, location_id, missing in rows}

    async def free_units(self, skus: Sequence[str]) -> dict[str, int]:
        """Per SKU, the units on hand beyond what is allocated, summed over its nodes (a short
        node counts none): whether more became free since some moment, not what can be sold."""
        if not skus:
            return {}
        rows = await self.session.execute(_free_units(), {"skus": sorted(set(skus))})
        return {str(sku): int(units or 0) for sku, units in rows}

    async def short_page(
        self,
        location_id: str | None,
        first: int,
        after: tuple[Any, ...] | None,
        *,
        longest_first: bool = False,
    ) -> tuple[list[tuple[PositionFigures, datetime | None]], bool, int]:
        """A page of the positions with more units allocated than on hand (at one node, or all),
        each with the start of its open spell of short stock (None: no pass has noted it yet), by
        (sku, node), or, `longest_first`, by (that start, sku, node) with positions not noted yet
        last (`NOT_NOTED`); whether more follow; how many there are in all. `after` is the last
        position's key in the same order."""
        where = [_SHORT] if location_id is None else [_SHORT, _POSITION.location_id == location_id]
        spell = tables.short_spells.c
        since = sa.func.coalesce(spell.started_at, sa.literal(NOT_NOTED, UTCDateTime()))
        query = (
            sa.select(*_FIGURES, spell.started_at)
            .select_from(
                tables.inventory_positions.outerjoin(
                    tables.short_spells,
                    (spell.sku == _POSITION.sku)
                    & (spell.location_id == _POSITION.location_id)
                    & spell.ended_at.is_(None),
                )
            )
            .where(*where)
        )
        key = (
            [since, _POSITION.sku, _POSITION.location_id]
            if longest_first
            else [_POSITION.sku, _POSITION.location_id]
        )
        if after is not None:
            bound = [sa.literal(after[0], UTCDateTime()), *after[1:]] if longest_first else list(after)
            query = query.where(sa.tuple_(*key) > sa.tuple_(*bound))
        rows = (await self.session.execute(query.order_by(*key).limit(first + 1))).all()
        total = await self.session.scalar(
            sa.select(sa.func.count()).select_from(tables.inventory_positions).where(*where)
        )
        page = [
            (PositionFigures(str(sku), str(at), int(on_hand), int(allocated), as_of), since)
            for sku, at, on_hand, allocated, as_of, since in rows
        ]
        return page[:first], len(page) > first, int(total or 0)

    async def lock_positions(self, keys: Sequence[Key]) -> None:
        """Take the row locks of these (sku, location) positions only, in (sku, location) order
        (the order every locker uses, so lockers queue instead of deadlocking)."""
        if not keys:
            return
        await self.session.execute(_lock_positions(), {"keys": sorted(set(keys))})

    async def stock_at(
        self, skus: Sequence[str], now: datetime | None, *, excluding: str | None = None
    ) -> list[PositionAt]:
        """Every position of these SKUs, and every node where units of them wait without a
        position yet, each with what is set aside there, in one statement: units in holds live
        at `now` (but `excluding`'s; not summed, 0, without a `now`), the safety stock set for
        the SKU there (None: the node's own) and units backordered there and waiting. In
        (sku, location) order."""
        if not skus:
            return []
        rows = await self.session.execute(
            _stock_at(by_keys=False, held=now is not None),
            {"skus": sorted(set(skus)), "now": now, "excluding": excluding or ""},
        )
        return _positions_at(rows.all())

    async def set_aside_at(
        self, keys: Sequence[Key], now: datetime, *, excluding: str | None = None
    ) -> list[PositionAt]:
        """`stock_at` for these positions only. Read after their row locks are taken
        (`lock_positions`), this is what an allocation there may count on: a hold, an
        allocation or a backorder there takes the same lock first. Rows as read, not the
        session's records, which may hold an earlier read of the same rows."""
        if not keys:
            return []
        rows = await self.session.execute(
            _stock_at(by_keys=True, held=True),
            {"keys": sorted(set(keys)), "now": now, "excluding": excluding or ""},
        )
        return _positions_at(rows.all())

    async def safety_stock(self, skus: Sequence[str]) -> dict[Key, int]:
        """The safety stock set per SKU and node for these SKUs (nodes not named keep their own)."""
        if not skus:
            return {}
        rows = await self.session.execute(_safety_stock_of_skus(), {"skus": sorted(set(skus))})
        return {(sku, location): int(units) for sku, location, units in rows.all()}

    async def safety_stock_records(self, sku: str) -> list[SafetyStock]:
        query = select(SafetyStock).where(tables.safety_stock.c.sku == sku)
        return list((await self.session.execute(query)).scalars())

    async def set_safety_stock(
        self, sku: str, location_id: str, quantity: int | None, *, by: str, at: datetime
    ) -> SafetyStock | None:
        """Set a SKU's safety stock at a node, or with None give the node's own back; through
        the session, so the audit trail and the read views see it."""
        found = await self.session.get(SafetyStock, (sku, location_id))
        if quantity is None:
            if found is not None:
                await self.session.delete(found)  # seen at flush, like any record it changes
            return None
        if found is None:
            found = SafetyStock(
                sku=sku, location_id=location_id, quantity=quantity, updated_by=by, updated_at=at
            )
            self.session.add(found)
        else:
            found.quantity, found.updated_by, found.updated_at = quantity, by, at
        await self.session.flush()
        return found

    async def held(
        self, skus: Sequence[str], now: datetime, *, excluding: str | None = None
    ) -> dict[Key, int]:
        """Units in live holds per (sku, location) (`models.inventory.held_units`)."""
        return held_units(await self.live_holds(skus, now), now, excluding)

    async def live_holds(self, skus: Sequence[str], now: datetime) -> list[HoldLine]:
        """Every line of an active hold of these SKUs not yet expired at `now`, for
        `models.inventory.held_units` to sum now or later (a read view sums them at answer time)."""
        if not skus:
            return []
        rows = await self.session.execute(_live_holds_of_skus(), {"skus": sorted(set(skus)), "now": now})
        return [
            (sku, location, int(units), expires, hold) for sku, location, units, expires, hold in rows.all()
        ]

    async def skus_of_holds(self, hold_ids: Sequence[str]) -> frozenset[str]:
        query = sa.select(tables.reservation_lines.c.sku).where(
            tables.reservation_lines.c.reservation_id.in_(hold_ids)
        )
        return frozenset((await self.session.execute(query)).scalars())

    async def incoming(self, skus: Sequence[str]) -> dict[str, list[IncomingSupplyRecord]]:
        if not skus:
            return {}
        rows = await self.session.execute(_incoming_of_skus(), {"skus": sorted(set(skus))})
        return group(list(rows.scalars()), lambda record: record.sku)

    async def waiting(self, skus: Sequence[str]) -> dict[Key, int]:
        """Units backordered and still waiting, per (sku, location): demand on incoming supply."""
        if not skus:
            return {}
        rows = await self.session.execute(_waiting_of_skus(), {"skus": sorted(set(skus))})
        return {(sku, location): int(total) for sku, location, total in rows.all()}

    async def waiting_lines_at(self, location_id: str) -> int:
        """Order lines with units waiting for supply at this node (they are allocated there)."""
        query = (
            sa.select(sa.func.count())
            .select_from(tables.backorders)
            .where(tables.backorders.c.location_id == location_id)
            .where(tables.backorders.c.status == BackorderStatus.WAITING.value)
        )
        return int((await self.session.execute(query)).scalar_one())

    async def waiting_skus(self) -> list[str]:
        """The SKUs with units backordered and still waiting."""
        query = (
            select(tables.backorders.c.sku)
            .where(tables.backorders.c.status == BackorderStatus.WAITING.value)
            .distinct()
            .order_by(tables.backorders.c.sku)
        )
        return list((await self.session.execute(query)).scalars())

    async def waiting_backorders(self, skus: Sequence[str] | None = None) -> list[Backorder]:
        """Backorders still waiting (of these SKUs, or all), oldest first."""
        query = select(Backorder).where(tables.backorders.c.status == BackorderStatus.WAITING.value)
        if skus is not None:
            query = query.where(tables.backorders.c.sku.in_(sorted(set(skus))))
        query = query.order_by(tables.backorders.c.placed_at, tables.backorders.c.id)
        return list((await self.session.execute(query)).scalars())

    async def backorders_by_order_ids(self, order_ids: Sequence[str]) -> dict[str, list[Backorder]]:
        if not order_ids:
            return {}
        query = (
            select(Backorder)
            .where(tables.backorders.c.order_id.in_(sorted(set(order_ids))))
            .order_by(tables.backorders.c.placed_at, tables.backorders.c.id)
        )
        return group(list((await self.session.execute(query)).scalars()), lambda b: b.order_id)

    async def record_snapshot(self, on_hand: dict[Key, int], window: ReadWindow, skew: timedelta) -> set[Key]:
        """Store the ERP's on-hand figures read over `window`, each joined to the movements it
        cannot include yet (`models.movements.reconcile`); `allocated` is ours and untouched.
        Positions are locked first, so a shipment committing meanwhile is either seen here or
        waits for this. A position that already holds a snapshot read later than this one (a
        read started after an ERP notice, stored while this older read was still on its way) is
        left as it is: a snapshot never replaces a newer one. Returns the positions whose
        snapshot could not be placed (kept local)."""
        if not on_hand:
            return set()
        # The locks, with each row's snapshot time: the rows are written below by one upsert,
        # not through loaded records.
        locked = await self.session.execute(
            _lock_positions_of_skus(), {"skus": sorted({sku for sku, _ in on_hand})}
        )
        newer = {(sku, location) for sku, location, as_of in locked if read_later(as_of, window.finished)}
        movements = await self.uncounted_movements(list(on_hand))
        values: list[dict[str, Any]] = []
        counted: list[str] = []
        kept: set[Key] = set()
        for (sku, location), units in sorted(on_hand.items()):
            if (sku, location) in newer:
                continue  # nor are its movements counted by this older read: the newer one did
            verdict = reconcile(units, movements.get((sku, location), []), window, skew)
            if verdict.on_hand is None:
                kept.add((sku, location))
                continue
            counted.extend(verdict.counted)
            values.append(
                {
                    "sku": sku,
                    "location_id": location,
                    "on_hand": verdict.on_hand,
                    "allocated": 0,
                    "as_of": window.finished,
                }
            )
        if values:
            stock_changed(self.session, (value["sku"] for value in values))
            insert = insert_for(self.session)
            # The table, not the mapped class: an ORM insert of a whole refresh's rows spends
            # more time sorting out attributes than the database spends writing them. Rows as
            # parameters (executemany, sent in batches of multi-row VALUES), not inline VALUES:
            # the statement is then compiled once per process, not once per refresh.
            statement = insert(tables.inventory_positions)
            statement = statement.on_conflict_do_update(
                index_elements=["sku", "location_id"],
                set_={"on_hand": statement.excluded.on_hand, "as_of": statement.excluded.as_of},
            )
            await self.session.execute(statement, values)
        if counted:
            await self.session.execute(
                sa.update(tables.stock_movements)
                .where(tables.stock_movements.c.id.in_(counted))
                .values(counted_at=window.finished)
            )
        return kept

    async def uncounted_movements(self, keys: Sequence[Key]) -> dict[Key, list[StockMovement]]:
        wanted = set(keys)
        by_sku = await self.uncounted_by_sku(sorted({sku for sku, _ in wanted}))
        found = [m for movements in by_sku.values() for m in movements if (m.sku, m.location_id) in wanted]
        return group(found, lambda m: (m.sku, m.location_id))

    async def uncounted_by_sku(self, skus: Sequence[str]) -> dict[str, list[StockMovement]]:
        """The movements of these SKUs, at every node, that no snapshot has counted yet."""
        if not skus:
            return {}
        query = (
            select(StockMovement)
            .where(tables.stock_movements.c.sku.in_(sorted(set(skus))))
            .where(tables.stock_movements.c.counted_at.is_(None))
            .order_by(tables.stock_movements.c.created_at, tables.stock_movements.c.id)
        )
        return group(list((await self.session.execute(query)).scalars()), lambda m: m.sku)

    def add_movements(self, movements: Sequence[StockMovement]) -> None:
        self.session.add_all(movements)

    async def movements_of_task(self, task_key: str) -> list[StockMovement]:
        query = (
            select(StockMovement)
            .where(tables.stock_movements.c.task_key == task_key)
            .order_by(tables.stock_movements.c.sku, tables.stock_movements.c.id)
        )
        return list((await self.session.execute(query)).scalars())

    async def mark_movements(self, task_key: str, **values: datetime | None) -> None:
        """Set `sent_at` (only where it is not set yet: the first sending counts), `acked_at`,
        or clear `sent_at` for a message the ERP refused for good (it never applied it)."""
        statement = sa.update(tables.stock_movements).where(tables.stock_movements.c.task_key == task_key)
        if "sent_at" in values and values["sent_at"] is not None:
            statement = statement.where(tables.stock_movements.c.sent_at.is_(None))
        await self.session.execute(statement.values(**values))

    async def replace_incoming(
        self, skus: Sequence[str], supplies: Sequence[IncomingSupplyRecord], read_at: datetime
    ) -> set[str]:
        """Store what a supply read of `skus` that finished at `read_at` found, SKU by SKU, in
        place of what is stored, unless a read that finished later has been stored already (in
        this replica or another): an older read neither replaces its figures nor brings back
        supply it found gone. Each SKU's mark is one row (`supply_reads`), locked until commit.
        Returns the SKUs replaced."""
        if not skus:
            return set()
        marks = tables.supply_reads
        statement = insert_for(self.session)(marks).values(
            [{"sku": sku, "read_at": read_at} for sku in sorted(set(skus))]
        )
        statement = statement.on_conflict_do_update(
            index_elements=["sku"],
            set_={"read_at": statement.excluded.read_at},
            # kept unless read later, within reason (`read_later`): a mark from the future is a clock
            where=sa.or_(
                marks.c.read_at <= statement.excluded.read_at,
                marks.c.read_at > sa.bindparam("jumped", read_at + LATER_AT_MOST, type_=marks.c.read_at.type),
            ),
        ).returning(marks.c.sku)
        newest = set((await self.session.execute(statement)).scalars())
        if not newest:
            return newest
        stock_changed(self.session, newest)
        await self.session.execute(
            sa.delete(IncomingSupplyRecord).where(tables.incoming_supply.c.sku.in_(sorted(newest)))
        )
        self.session.add_all([supply for supply in supplies if supply.sku in newest])
        await self.session.flush()
        return newest

    async def allocate(
        self,
        lines: Sequence[PlanLine],
        *,
        held: dict[Key, int],
        unavailable: dict[Key, int],
        order_id: str,
        actor: str,
        now: datetime,
    ) -> None:
        """Commit units to an order, each line a conditional update that only succeeds while
        enough remain; the CHECK constraints are the last defence."""
        stock_changed(self.session, (line.sku for line in lines))
        await self.session.flush()  # what is pending goes first, as an ORM update would autoflush it
        entries: list[LedgerEntry] = []
        for line in sorted(lines, key=lambda x: (x.sku, x.location_id)):
            reserve = held.get((line.sku, line.location_id), 0) + unavailable.get(
                (line.sku, line.location_id), 0
            )
            result = await self.session.execute(
                _ALLOCATE,
                {
                    "at_sku": line.sku,
                    "at_location": line.location_id,
                    "reserve": reserve,
                    "units": line.quantity,
                },
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise NotEnoughStock(line)
            entries.append(
                LedgerEntry(
                    sku=line.sku,
                    location_id=line.location_id,
                    kind=LedgerKind.ALLOCATE,
                    quantity=line.quantity,
                    order_id=order_id,
                    actor=actor,
                    occurred_at=now,
                )
            )
        self.session.add_all(entries)  # after the updates: one insert of them all, not one per line
        await self.session.flush()

    async def lock_positions_of(self, skus: Iterable[str]) -> None:
        """Row-lock every position of these SKUs (PostgreSQL), in (sku, location) order: the order
        every writer takes them in. A writer that releases units at one node and then routes them
        (locking every node's position, sorted) takes them all first, so that two writers wait
        for each other instead of deadlocking."""
        wanted = sorted(set(skus))
        if wanted:
            await self.session.execute(_lock_positions_of_skus(), {"skus": wanted})

    async def settle(
        self, lines: Sequence[PlanLine], kind: LedgerKind, *, order_id: str, actor: str, now: datetime
    ) -> None:
        """Take allocated units back out: SHIP when they left the building (on hand goes down
        too, until the ERP's next snapshot says so itself), RELEASE when they stay."""
        stock_changed(self.session, (line.sku for line in lines))
        entries: list[LedgerEntry] = []
        for line in sorted(lines, key=lambda x: (x.sku, x.location_id)):
            values: dict[str, Any] = {"allocated": tables.inventory_positions.c.allocated - line.quantity}
            if kind is LedgerKind.SHIP:
                values["on_hand"] = sa.case(
                    (
                        tables.inventory_positions.c.on_hand >= line.quantity,
                        tables.inventory_positions.c.on_hand - line.quantity,
                    ),
                    else_=0,
                )
            await self.session.execute(
                sa.update(InventoryPosition)
                .where(tables.inventory_positions.c.sku == line.sku)
                .where(tables.inventory_positions.c.location_id == line.location_id)
                .where(tables.inventory_positions.c.allocated >= line.quantity)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            entries.append(
                LedgerEntry(
                    sku=line.sku,
                    location_id=line.location_id,
                    kind=kind,
                    quantity=line.quantity,
                    order_id=order_id,
                    actor=actor,
                    occurred_at=now,
                )
            )
        self.session.add_all(entries)  # after the updates: one insert of them all, not one per line
        await self.session.flush()

    async def restock(
        self, sku: str, location_id: str, quantity: int, *, order_id: str, actor: str, now: datetime
    ) -> None:
        """Returned units back on the shelf: on hand goes up here until the ERP's next snapshot
        counts them itself."""
        position = await self.session.get(InventoryPosition, (sku, location_id), with_for_update=True)
        if position is None:
            position = InventoryPosition(sku=sku, location_id=location_id, on_hand=0, allocated=0, as_of=now)
        position.on_hand += quantity
        self.session.add(position)
        self.session.add(
            LedgerEntry(
                sku=sku,
                location_id=location_id,
                kind=LedgerKind.RETURN,
                quantity=quantity,
                order_id=order_id,
                actor=actor,
                occurred_at=now,
            )
        )
        await self.session.flush()

    async def write_off(
        self, lines: Sequence[PlanLine], *, order_id: str | None, actor: str, now: datetime
    ) -> None:
        """Units found damaged or missing: gone from the node's on-hand (never below what is
        still allocated there to other orders' work, nor below zero)."""
        positions = tables.inventory_positions.c
        stock_changed(self.session, (line.sku for line in lines))
        for line in sorted(lines, key=lambda x: (x.sku, x.location_id)):
            await self.session.execute(
                sa.update(InventoryPosition)
                .where(positions.sku == line.sku, positions.location_id == line.location_id)
                .values(
                    on_hand=sa.case(
                        (
                            positions.on_hand - line.quantity >= positions.allocated,
                            positions.on_hand - line.quantity,
                        ),
                        else_=positions.allocated,
                    )
                )
                .execution_options(synchronize_session=False)
            )
            self.session.add(
                LedgerEntry(
                    sku=line.sku,
                    location_id=line.location_id,
                    kind=LedgerKind.ADJUST,
                    quantity=-line.quantity,
                    order_id=order_id,
                    actor=actor,
                    occurred_at=now,
                )
            )
        await self.session.flush()

    async def add_reservation(self, reservation: Reservation, lines: Sequence[ReservationLine]) -> None:
        self.session.add(reservation)
        await self.session.flush()
        self.session.add_all(lines)
        for line in lines:
            self.session.add(
                LedgerEntry(
                    sku=line.sku,
                    location_id=line.location_id,
                    kind=LedgerKind.RESERVE,
                    quantity=line.quantity,
                    reservation_id=reservation.id,
                    actor=reservation.created_by,
                    occurred_at=reservation.created_at,
                )
            )
        await self.session.flush()

    async def reservation(self, reservation_id: str) -> Reservation | None:
        return await self.session.get(Reservation, reservation_id)

    async def reservations_by_ids(self, ids: Sequence[str]) -> dict[str, Reservation]:
        if not ids:
            return {}
        rows = await self.session.execute(select(Reservation).where(tables.reservations.c.id.in_(set(ids))))
        return {r.id: r for r in rows.scalars()}

    async def reservation_lines(self, reservation_ids: Sequence[str]) -> dict[str, list[ReservationLine]]:
        if not reservation_ids:
            return {}
        query = (
            select(ReservationLine)
            .where(tables.reservation_lines.c.reservation_id.in_(set(reservation_ids)))
            .order_by(tables.reservation_lines.c.sku, tables.reservation_lines.c.location_id)
        )
        return group(list((await self.session.execute(query)).scalars()), lambda line: line.reservation_id)

    async def delivery_at(self, source: str, delivery_id: str) -> datetime | None:
        """The time kept for this delivery under `source` (when one was taken in, or when one
        came: see `usecases.inventory.already_taken`)."""
        found = await self.session.get(WebhookDelivery, (source, delivery_id))
        return found.received_at if found is not None else None

    async def record_delivery(self, source: str, delivery_id: str, now: datetime) -> None:
        """Keep a time for this delivery under `source` (an upsert that keeps the later time,
        whichever of two concurrent ones commits last)."""
        insert = insert_for(self.session)
        statement = insert(WebhookDelivery).values(source=source, delivery_id=delivery_id, received_at=now)
        kept = tables.webhook_deliveries.c.received_at
        statement = statement.on_conflict_do_update(
            index_elements=["source", "delivery_id"],
            set_={
                "received_at": sa.case(
                    (statement.excluded.received_at > kept, statement.excluded.received_at), else_=kept
                )
            },
        )
        await self.session.execute(statement)


# The statements every order sends, built once per process (see `store.engine.by_keys`): building
# and coercing them cost more than running them. Values are given at execution.
_SKUS: sa.BindParameter[Any] = sa.bindparam("skus", expanding=True)
_POSITION = tables.inventory_positions.c
# A position over-committed: the ERP's count below what orders hold (the partial index's condition).
_SHORT = _POSITION.allocated > _POSITION.on_hand
# What a row gives `PositionFigures`, in its order.
_FIGURES = (_POSITION.sku, _POSITION.location_id, _POSITION.on_hand, _POSITION.allocated, _POSITION.as_of)

# The conditional allocation: succeeds only while on hand, less what is allocated and `reserve`
# (units held or set aside), still covers the line.
_ALLOCATE = (
    sa.update(tables.inventory_positions)
    .where(_POSITION.sku == sa.bindparam("at_sku"), _POSITION.location_id == sa.bindparam("at_location"))
    .where(
        _POSITION.on_hand - _POSITION.allocated - sa.bindparam("reserve", type_=sa.Integer)
        >= sa.bindparam("units", type_=sa.Integer)
    )
    .values(allocated=_POSITION.allocated + sa.bindparam("units", type_=sa.Integer))
)


@functools.cache
def _positions_of_skus() -> Any:
    return (
        select(InventoryPosition)
        .where(_POSITION.sku.in_(_SKUS))
        .order_by(_POSITION.sku, _POSITION.location_id)
    )


@functools.cache
@functools.cache
def _free_units() -> Any:
    spare = sa.case(
        (_POSITION.on_hand > _POSITION.allocated, _POSITION.on_hand - _POSITION.allocated), else_=0
    )
    return (
        sa.select(_POSITION.sku, sa.func.sum(spare))
        .where(_POSITION.sku.in_(sa.bindparam("skus", expanding=True)))
        .group_by(_POSITION.sku)
    )


def _over_committed() -> Any:
    return (
        sa.select(_POSITION.sku, _POSITION.location_id, _POSITION.allocated - _POSITION.on_hand)
        .where(_SHORT)
        .order_by(_POSITION.sku, _POSITION.location_id)
    )


@functools.cache
def _lock_positions_of_skus() -> Any:
    return (
        sa.select(_POSITION.sku, _POSITION.location_id, _POSITION.as_of)
        .where(_POSITION.sku.in_(_SKUS))
        .order_by(_POSITION.sku, _POSITION.location_id)
        .with_for_update()
    )


@functools.cache
def _lock_positions() -> Any:
    keys = sa.tuple_(_POSITION.sku, _POSITION.location_id)
    return (
        sa.select(_POSITION.sku)
        .where(keys.in_(sa.bindparam("keys", expanding=True)))
        .order_by(_POSITION.sku, _POSITION.location_id)
        .with_for_update()
    )


def _positions_at(rows: Iterable[Any]) -> list[PositionAt]:
    return [
        PositionAt(
            (sku, location),
            None if as_of is None else PositionFigures(sku, location, on_hand, allocated, as_of),
            int(held),
            None if safety is None else int(safety),
            int(waiting),
        )
        for sku, location, on_hand, allocated, as_of, held, safety, waiting in rows
    ]


def _set_aside(sku: Any, location: Any, *, summed: bool) -> tuple[Any, Any, Any]:
    """What is set aside at the (sku, location) these columns name: units in live holds but
    one's (`summed`, else 0), the safety stock set there, units backordered there and waiting."""
    lines, holds = tables.reservation_lines.c, tables.reservations.c
    safety, waiting = tables.safety_stock.c, tables.backorders.c
    held: Any = sa.literal(0)
    if summed:
        held = (
            sa.select(sa.func.coalesce(sa.func.sum(lines.quantity), 0))
            .join_from(tables.reservation_lines, tables.reservations, holds.id == lines.reservation_id)
            .where(lines.sku == sku, lines.location_id == location)
            .where(holds.status == ReservationStatus.ACTIVE.value)
            .where(holds.expires_at > sa.bindparam("now", type_=holds.expires_at.type))
            .where(holds.id != sa.bindparam("excluding"))
            .scalar_subquery()
        )
    kept_back = (
        sa.select(safety.quantity).where(safety.sku == sku, safety.location_id == location).scalar_subquery()
    )
    backordered = (
        sa.select(sa.func.coalesce(sa.func.sum(waiting.quantity), 0))
        .where(waiting.sku == sku, waiting.location_id == location)
        .where(waiting.status == BackorderStatus.WAITING.value)
        .scalar_subquery()
    )
    return held, kept_back, backordered


@functools.cache
def _stock_at(*, by_keys: bool, held: bool) -> Any:
    if by_keys:
        keys = sa.tuple_(_POSITION.sku, _POSITION.location_id)
        return (
            sa.select(*_FIGURES, *_set_aside(_POSITION.sku, _POSITION.location_id, summed=held))
            .where(keys.in_(sa.bindparam("keys", expanding=True)))
            .order_by(_POSITION.sku, _POSITION.location_id)
        )
    waiting = tables.backorders.c
    at = sa.union(
        sa.select(_POSITION.sku, _POSITION.location_id).where(_POSITION.sku.in_(_SKUS)),
        sa.select(waiting.sku, waiting.location_id)
        .where(waiting.sku.in_(_SKUS))
        .where(waiting.status == BackorderStatus.WAITING.value),
    ).subquery("at")
    return (
        sa.select(
            at.c.sku,
            at.c.location_id,
            _POSITION.on_hand,
            _POSITION.allocated,
            _POSITION.as_of,
            *_set_aside(at.c.sku, at.c.location_id, summed=held),
        )
        .select_from(
            at.outerjoin(
                tables.inventory_positions,
                sa.and_(_POSITION.sku == at.c.sku, _POSITION.location_id == at.c.location_id),
            )
        )
        .order_by(at.c.sku, at.c.location_id)
    )


@functools.cache
def _safety_stock_of_skus() -> Any:
    column = tables.safety_stock.c
    return sa.select(column.sku, column.location_id, column.quantity).where(column.sku.in_(_SKUS))


@functools.cache
def _live_holds_of_skus() -> Any:
    lines, holds = tables.reservation_lines.c, tables.reservations.c
    return (
        sa.select(lines.sku, lines.location_id, lines.quantity, holds.expires_at, holds.id)
        .join_from(tables.reservation_lines, tables.reservations, holds.id == lines.reservation_id)
        .where(lines.sku.in_(_SKUS))
        .where(holds.status == ReservationStatus.ACTIVE.value)
        .where(holds.expires_at > sa.bindparam("now", type_=holds.expires_at.type))
    )


@functools.cache
def _incoming_of_skus() -> Any:
    supply = tables.incoming_supply.c
    return select(IncomingSupplyRecord).where(supply.sku.in_(_SKUS)).order_by(supply.expected_on)


@functools.cache
def _waiting_of_skus() -> Any:
    waiting = tables.backorders.c
    return (
        select(waiting.sku, waiting.location_id, sa.func.sum(waiting.quantity))
        .where(waiting.sku.in_(_SKUS))
        .where(waiting.status == BackorderStatus.WAITING.value)
        .group_by(waiting.sku, waiting.location_id)
    )
