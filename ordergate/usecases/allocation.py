"""Applying an allocation plan: units committed, one fulfilment order per location, and the
ERP told. The same step serves a new order and a re-routed rejection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from ordergate.models.allocation import Plan, PlanLine
from ordergate.models.availability import start_on
from ordergate.models.errors import Problem, StoreBusy, ValidationFailed
from ordergate.models.events import EventType
from ordergate.models.fulfillment import FulfillmentOrder, FulfillmentOrderLine, FulfillmentOrderStatus
from ordergate.models.location import Location, local_today
from ordergate.models.order import DeliveryMethod, Order, OrderLine
from ordergate.store.inventory import NotEnoughStock
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases.erp_sync import promise_sales_orders
from ordergate.usecases.inventory import SkuStock


@dataclass(frozen=True)
class Opened:
    """What a plan opened: its fulfilment orders, their lines, and their locations."""

    fulfillment_orders: list[FulfillmentOrder]
    lines: dict[str, list[FulfillmentOrderLine]]
    locations: dict[str, Location]


class NodeClosed(StoreBusy):
    """A node the work was routed to was deactivated while it was routed (`deactivateLocation`
    committed after routing read the network): nothing is kept, and the request sent again is
    routed among the nodes open then. Placement routes again by itself (`orders.place`), and so
    does every other request that routes work (`routed_again_if_closed`)."""

    def __init__(self, codes: Collection[str]) -> None:
        super().__init__(
            f"{', '.join(sorted(codes))} was deactivated while this was being routed there: "
            "send the request again"
        )


T = TypeVar("T")


async def routed_again_if_closed(attempt: Callable[[], Awaitable[T]]) -> T:
    """`attempt`, a whole transaction that routes work (`routeOrder`, an edit, a rejection or a
    short pick routed again, a released hold), run once more when a node it routed to was
    deactivated meanwhile (`NodeClosed`: rolled back, nothing kept). The second attempt reads the
    network afresh and passes the closed node by, so the client is not asked to send again what
    the gateway can do itself; a node closed during that attempt too is STORE_BUSY."""
    try:
        return await attempt()
    except NodeClosed:
        return await attempt()


async def ensure_open(uow: UnitOfWork, location_ids: Collection[str]) -> None:
    """Before a transaction that routed work to these nodes (fulfilment orders, lines waiting
    for supply, a pickup) commits: each still active, and kept so until it commits, or
    `NodeClosed`. A deactivation counts a node's open work after it has locked the node; routing
    read the node active, perhaps before that lock, so without this check a placement could
    open work at a node whose deactivation had already counted none (`CatalogRepository.
    lock_open`)."""
    wanted = set(location_ids)
    closed = wanted - await uow.catalog.lock_open(wanted)
    if closed:
        raise NodeClosed([loc.code for loc in (await uow.catalog.locations_by_ids(sorted(closed))).values()])


async def allocate(
    uow: UnitOfWork,
    order: Order,
    lines: Sequence[PlanLine],
    view: dict[str, SkuStock],
    *,
    actor: str,
    now: datetime,
) -> None:
    """Commit units to the order, each a conditional update that fails, as INSUFFICIENT_STOCK,
    when they are gone; holds and unavailable units at each node as the locked view saw them."""
    try:
        await uow.inventory.allocate(
            lines,
            held={
                (sku, node.location_id): node.reserved for sku, stock in view.items() for node in stock.nodes
            },
            unavailable={
                (sku, node.location_id): node.unavailable
                for sku, stock in view.items()
                for node in stock.nodes
            },
            order_id=order.id,
            actor=actor,
            now=now,
        )
    except NotEnoughStock as short:
        raise ValidationFailed(
            [Problem("INSUFFICIENT_STOCK", f"not enough {short.line.sku} left to allocate", ("lines",))]
        ) from None


# Locks a plan's positions and reads them again: the view its units are allocated from.
Locker = Callable[[], Awaitable[dict[str, SkuStock]]]


async def commit_plan(
    uow: UnitOfWork,
    order: Order,
    lines: list[OrderLine],
    plan: Plan,
    view: dict[str, SkuStock],
    *,
    actor: str,
    now: datetime,
    room: Mapping[str, int] | None = None,
    routed: bool = True,
    also_open: Collection[str] = (),
    lock: Locker | None = None,
) -> Opened:
    """Open the plan's fulfilment orders, promise the ERP its sales orders, and allocate the plan
    (a conditional update per line: INSUFFICIENT_STOCK when the units are gone), last. `room`:
    the days a full node waits before it starts (`Decision.room`); each fulfilment order keeps
    the day its node is to start on it (`starts_on`), by which the node's capacity is counted.

    A plan `routed` in this transaction has its nodes, and `also_open` (other nodes the same
    routing gives work), checked still open first (`ensure_open`). Units that waited at a node
    for supply are not routed: a node with lines waiting is not deactivated. `view` was read
    with the plan's positions locked, unless `lock` is given: it locks them and reads them
    again just before the allocation, so that other orders of the same SKUs queue on those rows
    for the transaction's last writes only, not for the whole of it."""
    if routed:
        await ensure_open(uow, {*plan.locations, *also_open})
    line_by_sku = {line.sku: line for line in lines}
    by_id = {row.location.id: row.location for stock in view.values() for row in stock.locations}
    if not all(location_id in by_id for location_id in plan.locations):  # read in this transaction
        by_id = await uow.catalog.locations_by_ids(plan.locations)
    by_id = {location_id: by_id[location_id] for location_id in plan.locations}
    opened: list[FulfillmentOrder] = []
    fo_lines: dict[str, list[FulfillmentOrderLine]] = {}
    for location_id in plan.locations:
        fulfillment_order = FulfillmentOrder(
            order_id=order.id,
            location_id=location_id,
            status=FulfillmentOrderStatus.OPEN,
            delivery_method=order.delivery_method,
            created_at=now,
            updated_at=now,
            starts_on=start_on(
                local_today(by_id[location_id], now),
                (room or {}).get(location_id, 0),
                business_days=order.delivery_method is not DeliveryMethod.PICKUP,
            ),
        )
        uow.save(fulfillment_order)
        await uow.flush()
        fo_lines[fulfillment_order.id] = [
            FulfillmentOrderLine(
                fulfillment_order_id=fulfillment_order.id,
                order_line_id=line_by_sku[p.sku].id,
                sku=p.sku,
                quantity=p.quantity,
            )
            for p in plan.lines
            if p.location_id == location_id
        ]
        uow.save(*fo_lines[fulfillment_order.id])
        opened.append(fulfillment_order)
    await uow.flush()
    await promise_sales_orders(uow, order, [by_id[location_id] for location_id in plan.locations], now)
    await allocate(uow, order, plan.lines, await lock() if lock is not None else view, actor=actor, now=now)
    return Opened(opened, fo_lines, dict(by_id))


async def announce_delay(
    uow: UnitOfWork, order: Order, before: date | None, *, actor: str, now: datetime
) -> None:
    """Tell whoever follows the order that its promise moved later than `before`, the day it was
    promised until now (`promise_later` moved it): ORDER_DELAYED, with both days, which emails
    the customer and reaches webhooks and subscriptions. Nothing when it did not move, or when
    nothing had been promised (an order given its first promise is not late)."""
    if before is None or order.promised_on is None or order.promised_on <= before:
        return
    await uow.events.append(
        order,
        EventType.ORDER_DELAYED,
        actor=actor,
        occurred_at=now,
        data={"from": before.isoformat(), "to": order.promised_on.isoformat()},
    )


async def announce_opened(
    uow: UnitOfWork, order: Order, opened: Opened, *, actor: str, now: datetime
) -> None:
    """New work in each node's queue (after the order's own events, so its stream reads in order)."""
    for fulfillment_order in opened.fulfillment_orders:
        await uow.events.append(
            order,
            EventType.FULFILLMENT_OPENED,
            actor=actor,
            occurred_at=now,
            data={"fulfillment_order_id": fulfillment_order.id},
            fulfillment_order=fulfillment_order,
        )
