"""Returns: asked for by a customer (or an agent for them), decided by an agent, received at a
node line by line with a disposition. RESTOCK puts the units back into what that node can sell;
DAMAGED does not. The order's lines count what came back. Once the refund of what came back is
done (or when there is nothing to refund) the return is CLOSED; an agent may close it by hand.

An approved return of shipped units gets a return label from the carrier that shipped them,
bought through the outbox: PENDING until the carrier sells it, then PURCHASED (FAILED when the
carrier refuses it for good, CANCELLED when the parcel came back before a label was bought). An
agent may ask again for a FAILED label of a return still waiting for its parcel: PENDING again.
A label bought for a return whose parcel came back without it (handed in over a counter, say)
is voided at the carrier, which refunds it: VOIDED. The carrier decides whether it was used.

A label is for sending the parcel soon: an approved return whose parcel the carrier has not
picked up within the label's time (`label_due`, the policy's `return_label_ttl` from the
purchase) EXPIRED, and its label is voided. Its units may be asked for again. A return with no
label (units handed over in store) does not expire: it waits at the counter.

The carrier's tracking of a return label is kept on the return (`track_return`, pure): the
first scan of a parcel on it tells the customer their return is on its way back
(RETURN_IN_TRANSIT), and its delivery to the node tells them it arrived (RETURN_DELIVERED). A
return whose parcel the carrier has no longer expires; one that EXPIRED before its parcel's
first scan is awaited again (APPROVED, `ReturnAction.PICK_UP`): its units are on their way back,
and the node must be able to receive them.

A customer may hand the items in at a node's counter before anyone decided their return: the
receipt decides it (the receiver is who decided, and no label is bought for a parcel that is
already back), so a store associate does not wait on an agent's approval.

A request is decided by `plan_return`, pure: given the order's lines, the units already asked
for in open returns and the products, it says which return to write or why not. Customers ask
within the return window after their units last left; agents may ask for them any time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from ordergate.models.catalog import Product
from ordergate.models.errors import Forbidden, InvalidTransition, Problem, ValidationFailed
from ordergate.models.events import EventType, OrderEvent
from ordergate.models.identity import Permission, Principal
from ordergate.models.ids import new_id
from ordergate.models.order import OrderLine
from ordergate.models.shipment import TrackingStatus, label_used

if TYPE_CHECKING:  # commands imports this module (Disposition)
    from ordergate.models.commands import ReturnLineRequest

MAX_REASON = 500
LEFT_US = frozenset({EventType.FULFILLMENT_SHIPPED.value, EventType.FULFILLMENT_PICKED_UP.value})
ORDER_FIELD = ("order_id",)


class ReturnStatus(StrEnum):
    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    DECLINED = "DECLINED"
    RECEIVED = "RECEIVED"
    REFUNDED = "REFUNDED"
    CLOSED = "CLOSED"
    EXPIRED = "EXPIRED"  # approved, and its parcel was not sent in the label's time


class ReturnAction(StrEnum):
    APPROVE = "APPROVE"
    DECLINE = "DECLINE"
    RECEIVE = "RECEIVE"
    REFUND = "REFUND"
    CLOSE = "CLOSE"
    EXPIRE = "EXPIRE"
    PICK_UP = "PICK_UP"  # the carrier has the parcel of a return that expired before it did


class ReturnLabelStatus(StrEnum):
    PENDING = "PENDING"
    PURCHASED = "PURCHASED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    VOIDED = "VOIDED"


class LabelAction(StrEnum):
    BUY = "BUY"  # the carrier sold it
    REFUSE = "REFUSE"  # the carrier refused it for good
    CANCEL = "CANCEL"  # the return moved on before a label was bought
    RETRY = "RETRY"  # an agent asks the carrier again
    VOID = "VOID"  # the carrier voided a label that was not used


class Disposition(StrEnum):
    RESTOCK = "RESTOCK"
    DAMAGED = "DAMAGED"


R, A = ReturnStatus, ReturnAction
RETURN_TRANSITIONS: dict[tuple[ReturnStatus, ReturnAction], ReturnStatus] = {
    (R.REQUESTED, A.APPROVE): R.APPROVED,
    (R.REQUESTED, A.DECLINE): R.DECLINED,
    (R.REQUESTED, A.RECEIVE): R.RECEIVED,  # handed in at a counter: the receipt decides it
    (R.APPROVED, A.RECEIVE): R.RECEIVED,
    (R.APPROVED, A.EXPIRE): R.EXPIRED,
    (R.EXPIRED, A.PICK_UP): R.APPROVED,
    (R.RECEIVED, A.REFUND): R.REFUNDED,
    (R.RECEIVED, A.CLOSE): R.CLOSED,
    (R.REFUNDED, A.CLOSE): R.CLOSED,
}
L, LA = ReturnLabelStatus, LabelAction
LABEL_TRANSITIONS: dict[tuple[ReturnLabelStatus, LabelAction], ReturnLabelStatus] = {
    (L.PENDING, LA.BUY): L.PURCHASED,
    (L.PENDING, LA.REFUSE): L.FAILED,
    (L.PENDING, LA.CANCEL): L.CANCELLED,
    (L.FAILED, LA.RETRY): L.PENDING,
    (L.PURCHASED, LA.VOID): L.VOIDED,
}

OPEN_RETURNS = frozenset({R.REQUESTED, R.APPROVED})
CLOSABLE_RETURNS = frozenset(status for status, action in RETURN_TRANSITIONS if action is A.CLOSE)


def next_return_status(status: ReturnStatus, action: ReturnAction) -> ReturnStatus:
    try:
        return RETURN_TRANSITIONS[(status, action)]
    except KeyError:
        verb = {A.REFUND: "refunded", A.CLOSE: "closed"}.get(action, f"{action.value.lower()}d")
        raise InvalidTransition(
            f"a return that is {status.value} cannot be {verb}", field=("return_id",)
        ) from None


def label_to_void(order_return: OrderReturn) -> bool:
    """A label bought for a return that no longer waits for its parcel: void it, unless the
    carrier has scanned it (`models.shipment.label_used`)."""
    return (
        order_return.label_status is ReturnLabelStatus.PURCHASED and order_return.status not in OPEN_RETURNS
    )


def label_due(order_return: OrderReturn, ttl: timedelta | None) -> datetime | None:
    """When the parcel of an approved return must be on its way: its label's purchase plus the
    label's time. None while nothing is due: no label bought (yet), the return no longer waiting
    for its parcel, the carrier's tracking having it already, or labels that never expire (`ttl`
    None)."""
    if (
        ttl is None
        or order_return.status is not ReturnStatus.APPROVED
        or order_return.label_status is not ReturnLabelStatus.PURCHASED
        or order_return.label_created_at is None
        or order_return.label_picked_up_at is not None  # on its way: nothing more to send
    ):
        return None
    return order_return.label_created_at + ttl


def send_by(order_return: OrderReturn, ttl: timedelta | None) -> date | None:
    """The day a customer is told to send their parcel by (`label_due`): the day before the due
    instant's day (UTC), so that the whole of it, in the customer's time zone, is inside the
    label's time unless the due instant falls early on its day and they live far west of UTC."""
    due = label_due(order_return, ttl)
    return None if due is None else (due - timedelta(days=1)).date()


