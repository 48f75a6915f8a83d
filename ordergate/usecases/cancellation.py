"""Cancelling an order, in full or by line and quantity: the units come out of the fulfilment
orders holding them (an emptied one is cancelled), their stock is released at its node, the
lines count them as cancelled, and the order's statuses are derived again, in one transaction
with its events. The order is priced again by the rule placement used, and the card follows:
what left is captured at its new share, captured money beyond the new total is refunded, and
once nothing is open the rest of the authorisation is released. The storefront is told when an
order it sent is cancelled.

What is cancelled, by whom and from where is decided by `models.cancellation`; this use case
loads the order under its row lock, asks, and applies the answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from ordergate.connectors.storefront.base import PushedStatus
from ordergate.models.cancellation import (
    OrderCancellation,
    check_cancellable,
    plan_order_cancellation,
    touchable_by,
)
from ordergate.models.commands import CancelOrder
from ordergate.models.erp import discount_taken
from ordergate.models.errors import NotFound
from ordergate.models.events import EventType
from ordergate.models.fulfillment import FulfillmentOrder, FulfillmentOrderLine
from ordergate.models.identity import Principal
from ordergate.models.inventory import LedgerKind
from ordergate.models.order import Order, OrderLine, OrderStatus
from ordergate.models.payments import settle_new_total
from ordergate.models.scope import order_scope
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases import erp_sync, holds, order_status, payments
from ordergate.usecases.backorders import cancel_waiting
from ordergate.usecases.idempotency import claim
from ordergate.usecases.pricing import price_again, sold_again, write_prices
from ordergate.usecases.services import Services


async def cancel_order(services: Services, principal: Principal, command: CancelOrder) -> Order:
    touchable = touchable_by(principal)
    now = services.clock()
    async with services.store.write() as uow:
        once = None
        if command.idempotency_key is not None:
            once = await claim(services, uow, principal, "cancelOrder", command.idempotency_key, command)
            if once.result_id is not None:
                repeated = await uow.orders.lock(once.result_id, order_scope(principal))
                assert repeated is not None
                return repeated
        order = await uow.orders.lock(command.order_id, order_scope(principal))
        if order is None:
            raise NotFound("no such order", field=("order_id",))
        check_cancellable(order)
        lines = (await uow.orders.lines_by_order_ids([order.id])).get(order.id, [])
        shares = (await uow.orders.fulfillment_orders_by_order_ids([order.id])).get(order.id, [])
        fo_lines = await uow.orders.fulfillment_lines_by_fo_ids([fo.id for fo in shares])
        plan = plan_order_cancellation(order, lines, shares, fo_lines, command, touchable=touchable)
        await _apply(
            services, uow, order, lines, shares, fo_lines, plan, command, actor=principal.subject, now=now
        )
        if once is not None:
            await once.complete(uow, order.id)
    if order.status is OrderStatus.ON_HOLD and await holds.let_go_known(services, order.id):
        # the lines the catalogue lacked are cancelled: the rest goes on
        async with services.store.read() as uow:
            return (await uow.orders.by_ids([order.id], order_scope(principal)))[order.id]
    return order


async def _apply(
    services: Services,
    uow: UnitOfWork,
    order: Order,
    lines: Sequence[OrderLine],
    shares: Sequence[FulfillmentOrder],
    fo_lines: Mapping[str, Sequence[FulfillmentOrderLine]],
    plan: OrderCancellation,
    command: CancelOrder,
    *,
    actor: str,
    now: datetime,
) -> None:
    rows = {row.id: row for held in fo_lines.values() for row in held}
    # a storefront's sale: its cancelled units take the coupon share their nodes carry for them,
    # as the work stands before this cancellation changes it
    live = [
        row for share in shares if share.status not in erp_sync.GONE for row in fo_lines.get(share.id, [])
    ]
    released = {release.fulfillment_line_id: release.units.quantity for release in plan.releases}
    taken = discount_taken(lines, live, released, plan.unallocated)
    # released in one call: its positions are taken in (sku, location) order, as every writer does
    releasing = [release.units for release in plan.releases]
    await uow.inventory.settle(releasing, LedgerKind.RELEASE, order_id=order.id, actor=actor, now=now)
    for release in plan.releases:
        row = rows[release.fulfillment_line_id]
        row.quantity = release.left
        if release.left == 0:
            await uow.remove(row)
        else:
            uow.save(row)
    await erp_sync.promise_amendments(uow, order, plan.amended, now)
    await cancel_waiting(uow, order, plan.unallocated, now)
    total_before = order.total
    sold = sold_again(order, lines, plan.cancelled, taken) if order.source_ref is not None else None
    for line in lines:
        line.quantity_cancelled += plan.cancelled.get(line.id, 0)
        uow.save(line)
    share_by_id = {share.id: share for share in shares}
    for fo_id, status in plan.emptied:
        share = share_by_id[fo_id]
        share.status, share.updated_at = status, now
        uow.save(share)
        await uow.events.append(
            order,
            EventType.FULFILLMENT_CANCELLED,
            actor=actor,
            occurred_at=now,
            data={"fulfillment_order_id": fo_id, "reason": command.reason},
            fulfillment_order=share,
        )
    write_prices(uow, order, lines, sold or await price_again(services, uow, order, lines))
    await uow.flush()
    await order_status.derive(uow, order, lines, actor=actor, now=now)
    if plan.whole:
        await uow.orders.release_holds(order.id, None, actor, now)
        order_status.promise_status(uow, order, PushedStatus.CANCELLED, now)
    await _settle(uow, order, lines, now)
    await uow.events.append(
        order,
        EventType.ORDER_CANCELLED if plan.whole else EventType.ORDER_LINES_CANCELLED,
        actor=actor,
        occurred_at=now,
        data={
            "reason": command.reason,
            "lines": dict(plan.cancelled),
            "total_before": str(total_before),
            "total_after": str(order.total),
        },
    )


async def _settle(uow: UnitOfWork, order: Order, lines: Sequence[OrderLine], now: datetime) -> None:
    """The card after the order was priced again: what was captured beyond the new total is
    refunded, what left is captured at its new share, and once nothing is open the rest of the
    authorisation is released (the whole of it, for an order cancelled before anything left).
    The payment status is the ledger's against the new total at once (what was captured for the
    units that left may now be all of it: PAID)."""
    ledger = await payments.rederive_status(uow, order)
    _, refund = settle_new_total(ledger, order.total, await payments.corrected(uow, order.id))
    if refund > 0 and await payments.refundable(uow, order.id) >= refund:
        payments.promise_correction(uow, order, f"cancel-{order.event_seq}", refund, now)
    await payments.promise_settlement(uow, order, f"cancel-{order.event_seq}", lines, now)
