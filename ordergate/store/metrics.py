"""Network KPIs added up in the database: a few aggregate statements per answer, however many
orders the range holds (see `models.metrics` for what each figure means).

Each statement starts from one row per order placed in the range (`_per_order`), with what
happened to it since summed up per order by grouped subqueries, and then groups those rows by
day and channel or location. Percentiles rank the per-order durations with window functions,
which SQLite and PostgreSQL both have; the two differ only in how a timestamp becomes epoch
seconds or a UTC day, which `EpochSeconds` and `UtcDay` hide.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ordergate.models.events import EventType
from ordergate.models.fulfillment import FulfillmentOrderStatus
from ordergate.models.location import LocationType
from ordergate.models.metrics import (
    CENT,
    PERCENTILES,
    GroupKey,
    MetricsGroup,
    Percentiles,
    Span,
    SpellFigures,
    Tally,
)
from ordergate.models.order import DeliveryMethod, OrderStatus
from ordergate.models.replanning import SHORTFALL
from ordergate.models.shipment import TrackingStatus
from ordergate.store import tables

HANDOVERS = (EventType.FULFILLMENT_SHIPPED.value, EventType.FULFILLMENT_PICKED_UP.value)


class EpochSeconds(FunctionElement[int]):
    """Whole seconds since 1970 of a UTC timestamp column."""

    type = sa.Integer()
    inherit_cache = True


@compiles(EpochSeconds, "sqlite")
def _epoch_sqlite(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(EpochSeconds, "postgresql")
def _epoch_postgresql(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


class UtcDay(FunctionElement[date]):
    """The UTC calendar day of a UTC timestamp column."""

    type = sa.Date()
    inherit_cache = True


@compiles(UtcDay, "sqlite")
def _day_sqlite(element: UtcDay, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(UtcDay, "postgresql")
def _day_postgresql(element: UtcDay, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC') AS DATE)"


def _flag(condition: Any) -> Any:
    return sa.case((condition, 1), else_=0)


def _units(placed: Any) -> Any:
    lines = tables.order_lines
    return (
        sa.select(lines.c.order_id, sa.func.sum(lines.c.quantity).label("units"))
        .where(lines.c.order_id.in_(placed))
        .group_by(lines.c.order_id)
        .subquery("units")
    )


def _fulfilment_orders(placed: Any) -> Any:
    fos = tables.fulfillment_orders
    return (
        sa.select(fos.c.order_id, sa.func.count().label("count"))
        .where(fos.c.order_id.in_(placed), fos.c.status != FulfillmentOrderStatus.REJECTED)
        .group_by(fos.c.order_id)
        .subquery("fos")
    )


def _shipments(placed: Any) -> Any:
    """Per order: shipments, their cost, whether one left a store, and how many have been
    delivered (each shipment at its first DELIVERED scan) and when the last of those was."""
    events, shipments, fos = tables.shipment_events, tables.shipments, tables.fulfillment_orders
    delivered = (
        sa.select(events.c.shipment_id, sa.func.min(events.c.occurred_at).label("at"))
        .join(shipments, shipments.c.id == events.c.shipment_id)
        .where(shipments.c.order_id.in_(placed), events.c.status == TrackingStatus.DELIVERED)
        .group_by(events.c.shipment_id)
        .subquery("delivered")
    )
    store = tables.locations.c.type == LocationType.STORE
    return (
        sa.select(
            shipments.c.order_id,
            sa.func.count().label("count"),
            sa.func.sum(shipments.c.cost).label("cost"),
            sa.func.max(_flag(store)).label("from_store"),
            sa.func.count(delivered.c.at).label("delivered"),
            sa.func.max(delivered.c.at).label("delivered_at"),
        )
        .join(fos, fos.c.id == shipments.c.fulfillment_order_id)
        .join(tables.locations, tables.locations.c.id == fos.c.location_id)
        .outerjoin(delivered, delivered.c.shipment_id == shipments.c.id)
        .where(shipments.c.order_id.in_(placed))
        .group_by(shipments.c.order_id)
        .subquery("shipped")
    )


def _handovers(placed: Any) -> Any:
    events = tables.order_events
    return (
        sa.select(events.c.order_id, sa.func.min(events.c.occurred_at).label("at"))
        .where(events.c.order_id.in_(placed), events.c.type.in_(HANDOVERS))
        .group_by(events.c.order_id)
        .subquery("handed_over")
    )


def _reroutes(placed: Any) -> Any:
    """Per order moved to another location after routing: whether the gateway moved it off a
    position a count left short (any of its moves)."""
    events = tables.order_events
    return (
        sa.select(events.c.order_id, sa.func.max(_flag(events.c.actor == SHORTFALL)).label("short"))
        .where(events.c.order_id.in_(placed), events.c.type == EventType.ORDER_REROUTED.value)
        .group_by(events.c.order_id)
        .subquery("rerouted")
    )


def _returns(placed: Any) -> Any:
    returns = tables.order_returns
    return (
        sa.select(returns.c.order_id)
        .where(returns.c.order_id.in_(placed))
        .group_by(returns.c.order_id)
        .subquery("returned")
    )


def _per_order(start: datetime, end: datetime, group: MetricsGroup | None) -> Any:
    """One row per order placed in [start, end) (per order and location for LOCATION), with its
    group columns (`day`, `key`) and what its figures need."""
    orders = tables.orders
    in_range = sa.and_(orders.c.created_at >= start, orders.c.created_at < end)
    placed = sa.select(orders.c.id).where(in_range)  # each subquery reads only these orders' rows
    units, fos, shipped = _units(placed), _fulfilment_orders(placed), _shipments(placed)
    handed, returned, rerouted = _handovers(placed), _returns(placed), _reroutes(placed)
    delivered_all = sa.and_(shipped.c.count > 0, shipped.c.delivered == shipped.c.count)
    columns: list[Any] = [
        orders.c.id,
        orders.c.total,
        sa.func.coalesce(units.c.units, 0).label("units"),
        _flag(fos.c.count > 1).label("split"),
        sa.func.coalesce(shipped.c.count, 0).label("shipments"),
        sa.func.coalesce(shipped.c.cost, 0).label("cost"),
        _flag(shipped.c.count > 0).label("shipped"),
        _flag(shipped.c.from_store == 1).label("from_store"),
        _flag(orders.c.delivery_method == DeliveryMethod.PICKUP).label("pickup"),
        _flag(orders.c.status == OrderStatus.CANCELLED).label("cancelled"),
        _flag(handed.c.at.is_not(None)).label("handed_over"),
        _flag(sa.and_(handed.c.at.is_not(None), returned.c.order_id.is_not(None))).label("returned"),
        _flag(sa.and_(delivered_all, orders.c.promised_on.is_not(None))).label("delivered_promised"),
        _flag(rerouted.c.order_id.is_not(None)).label("rerouted"),
        _flag(rerouted.c.short == 1).label("rerouted_short"),
        _flag(sa.and_(delivered_all, UtcDay(shipped.c.delivered_at) <= orders.c.promised_on)).label(
            "on_time"
        ),
        (EpochSeconds(handed.c.at) - EpochSeconds(orders.c.created_at)).label("to_ship"),
        sa.case(
            (delivered_all, EpochSeconds(shipped.c.delivered_at) - EpochSeconds(orders.c.created_at))
        ).label("to_delivery"),
    ]
    if group is not None:
        columns.append(UtcDay(orders.c.created_at).label("day"))
    joined = (
        orders.outerjoin(units, units.c.order_id == orders.c.id)
        .outerjoin(fos, fos.c.order_id == orders.c.id)
        .outerjoin(shipped, shipped.c.order_id == orders.c.id)
        .outerjoin(handed, handed.c.order_id == orders.c.id)
        .outerjoin(returned, returned.c.order_id == orders.c.id)
        .outerjoin(rerouted, rerouted.c.order_id == orders.c.id)
    )
    if group is MetricsGroup.CHANNEL:
        columns.append(orders.c.channel.label("key"))
    elif group is MetricsGroup.LOCATION:
        at = (
            sa.select(tables.fulfillment_orders.c.order_id, tables.locations.c.code)
            .join(tables.locations, tables.locations.c.id == tables.fulfillment_orders.c.location_id)
            .where(
                tables.fulfillment_orders.c.order_id.in_(placed),
                tables.fulfillment_orders.c.status != FulfillmentOrderStatus.REJECTED,
            )
            .distinct()
            .subquery("at")
        )
        joined = joined.join(at, at.c.order_id == orders.c.id)
        columns.append(at.c.code.label("key"))
    return sa.select(*columns).select_from(joined).where(in_range).subquery("per_order")


TALLIED = (
    "split",
    "shipped",
    "shipments",
    "from_store",
    "pickup",
    "cancelled",
    "handed_over",
    "returned",
    "delivered_promised",
    "on_time",
    "rerouted",
    "rerouted_short",
)


def _nearest_ranks(source: Any, keys: list[Any]) -> Any:
    """Nearest-rank p50 and p90 of `source.c.seconds` per `keys` (columns of `source`): how many
    rows there are (`rows`), how many of them have seconds (`n`: rows without, such as a spell
    still going on, are counted but not ranked), and the picks."""
    measured = source.c.seconds.is_not(None)
    ranked = sa.select(
        *keys,
        source.c.seconds,
        sa.func.row_number().over(partition_by=[*keys, measured], order_by=source.c.seconds).label("rank"),
        sa.func.count(source.c.seconds).over(partition_by=keys or None).label("n"),
    ).subquery("ranked")
    outer = [ranked.c[column.name] for column in keys]
    picks = [
        sa.func.min(
            sa.case(
                (
                    ranked.c.seconds.is_not(None) & (ranked.c.rank == (p * ranked.c.n + 99) // 100),
                    ranked.c.seconds,
                )
            )
        ).label(f"p{p}")
        for p in PERCENTILES
    ]
    return sa.select(
        *outer, sa.func.count().label("rows"), sa.func.max(ranked.c.n).label("n"), *picks
    ).group_by(*outer)


def _money(amount: Any) -> Decimal:
    """A sum to the cent (SQLite adds NUMERIC columns as floats)."""
    return Decimal(str(amount)).quantize(CENT)


def _key(group: MetricsGroup | None, row: Any) -> GroupKey:
    if group is None:
        return GroupKey()
    day = row.day if isinstance(row.day, date) else date.fromisoformat(row.day)
    if group is MetricsGroup.CHANNEL:
        return GroupKey(day=day, channel=row.key)
    if group is MetricsGroup.LOCATION:
        return GroupKey(day=day, location_code=row.key)
    return GroupKey(day=day)


def _group_columns(per_order: Any, group: MetricsGroup | None) -> list[Any]:
    if group is None:
        return []
    if group is MetricsGroup.DAY:
        return [per_order.c.day]
    return [per_order.c.day, per_order.c.key]


class MetricsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def tallies(
        self, start: datetime, end: datetime, group: MetricsGroup | None
    ) -> dict[GroupKey, Tally]:
        """The counts and sums of orders placed in [start, end), per group (None: all together)."""
        per_order = _per_order(start, end, group)
        by = _group_columns(per_order, group)
        query = sa.select(
            *by,
            sa.func.count().label("orders"),
            sa.func.sum(per_order.c.units).label("units"),
            sa.func.sum(per_order.c.total).label("revenue"),
            sa.func.sum(per_order.c.cost).label("shipping_cost"),
            *(sa.func.sum(per_order.c[name]).label(name) for name in TALLIED),
        ).group_by(*by)
        answer: dict[GroupKey, Tally] = {}
        for row in (await self.session.execute(query)).all():
            if not row.orders:
                continue  # no groups: the one row of an empty range's totals
            answer[_key(group, row)] = Tally(
                orders=int(row.orders),
                units=int(row.units),
                revenue=_money(row.revenue),
                shipping_cost=_money(row.shipping_cost),
                **{name: int(row._mapping[name]) for name in TALLIED},
            )
        return answer

    async def percentiles(
        self, start: datetime, end: datetime, group: MetricsGroup | None
    ) -> dict[GroupKey, dict[Span, Percentiles]]:
        """Nearest-rank p50 and p90 of each span, in seconds, per group (None: all together)."""
        per_order = _per_order(start, end, group)
        by = _group_columns(per_order, group)
        spans = sa.union_all(
            *(
                sa.select(
                    *by, sa.literal(span.value).label("span"), per_order.c[column].label("seconds")
                ).where(per_order.c[column].is_not(None))
                for span, column in ((Span.TO_SHIP, "to_ship"), (Span.TO_DELIVERY, "to_delivery"))
            )
        ).subquery("spans")
        query = _nearest_ranks(spans, [spans.c[column.name] for column in by] + [spans.c.span])
        answer: dict[GroupKey, dict[Span, Percentiles]] = {}
        for row in (await self.session.execute(query)).all():
            figures = Percentiles(int(row.n), int(row.p50), int(row.p90))
            answer.setdefault(_key(group, row), {})[Span(row.span)] = figures
        return answer

    async def spells(
        self, start: datetime, end: datetime, group: MetricsGroup | None
    ) -> dict[GroupKey, SpellFigures]:
        """Spells of short stock started in [start, end), per UTC day of their start (and node),
        or all together; with p50 and p90 of how long those that have ended lasted. Not per
        channel: stock has none (grouped by CHANNEL: nothing)."""
        if group is MetricsGroup.CHANNEL:
            return {}
        spell, places = tables.short_spells.c, tables.locations.c
        source = (
            sa.select(
                UtcDay(spell.started_at).label("day"),
                places.code.label("key"),
                (EpochSeconds(spell.ended_at) - EpochSeconds(spell.started_at)).label("seconds"),
            )
            .join_from(tables.short_spells, tables.locations, places.id == spell.location_id)
            .where(spell.started_at >= start, spell.started_at < end)
            .subquery("spells")
        )
        by = (
            []
            if group is None
            else [source.c.day]
            if group is MetricsGroup.DAY
            else [source.c.day, source.c.key]
        )
        return {
            _key(group, row): SpellFigures(
                int(row.rows), Percentiles(int(row.n), row.p50, row.p90) if row.n else Percentiles()
            )
            for row in await self.session.execute(_nearest_ranks(source, by))
            if row.rows
        }

    async def refusals(self, start: datetime, end: datetime) -> dict[GroupKey, int]:
        """Stock-out refusals in [start, end), per UTC day and channel."""
        refusals = tables.refusals
        day = UtcDay(refusals.c.occurred_at).label("day")
        query = (
            sa.select(day, refusals.c.channel.label("key"), sa.func.count().label("refused"))
            .where(refusals.c.occurred_at >= start, refusals.c.occurred_at < end)
            .group_by(day, refusals.c.channel)
        )
        rows = (await self.session.execute(query)).all()
        return {_key(MetricsGroup.CHANNEL, row): int(row.refused) for row in rows}

    async def add_refusal(self, *, channel: str, reason: str, occurred_at: datetime) -> None:
        await self.session.execute(
            sa.insert(tables.refusals).values(
                id=str(uuid.uuid4()), channel=channel, reason=reason, occurred_at=occurred_at
            )
        )