def expires(order_return: OrderReturn, ttl: timedelta | None, now: datetime) -> bool:
    """Whether an approved return expires now: its label's time has run out (the last instant is
    still inside). Whether the carrier picked the parcel up is the caller's to ask first."""
    due = label_due(order_return, ttl)
    return due is not None and now > due


def retried_label_status(order_return: OrderReturn) -> ReturnLabelStatus:
    """The label's status once an agent asks for it again: PENDING, for a FAILED label of an
    APPROVED return (one still waiting for its parcel); INVALID_TRANSITION otherwise."""
    status = order_return.label_status
    if status is None:
        message = "this return has no label: its units came back over the counter"
        raise InvalidTransition(message, field=("return_id",))
    if order_return.status is not ReturnStatus.APPROVED:
        message = f"a return that is {order_return.status.value} waits for no label"
        raise InvalidTransition(message, field=("return_id",))
    try:
        return LABEL_TRANSITIONS[(status, LabelAction.RETRY)]
    except KeyError:
        message = f"a return label that is {status.value} cannot be retried: only a FAILED one"
        raise InvalidTransition(message, field=("return_id",)) from None


@dataclass(kw_only=True, eq=False)
class OrderReturn:
    id: str = field(default_factory=new_id)
    order_id: str
    status: ReturnStatus
    requested_by: str
    requested_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None
    received_at: datetime | None = None
    received_location_id: str | None = None
    refunded_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    # The return label: which outbound shipment it sends back, and what the carrier sold.
    label_status: ReturnLabelStatus | None = None
    label_shipment_id: str | None = None
    label_carrier: str | None = None
    label_service: str | None = None
    label_tracking_number: str | None = None
    label_url: str | None = None
    label_error: str | None = None
    label_created_at: datetime | None = None
    label_carrier_id: str | None = None  # what the carrier voids the label by
    # The carrier's tracking of the label: its latest status, as of its newest scan, and when
    # the carrier first had the parcel (None: not yet).
    label_tracking: TrackingStatus | None = None
    label_tracked_at: datetime | None = None
    label_picked_up_at: datetime | None = None


