"""Order holds: an agent stops an order (ON_HOLD) and releases it to where it was."""

from __future__ import annotations

from datetime import datetime

from ordergate.models.catalog import check_sellable
from ordergate.models.commands import HoldOrder, ReleaseOrderHold, check_hold, check_key, shipping_gaps
from ordergate.models.errors import Forbidden, InvalidTransition, NotFound, Problem, ValidationFailed
from ordergate.models.events import EventType
from ordergate.models.identity import Permission, Principal
from ordergate.models.lifecycle import OrderAction, next_status, release_to
from ordergate.models.order import HoldReason, Order, OrderHold, OrderStatus
from ordergate.models.scope import OrderScope, order_scope
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases import order_status
from ordergate.usecases.allocation import routed_again_if_closed
from ordergate.usecases.idempotency import Claim, claim
from ordergate.usecases.inventory import refresh_order_stock
from ordergate.usecases.orders import route_held
from ordergate.usecases.services import Services

EVERYTHING = OrderScope(everything=True)


async def _locked(uow: UnitOfWork, principal: Principal, order_id: str) -> Order:
    order = await uow.orders.lock(order_id, order_scope(principal))
    if order is None:
        raise NotFound("no such order", field=("order_id",))
    return order


async def _once(
    services: Services,
    uow: UnitOfWork,
    principal: Principal,
    operation: str,
    key: str | None,
    command: object,
) -> Claim | None:
    if key is None:
        return None
    return await claim(services, uow, principal, operation, key, command)


async def place_hold(
    uow: UnitOfWork, order: Order, reason: HoldReason, note: str | None, *, actor: str, now: datetime
) -> None:
    """A hold on the (locked) order: ON_HOLD, its work stopped where it is, until every hold is
    released."""
    if order.status is not OrderStatus.ON_HOLD:
        target = next_status(order.status, OrderAction.HOLD)
        order.status_before_hold, order.status = order.status, target
    order.updated_at = now
    uow.orders.add_hold(
        OrderHold(order_id=order.id, reason=reason, note=note, placed_by=actor, placed_at=now)
    )
    await uow.events.append(
        order, EventType.ORDER_HELD, actor=actor, occurred_at=now, data={"reason": reason}
    )


async def hold_order(services: Services, principal: Principal, command: HoldOrder) -> Order:
    if not principal.can(Permission.MANAGE_HOLDS):
        raise Forbidden("this role may not hold orders")
    problems = check_hold(command)
    if problems:
        raise ValidationFailed(problems)
    now = services.clock()
    async with services.store.write() as uow:
        once = await _once(services, uow, principal, "holdOrder", command.idempotency_key, command)
        if once is not None and once.result_id is not None:
            return await _locked(uow, principal, once.result_id)
        order = await _locked(uow, principal, command.order_id)
        await place_hold(uow, order, command.reason, command.note, actor=principal.subject, now=now)
        if once is not None:
            await once.complete(uow, order.id)
    return order


async def _refuse_unaddressed(uow: UnitOfWork, order: Order, reason: HoldReason | None) -> None:
    """ADDRESS_INCOMPLETE when the release would let go of an INCORRECT_ADDRESS hold while the
    shipping address still lacks what a parcel needs: work let go then could not be shipped."""
    gaps = shipping_gaps(order.shipping_address)
    if not gaps:
        return
    holds = (await uow.orders.active_holds_by_order_ids([order.id])).get(order.id, [])
    if any(h.reason is HoldReason.INCORRECT_ADDRESS and reason in (None, h.reason) for h in holds):
        where = "at the storefront, which sold it" if order.source_ref else "with editOrder"
        message = f"the shipping address has no usable {', '.join(gaps)}: fix it first, {where}"
        raise ValidationFailed([Problem("ADDRESS_INCOMPLETE", message, ("reason",))])


