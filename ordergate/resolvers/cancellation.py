"""Cancelling an order, in full or by line and quantity: the units come out of the fulfilment
orders holding them (an emptied one is cancelled), their stock is released at its node, the
lines count them as cancelled, and the order's statuses are derived again, in one transaction
with its events. The storefront is told when an order it sent is cancelled."""

from __future__ import annotations

from ordergate.connectors.storefront.base import PushedStatus
from ordergate.models.allocation import PlanLine
from ordergate.models.cancellation import NOT_GONE, NOT_STARTED, Holding, plan_cancellation
from ordergate.models.commands import CancelOrder
from ordergate.models.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from ordergate.models.events import EventType
from ordergate.models.fulfillment import FulfillmentAction, next_fulfillment_status
from ordergate.models.identity import Permission, Principal
from ordergate.models.inventory import LedgerKind
from ordergate.models.order import Order, OrderStatus
from ordergate.models.scope import order_scope
from ordergate.resolvers import erp_sync, payments, storefront
from ordergate.resolvers.fulfillment import derive_order_statuses
from ordergate.resolvers.idempotency import claim
from ordergate.resolvers.services import Services

FINISHED = frozenset({OrderStatus.CANCELLED, OrderStatus.COMPLETED})


async def cancel_order(services: Services, principal: Principal, command: CancelOrder) -> Order:
    staff = principal.can(Permission.CANCEL_ORDERS)
    if not staff and not principal.can(Permission.CANCEL_OWN_ORDERS):
        raise Forbidden("this role may not cancel orders")
    now = services.clock()
    async with services.store.write() as uow:
        if command.idempotency_key is not None:
            once = await claim(services, uow, principal, "cancelOrder", command.idempotency_key, command)
            if once.result_id is not None:
                repeated = await uow.orders.lock(once.result_id, order_scope(principal))
                assert repeated is not None
                return repeated
        else:
            once = None
        order = await uow.orders.lock(command.order_id, order_scope(principal))
        if order is None:
            raise NotFound("no such order", field=("input", "orderId"))
        if order.status in FINISHED:
            raise InvalidTransition(
                f"a {order.status.value} order has nothing left to cancel", field=("input", "orderId")
            )
        lines = (await uow.orders.lines_by_order_ids([order.id])).get(order.id, [])
        shares = (await uow.orders.fulfillment_orders_by_order_ids([order.id])).get(order.id, [])
        fo_lines = await uow.orders.fulfillment_lines_by_fo_ids([fo.id for fo in shares])
        share_by_id = {fo.id: fo for fo in shares}
        plan = plan_cancellation(
            {line.id: line.quantity - line.quantity_fulfilled - line.quantity_cancelled for line in lines},
            [
                Holding(fo.id, fo.status, fo_line.order_line_id, fo_line.quantity)
                for fo in shares
                for fo_line in fo_lines.get(fo.id, [])
            ],
            {item.line_id: item.quantity for item in command.lines} if command.lines is not None else None,
            touchable=NOT_GONE if staff else NOT_STARTED,
        )
        if plan.problems:
            raise ValidationFailed(plan.problems)

        sku_of = {line.id: line.sku for line in lines}
        emptied: list[str] = []
        for cut in plan.cuts:
            if cut.fulfillment_order_id is None:
                continue
            fulfillment_order = share_by_id[cut.fulfillment_order_id]
            await uow.inventory.settle(
                [PlanLine(sku_of[cut.line_id], fulfillment_order.location_id, cut.quantity)],
                LedgerKind.RELEASE,
                order_id=order.id,
                actor=principal.subject,
                now=now,
            )
            held = next(x for x in fo_lines[fulfillment_order.id] if x.order_line_id == cut.line_id)
            held.quantity -= cut.quantity
            if held.quantity == 0:
                await uow.session.delete(held)
                fo_lines[fulfillment_order.id].remove(held)
            else:
                uow.session.add(held)
            if not fo_lines[fulfillment_order.id]:
                emptied.append(fulfillment_order.id)
        cut_from = [share_by_id[c.fulfillment_order_id] for c in plan.cuts if c.fulfillment_order_id]
        await erp_sync.promise_amendments(uow, order, [fo.location_id for fo in cut_from], now)
        cancelled = plan.by_line()
        for line in lines:
            line.quantity_cancelled += cancelled.get(line.id, 0)
            uow.session.add(line)
        for fo_id in emptied:
            fulfillment_order = share_by_id[fo_id]
            fulfillment_order.status = next_fulfillment_status(
                fulfillment_order.status, FulfillmentAction.CANCEL, fulfillment_order.delivery_method
            )
            fulfillment_order.updated_at = now
            uow.session.add(fulfillment_order)
            await uow.events.append(
                order,
                EventType.FULFILLMENT_CANCELLED,
                actor=principal.subject,
                occurred_at=now,
                data={"fulfillment_order_id": fo_id, "reason": command.reason},
                fulfillment_order=fulfillment_order,
            )
        await uow.session.flush()
        await derive_order_statuses(uow, order, lines, actor=principal.subject, now=now)
        whole = order.status is OrderStatus.CANCELLED
        if whole:
            await uow.orders.release_holds(order.id, None, principal.subject, now)
            storefront.promise_status(uow, order, PushedStatus.CANCELLED, now)
            await payments.promise_void(uow, order, now)
        await uow.events.append(
            order,
            EventType.ORDER_CANCELLED if whole else EventType.ORDER_LINES_CANCELLED,
            actor=principal.subject,
            occurred_at=now,
            data={"reason": command.reason, "lines": cancelled},
        )
        if once is not None:
            await once.complete(uow, order.id)
    return order