@dataclass(kw_only=True, eq=False)
class ReturnLine:
    id: str = field(default_factory=new_id)
    return_id: str
    order_line_id: str
    sku: str
    quantity: int
    reason: str
    disposition: Disposition | None = None


def bound_by_window(principal: Principal) -> bool:
    """Whether the return window binds this caller: customers ask within it, agents any time.
    Forbidden for a role that may not ask for returns."""
    if principal.can(Permission.MANAGE_RETURNS):
        return False
    if principal.can(Permission.REQUEST_RETURNS):
        return True
    raise Forbidden("this role may not request returns")


def last_left(events: Iterable[OrderEvent]) -> datetime | None:
    """When units of the order last left with the customer (shipped or handed over)."""
    return max((event.occurred_at for event in events if event.type in LEFT_US), default=None)


def check_return_window(left_at: datetime | None, *, now: datetime, window: timedelta, bound: bool) -> None:
    """NOTHING_TO_RETURN before any unit left; RETURN_WINDOW_CLOSED for a caller the window
    binds once it has passed since the units last left (the last instant is still inside)."""
    if left_at is None:
        message = "nothing on this order has reached you yet"
        raise ValidationFailed([Problem("NOTHING_TO_RETURN", message, ORDER_FIELD)])
    if bound and now > left_at + window:
        message = f"returns are accepted for {window.days} days"
        raise ValidationFailed([Problem("RETURN_WINDOW_CLOSED", message, ORDER_FIELD)])


def pending_units(returns: Iterable[OrderReturn], lines: Mapping[str, Sequence[ReturnLine]]) -> Counter[str]:
    """Units per order line in returns asked for and not yet received or declined."""
    pending: Counter[str] = Counter()
    for order_return in returns:
        if order_return.status in OPEN_RETURNS:
            for line in lines.get(order_return.id, []):
                pending[line.order_line_id] += line.quantity
    return pending


@dataclass(frozen=True)
class ReturnPlan:
    order_return: OrderReturn
    lines: tuple[ReturnLine, ...]

    @property
    def units(self) -> int:
        return sum(line.quantity for line in self.lines)


def plan_return(
    order_id: str,
    lines: Sequence[OrderLine],
    pending: Mapping[str, int],
    products: Mapping[str, Product],
    requested: Sequence[ReturnLineRequest],
    *,
    requested_by: str,
    now: datetime,
) -> ReturnPlan:
    """The return asked for, REQUESTED. ValidationFailed naming each input line that is not on
    the order, asks for no unit, is not returnable, asks for more than left with the customer
    less what was returned or is asked for already (earlier lines of this request included), or
    gives no reason or too long a one."""
    by_id = {line.id: line for line in lines}
    problems = [] if requested else [Problem("REQUIRED", "name at least one line to return", ("lines",))]
    asked: Counter[str] = Counter()
    for index, item in enumerate(requested):
        path = ("lines", str(index))
        line = by_id.get(item.line_id)
        problems.extend(_line_problems(item, line, products, pending, asked, path))
        if not item.reason.strip() or len(item.reason) > MAX_REASON:
            message = f"give a reason of 1 to {MAX_REASON} characters"
            problems.append(Problem("INVALID_REASON", message, (*path, "reason")))
        if line is not None:
            asked[line.id] += max(0, item.quantity)
    if problems:
        raise ValidationFailed(problems)
    order_return = OrderReturn(
        order_id=order_id, status=ReturnStatus.REQUESTED, requested_by=requested_by, requested_at=now
    )
    return ReturnPlan(
        order_return,
        tuple(
            ReturnLine(
                return_id=order_return.id,
                order_line_id=item.line_id,
                sku=by_id[item.line_id].sku,
                quantity=item.quantity,
                reason=item.reason.strip(),
            )
            for item in requested
        ),
    )


def returnable(line: OrderLine, pending: Mapping[str, int]) -> int:
    """Units of the line that left with the customer, less those returned or asked for."""
    return line.quantity_fulfilled - line.quantity_returned - pending.get(line.id, 0)


