"""Editing an order: quantities, added or removed lines and the shipping address, on units no
node has started on, in any open state. The edit re-routes what changed, prices the order
again (tax included), and settles the money: more authorised on the card when the order grows,
a refund when it shrinks below what was already charged.

A dry run goes through the same steps in a transaction that is rolled back, so its preview is
what a commit would do. A commit is guarded by the version the caller read: an order that
changed meanwhile answers VERSION_CONFLICT and is left alone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from ordergate.models.commands import EditOrder, check_edit
from ordergate.models.errors import (
    Forbidden,
    InvalidTransition,
    NotFound,
    Problem,
    ValidationFailed,
    VersionConflict,
)
from ordergate.models.events import EventType
from ordergate.models.fulfillment import FulfillmentOrderStatus
from ordergate.models.identity import Permission, Principal
from ordergate.models.order import DeliveryMethod, Order, OrderLine, OrderStatus
from ordergate.models.payments import PaymentKind, totals
from ordergate.models.pricing import PricedLine, price_order
from ordergate.models.routing import RoutingDecisionRecord
from ordergate.models.scope import order_scope
from ordergate.resolvers import payments
from ordergate.resolvers.fulfillment import derive_order_statuses
from ordergate.resolvers.idempotency import Claim, claim_first
from ordergate.resolvers.rerouting import detached, replan
from ordergate.resolvers.services import Services
from ordergate.store.unit_of_work import UnitOfWork

FINISHED = frozenset({OrderStatus.CANCELLED, OrderStatus.COMPLETED})
STARTED = frozenset(
    {FulfillmentOrderStatus.PICKING, FulfillmentOrderStatus.PACKED, FulfillmentOrderStatus.READY_FOR_PICKUP}
)


@dataclass(frozen=True)
class LineDiff:
    line_id: str | None  # None: a line the edit adds (its id exists only once committed)
    sku: str
    before: int
    after: int


@dataclass(frozen=True)
class EditOutcome:
    order_id: str
    order: Order | None  # None for a preview: its transaction was rolled back
    dry_run: bool
    changes: tuple[LineDiff, ...]
    total_before: Decimal
    total_after: Decimal
    authorize: Decimal  # more to authorise on the card
    refund: Decimal  # charged already and now to give back
    decision: RoutingDecisionRecord | None
    rerouted: bool


class _Undo(Exception):
    def __init__(self, outcome: EditOutcome) -> None:
        self.outcome = outcome


async def edit_order(services: Services, principal: Principal, command: EditOrder) -> EditOutcome:
    if not principal.can(Permission.EDIT_ORDERS) and not principal.can(Permission.EDIT_OWN_ORDERS):
        raise Forbidden("this role may not edit orders")
    problems = check_edit(command, services.policy.limits)
    if problems:
        raise ValidationFailed(problems)
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
    try:
        async with services.store.write() as uow:
            raise _Undo(await _apply(services, uow, principal, command, now))
    except _Undo as undo:
        return replace(undo.outcome, order=None)


async def _commit(
    services: Services, principal: Principal, command: EditOrder, once: Claim, now: datetime
) -> EditOutcome:
    preview = await _preview(services, principal, command, now)
    increment_key = f"edit:{preview.order_id}:{command.expected_version}"
    raised = None
    if preview.authorize > 0:  # before taking the edit: a declined card changes nothing
        raised = await payments.increment(services, preview.order_id, preview.total_after, increment_key)
    async with services.store.write() as uow:
        outcome = await _apply(services, uow, principal, command, now)
        order = outcome.order
        assert order is not None
        if raised is not None:
            await payments.record_increment(uow, order, raised, increment_key, now)
        if outcome.refund > 0:
            payments.promise_refund_amount(
                uow, order, f"edit-{command.expected_version}", outcome.refund, now
            )
        await payments.rederive_status(uow, order)  # the total moved: PAID may be PARTIALLY_PAID now
        await once.complete(uow, order.id)
    return replace(outcome, dry_run=False)


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


async def _apply(
    services: Services, uow: UnitOfWork, principal: Principal, command: EditOrder, now: datetime
) -> EditOutcome:
    order = await uow.orders.lock(command.order_id, order_scope(principal))
    if order is None:
        raise NotFound("no such order", field=("input", "orderId"))
    if order.status in FINISHED:
        raise InvalidTransition(f"a {order.status.value} order cannot be edited", field=("input", "orderId"))
    if order.source_ref is not None:
        raise ValidationFailed(
            [
                Problem(
                    "STOREFRONT_ORDER",
                    "the storefront sold this order and holds its payment: change it there",
                    ("input", "orderId"),
                )
            ]
        )
    if order.event_seq != command.expected_version:
        raise VersionConflict(
            f"the order is at version {order.event_seq}, not {command.expected_version}: read it again",
            field=("input", "expectedVersion"),
        )
    if not principal.can(Permission.EDIT_ORDERS) and now - order.created_at > services.policy.edit_window:
        raise ValidationFailed(
            [
                Problem(
                    "EDIT_WINDOW_CLOSED", "this order can no longer be changed online", ("input", "orderId")
                )
            ]
        )
    lines = (await uow.orders.lines_by_order_ids([order.id])).get(order.id, [])
    started = await _started_units(uow, order.id)
    by_id = {line.id: line for line in lines}
    by_sku = {line.sku: line for line in lines}
    wanted = {line.id: line.quantity for line in lines}
    problems: list[Problem] = []
    for index, change in enumerate(command.lines):
        path = ("input", "lines", str(index))
        line = by_id.get(change.line_id)
        if line is None:
            problems.append(Problem("NOT_FOUND", "no such line on this order", (*path, "lineId")))
            continue
        floor = line.quantity_fulfilled + line.quantity_cancelled + started[line.id]
        if change.quantity < floor:
            problems.append(
                Problem(
                    "NOT_EDITABLE",
                    f"{floor} of this line have left, been cancelled or are being worked on",
                    (*path, "quantity"),
                )
            )
        wanted[line.id] = change.quantity
    new_skus = [line.sku for line in command.add_lines if line.sku not in by_sku]
    catalogue = await uow.catalog.products_by_skus(new_skus)
    for index, request in enumerate(command.add_lines):
        sku_path = ("input", "addLines", str(index), "sku")
        if request.sku in by_sku:
            existing = by_sku[request.sku]
            wanted[existing.id] = wanted[existing.id] + request.quantity
            continue
        product = catalogue.get(request.sku)
        if product is None:
            problems.append(Problem("UNKNOWN_SKU", f"no product has SKU {request.sku}", sku_path))
        elif not product.active:
            problems.append(Problem("PRODUCT_UNAVAILABLE", f"{request.sku} is not for sale", sku_path))
        elif product.currency != order.currency:
            problems.append(
                Problem("CURRENCY_MISMATCH", f"{request.sku} is priced in {product.currency}", sku_path)
            )
    if command.shipping_address is not None and order.delivery_method is not DeliveryMethod.SHIP:
        problems.append(
            Problem("NOT_SHIPPED", "a pickup order has no shipping address", ("input", "shippingAddress"))
        )
    if not problems and not any(wanted.values()) and not command.add_lines:
        problems.append(
            Problem(
                "NOTHING_LEFT", "an edit cannot take every line off: cancel the order", ("input", "lines")
            )
        )
    if problems:
        raise ValidationFailed(problems)

    changes = [
        LineDiff(line.id, line.sku, line.quantity, wanted[line.id])
        for line in lines
        if wanted[line.id] != line.quantity
    ]
    removed = [by_id[c.line_id] for c in changes if c.after == 0 and c.line_id is not None]
    for line in lines:
        if wanted[line.id] > 0:
            line.quantity = wanted[line.id]
        else:  # off the order: nothing of it is open while the work is planned again, then it goes
            line.quantity_cancelled = line.quantity
        uow.session.add(line)
    position = max((line.position for line in lines), default=-1)
    added: list[OrderLine] = []
    for request in command.add_lines:
        if request.sku in by_sku:
            continue
        position += 1
        product = catalogue[request.sku]
        added.append(
            OrderLine(
                order_id=order.id,
                position=position,
                sku=request.sku,
                name=product.name,
                quantity=request.quantity,
                unit_price=product.price,
            )
        )
        changes.append(LineDiff(None, request.sku, 0, request.quantity))
    uow.session.add_all(added)
    if command.shipping_address is not None:
        address = command.shipping_address
        order.ship_name, order.ship_line1, order.ship_line2 = address.name, address.line1, address.line2
        order.ship_city, order.ship_region = address.city, address.region
        order.ship_postal_code, order.ship_country_code = address.postal_code, address.country_code
        order.ship_phone = address.phone
    await uow.session.flush()

    routed = None
    if order.status is not OrderStatus.ON_HOLD or order.status_before_hold is not OrderStatus.PENDING:
        # (an order the fraud screen holds is routed when it is released, not before)
        routed = await replan(
            services, uow, order, actor=principal.subject, now=now, reason="the order was edited"
        )
    for line in removed:
        await uow.orders.remove_line(line)
    kept = [line for line in lines if line not in removed] + added
    total_before = order.total
    await _reprice(services, uow, order, kept)
    await derive_order_statuses(uow, order, kept, actor=principal.subject, now=now)
    authorize, refund = await _money(uow, order)
    # what already left may now be a larger share of a smaller order: capture the difference
    await payments.promise_capture(uow, order, f"edit-{command.expected_version}", kept, now)
    order.updated_at = now
    uow.session.add(order)
    await uow.events.append(
        order,
        EventType.ORDER_EDITED,
        actor=principal.subject,
        occurred_at=now,
        data={
            "changes": [{"sku": c.sku, "before": c.before, "after": c.after} for c in changes],
            "address": command.shipping_address is not None,
            "total_before": str(total_before),
            "total_after": str(order.total),
        },
    )
    return EditOutcome(
        order_id=order.id,
        order=order,
        dry_run=True,
        changes=tuple(changes),
        total_before=total_before,
        total_after=order.total,
        authorize=authorize,
        refund=refund,
        decision=detached(routed[0]) if routed else None,
        rerouted=bool(routed and routed[1]),
    )


async def _started_units(uow: UnitOfWork, order_id: str) -> Counter[str]:
    """Units per order line that a node has started on (picking, packed, at the counter)."""
    shares = (await uow.orders.fulfillment_orders_by_order_ids([order_id])).get(order_id, [])
    fo_lines = await uow.orders.fulfillment_lines_by_fo_ids([fo.id for fo in shares if fo.status in STARTED])
    started: Counter[str] = Counter()
    for rows in fo_lines.values():
        for row in rows:
            started[row.order_line_id] += row.quantity
    return started


async def _reprice(services: Services, uow: UnitOfWork, order: Order, lines: list[OrderLine]) -> None:
    """The order's totals and each line's tax again, as placement prices them (a pickup is
    taxed where it is picked up)."""
    country, region = order.ship_country_code, order.ship_region
    if order.delivery_method is DeliveryMethod.PICKUP and order.pickup_location_id is not None:
        pickup = (await uow.catalog.locations_by_ids([order.pickup_location_id]))[order.pickup_location_id]
        country, region = pickup.country_code, pickup.region
    ordered = sorted(lines, key=lambda line: line.position)
    priced = price_order(
        [PricedLine(line.unit_price, line.quantity) for line in ordered],
        currency=order.currency,
        delivery_method=order.delivery_method,
        policy=services.policy.shipping,
        tax_country=country,
        tax_region=region,
        tax_rules=services.policy.tax_rules,
    )
    for line, tax in zip(ordered, priced.line_taxes, strict=True):
        line.tax = tax
        uow.session.add(line)
    order.subtotal, order.shipping_total = priced.subtotal.amount, priced.shipping.amount
    order.tax, order.shipping_tax, order.total = priced.tax.amount, priced.shipping_tax, priced.total.amount


async def _money(uow: UnitOfWork, order: Order) -> tuple[Decimal, Decimal]:
    """What the new total means for the card: more to authorise, or charged and to refund."""
    ledger = (await uow.payments.by_order_ids([order.id])).get(order.id, [])
    if not any(entry.kind is PaymentKind.AUTHORIZATION for entry in ledger):
        return Decimal(0), Decimal(0)
    authorised, captured, refunded, voided = totals(ledger)
    if voided:
        return Decimal(0), Decimal(0)
    authorize = max(Decimal(0), order.total - authorised)
    refund = max(Decimal(0), captured - refunded - order.total)
    if authorize > 0 and captured >= authorised:
        raise ValidationFailed(
            [
                Problem(
                    "PAYMENT_CAPTURED",
                    "the order's payment was captured in full and cannot grow: take the extra items "
                    "as a new order",
                    ("input",),
                )
            ]
        )
    return authorize, refund
