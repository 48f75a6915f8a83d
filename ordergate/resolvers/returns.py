"""Returns: requested within the window for what left with the customer, decided by an agent,
received at a node with a disposition per line. What is restocked is sellable again there."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from ordergate.models.commands import ReceiveReturn, RequestReturn
from ordergate.models.errors import Forbidden, NotFound, Problem, ValidationFailed
from ordergate.models.events import EventType
from ordergate.models.identity import Permission, Principal
from ordergate.models.lifecycle import fulfillment_status
from ordergate.models.order import Order, OrderLine
from ordergate.models.returns import (
    OPEN_RETURNS,
    Disposition,
    OrderReturn,
    ReturnAction,
    ReturnLine,
    ReturnStatus,
    next_return_status,
)
from ordergate.models.scope import OrderScope, order_scope
from ordergate.resolvers import payments
from ordergate.resolvers.idempotency import claim
from ordergate.resolvers.orders import line_quantities
from ordergate.resolvers.services import Services
from ordergate.store.unit_of_work import UnitOfWork

EVERYTHING = OrderScope(everything=True)
MAX_REASON = 500
LEFT_US = (EventType.FULFILLMENT_SHIPPED.value, EventType.FULFILLMENT_PICKED_UP.value)


async def request_return(services: Services, principal: Principal, command: RequestReturn) -> OrderReturn:
    staff = principal.can(Permission.MANAGE_RETURNS)
    if not staff and not principal.can(Permission.REQUEST_RETURNS):
        raise Forbidden("this role may not request returns")
    now = services.clock()
    async with services.store.write() as uow:
        once = None
        if command.idempotency_key is not None:
            once = await claim(services, uow, principal, "requestReturn", command.idempotency_key, command)
            if once.result_id is not None:
                found = await uow.returns.lock(once.result_id)
                assert found is not None
                return found
        order = await uow.orders.lock(command.order_id, order_scope(principal))
        if order is None:
            raise NotFound("no such order", field=("input", "orderId"))
        lines = (await uow.orders.lines_by_order_ids([order.id])).get(order.id, [])
        left_at = await _last_left(uow, order.id)
        if left_at is None:
            raise ValidationFailed(
                [
                    Problem(
                        "NOTHING_TO_RETURN", "nothing on this order has reached you yet", ("input", "orderId")
                    )
                ]
            )
        if not staff and now > left_at + services.policy.return_window:
            days = services.policy.return_window.days
            raise ValidationFailed(
                [
                    Problem(
                        "RETURN_WINDOW_CLOSED", f"returns are accepted for {days} days", ("input", "orderId")
                    )
                ]
            )
        pending = await _pending(uow, order.id)
        products = await uow.catalog.products_by_skus([line.sku for line in lines])
        by_id = {line.id: line for line in lines}
        problems: list[Problem] = []
        if not command.lines:
            problems.append(Problem("REQUIRED", "name at least one line to return", ("input", "lines")))
        asked: Counter[str] = Counter()
        for index, item in enumerate(command.lines):
            path = ("input", "lines", str(index))
            line = by_id.get(item.line_id)
            product = products.get(line.sku) if line is not None else None
            if line is None:
                problems.append(Problem("NOT_FOUND", "no such line on this order", (*path, "lineId")))
            elif item.quantity <= 0:
                problems.append(Problem("INVALID_QUANTITY", "return at least one unit", (*path, "quantity")))
            elif product is not None and not product.returnable:
                problems.append(
                    Problem("NOT_RETURNABLE", f"{line.sku} cannot be returned", (*path, "lineId"))
                )
            elif item.quantity + asked[line.id] > _returnable(line, pending):
                problems.append(
                    Problem(
                        "NOT_RETURNABLE_QUANTITY",
                        f"only {_returnable(line, pending) - asked[line.id]} of this line can be returned",
                        (*path, "quantity"),
                    )
                )
            if not item.reason.strip() or len(item.reason) > MAX_REASON:
                problems.append(
                    Problem(
                        "INVALID_REASON", f"give a reason of 1 to {MAX_REASON} characters", (*path, "reason")
                    )
                )
            if line is not None:
                asked[line.id] += max(0, item.quantity)
        if problems:
            raise ValidationFailed(problems)
        order_return = OrderReturn(
            order_id=order.id, status=ReturnStatus.REQUESTED, requested_by=principal.subject, requested_at=now
        )
        await uow.returns.add(
            order_return,
            [
                ReturnLine(
                    return_id=order_return.id,
                    order_line_id=item.line_id,
                    sku=by_id[item.line_id].sku,
                    quantity=item.quantity,
                    reason=item.reason.strip(),
                )
                for item in command.lines
            ],
        )
        await uow.events.append(
            order,
            EventType.RETURN_REQUESTED,
            actor=principal.subject,
            occurred_at=now,
            data={"return_id": order_return.id, "units": sum(item.quantity for item in command.lines)},
        )
        if once is not None:
            once.complete(uow, order_return.id)
    await services.broker.notify()
    return order_return


async def _last_left(uow: UnitOfWork, order_id: str) -> datetime | None:
    """When units of the order last left with the customer (shipped or handed over)."""
    events = (await uow.events.by_order_ids([order_id])).get(order_id, [])
    times = [event.occurred_at for event in events if event.type in LEFT_US]
    return max(times) if times else None


async def _pending(uow: UnitOfWork, order_id: str) -> Counter[str]:
    """Units per order line in returns asked for and not yet received or declined."""
    returns = (await uow.returns.by_order_ids([order_id])).get(order_id, [])
    open_ids = [r.id for r in returns if r.status in OPEN_RETURNS]
    lines = await uow.returns.lines_by_return_ids(open_ids)
    pending: Counter[str] = Counter()
    for return_id in open_ids:
        for line in lines.get(return_id, []):
            pending[line.order_line_id] += line.quantity
    return pending


def _returnable(line: OrderLine, pending: Counter[str]) -> int:
    return line.quantity_fulfilled - line.quantity_returned - pending[line.id]


async def decide_return(
    services: Services, principal: Principal, return_id: str, *, approve: bool, note: str | None
) -> OrderReturn:
    if not principal.can(Permission.MANAGE_RETURNS):
        raise Forbidden("this role may not decide returns")
    if note is not None and len(note) > 1000:
        raise ValidationFailed([Problem("TOO_LONG", "a note of at most 1000 characters", ("input", "note"))])
    now = services.clock()
    async with services.store.write() as uow:
        order_return, order = await _return_and_order(uow, return_id)
        order_return.status = next_return_status(
            order_return.status, ReturnAction.APPROVE if approve else ReturnAction.DECLINE
        )
        order_return.decided_by, order_return.decided_at, order_return.note = principal.subject, now, note
        uow.session.add(order_return)
        await uow.events.append(
            order,
            EventType.RETURN_APPROVED if approve else EventType.RETURN_DECLINED,
            actor=principal.subject,
            occurred_at=now,
            data={"return_id": order_return.id},
        )
    await services.broker.notify()
    return order_return


async def receive_return(services: Services, principal: Principal, command: ReceiveReturn) -> OrderReturn:
    """The parcel is back at a node: each line restocked there or written off as damaged, and
    the order's lines and fulfilment status count what came back."""
    if not principal.can(Permission.MANAGE_RETURNS) and not principal.can(Permission.FULFIL):
        raise Forbidden("this role may not receive returns")
    now = services.clock()
    async with services.store.write() as uow:
        location = (await uow.catalog.locations_by_ids([command.location_id])).get(command.location_id)
        if location is None or not principal.works_at(location.code):
            raise NotFound("no such location among yours", field=("input", "locationId"))
        order_return, order = await _return_and_order(uow, command.return_id)
        status = next_return_status(order_return.status, ReturnAction.RECEIVE)
        lines = (await uow.returns.lines_by_return_ids([order_return.id])).get(order_return.id, [])
        disposition = {item.return_line_id: item.disposition for item in command.lines}
        missing = [line for line in lines if line.id not in disposition]
        unknown = [
            i for i, item in enumerate(command.lines) if item.return_line_id not in {x.id for x in lines}
        ]
        if missing or unknown:
            raise ValidationFailed(
                [
                    Problem("NOT_FOUND", "no such line on this return", ("input", "lines", str(i)))
                    for i in unknown
                ]
                + [
                    Problem(
                        "REQUIRED",
                        f"say what became of every line ({line.sku} is missing)",
                        ("input", "lines"),
                    )
                    for line in missing
                ]
            )
        order_lines = {x.id: x for x in (await uow.orders.lines_by_order_ids([order.id])).get(order.id, [])}
        for line in lines:
            line.disposition = disposition[line.id]
            uow.session.add(line)
            order_line = order_lines[line.order_line_id]
            order_line.quantity_returned += line.quantity
            uow.session.add(order_line)
            if line.disposition is Disposition.RESTOCK:
                await uow.inventory.restock(
                    line.sku, location.id, line.quantity, order_id=order.id, actor=principal.subject, now=now
                )
        order_return.status, order_return.received_at = status, now
        order_return.received_location_id = location.id
        uow.session.add(order_return)
        order.fulfillment_status = fulfillment_status(line_quantities(list(order_lines.values())))
        value = sum((order_lines[x.order_line_id].unit_price * x.quantity for x in lines), Decimal("0"))
        await payments.promise_refund(uow, order, order_return.id, value, now)
        order.updated_at = now
        uow.session.add(order)
        await uow.events.append(
            order,
            EventType.RETURN_RECEIVED,
            actor=principal.subject,
            occurred_at=now,
            data={
                "return_id": order_return.id,
                "location": location.code,
                "restocked": sum(x.quantity for x in lines if x.disposition is Disposition.RESTOCK),
            },
        )
    await services.broker.notify()
    services.outbox_ready.set()
    return order_return


async def _return_and_order(uow: UnitOfWork, return_id: str) -> tuple[OrderReturn, Order]:
    order_return = await uow.returns.lock(return_id)
    if order_return is None:
        raise NotFound("no such return", field=("input", "returnId"))
    order = await uow.orders.lock(order_return.order_id, EVERYTHING)
    assert order is not None
    return order_return, order


async def returns_by_order_ids(services: Services, ids: Sequence[str]) -> list[list[OrderReturn]]:
    async with services.store.read() as uow:
        found = await uow.returns.by_order_ids(ids)
    return [found.get(i, []) for i in ids]


async def lines_by_return_ids(services: Services, ids: Sequence[str]) -> list[list[ReturnLine]]:
    async with services.store.read() as uow:
        found = await uow.returns.lines_by_return_ids(ids)
    return [found.get(i, []) for i in ids]