def _line_problems(
    item: ReturnLineRequest,
    line: OrderLine | None,
    products: Mapping[str, Product],
    pending: Mapping[str, int],
    asked: Mapping[str, int],
    path: tuple[str, ...],
) -> list[Problem]:
    if line is None:
        return [Problem("NOT_FOUND", "no such line on this order", (*path, "line_id"))]
    if item.quantity <= 0:
        return [Problem("INVALID_QUANTITY", "return at least one unit", (*path, "quantity"))]
    product = products.get(line.sku)
    if product is not None and not product.returnable:
        return [Problem("NOT_RETURNABLE", f"{line.sku} cannot be returned", (*path, "line_id"))]
    left = returnable(line, pending) - asked.get(line.id, 0)
    if item.quantity > left:
        message = f"only {left} of this line can be returned"
        return [Problem("NOT_RETURNABLE_QUANTITY", message, (*path, "quantity"))]
    return []


# What has come back and may have been refunded for: a return received (and refunded or closed
# since, or not yet).
BACK = frozenset({ReturnStatus.RECEIVED, ReturnStatus.REFUNDED, ReturnStatus.CLOSED})


def refunded_elsewhere(
    refunded: Mapping[str, int],
    cancelled: Mapping[str, int],
    returns: Sequence[OrderReturn],
    lines: Mapping[str, Sequence[ReturnLine]],
) -> list[OrderReturn]:
    """The RECEIVED returns whose every unit the units refunded elsewhere cover (a storefront
    that took the payment refunds there, by order product and quantity): the ones to settle as
    refunded. Of each SKU's refunded units, the units cancelled here are counted first, then
    the units of each return back, in the order they came back (those refunded or closed
    already too): a refund covers a later return only once it covers everything before it.
    Nothing is matched on amounts, so a merchant's goodwill or a refund of shipping never
    closes a return. Returns not back yet (or declined) are not counted."""
    left = Counter({sku: units - cancelled.get(sku, 0) for sku, units in refunded.items()})
    back = sorted(
        (r for r in returns if r.status in BACK and r.received_at is not None),
        key=lambda r: (r.received_at, r.id),
    )
    settled: list[OrderReturn] = []
    for order_return in back:
        units = Counter[str]()
        for line in lines.get(order_return.id, ()):
            units[line.sku] += line.quantity
        left.subtract(units)
        if order_return.status is ReturnStatus.RECEIVED and all(left[sku] >= 0 for sku in units):
            settled.append(order_return)
    return settled


@dataclass(frozen=True)
class ReturnTracked:
    """What a carrier's tracking of a return label changes (`track_return`): the label's
    tracking as kept now, whether the return is awaited again (`reopened`: it had EXPIRED), and
    the events for the order's timeline."""

    tracking: TrackingStatus | None
    tracked_at: datetime | None
    picked_up_at: datetime | None
    reopened: bool
    events: tuple[EventType, ...]


def track_return(
    order_return: OrderReturn,
    status: TrackingStatus,
    scans: Sequence[tuple[datetime, TrackingStatus]],
    now: datetime,
    *,
    asked_again: bool = False,
) -> ReturnTracked:
    """The carrier says the label's parcel is `status`, with these scans (when, and what each
    said). A message whose newest scan is older than the one kept (a retry, or deliveries out of
    order) moves no status back; the first scan that shows the parcel moving counts whenever it
    comes (`now`, when the carrier says it moves and gives no scan). Events go to a return still
    waiting for its parcel (APPROVED), or one that EXPIRED before its parcel was picked up (then
    awaited again, unless its units were `asked_again` in an open return: that one receives
    them); a parcel scanned after its return was received or closed changes what is kept,
    nothing else."""
    said_at = max((at for at, _ in scans), default=None)
    kept_at = order_return.label_tracked_at
    stale = said_at is not None and kept_at is not None and said_at < kept_at
    tracking = order_return.label_tracking if stale else status
    tracked_at = kept_at if stale or said_at is None else said_at
    picked_up_at = order_return.label_picked_up_at
    moving = [at for at, scanned in scans if label_used(scanned)]
    if moving or label_used(status):
        seen = min(moving, default=said_at or now)
        picked_up_at = seen if picked_up_at is None else min(picked_up_at, seen)
    waiting = order_return.status is ReturnStatus.APPROVED
    first_pickup = picked_up_at is not None and order_return.label_picked_up_at is None
    reopened = order_return.status is ReturnStatus.EXPIRED and first_pickup and not asked_again
    events: list[EventType] = []
    if (waiting or reopened) and first_pickup:
        events.append(EventType.RETURN_IN_TRANSIT)
    delivered = (
        tracking is TrackingStatus.DELIVERED and order_return.label_tracking is not TrackingStatus.DELIVERED
    )
    if (waiting or reopened) and delivered:
        events.append(EventType.RETURN_DELIVERED)
    return ReturnTracked(tracking, tracked_at, picked_up_at, reopened, tuple(events))
