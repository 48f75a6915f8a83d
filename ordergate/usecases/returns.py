"""Returns: requested within the window for what left with the customer, decided by an agent,
received at a node with a disposition per line. What is restocked is sellable again there.

An approved return of shipped units gets a return label from the carrier that shipped them: the
approval promises it in the outbox (label PENDING), and the relay buys it (`buy_return_label`),
retrying while the carrier is down, so an approval never waits on or fails with the carrier.
Units handed over in store get no label: they come back over the counter. The label travels
from the customer's address to the node that sent the units. A label the carrier refuses is
FAILED with its reason; an agent asks again with `retry_return_label`.

A label bought for a parcel that came back without it (an approval and a receipt over a store's
counter a minute apart; a receipt while the purchase was in flight) is voided for its refund:
the receipt, or a purchase that lands after it, promises the void (`void_return_label`), which
asks the carrier's tracking first and leaves a label that travelled as it is. The customer is
not emailed a label to print for a parcel that is back already.

A label is for sending the parcel soon (`models.returns`): its purchase promises the return's
expiry at the label's due time (`expire_return`), which leaves a parcel the carrier picked up
alone and otherwise expires the return and promises its label's void.

The receipt promises the refund; when the refund is done (`refund_and_settle`, the relay's handler
for refunds) the return is REFUNDED and then CLOSED. With nothing to refund (no payment on the
order, or nothing of value) the receipt closes it at once. An agent may close a RECEIVED or
REFUNDED return by hand (`close_return`); a refund promised already still goes out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from ordergate.connectors.carriers.base import LabelRequest, Parcel, TrackingUpdate
from ordergate.connectors.errors import UpstreamRejected
from ordergate.models.commands import CloseReturn, ReceiveReturn, RequestReturn, RetryReturnLabel, check_key
from ordergate.models.errors import Forbidden, NotFound, Problem, ValidationFailed
from ordergate.models.events import EventType
from ordergate.models.identity import Permission, Principal
from ordergate.models.ids import new_id
from ordergate.models.lifecycle import fulfillment_status
from ordergate.models.location import contact_phone, node_address
from ordergate.models.movements import MovementKind
from ordergate.models.order import Order, customer_address, external_id_of
from ordergate.models.outbox import (
    RETURN_EXPIRY,
    RETURN_LABEL,
    RETURN_LABEL_VOID,
    OutboxTask,
    Permanent,
    storefront_delivery,
)
from ordergate.models.returns import (
    LABEL_TRANSITIONS,
    OPEN_RETURNS,
    Disposition,
    LabelAction,
    OrderReturn,
    ReturnAction,
    ReturnLabelStatus,
    ReturnLine,
    ReturnStatus,
    bound_by_window,
    check_return_window,
    expires,
    label_due,
    label_to_void,
    last_left,
    next_return_status,
    pending_units,
    plan_return,
    refunded_elsewhere,
    retried_label_status,
    track_return,
)
from ordergate.models.scope import OrderScope, order_scope
from ordergate.models.shipment import label_used
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases import catalog, erp_sync, labels, payments
from ordergate.usecases.idempotency import claim
from ordergate.usecases.orders import line_quantities
from ordergate.usecases.services import Services
from ordergate.usecases.settled import DoneWith

EVERYTHING = OrderScope(everything=True)
SYSTEM = "returns"
CARRIER = "carrier"  # the actor of what a carrier's tracking changes
GRAMS_PER_UNIT = 1000  # as outbound labels weigh them, until the catalogue carries weights
EXPIRY_GRACE = timedelta(seconds=1)  # looked at just after the due time's last instant


async def request_return(services: Services, principal: Principal, command: RequestReturn) -> OrderReturn:
    bound = bound_by_window(principal)
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
            raise NotFound("no such order", field=("order_id",))
        lines = (await uow.orders.lines_by_order_ids([order.id])).get(order.id, [])
        events = (await uow.events.by_order_ids([order.id])).get(order.id, [])
        check_return_window(last_left(events), now=now, window=services.policy.return_window, bound=bound)
        returns = (await uow.returns.by_order_ids([order.id])).get(order.id, [])
        asked = await uow.returns.lines_by_return_ids([r.id for r in returns if r.status in OPEN_RETURNS])
        products = await uow.catalog.products_by_skus([line.sku for line in lines])
        plan = plan_return(
            order.id,
            lines,
            pending_units(returns, asked),
            products,
            command.lines,
            requested_by=principal.subject,
            now=now,
        )
        await uow.returns.add(plan.order_return, plan.lines)
        await uow.events.append(
            order,
            EventType.RETURN_REQUESTED,
            actor=principal.subject,
            occurred_at=now,
            data={"return_id": plan.order_return.id, "units": plan.units},
        )
        if once is not None:
            await once.complete(uow, plan.order_return.id)
    return plan.order_return


async def decide_return(
    services: Services, principal: Principal, return_id: str, *, approve: bool, note: str | None
) -> OrderReturn:
    if not principal.can(Permission.MANAGE_RETURNS):
        raise Forbidden("this role may not decide returns")
    if note is not None and len(note) > 1000:
        raise ValidationFailed([Problem("TOO_LONG", "a note of at most 1000 characters", ("note",))])
    now = services.clock()
    async with services.store.write() as uow:
        order_return, order = await _return_and_order(uow, return_id)
        order_return.status = next_return_status(
            order_return.status, ReturnAction.APPROVE if approve else ReturnAction.DECLINE
        )
        order_return.decided_by, order_return.decided_at, order_return.note = principal.subject, now, note
        if approve:
            await _promise_label(services, uow, order_return, now)
        uow.save(order_return)
        await uow.events.append(
            order,
            EventType.RETURN_APPROVED if approve else EventType.RETURN_DECLINED,
            actor=principal.subject,
            occurred_at=now,
            data={"return_id": order_return.id},
        )
    return order_return


async def _promise_label(
    services: Services, uow: UnitOfWork, order_return: OrderReturn, now: datetime
) -> None:
    """A return label from the carrier that shipped the returned units (the latest such shipment),
    bought by the relay; none when they were handed over in store."""
    lines = (await uow.returns.lines_by_return_ids([order_return.id])).get(order_return.id, [])
    returned = {line.order_line_id for line in lines}
    fos = (await uow.orders.fulfillment_orders_by_order_ids([order_return.order_id])).get(
        order_return.order_id, []
    )
    fo_lines = await uow.orders.fulfillment_lines_by_fo_ids([fo.id for fo in fos])
    carried = {fo_id for fo_id, rows in fo_lines.items() if any(r.order_line_id in returned for r in rows)}
    shipments = (await uow.orders.shipments_by_order_ids([order_return.order_id])).get(
        order_return.order_id, []
    )
    candidates = [shipment for shipment in shipments if shipment.fulfillment_order_id in carried]
    if not candidates:
        return
    shipment = max(candidates, key=lambda x: (x.created_at, x.id))
    order_return.label_shipment_id = shipment.id
    order_return.label_carrier, order_return.label_service = shipment.carrier, shipment.service
    if shipment.carrier not in services.carriers:
        order_return.label_status = ReturnLabelStatus.FAILED
        order_return.label_error = f"the carrier {shipment.carrier!r} is not configured"
        return
    order_return.label_status = ReturnLabelStatus.PENDING
    _promise_purchase(uow, order_return, now, key=f"{order_return.id}:{RETURN_LABEL}")


def _promise_purchase(uow: UnitOfWork, order_return: OrderReturn, now: datetime, *, key: str) -> None:
    _promise(uow, RETURN_LABEL, order_return.id, now, key=key)


async def _promise_void(uow: UnitOfWork, order_return: OrderReturn, now: datetime) -> None:
    """One void per return: a return that expired and was awaited again once its parcel was
    picked up (`track_label`) had its void promised already, and a label that carried a parcel
    is not voided anyway."""
    key = f"{order_return.id}:{RETURN_LABEL_VOID}"
    void = OutboxTask(
        kind=RETURN_LABEL_VOID,
        key=key,
        payload={"return_id": order_return.id},
        available_at=now,
        created_at=now,
    )
    await uow.outbox.add_once(void)


def _promise_expiry(uow: UnitOfWork, return_id: str, now: datetime, due: datetime) -> None:
    """The return's expiry, looked at once its label's time has run out (a return has one label
    bought at most: only a FAILED one is asked for again). A key of its own per promise: a look
    put off (the label's time made longer) promises another."""
    key = f"{return_id}:{RETURN_EXPIRY}:{new_id()}"
    _promise(uow, RETURN_EXPIRY, return_id, now, key=key, at=due + EXPIRY_GRACE)


def _promise(
    uow: UnitOfWork,
    kind: str,
    return_id: str,
    now: datetime,
    *,
    key: str,
    at: datetime | None = None,
) -> None:
    uow.outbox.add(
        OutboxTask(
            kind=kind,
            key=key,
            payload={"return_id": return_id},
            available_at=at or now,
            created_at=now,
        )
    )


async def retry_return_label(
    services: Services, principal: Principal, command: RetryReturnLabel
) -> OrderReturn:
    """An agent asks the carrier again for a FAILED return label (after the customer's phone or
    address was put right, say): PENDING again, and promised to the relay under a key of its own,
    so a first attempt settled long ago does not stand in its way. A repeat of the idempotency key
    returns the first answer and asks nothing twice; any label not FAILED, or a return no longer
    waiting for its parcel, is INVALID_TRANSITION and changes nothing."""
    if not principal.can(Permission.MANAGE_RETURNS):
        raise Forbidden("this role may not retry return labels")
    problems = check_key(command.idempotency_key, ("idempotency_key",))
    if problems:
        raise ValidationFailed(problems)
    now = services.clock()
    async with services.store.write() as uow:
        once = None
        if command.idempotency_key is not None:
            once = await claim(services, uow, principal, "retryReturnLabel", command.idempotency_key, command)
            if once.result_id is not None:
                found = await uow.returns.lock(once.result_id)
                assert found is not None
                return found
        order_return, order = await _return_and_order(uow, command.return_id)
        order_return.label_status = retried_label_status(order_return)
        order_return.label_error = None
        uow.save(order_return)
        _promise_purchase(uow, order_return, now, key=f"{order_return.id}:{RETURN_LABEL}:{new_id()}")
        await uow.events.append(
            order,
            EventType.RETURN_LABEL_RETRIED,
            actor=principal.subject,
            occurred_at=now,
            data={"return_id": order_return.id, "carrier": order_return.label_carrier},
        )
        if once is not None:
            await once.complete(uow, order_return.id)
    return order_return


async def buy_return_label(services: Services, task: OutboxTask) -> str:
    """The relay's handler for return labels: buy the label the approval promised and record it.
    A carrier that is down raises (the relay retries later, the label stays PENDING); one that
    refuses the purchase fails the label, for an agent to see and retry."""
    return_id = str(task.payload.get("return_id", ""))
    async with services.store.read() as uow:
        order_return = (await uow.returns.by_ids([return_id])).get(return_id)
        if order_return is None:
            raise Permanent("no such return")
        if order_return.label_status is not ReturnLabelStatus.PENDING:
            return f"settled already: {order_return.label_status}"  # bought, failed or cancelled
        request = await _label_request(uow, order_return, services.policy.merchant_phone)
    if request is None:
        await _settle_label(services, return_id, LabelAction.CANCEL, error="the return moved on")
        return f"cancelled: the return is {order_return.status.value}"
    carrier = services.carriers.get(order_return.label_carrier or "")
    if carrier is None:
        message = f"the carrier {order_return.label_carrier!r} is not configured"
        await _settle_label(services, return_id, LabelAction.REFUSE, error=message)
        raise Permanent(message)
    try:
        label = await carrier.buy_label(request)
    except UpstreamRejected as error:
        await _settle_label(services, return_id, LabelAction.REFUSE, error=error.message)
        raise Permanent(f"{carrier.name} refused the return label") from error
    await _settle_label(
        services,
        return_id,
        LabelAction.BUY,
        tracking_number=label.tracking_number,
        url=label.label_url,
        carrier_label_id=label.carrier_label_id,
    )
    return f"label {label.tracking_number}"[:128]


async def void_return_label(services: Services, task: OutboxTask) -> str:
    """The relay's handler for voids: a PURCHASED label of a return that no longer waits for its
    parcel is voided at the carrier (VOIDED, its cost refunded), unless the carrier's tracking
    shows a parcel travelled on it or the carrier will not void it (too old, say): then it stays
    PURCHASED, and the task's result says why. A carrier that does not answer is retried."""
    return_id = str(task.payload.get("return_id", ""))
    async with services.store.read() as uow:
        order_return = (await uow.returns.by_ids([return_id])).get(return_id)
    if order_return is None:
        raise Permanent("no such return")
    if not label_to_void(order_return):
        return f"nothing to void: the label is {order_return.label_status}, the return {order_return.status}"
    carrier = services.carriers.get(order_return.label_carrier or "")
    if carrier is None:
        raise Permanent(f"the carrier {order_return.label_carrier!r} is not configured")
    number = order_return.label_tracking_number
    kept = await labels.void_unused(carrier, order_return.label_carrier_id, number)
    if kept is not None:
        return kept
    await _settle_label(services, return_id, LabelAction.VOID, tracking_number=number)
    return f"voided {number}"[:128]


async def expire_return(services: Services, task: OutboxTask) -> str | DoneWith:
    """The relay's handler for RETURN_EXPIRY: an approved return whose label's time has run out
    EXPIRED, with its label's void promised, unless the carrier's tracking shows the parcel
    picked up (it is on its way: the return waits for it), as its webhooks told us
    (`track_label`) or, when none came, as the carrier answers now. A return that moved on has
    nothing to expire; one not due yet (the label's time was made longer) is looked at again
    when it is. A carrier that does not answer is retried."""
    return_id = str(task.payload.get("return_id", ""))
    ttl, now = services.policy.return_label_ttl, services.clock()
    async with services.store.read() as uow:
        order_return = (await uow.returns.by_ids([return_id])).get(return_id)
    if order_return is None:
        raise Permanent("no such return")
    due = label_due(order_return, ttl)
    picked_up_at = order_return.label_picked_up_at
    if order_return.status is ReturnStatus.APPROVED and picked_up_at is not None:
        return f"kept waiting: the carrier has had the parcel since {picked_up_at:%Y-%m-%d %H:%M}"
    if due is None:
        status = order_return.label_status.value if order_return.label_status else "none"
        return f"nothing to expire: the return is {order_return.status.value}, its label {status}"
    if not expires(order_return, ttl, now):

        async def later(uow: UnitOfWork) -> None:
            _promise_expiry(uow, return_id, now, due)

        return DoneWith(f"not due until {due:%Y-%m-%d %H:%M}", later)
    carrier = services.carriers.get(order_return.label_carrier or "")
    tracking = await labels.tracked_as(carrier, order_return.label_tracking_number) if carrier else None
    if label_used(tracking):
        return f"kept waiting: the carrier tracks the parcel as {tracking}"[:128]
    async with services.store.write() as uow:
        order_return, order = await _return_and_order(uow, return_id)
        if not expires(order_return, ttl, services.clock()):
            return f"nothing to expire: the return is {order_return.status.value}"
        order_return.status = next_return_status(order_return.status, ReturnAction.EXPIRE)
        await _promise_void(uow, order_return, now)
        uow.save(order_return)
        data = {"return_id": return_id, "carrier": order_return.label_carrier, "due": due.isoformat()}
        await uow.events.append(order, EventType.RETURN_EXPIRED, actor=SYSTEM, occurred_at=now, data=data)
    return f"expired: not picked up by {due:%Y-%m-%d %H:%M}; void promised"


async def track_label(services: Services, return_id: str, update: TrackingUpdate) -> bool:
    """The carrier's tracking of a return's label, kept on the return (`models.returns.
    track_return`): the customer told when the carrier has their parcel and when it reached the
    node, and a return that expired before its parcel was picked up awaited again. Whether
    anything changed."""
    now = services.clock()
    async with services.store.write() as uow:
        order_return, order = await _return_and_order(uow, return_id)
        scans = [(scan.occurred_at, scan.status) for scan in update.events]
        asked_again = order_return.status is ReturnStatus.EXPIRED and await _asked_again(uow, order_return)
        tracked = track_return(order_return, update.status, scans, now, asked_again=asked_again)
        kept = (order_return.label_tracking, order_return.label_tracked_at, order_return.label_picked_up_at)
        if (tracked.tracking, tracked.tracked_at, tracked.picked_up_at) == kept and not tracked.events:
            return False
        order_return.label_tracking = tracked.tracking
        order_return.label_tracked_at = tracked.tracked_at
        order_return.label_picked_up_at = tracked.picked_up_at
        if tracked.reopened:
            order_return.status = next_return_status(order_return.status, ReturnAction.PICK_UP)
        uow.save(order_return)
        data: dict[str, object] = {
            "return_id": return_id,
            "carrier": order_return.label_carrier,
            "tracking_number": order_return.label_tracking_number,
        }
        if tracked.reopened:
            data["reopened"] = True  # it had EXPIRED: awaited again
        for event in tracked.events:
            await uow.events.append(order, event, actor=CARRIER, occurred_at=now, data=data)
    return True


async def _asked_again(uow: UnitOfWork, order_return: OrderReturn) -> bool:
    """Whether another open return of the order asks for units of the same lines."""
    order_id = order_return.order_id
    others = [
        r for r in (await uow.returns.by_order_ids([order_id])).get(order_id, []) if r.id != order_return.id
    ]
    lines = await uow.returns.lines_by_return_ids([order_return.id, *(r.id for r in others)])
    pending = pending_units(others, lines)
    return any(pending[line.order_line_id] for line in lines.get(order_return.id, []))


async def _label_request(
    uow: UnitOfWork, order_return: OrderReturn, merchant_phone: str | None
) -> LabelRequest | None:
    """The label to buy: from the customer's address back to the node that shipped the units,
    with that node's phone (else the merchant's) for a carrier that wants one where the customer
    gave none; None once the return no longer waits for its parcel."""
    if order_return.status is not ReturnStatus.APPROVED:
        return None
    order = (await uow.orders.by_ids([order_return.order_id], EVERYTHING))[order_return.order_id]
    shipment_id = order_return.label_shipment_id or ""
    shipment = (await uow.orders.shipments_by_ids([shipment_id])).get(shipment_id)
    if shipment is None:
        raise Permanent("the shipment to send back is gone")
    fo_id = shipment.fulfillment_order_id
    fo = (await uow.orders.fulfillment_orders_by_ids([fo_id]))[fo_id]
    location = (await uow.catalog.locations_by_ids([fo.location_id]))[fo.location_id]
    lines = (await uow.returns.lines_by_return_ids([order_return.id])).get(order_return.id, [])
    return LabelRequest(
        reference=order_return.id,
        service=order_return.label_service or shipment.service,
        ship_from=customer_address(order),
        ship_to=node_address(location, merchant_phone),
        parcels=[Parcel(weight_grams=max(1, sum(line.quantity for line in lines)) * GRAMS_PER_UNIT)],
        is_return=True,
        contents="Return " + ", ".join(f"{line.quantity} {line.sku}" for line in lines),
        phone=contact_phone(location, merchant_phone),
    )


async def _settle_label(
    services: Services,
    return_id: str,
    action: LabelAction,
    *,
    error: str | None = None,
    tracking_number: str | None = None,
    url: str | None = None,
    carrier_label_id: str | None = None,
) -> None:
    """The label's next status, once: a purchase or a void recorded whatever the retries. A
    purchase that lands after the parcel came back is recorded and its void promised, with no
    RETURN_LABEL_CREATED (nothing for the customer to print)."""
    now = services.clock()
    async with services.store.write() as uow:
        order_return, order = await _return_and_order(uow, return_id)
        status = (
            LABEL_TRANSITIONS.get((order_return.label_status, action)) if order_return.label_status else None
        )
        if status is None:
            return  # settled already
        order_return.label_status, order_return.label_error = status, (error or "")[:500] or None
        event = {
            ReturnLabelStatus.FAILED: EventType.RETURN_LABEL_FAILED,
            ReturnLabelStatus.VOIDED: EventType.RETURN_LABEL_VOIDED,
        }.get(status)
        if status is ReturnLabelStatus.PURCHASED:
            order_return.label_tracking_number, order_return.label_url = tracking_number, (url or "")[:512]
            order_return.label_carrier_id = (carrier_label_id or "")[:64] or None
            order_return.label_created_at = now
            if label_to_void(order_return):
                await _promise_void(uow, order_return, now)
            else:
                event = EventType.RETURN_LABEL_CREATED
                due = label_due(order_return, services.policy.return_label_ttl)
                if due is not None:
                    _promise_expiry(uow, return_id, now, due)
        uow.save(order_return)
        if event is not None:
            data = {"return_id": return_id, "carrier": order_return.label_carrier}
            if tracking_number is not None:
                data["tracking"] = tracking_number
            await uow.events.append(order, event, actor=SYSTEM, occurred_at=now, data=data)


async def receive_return(services: Services, principal: Principal, command: ReceiveReturn) -> OrderReturn:
    """The parcel is back at a node: each line restocked there or written off as damaged, and
    the order's lines and fulfilment status count what came back. A return nobody decided yet
    (the items handed in at a counter) is decided by its receipt."""
    if not principal.can(Permission.MANAGE_RETURNS) and not principal.can(Permission.FULFIL):
        raise Forbidden("this role may not receive returns")
    now = services.clock()
    async with services.store.write() as uow:
        location = await catalog.location_of_yours(services, uow, principal, command.location_id)
        order_return, order = await _return_and_order(uow, command.return_id)
        status = next_return_status(order_return.status, ReturnAction.RECEIVE)
        lines = (await uow.returns.lines_by_return_ids([order_return.id])).get(order_return.id, [])
        disposition = _dispositions(command, lines)
        order_lines = {x.id: x for x in (await uow.orders.lines_by_order_ids([order.id])).get(order.id, [])}
        for line in sorted(lines, key=lambda x: x.sku):  # positions in SKU order, as every writer takes them
            line.disposition = disposition[line.id]
            uow.save(line)
            order_line = order_lines[line.order_line_id]
            order_line.quantity_returned += line.quantity
            uow.save(order_line)
            if line.disposition is Disposition.RESTOCK:
                await uow.inventory.restock(
                    line.sku, location.id, line.quantity, order_id=order.id, actor=principal.subject, now=now
                )
        restocked = [(x.sku, x.quantity) for x in lines if x.disposition is Disposition.RESTOCK]
        if restocked:
            erp_sync.promise_adjustment(
                uow,
                MovementKind.RESTOCK,
                location,
                restocked,
                order_id=order.id,
                reference=f"{order.number}-{location.code}-RETURN-{order_return.id[:8]}",
                reason=f"return of order {order.number} restocked",
                now=now,
            )
        if order_return.status is ReturnStatus.REQUESTED:  # handed in before anyone decided it
            order_return.decided_by, order_return.decided_at = principal.subject, now
        order_return.status, order_return.received_at = status, now
        order_return.received_location_id = location.id
        uow.save(order_return)
        if label_to_void(order_return):  # the parcel came back without the label bought for it
            await _promise_void(uow, order_return, now)
        order.fulfillment_status = fulfillment_status(line_quantities(list(order_lines.values())))
        value = sum((order_lines[x.order_line_id].unit_price * x.quantity for x in lines), Decimal("0"))
        refunding = await payments.promise_refund(uow, order, order_return.id, value, now)
        order.updated_at = now
        uow.save(order)
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
        if not refunding:
            if await payments.paid_elsewhere(uow, order.id):  # a storefront's sale, refunded there
                await _read_refunds_again(services, uow, order, order_return, now)
            else:  # nothing to wait for
                await _close(uow, order_return, order, principal.subject, now, reason="nothing to refund")
    return order_return


def _dispositions(command: ReceiveReturn, lines: Sequence[ReturnLine]) -> dict[str, Disposition]:
    """What became of each of the return's lines, by line id; every line named, and only its
    lines, else VALIDATION_FAILED naming each wrong one."""
    disposition = {item.return_line_id: item.disposition for item in command.lines}
    missing = [line for line in lines if line.id not in disposition]
    unknown = [i for i, item in enumerate(command.lines) if item.return_line_id not in {x.id for x in lines}]
    if missing or unknown:
        raise ValidationFailed(
            [Problem("NOT_FOUND", "no such line on this return", ("lines", str(i))) for i in unknown]
            + [
                Problem("REQUIRED", f"say what became of every line ({line.sku} is missing)", ("lines",))
                for line in missing
            ]
        )
    return disposition


async def close_return(services: Services, principal: Principal, command: CloseReturn) -> OrderReturn:
    """An agent closes a RECEIVED or REFUNDED return by hand (the refund was settled elsewhere,
    say). Any other state is an INVALID_TRANSITION and changes nothing."""
    if not principal.can(Permission.MANAGE_RETURNS):
        raise Forbidden("this role may not close returns")
    problems = check_key(command.idempotency_key, ("idempotency_key",))
    if problems:
        raise ValidationFailed(problems)
    now = services.clock()
    async with services.store.write() as uow:
        once = None
        if command.idempotency_key is not None:
            once = await claim(services, uow, principal, "closeReturn", command.idempotency_key, command)
            if once.result_id is not None:
                found = await uow.returns.lock(once.result_id)
                assert found is not None
                return found
        order_return, order = await _return_and_order(uow, command.return_id)
        await _close(uow, order_return, order, principal.subject, now, reason="closed by hand")
        if once is not None:
            await once.complete(uow, order_return.id)
    return order_return


async def refund_and_settle(services: Services, task: OutboxTask) -> str:
    """The relay's handler for refunds: the payment's, then, for a return's refund, the return
    is REFUNDED and CLOSED. Safe to repeat: a refund recorded already only settles the return."""
    result = await payments.do_payment_task(services, task)
    return_id = task.key.rpartition(":")[2]
    now = services.clock()
    async with services.store.write() as uow:
        order_return = await uow.returns.lock(return_id)
        if order_return is None or order_return.order_id != task.payload.get("order_id"):
            return result  # a refund that is not a return's (goodwill, say)
        if order_return.status is not ReturnStatus.RECEIVED:
            return result  # closed by hand before the money went back
        order = await uow.orders.lock(order_return.order_id, EVERYTHING)
        assert order is not None
        refund = {"amount": str(task.payload.get("amount"))}
        await _refunded(uow, order_return, order, SYSTEM, now, refund, reason="refunded")
    return result


async def _refunded(
    uow: UnitOfWork,
    order_return: OrderReturn,
    order: Order,
    actor: str,
    now: datetime,
    refund: dict[str, str],
    *,
    reason: str,
) -> None:
    """A RECEIVED return whose refund is made: REFUNDED (with what says how), then CLOSED."""
    order_return.status = next_return_status(order_return.status, ReturnAction.REFUND)
    order_return.refunded_at = now
    await uow.events.append(
        order,
        EventType.RETURN_REFUNDED,
        actor=actor,
        occurred_at=now,
        data={"return_id": order_return.id, **refund},
    )
    await _close(uow, order_return, order, actor, now, reason=reason)


async def _read_refunds_again(
    services: Services, uow: UnitOfWork, order: Order, order_return: OrderReturn, now: datetime
) -> None:
    """A storefront sale's return came back. Its refund is the merchant's, at the storefront,
    which may have made it already; the order is read from there again (as a notice of its own
    would have it read), so units refunded there before the parcel came back settle the return
    (`settle_refunded_elsewhere`). Later refunds come with their own notices."""
    source = services.storefront.name if services.storefront is not None else None
    external = external_id_of(order, source) if source is not None else None
    if external is None:
        return
    key = f"{order.source_ref}:return-received:{order_return.id}"
    await uow.outbox.add_once(storefront_delivery(key, "ordergate/return/received", external, now))


async def lock_received(uow: UnitOfWork, order_id: str) -> list[OrderReturn]:
    """The order's returns, its RECEIVED ones locked, before the order itself, as an agent's
    close or a refund's settling takes a return's lock and then its order's."""
    returns = (await uow.returns.by_order_ids([order_id])).get(order_id, [])
    for order_return in sorted(returns, key=lambda r: r.id):
        if order_return.status is ReturnStatus.RECEIVED:
            await uow.returns.lock(order_return.id)  # the row as it is now, into the same record
    return returns


async def settle_refunded_elsewhere(
    uow: UnitOfWork,
    order: Order,
    returns: Sequence[OrderReturn],
    refunded: Mapping[str, int],
    *,
    actor: str,
    now: datetime,
) -> int:
    """The storefront that took the (locked) order's payment has refunded these units of each
    SKU (by order product and quantity, as a merchant refunds there): each of its `returns`
    (from `lock_received`) that is RECEIVED and that they cover (`refunded_elsewhere`) is
    REFUNDED and CLOSED, as our own refund of it would leave it, instead of waiting for an agent
    to close it by hand. How many were settled."""
    if not any(r.status is ReturnStatus.RECEIVED for r in returns):
        return 0
    lines = await uow.returns.lines_by_return_ids([r.id for r in returns])
    cancelled = Counter[str]()
    for line in (await uow.orders.lines_by_order_ids([order.id])).get(order.id, []):
        cancelled[line.sku] += line.quantity_cancelled
    settled = refunded_elsewhere(refunded, cancelled, returns, lines)
    for order_return in settled:
        refund = {"refunded_at": "storefront"}
        await _refunded(uow, order_return, order, actor, now, refund, reason="refunded at the storefront")
    return len(settled)


async def _close(
    uow: UnitOfWork, order_return: OrderReturn, order: Order, actor: str, now: datetime, *, reason: str
) -> None:
    order_return.status = next_return_status(order_return.status, ReturnAction.CLOSE)
    order_return.closed_at, order_return.closed_by = now, actor
    uow.save(order_return)
    await uow.events.append(
        order,
        EventType.RETURN_CLOSED,
        actor=actor,
        occurred_at=now,
        data={"return_id": order_return.id, "reason": reason},
    )


async def _return_and_order(uow: UnitOfWork, return_id: str) -> tuple[OrderReturn, Order]:
    order_return = await uow.returns.lock(return_id)
    if order_return is None:
        raise NotFound("no such return", field=("return_id",))
    order = await uow.orders.lock(order_return.order_id, EVERYTHING)
    assert order is not None
    return order_return, order
