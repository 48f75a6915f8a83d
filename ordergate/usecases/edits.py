"""Editing an order: quantities, added or removed lines and the shipping address, on units no
node has started on, in any open state. The edit re-routes what changed, prices the order
again (tax included), and settles the money: more authorised on the card when the order grows,
a refund when it shrinks below what was already charged. A new address or total runs the fraud
screen again (`usecases.fraud`): an order that now crosses its threshold is held for an agent.

What the edit does is decided by `models.edits.plan_edit`, a pure function. A dry run asks it,
asks routing where the open units would go (`rerouting.decide_again`), prices the planned lines
and reads the ledger, and writes nothing. A commit does the same first, so the card is raised
before anything is taken, then asks the planner again under the order's row lock and applies
its answer once. A commit is guarded by the version the caller read: an order that changed
meanwhile answers VERSION_CONFLICT and is left alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ordergate.models.commands import EditOrder, check_edit
from ordergate.models.edits import EditPlan, LineDiff, plan_edit
from ordergate.models.errors import Forbidden, NotFound, Problem, ValidationFailed
from ordergate.models.events import EventType
from ordergate.models.identity import Permission, Principal
from ordergate.models.order import Order, OrderLine, held_before_routing
from ordergate.models.payments import settle_new_total
from ordergate.models.replanning import STARTED
from ordergate.models.routing import RoutingDecisionRecord
from ordergate.models.scope import order_scope
from ordergate.models.supply import BackorderStatus
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases import order_status, payments
from ordergate.usecases.allocation import routed_again_if_closed
from ordergate.usecases.fraud import screen_after_change
from ordergate.usecases.idempotency import Claim, claim_first
from ordergate.usecases.inventory import refresh_order_stock
from ordergate.usecases.pricing import price_again, write_prices
from ordergate.usecases.rerouting import decide_again, detached, no_route, replan
from ordergate.usecases.services import Services

__all__ = ["EditOutcome", "LineDiff", "edit_order"]


@dataclass(frozen=True)
class EditOutcome:
    order_id: str
    order: Order | None  # None for a preview: nothing was written
    dry_run: bool
    changes: tuple[LineDiff, ...]
    total_before: Decimal
    total_after: Decimal
    authorize: Decimal  # more to authorise on the card
    refund: Decimal  # charged already and now to give back
    decision: RoutingDecisionRecord | None
    rerouted: bool


async def edit_order(services: Services, principal: Principal, command: EditOrder) -> EditOutcome:
    if not principal.can(Permission.EDIT_ORDERS) and not principal.can(Permission.EDIT_OWN_ORDERS):
        raise Forbidden("this role may not edit orders")
    problems = check_edit(command, services.policy.limits)
    if problems:
        raise ValidationFailed(problems)
    await refresh_order_stock(services, command.order_id, [line.sku for line in command.add_lines])
    now = services.clock()
    if command.dry_run:
        return await _preview(services, principal, command, now)
    # the key first: a repeat, or a reuse, is answered before the card is touched
    async with claim_first(services, principal, "editOrder", command.idempotency_key, command) as once:
        if once.result_id is not None:
            return await _repeated(services, principal, once.result_id)
        return await _commit(services, principal, command, once, now)


async def _preview(
    services: Services, principal: Principal, command: EditOrder, now: datetime
) -> EditOutcome:
    """What the edit would do, read and decided, nothing written."""
    async with services.store.read() as uow:
        order = await _order(uow, principal, command, lock=False)
        plan = await _plan(services, uow, principal, order, command, now)
        routed = None
        if not held_before_routing(order):
            routed = await decide_again(services, uow, order, plan.lines, lock=False, now=now)
            if routed is not None and routed.plan is None:
                raise no_route()
        kept = [line for line in plan.lines if not line.removed]
        priced = await price_again(services, uow, order, kept, plan.address)
        ledger = (await uow.payments.by_order_ids([order.id])).get(order.id, [])
        given_back = await payments.corrected(uow, order.id)
    authorize, refund = settle_new_total(ledger, priced.total.amount, given_back)
    return EditOutcome(
        order_id=order.id,
        order=None,
        dry_run=True,
        changes=plan.changes,
        total_before=order.total,
        total_after=priced.total.amount,
        authorize=authorize,
        refund=refund,
        decision=detached(routed.record) if routed else None,
        rerouted=bool(routed and routed.moved),
    )


async def _commit(
    services: Services, principal: Principal, command: EditOrder, once: Claim, now: datetime
) -> EditOutcome:
    preview = await _preview(services, principal, command, now)
    increment_key = f"edit:{preview.order_id}:{command.expected_version}"
    raised = None
    if preview.authorize > 0:  # before taking the edit: a declined card changes nothing
        raised = await payments.increment(services, preview.order_id, preview.total_after, increment_key)

    async def write() -> EditOutcome:
        async with services.store.write() as uow:
            order = await _order(uow, principal, command, lock=True)
            plan = await _plan(services, uow, principal, order, command, now)  # as the lock finds it
            outcome = await _apply(services, uow, principal, order, plan, command, now)
            if raised is not None:
                await payments.record_increment(uow, order, raised, increment_key, now)
            if outcome.refund > 0:
                payments.promise_correction(
                    uow, order, f"edit-{command.expected_version}", outcome.refund, now
                )
            await payments.rederive_status(uow, order)  # the total moved: PAID may be PARTIALLY_PAID now
            await once.complete(uow, order.id)
        return outcome

    try:
        return await routed_again_if_closed(write)
    except Exception:
        if raised is not None:  # the card holds more now, taken or not: the ledger says so
            await payments.keep_increment(services, preview.order_id, raised, increment_key, now)
        raise


async def _repeated(services: Services, principal: Principal, order_id: str) -> EditOutcome:
    """The first edit under the key was made: the order as it is now, and nothing more to do."""
    async with services.store.read() as uow:
        order = (await uow.orders.by_ids([order_id], order_scope(principal)))[order_id]
    return EditOutcome(
        order_id=order.id,
        order=order,
        dry_run=False,
        changes=(),
        total_before=order.total,
        total_after=order.total,
        authorize=Decimal(0),
        refund=Decimal(0),
        decision=None,
        rerouted=False,
    )


async def _order(uow: UnitOfWork, principal: Principal, command: EditOrder, *, lock: bool) -> Order:
    scope = order_scope(principal)
    order = (
        await uow.orders.lock(command.order_id, scope)
        if lock
        else (await uow.orders.by_ids([command.order_id], scope)).get(command.order_id)
    )
    if order is None:
        raise NotFound("no such order", field=("order_id",))
    return order


async def _plan(
    services: Services, uow: UnitOfWork, principal: Principal, order: Order, command: EditOrder, now: datetime
) -> EditPlan:
    backorders = (await uow.inventory.backorders_by_order_ids([order.id])).get(order.id, [])
    if any(b.status is BackorderStatus.WAITING for b in backorders):
        # Re-planning an order rebuilds its allocation from the units on hand; units waiting for
        # supply hold their place in a queue that an edit would lose.
        raise ValidationFailed(
            [
                Problem(
                    "BACKORDERED",
                    "units of this order are waiting for incoming supply: cancel them, or wait until "
                    "they are allocated, before editing",
                    ("order_id",),
                )
            ]
        )
    lines = (await uow.orders.lines_by_order_ids([order.id])).get(order.id, [])
    on_order = {line.sku for line in lines}
    products = await uow.catalog.products_by_skus([r.sku for r in command.add_lines if r.sku not in on_order])
    return plan_edit(
        order,
        lines,
        await _started_units(uow, order.id),
        products,
        command,
        may_edit_any=principal.can(Permission.EDIT_ORDERS),
        edit_window=services.policy.edit_window,
        now=now,
    )


async def _apply(
    services: Services,
    uow: UnitOfWork,
    principal: Principal,
    order: Order,
    plan: EditPlan,
    command: EditOrder,
    now: datetime,
) -> EditOutcome:
    """The plan, written: lines changed and added, the address, the work routed again, the
    order priced again, its statuses derived, and what left captured at its new share."""
    stored = (await uow.orders.lines_by_order_ids([order.id])).get(order.id, [])
    lines = _written_lines(uow, order, stored, plan)
    if plan.address is not None:
        _set_address(order, plan)
    await uow.flush()
    routed = None
    if not held_before_routing(order):
        routed = await replan(
            services, uow, order, actor=principal.subject, now=now, reason="the order was edited"
        )
    removed = {line.line_id for line in plan.lines if line.removed}
    for line in stored:
        if line.id in removed:
            await uow.orders.remove_line(line)
    kept = [line for line in lines if line.id not in removed]
    total_before = order.total
    write_prices(uow, order, kept, await price_again(services, uow, order, kept))
    await order_status.derive(uow, order, kept, actor=principal.subject, now=now)
    if plan.address is not None or order.total != total_before:  # what the fraud screen weighs
        await screen_after_change(services, uow, order, now)
    ledger = (await uow.payments.by_order_ids([order.id])).get(order.id, [])
    authorize, refund = settle_new_total(ledger, order.total, await payments.corrected(uow, order.id))
    # what already left may now be a larger share of a smaller order: capture the difference
    await payments.promise_settlement(uow, order, f"edit-{command.expected_version}", kept, now)
    order.updated_at = now
    uow.save(order)
    await uow.events.append(
        order,
        EventType.ORDER_EDITED,
        actor=principal.subject,
        occurred_at=now,
        data={
            "changes": [{"sku": c.sku, "before": c.before, "after": c.after} for c in plan.changes],
            "address": plan.address is not None,
            "total_before": str(total_before),
            "total_after": str(order.total),
        },
    )
    return EditOutcome(
        order_id=order.id,
        order=order,
        dry_run=False,
        changes=plan.changes,
        total_before=total_before,
        total_after=order.total,
        authorize=authorize,
        refund=refund,
        decision=detached(routed[0]) if routed else None,
        rerouted=bool(routed and routed[2]),
    )


def _written_lines(
    uow: UnitOfWork, order: Order, stored: Sequence[OrderLine], plan: EditPlan
) -> list[OrderLine]:
    """The stored lines set to the plan, and its added lines made: every line the order has
    now (a removed one fully cancelled until its work is planned again, then it goes)."""
    by_id = {line.id: line for line in stored}
    lines: list[OrderLine] = []
    for planned in plan.lines:
        if planned.line_id is None:
            line = OrderLine(
                order_id=order.id,
                position=planned.position,
                sku=planned.sku,
                name=planned.name,
                quantity=planned.quantity,
                unit_price=planned.unit_price,
            )
        else:
            line = by_id[planned.line_id]
            line.quantity, line.quantity_cancelled = planned.quantity, planned.quantity_cancelled
        uow.save(line)
        lines.append(line)
    return lines


def _set_address(order: Order, plan: EditPlan) -> None:
    address = plan.address
    assert address is not None
    order.shipping_address = address


async def _started_units(uow: UnitOfWork, order_id: str) -> Counter[str]:
    """Units per order line that a node has started on (picking, packed, at the counter)."""
    shares = (await uow.orders.fulfillment_orders_by_order_ids([order_id])).get(order_id, [])
    fo_lines = await uow.orders.fulfillment_lines_by_fo_ids([fo.id for fo in shares if fo.status in STARTED])
    started: Counter[str] = Counter()
    for rows in fo_lines.values():
        for row in rows:
            started[row.order_line_id] += row.quantity
    return started
