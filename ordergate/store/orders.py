"""Orders, their lines, fulfilment orders and shipments, read in batches."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from ordergate.models.capture import normal_number
from ordergate.models.criteria import NEWEST_FIRST, OrderCriteria, OrderSort, OrderSortKey
from ordergate.models.fulfillment import (
    OPEN_FULFILLMENT_STATUSES,
    FulfillmentOrder,
    FulfillmentOrderLine,
    FulfillmentOrderStatus,
)
from ordergate.models.location import Location
from ordergate.models.notes import TargetKind
from ordergate.models.order import DeliveryMethod, HoldReason, Order, OrderHold, OrderLine, OrderStatus
from ordergate.models.replanning import WorkHere
from ordergate.models.routing import RoutingDecisionRecord
from ordergate.models.scope import OrderScope
from ordergate.models.shipment import Shipment, ShipmentEvent
from ordergate.store import tables
from ordergate.store.engine import by_keys
from ordergate.store.records import fetch, scalar

V = TypeVar("V")


def visible(query: Any, scope: OrderScope) -> Any:
    if scope.everything:
        return query
    if scope.email is not None:
        return query.where(tables.orders.c.email == scope.email)
    if scope.location_codes:
        at_locations = (
            select(tables.fulfillment_orders.c.order_id)
            .join(Location, tables.locations.c.id == tables.fulfillment_orders.c.location_id)
            .where(tables.locations.c.code.in_(scope.location_codes))
        )
        return query.where(tables.orders.c.id.in_(at_locations))
    return query.where(sa.false())


def _prefix(column: Any, text: str) -> Any:
    """`column` starts with `text`, as a range an ordinary index serves on both backends (LIKE
    would need a pattern-ops index on PostgreSQL and case-sensitive LIKE on SQLite)."""
    return sa.and_(column >= text, column < text + "\U0010ffff")


def _named(text: str) -> Any:
    """Customers whose first or last name starts with `text`, or, for "ann le", whose first name
    starts with "ann" and last name with "le"."""
    first, last = sa.func.lower(tables.customers.c.first_name), sa.func.lower(tables.customers.c.last_name)
    words = text.strip().lower().split(maxsplit=1)
    if len(words) == 2:
        match = sa.and_(_prefix(first, words[0]), _prefix(last, words[1]))
    else:
        match = sa.or_(_prefix(first, words[0]), _prefix(last, words[0]))
    return select(tables.customers.c.id).where(match)


def _tagged(tag: str) -> Any:
    return select(tables.tags.c.target_id).where(
        tables.tags.c.target_kind == TargetKind.ORDER, tables.tags.c.tag == tag
    )


def _text(text: str) -> Any:
    """Free text: the order's number or the storefront's reference exactly, the start of the
    email, a customer's name, or a tag. A union of indexed lookups (an OR of them would read
    every order on PostgreSQL: a hashed subplan is no index condition)."""
    plain = text.strip()
    lowered = plain.lower()
    orders = tables.orders.c
    arms = [
        select(orders.id).where(orders.number == normal_number(plain)),
        select(orders.id).where(orders.external_reference == plain),
        select(orders.id).where(orders.source_ref == plain),
        select(orders.id).where(_prefix(orders.email, lowered)),
        _tagged(lowered),
    ]
    if lowered and "@" not in lowered:
        arms.append(select(orders.id).where(orders.customer_id.in_(_named(lowered))))
    return orders.id.in_(sa.union(*arms))


def _matching(query: Any, criteria: OrderCriteria) -> Any:
    orders = tables.orders.c
    if criteria.statuses:
        query = query.where(orders.status.in_([s.value for s in criteria.statuses]))
    if criteria.payment_statuses:
        query = query.where(orders.payment_status.in_([s.value for s in criteria.payment_statuses]))
    if criteria.fulfillment_statuses:
        query = query.where(orders.fulfillment_status.in_([s.value for s in criteria.fulfillment_statuses]))
    if criteria.channel:
        query = query.where(orders.channel == criteria.channel)
    if criteria.customer_email:
        query = query.where(orders.email == criteria.customer_email.strip().lower())
    if criteria.created_after:
        query = query.where(orders.created_at >= criteria.created_after)
    if criteria.created_before:
        query = query.where(orders.created_at < criteria.created_before)
    if criteria.number:
        query = query.where(orders.number == normal_number(criteria.number))
    if criteria.reference:
        reference = criteria.reference.strip()
        query = query.where(sa.or_(orders.external_reference == reference, orders.source_ref == reference))
    if criteria.customer_name and criteria.customer_name.strip():
        query = query.where(orders.customer_id.in_(_named(criteria.customer_name)))
    for tag in criteria.tags:
        query = query.where(orders.id.in_(_tagged(tag)))
    if criteria.text and criteria.text.strip():
        query = query.where(_text(criteria.text))
    if criteria.location_id:
        at_location = select(tables.fulfillment_orders.c.order_id).where(
            tables.fulfillment_orders.c.location_id == criteria.location_id
        )
        query = query.where(
            sa.or_(orders.pickup_location_id == criteria.location_id, orders.id.in_(at_location))
        )
    return query


SORT_COLUMNS: dict[OrderSortKey, Any] = {
    OrderSortKey.CREATED_AT: tables.orders.c.created_at,
    OrderSortKey.UPDATED_AT: tables.orders.c.updated_at,
    OrderSortKey.TOTAL: tables.orders.c.total,
    OrderSortKey.NUMBER: tables.orders.c.number,
}


def group(rows: Sequence[V], key: Any) -> dict[Any, list[V]]:
    grouped: dict[Any, list[V]] = defaultdict(list)
    for row in rows:
        grouped[key(row)].append(row)
    return grouped


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, order: Order, lines: Sequence[OrderLine]) -> None:
        self.session.add(order)
        await self.session.flush()
        self.session.add_all(lines)
        await self.session.flush()

    async def by_ids(self, ids: Sequence[str], scope: OrderScope) -> dict[str, Order]:
        if not ids:
            return {}
        query = visible(select(Order).where(tables.orders.c.id.in_(set(ids))), scope)
        return {o.id: o for o in (await self.session.execute(query)).scalars()}

    async def open_pickups_at(self, location_id: str) -> list[Order]:
        """The orders to be collected at this node and not yet completed or cancelled."""
        query = (
            select(Order)
            .where(tables.orders.c.pickup_location_id == location_id)
            .where(tables.orders.c.status.not_in([OrderStatus.COMPLETED.value, OrderStatus.CANCELLED.value]))
            .order_by(tables.orders.c.created_at, tables.orders.c.id)
        )
        return list((await self.session.execute(query)).scalars())

    async def lock(self, order_id: str, scope: OrderScope) -> Order | None:
        """The order, row-locked until commit (PostgreSQL), or None when not visible."""
        query = visible(select(Order).where(tables.orders.c.id == order_id), scope).with_for_update()
        return (await self.session.execute(query)).scalars().first()

    async def lock_many(self, order_ids: Sequence[str]) -> dict[str, Order]:
        """These orders, row-locked in id order (PostgreSQL) until commit."""
        if not order_ids:
            return {}
        query = (
            select(Order)
            .where(tables.orders.c.id.in_(sorted(set(order_ids))))
            .order_by(tables.orders.c.id)
            .with_for_update()
        )
        return {o.id: o for o in (await self.session.execute(query)).scalars()}

    async def by_number(self, number: str, scope: OrderScope) -> Order | None:
        query = visible(select(Order).where(tables.orders.c.number == number), scope)
        return (await self.session.execute(query)).scalars().first()

    async def by_source_ref(self, source_ref: str) -> Order | None:
        query = select(Order).where(tables.orders.c.source_ref == source_ref)
        return (await self.session.execute(query)).scalars().first()

    async def active_holds_by_order_ids(self, ids: Sequence[str]) -> dict[str, list[OrderHold]]:
        if not ids:
            return {}
        query = (
            select(OrderHold)
            .where(
                tables.order_holds.c.order_id.in_(set(ids)),
                tables.order_holds.c.released_at.is_(None),
            )
            .order_by(tables.order_holds.c.placed_at, tables.order_holds.c.id)
        )
        rows = list((await self.session.execute(query)).scalars())
        return group(rows, lambda hold: hold.order_id)

    async def held_for(self, reason: HoldReason) -> list[str]:
        """Orders with an active hold of `reason` (their ids only), oldest hold first."""
        query = (
            sa.select(tables.order_holds.c.order_id)
            .where(tables.order_holds.c.reason == reason, tables.order_holds.c.released_at.is_(None))
            .group_by(tables.order_holds.c.order_id)
            .order_by(sa.func.min(tables.order_holds.c.placed_at), tables.order_holds.c.order_id)
        )
        return list((await self.session.execute(query)).scalars())

    def add_hold(self, hold: OrderHold) -> None:
        self.session.add(hold)

    async def release_holds(
        self, order_id: str, reason: HoldReason | None, by: str, at: datetime
    ) -> tuple[list[OrderHold], int]:
        """Release the order's active holds (of one reason, or all); returns them and how many
        stay active."""
        active = (await self.active_holds_by_order_ids([order_id])).get(order_id, [])
        released = [h for h in active if reason is None or h.reason == reason]
        for hold in released:
            hold.released_by = by
            hold.released_at = at
            self.session.add(hold)
        return released, len(active) - len(released)

    async def page(
        self,
        scope: OrderScope,
        criteria: OrderCriteria,
        first: int,
        after: tuple[Any, str] | None,
        sort: OrderSort = NEWEST_FIRST,
    ) -> tuple[list[Order], bool]:
        """Keyset-paginated on (the sort's column, id), newest first unless told otherwise;
        `after` is the last row's (value, id)."""
        column, ids = SORT_COLUMNS[sort.key], tables.orders.c.id
        query = _matching(visible(select(Order), scope), criteria)
        if after is not None:
            value, order_id = after
            if sort.descending:
                query = query.where(sa.or_(column < value, sa.and_(column == value, ids < order_id)))
            else:
                query = query.where(sa.or_(column > value, sa.and_(column == value, ids > order_id)))
        order_by = (column.desc(), ids.desc()) if sort.descending else (column.asc(), ids.asc())
        query = query.order_by(*order_by).limit(first + 1)
        rows = await fetch(self.session, Order, query)
        return rows[:first], len(rows) > first

    async def count(self, scope: OrderScope, criteria: OrderCriteria) -> int:
        query = _matching(visible(select(sa.func.count()).select_from(Order), scope), criteria)
        return int(await scalar(self.session, query))

    async def remove_line(self, line: OrderLine) -> None:
        """An edit took the line off before anything of it left: its (released) places in
        fulfilment orders go with it."""
        await self.session.execute(
            sa.delete(FulfillmentOrderLine).where(tables.fulfillment_order_lines.c.order_line_id == line.id)
        )
        await self.session.delete(line)
        await self.session.flush()

    async def placed_by_email_since(self, email: str, since: datetime) -> int:
        """Orders this email placed since then: the fraud screen's velocity."""
        query = _placed_by_email_since()
        return int((await self.session.execute(query, {"email": email, "since": since})).scalar_one())

    async def counts_by_status(self, scope: OrderScope) -> dict[OrderStatus, int]:
        query = visible(
            select(tables.orders.c.status, sa.func.count())
            .select_from(Order)
            .group_by(tables.orders.c.status),
            scope,
        )
        rows = await self.session.execute(query)
        return {OrderStatus(status): int(count) for status, count in rows.all()}

    async def lock_fulfillment_order(self, fulfillment_order_id: str) -> FulfillmentOrder | None:
        """The fulfilment order, row-locked until commit (PostgreSQL) and read afresh under the
        lock, also when this session read it before."""
        query = (
            select(FulfillmentOrder)
            .where(tables.fulfillment_orders.c.id == fulfillment_order_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(query)).scalars().first()

    async def fulfillment_orders_by_ids(self, ids: Sequence[str]) -> dict[str, FulfillmentOrder]:
        if not ids:
            return {}
        query = select(FulfillmentOrder).where(tables.fulfillment_orders.c.id.in_(set(ids)))
        return {fo.id: fo for fo in (await self.session.execute(query)).scalars()}

    def _queue(self, query: Any, location_id: str, statuses: Sequence[FulfillmentOrderStatus]) -> Any:
        query = query.where(tables.fulfillment_orders.c.location_id == location_id)
        if statuses:
            query = query.where(tables.fulfillment_orders.c.status.in_([s.value for s in statuses]))
        return query

    async def fulfillment_queue(
        self,
        location_id: str,
        statuses: Sequence[FulfillmentOrderStatus],
        first: int,
        after: tuple[date, datetime, str] | None,
    ) -> tuple[list[FulfillmentOrder], bool]:
        """A location's work in the order it is to be started: by the day the node is to start
        on it (`starts_on`), then oldest first; keyset-paginated on (starts_on, created_at, id)."""
        work = tables.fulfillment_orders.c
        query = self._queue(select(FulfillmentOrder), location_id, statuses)
        if after is not None:
            query = query.where(sa.tuple_(work.starts_on, work.created_at, work.id) > sa.tuple_(*after))
        query = query.order_by(work.starts_on, work.created_at, work.id).limit(first + 1)
        rows = list((await self.session.execute(query)).scalars())
        return rows[:first], len(rows) > first

    async def count_fulfillment_queue(
        self, location_id: str, statuses: Sequence[FulfillmentOrderStatus]
    ) -> int:
        query = self._queue(select(sa.func.count()).select_from(FulfillmentOrder), location_id, statuses)
        return int((await self.session.execute(query)).scalar_one())

    async def capacity_used(self, today: Mapping[str, date]) -> dict[str, int]:
        """Fulfilment orders each location is to start on its own `today` or later (its queue
        from today on, by `starts_on`); rejections and cancellations give their slot back. One
        statement."""
        if not today:
            return {}
        params: dict[str, Any] = {}
        for n, (location_id, day) in enumerate(today.items()):
            params[f"loc_{n}"], params[f"today_{n}"] = location_id, day
        rows = await self.session.execute(_capacity_used(len(today)), params)
        return {location_id: int(count) for location_id, count in rows.all()}

    async def shipments_by_tracking(self, numbers: Sequence[str], carrier: str) -> dict[str, Shipment]:
        if not numbers:
            return {}
        query = (
            select(Shipment)
            .where(
                tables.shipments.c.tracking_number.in_(set(numbers)),
                tables.shipments.c.carrier == carrier,
            )
            .with_for_update()
        )
        return {s.tracking_number: s for s in (await self.session.execute(query)).scalars()}

    async def shipments_by_ids(self, ids: Sequence[str]) -> dict[str, Shipment]:
        if not ids:
            return {}
        rows = await self.session.execute(select(Shipment).where(tables.shipments.c.id.in_(set(ids))))
        return {shipment.id: shipment for shipment in rows.scalars()}

    async def shipment_for(self, fulfillment_order_id: str) -> Shipment | None:
        query = select(Shipment).where(tables.shipments.c.fulfillment_order_id == fulfillment_order_id)
        return (await self.session.execute(query)).scalars().first()

    def add_decision(self, record: RoutingDecisionRecord) -> None:
        self.session.add(record)

    async def latest_decisions(self, order_ids: Sequence[str]) -> dict[str, RoutingDecisionRecord]:
        if not order_ids:
            return {}
        query = (
            select(RoutingDecisionRecord)
            .where(tables.routing_decisions.c.order_id.in_(set(order_ids)))
            .order_by(tables.routing_decisions.c.decided_at, tables.routing_decisions.c.id)
        )
        return {r.order_id: r for r in (await self.session.execute(query)).scalars()}

    async def placed_count(self, start: datetime, end: datetime, *, cap: int) -> int:
        """How many orders were placed in [start, end), counted up to `cap` + 1 at most."""
        orders = tables.orders.c
        placed = (
            sa.select(orders.id).where(orders.created_at >= start, orders.created_at < end).limit(cap + 1)
        ).subquery()
        return int((await self.session.execute(sa.select(sa.func.count()).select_from(placed))).scalar_one())

    async def placed_page(
        self, start: datetime, end: datetime, after: tuple[datetime, str] | None, limit: int
    ) -> list[tuple[str, datetime, DeliveryMethod]]:
        """(id, created at, delivery method) of orders placed in [start, end), oldest first, after
        the (created at, id) key given."""
        orders = tables.orders.c
        query = sa.select(orders.id, orders.created_at, orders.delivery_method).where(
            orders.created_at >= start, orders.created_at < end
        )
        if after is not None:
            at, order_id = after
            query = query.where(
                sa.or_(orders.created_at > at, sa.and_(orders.created_at == at, orders.id > order_id))
            )
        rows = await self.session.execute(query.order_by(orders.created_at, orders.id).limit(limit))
        return [(str(r.id), r.created_at, r.delivery_method) for r in rows]

    async def first_decisions(self, order_ids: Sequence[str]) -> dict[str, RoutingDecisionRecord]:
        """Each order's first routing decision: the one made when it was placed (or released)."""
        if not order_ids:
            return {}
        query = (
            select(RoutingDecisionRecord)
            .where(tables.routing_decisions.c.order_id.in_(set(order_ids)))
            .order_by(tables.routing_decisions.c.decided_at, tables.routing_decisions.c.id)
        )
        first: dict[str, RoutingDecisionRecord] = {}
        for record in (await self.session.execute(query)).scalars():
            first.setdefault(record.order_id, record)
        return first

    async def lines_by_order_ids(self, ids: Sequence[str]) -> dict[str, list[OrderLine]]:
        if not ids:
            return {}
        statement = by_keys(
            OrderLine,
            tables.order_lines.c.order_id,
            tables.order_lines.c.order_id,
            tables.order_lines.c.position,
        )
        rows = await fetch(self.session, OrderLine, statement, {"ids": list(set(ids))})
        return group(rows, lambda line: line.order_id)

    async def fulfillment_orders_by_order_ids(self, ids: Sequence[str]) -> dict[str, list[FulfillmentOrder]]:
        if not ids:
            return {}
        statement = by_keys(
            FulfillmentOrder,
            tables.fulfillment_orders.c.order_id,
            tables.fulfillment_orders.c.created_at,
            tables.fulfillment_orders.c.id,
        )
        rows = await fetch(self.session, FulfillmentOrder, statement, {"ids": list(set(ids))})
        return group(rows, lambda fo: fo.order_id)

    async def work_at(self, keys: Sequence[tuple[str, str]]) -> list[WorkHere]:
        """Every open fulfilment order's units at these (sku, node) positions, with its status
        and its order's, newest work first."""
        if not keys:
            return []
        rows = (await self.session.execute(_work_at(), {"keys": sorted(set(keys))})).all()
        return [
            WorkHere(
                str(fo_id),
                str(order_id),
                str(sku),
                str(location_id),
                int(units),
                FulfillmentOrderStatus(status),
                OrderStatus(order_status),
                opened_at,
            )
            for fo_id, order_id, sku, location_id, units, status, order_status, opened_at in rows
        ]

    async def fulfillment_lines_by_fo_ids(self, ids: Sequence[str]) -> dict[str, list[FulfillmentOrderLine]]:
        if not ids:
            return {}
        statement = by_keys(
            FulfillmentOrderLine,
            tables.fulfillment_order_lines.c.fulfillment_order_id,
            tables.fulfillment_order_lines.c.sku,
        )
        rows = await fetch(self.session, FulfillmentOrderLine, statement, {"ids": list(set(ids))})
        return group(rows, lambda line: line.fulfillment_order_id)

    async def shipments_by_order_ids(self, ids: Sequence[str]) -> dict[str, list[Shipment]]:
        if not ids:
            return {}
        statement = by_keys(
            Shipment, tables.shipments.c.order_id, tables.shipments.c.created_at, tables.shipments.c.id
        )
        rows = await fetch(self.session, Shipment, statement, {"ids": list(set(ids))})
        return group(rows, lambda s: s.order_id)

    async def shipment_events_by_shipment_ids(self, ids: Sequence[str]) -> dict[str, list[ShipmentEvent]]:
        if not ids:
            return {}
        query = (
            select(ShipmentEvent)
            .where(tables.shipment_events.c.shipment_id.in_(set(ids)))
            .order_by(tables.shipment_events.c.occurred_at, tables.shipment_events.c.id)
        )
        rows = list((await self.session.execute(query)).scalars())
        return group(rows, lambda e: e.shipment_id)


@functools.cache
def _capacity_used(locations: int) -> Any:
    """Fulfilment orders per location to be started on its own day or later (`loc_n` from
    `today_n`), built once per number of locations."""
    work = tables.fulfillment_orders.c
    places = [sa.bindparam(f"loc_{n}", type_=work.location_id.type) for n in range(locations)]
    days = [sa.bindparam(f"today_{n}", type_=work.starts_on.type) for n in range(locations)]
    return (
        select(work.location_id, sa.func.count())
        .where(work.location_id.in_(places))
        .where(
            work.starts_on
            >= sa.case(*((work.location_id == p, d) for p, d in zip(places, days, strict=True)))
        )
        .where(
            work.status.not_in(
                [FulfillmentOrderStatus.REJECTED.value, FulfillmentOrderStatus.CANCELLED.value]
            )
        )
        .group_by(work.location_id)
    )


@functools.cache
def _placed_by_email_since() -> Any:
    orders = tables.orders.c
    return (
        select(sa.func.count())
        .select_from(Order)
        .where(
            orders.email == sa.bindparam("email"),
            orders.created_at >= sa.bindparam("since", type_=orders.created_at.type),
        )
    )


@functools.cache
def _work_at() -> Any:
    fo, line, orders = tables.fulfillment_orders.c, tables.fulfillment_order_lines.c, tables.orders.c
    return (
        sa.select(
            fo.id,
            fo.order_id,
            line.sku,
            fo.location_id,
            sa.func.sum(line.quantity),
            fo.status,
            orders.status,
            fo.created_at,
        )
        .join(tables.fulfillment_order_lines, line.fulfillment_order_id == fo.id)
        .join(tables.orders, orders.id == fo.order_id)
        .where(sa.tuple_(line.sku, fo.location_id).in_(sa.bindparam("keys", expanding=True)))
        .where(fo.status.in_([status.value for status in OPEN_FULFILLMENT_STATUSES]))
        .group_by(fo.id, fo.order_id, line.sku, fo.location_id, fo.status, orders.status, fo.created_at)
        .order_by(fo.created_at.desc(), fo.id)
    )