async def release_order_hold(services: Services, principal: Principal, command: ReleaseOrderHold) -> Order:
    if not principal.can(Permission.MANAGE_HOLDS):
        raise Forbidden("this role may not release holds")
    problems = check_key(command.idempotency_key, ("idempotency_key",))
    if problems:
        raise ValidationFailed(problems)
    await refresh_order_stock(services, command.order_id)  # an order held before routing is routed now
    now = services.clock()

    async def release() -> Order:
        async with services.store.write() as uow:
            once = await _once(services, uow, principal, "releaseOrderHold", command.idempotency_key, command)
            if once is not None and once.result_id is not None:
                return await _locked(uow, principal, once.result_id)
            order = await _locked(uow, principal, command.order_id)
            if order.status is not OrderStatus.ON_HOLD:
                raise InvalidTransition(
                    f"the order is {order.status.value}, not ON_HOLD", field=("order_id",)
                )
            await _refuse_unaddressed(uow, order, command.reason)
            await _let_go(services, uow, order, command.reason, actor=principal.subject, now=now)
            if once is not None:
                await once.complete(uow, order.id)
        return order

    return await routed_again_if_closed(release)


async def _let_go(
    services: Services, uow: UnitOfWork, order: Order, reason: HoldReason | None, *, actor: str, now: datetime
) -> None:
    """The (locked) order's active holds of `reason` (or all) released; once none is left it goes
    back to where it was, and an order held before it was routed is routed now (`route_held`:
    INSUFFICIENT_STOCK, changing nothing, when the network cannot take it)."""
    released, remaining = await uow.orders.release_holds(order.id, reason, actor, now)
    if not released:
        raise InvalidTransition("the order has no active hold for that reason", field=("reason",))
    if remaining == 0:
        order.status, order.status_before_hold = release_to(order.status_before_hold), None
    order.updated_at = now
    await uow.events.append(
        order,
        EventType.ORDER_RELEASED,
        actor=actor,
        occurred_at=now,
        data={"released": [h.reason.value for h in released], "remaining": remaining},
    )
    if order.status is OrderStatus.PENDING and not await uow.orders.fulfillment_orders_by_order_ids(
        [order.id]
    ):  # held at placement (the fraud screen, a sale kept unrouted): routed only now
        await route_held(services, uow, order, actor=actor, now=now)
    elif remaining == 0:  # what happened while it was held: its last parcel delivered, say
        lines = (await uow.orders.lines_by_order_ids([order.id])).get(order.id, [])
        await order_status.derive(uow, order, lines, actor=actor, now=now)


CATALOGUE = "catalogue"  # who lets go of a hold for products the catalogue now has


async def release_learned(services: Services) -> int:
    """Sales held only because the catalogue lacked (or did not sell) some of their products,
    let go once it sells every one (`let_go_known`), each in its own transaction. Returns how
    many were let go. Every such sale is looked at, however many still wait: a batch of the
    oldest would leave a newer one waiting behind them for good."""
    async with services.store.read() as uow:
        held = await uow.orders.held_for(HoldReason.UNKNOWN_PRODUCT)
    let_go = 0
    for order_id in held:
        let_go += await let_go_known(services, order_id)
    return let_go


async def let_go_known(services: Services, order_id: str) -> bool:
    """A sale held for products the catalogue lacked (UNKNOWN_PRODUCT), let go once the
    catalogue sells every product of its open lines (it learned them, or an agent cancelled the
    lines it lacked): released and routed, as an agent's release would. One the network is now
    short for is held again, for stock (OTHER, saying why), as a sale short of stock is kept when
    it arrives. False when there was nothing to let go."""
    now = services.clock()

    async def let_go() -> bool:
        async with services.store.write() as uow:
            order = await uow.orders.lock(order_id, EVERYTHING)
            if order is None or order.status is not OrderStatus.ON_HOLD:
                return False
            holds = (await uow.orders.active_holds_by_order_ids([order.id])).get(order.id, [])
            if not any(hold.reason is HoldReason.UNKNOWN_PRODUCT for hold in holds):
                return False  # let go meanwhile, or never held for that
            lines = (await uow.orders.lines_by_order_ids([order.id])).get(order.id, [])
            skus = [line.sku for line in lines if line.quantity > line.quantity_cancelled]
            products = await uow.catalog.products_by_skus(skus)
            if any(check_sellable(sku, products.get(sku), order.currency, ("lines",)) for sku in skus):
                return False  # not yet
            try:
                await _let_go(services, uow, order, HoldReason.UNKNOWN_PRODUCT, actor=CATALOGUE, now=now)
            except ValidationFailed as refused:  # short of stock now: held for that instead
                note = "the catalogue has its products now, but it could not be routed: " + "; ".join(
                    problem.message for problem in refused.problems
                )
                await place_hold(uow, order, HoldReason.OTHER, note[:1000], actor=CATALOGUE, now=now)
        return True

    return await routed_again_if_closed(let_go)
