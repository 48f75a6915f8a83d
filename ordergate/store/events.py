"""The event log and the counters behind order numbers and cursors."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from ordergate.models.events import Counter, OrderEvent
from ordergate.models.fulfillment import FulfillmentOrder
from ordergate.models.location import Location
from ordergate.models.order import Order
from ordergate.models.scope import OrderScope
from ordergate.store import tables
from ordergate.store.orders import group, visible

EVENT_CURSOR = "event_cursor"
DATABASE_ID = "database_id"


async def next_value(session: AsyncSession, name: str, start: int = 1, *, count: int = 1) -> int:
    """Bump a named counter by `count` under its row lock (held to commit, which orders the
    values as the commits are ordered) and return the new (highest) value."""
    bump = {"counter": name, "by": count}
    value = (await session.execute(_BUMP, bump)).scalar_one_or_none()
    if value is not None:
        return int(value)
    try:
        async with session.begin_nested():
            session.add(Counter(name=name, value=start + count - 1))
    except sa.exc.IntegrityError:  # another transaction made the counter first: bump theirs
        return int((await session.execute(_BUMP, bump)).scalar_one())
    return start + count - 1


# Built once per process: every write that appends events, and every order's number, bumps one.
_BUMP = (
    sa.update(tables.counters)
    .where(tables.counters.c.name == sa.bindparam("counter"))
    .values(value=tables.counters.c.value + sa.bindparam("by", type_=sa.Integer))
    .returning(tables.counters.c.value)
)
_HEAD = sa.select(tables.counters.c.value).where(tables.counters.c.name == EVENT_CURSOR)


class EventRepository:
    """Events are appended as a transaction goes and given their global cursors by `stamp`, as
    the last step before commit: the cursor's row lock, which every writer takes, is then held
    for the commit alone, not for the whole transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._pending: list[OrderEvent] = []
        self.stamped = 0  # events this transaction appended, given their cursors at its end

    async def database_id(self) -> int:
        """This database's own random number, made on first use and kept: it names what
        replicas keep about this database outside it (`RedisBroker.keep_reads_for`), so a
        database made again under the same name is not taken for the one before."""
        made = secrets.randbelow(2**31 - 2) + 1
        return await next_value(self.session, DATABASE_ID, start=made + 1, count=0)

    async def append(
        self,
        order: Order,
        event_type: str,
        *,
        actor: str,
        occurred_at: datetime,
        data: dict[str, Any] | None = None,
        fulfillment_order: FulfillmentOrder | None = None,
    ) -> OrderEvent:
        """Append to the order's stream (its cursor comes at `stamp`). An event about one
        fulfilment order names it and its node, which is how a node's queue follows its own work."""
        order.event_seq += 1
        self.session.add(order)
        event = OrderEvent(
            cursor=0,
            order_id=order.id,
            seq=order.event_seq,
            type=event_type,
            occurred_at=occurred_at,
            actor=actor,
            data=data or {},
            fulfillment_order_id=fulfillment_order.id if fulfillment_order else None,
            location_id=fulfillment_order.location_id if fulfillment_order else None,
        )
        self._pending.append(event)
        return event

    async def stamp(self) -> None:
        """Give the transaction's events their cursors, in the order they were appended."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        self.stamped += len(pending)
        last = await next_value(self.session, EVENT_CURSOR, count=len(pending))
        for offset, event in enumerate(pending):
            event.cursor = last - len(pending) + 1 + offset
        self.session.add_all(pending)
        await self.session.flush()

    async def after(
        self, cursor: int, scope: OrderScope, order_id: str | None = None, limit: int = 100
    ) -> list[OrderEvent]:
        visible_orders = visible(select(tables.orders.c.id), scope)
        query = (
            select(OrderEvent)
            .where(tables.order_events.c.cursor > cursor)
            .where(tables.order_events.c.order_id.in_(visible_orders))
            .order_by(tables.order_events.c.cursor)
            .limit(limit)
        )
        if order_id is not None:
            query = query.where(tables.order_events.c.order_id == order_id)
        return list((await self.session.execute(query)).scalars())

    async def at_location(self, cursor: int, location_id: str, limit: int = 100) -> list[OrderEvent]:
        query = (
            select(OrderEvent)
            .where(
                tables.order_events.c.cursor > cursor,
                tables.order_events.c.location_id == location_id,
            )
            .order_by(tables.order_events.c.cursor)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())

    async def audience(self, order_ids: Sequence[str]) -> dict[str, tuple[str, frozenset[str]]]:
        """Who may see each order's events: its email, and the codes of the nodes working on it."""
        if not order_ids:
            return {}
        ids = set(order_ids)
        emails = await self.session.execute(
            select(tables.orders.c.id, tables.orders.c.email).where(tables.orders.c.id.in_(ids))
        )
        nodes = await self.session.execute(
            select(tables.fulfillment_orders.c.order_id, tables.locations.c.code)
            .join(Location, tables.locations.c.id == tables.fulfillment_orders.c.location_id)
            .where(tables.fulfillment_orders.c.order_id.in_(ids))
        )
        codes: dict[str, set[str]] = {}
        for order_id, code in nodes:
            codes.setdefault(order_id, set()).add(code)
        return {order_id: (email, frozenset(codes.get(order_id, ()))) for order_id, email in emails}

    async def by_id(self, event_id: str) -> OrderEvent | None:
        return await self.session.get(OrderEvent, event_id)

    async def head(self) -> int:
        return int((await self.session.execute(_HEAD)).scalar_one_or_none() or 0)

    async def by_order_ids(self, ids: Sequence[str]) -> dict[str, list[OrderEvent]]:
        if not ids:
            return {}
        query = (
            select(OrderEvent)
            .where(tables.order_events.c.order_id.in_(set(ids)))
            .order_by(tables.order_events.c.cursor)
        )
        return group(list((await self.session.execute(query)).scalars()), lambda event: event.order_id)
