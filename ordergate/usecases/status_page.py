"""The order status page's use cases: which order a link or a lookup opens, what its customer
reads there, the return they may start from it, and the changes that update it live.

A customer reaches the page without signing in, in one of two ways: the signed link printed in
every email (`models.links`), or the order number with the email address the order was placed
with. Both find the order or say nothing about it: a wrong token, a wrong email and an unknown
number are the same NotFound, so the page is no oracle for which numbers exist. What the page
can do (start a return) it does as the order's customer would through `requestReturn`, with the
same rules: the same principal, scope and return window.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ordergate.models.capture import normal_number
from ordergate.models.commands import RequestReturn, ReturnLineRequest
from ordergate.models.customer import normalise_email
from ordergate.models.errors import NotFound, ValidationFailed
from ordergate.models.events import OrderEvent
from ordergate.models.fulfillment import FulfillmentOrder, FulfillmentOrderStatus
from ordergate.models.identity import Principal, Role
from ordergate.models.location import Location
from ordergate.models.order import DeliveryMethod, Order, OrderLine, OrderStatus
from ordergate.models.order_status import GONE, Stage, pickup_until, stage_of
from ordergate.models.returns import (
    OrderReturn,
    ReturnLabelStatus,
    ReturnLine,
    ReturnStatus,
    check_return_window,
    last_left,
    pending_units,
    returnable,
    send_by,
)
from ordergate.models.scope import OrderScope
from ordergate.models.shipment import Shipment, ShipmentEvent, TrackingStatus
from ordergate.models.tracking import carrier_name, link_for
from ordergate.usecases import events, returns
from ordergate.usecases.services import Services

EVERYTHING = OrderScope(everything=True)
MAX_NUMBER = 32  # the column's width: anything longer names no order
MAX_EMAIL = 254


@dataclass(frozen=True)
class Parcel:
    shipment: Shipment
    latest: ShipmentEvent | None  # the carrier's latest scan, if any yet
    tracking_link: str | None
    carrier: str  # as the customer knows it (USPS, not the label broker)


@dataclass(frozen=True)
class Pickup:
    location: Location
    status: FulfillmentOrderStatus
    until: date | None  # the last day a ready order waits at the counter


@dataclass(frozen=True)
class Returnable:
    line: OrderLine
    units: int


@dataclass(frozen=True)
class StatusPage:
    """Everything the page shows, read in one transaction."""

    order: Order
    stage: Stage
    lines: list[OrderLine]
    parcels: list[Parcel]
    pickups: list[Pickup]
    returns: list[tuple[OrderReturn, list[ReturnLine]]]
    returnable: list[Returnable]  # empty when nothing may be returned from here now
    return_until: datetime | None  # when the return window closes, once anything left us
    as_of: datetime
    label_ttl: timedelta | None = None  # the policy's time to send a return once its label is bought

    def name_of(self, order_line_id: str) -> str:
        """An order line's product name, as the customer bought it."""
        return next((line.name for line in self.lines if line.id == order_line_id), "an item")

    def label_of(self, order_return: OrderReturn) -> LabelToPrint | None:
        """The label to print for a return still waiting for its parcel; none once the carrier
        has the parcel or it is back, the return expired or the label was voided."""
        if order_return.status is not ReturnStatus.APPROVED or not order_return.label_url:
            return None
        if order_return.label_picked_up_at is not None:
            return None
        if order_return.label_status is not ReturnLabelStatus.PURCHASED:
            return None
        return LabelToPrint(order_return.label_url, send_by(order_return, self.label_ttl))

    def parcel_of(self, order_return: OrderReturn) -> ParcelBack | None:
        """Where a return's parcel is, once the carrier has it, while the return waits for it."""
        picked_up_at = order_return.label_picked_up_at
        if order_return.status is not ReturnStatus.APPROVED or picked_up_at is None:
            return None
        return ParcelBack(since=picked_up_at, arrived=order_return.label_tracking is TrackingStatus.DELIVERED)


@dataclass(frozen=True)
class ParcelBack:
    since: datetime  # when the carrier first had it
    arrived: bool  # the carrier delivered it to us


@dataclass(frozen=True)
class LabelToPrint:
    url: str
    send_by: date | None  # the last day to hand the parcel to the carrier


def customer_of(order: Order) -> Principal:
    """Who the page acts as: the order's customer, as a customer token for its email would."""
    return Principal(subject=order.email, role=Role.CUSTOMER, email=order.email)


async def by_link(services: Services, number: str, token: str) -> Order:
    """The order a signed link opens; NotFound for any link that is not one we made."""
    if len(number) > MAX_NUMBER or not services.links.valid(number, token):
        raise NotFound("no such order", field=("number",))
    async with services.store.read() as uow:
        order = await uow.orders.by_number(number, EVERYTHING)
    if order is None:
        raise NotFound("no such order", field=("number",))
    return order


async def by_email(services: Services, number: str, email: str) -> Order:
    """The order with this number placed with this email address; NotFound otherwise, the same
    whichever of the two was wrong."""
    number, email = normal_number(number), email.strip()
    if not number or not email or len(number) > MAX_NUMBER or len(email) > MAX_EMAIL:
        raise NotFound("no such order", field=("number",))
    async with services.store.read() as uow:
        order = await uow.orders.by_number(number, OrderScope(email=normalise_email(email)))
    if order is None:
        raise NotFound("no such order", field=("number",))
    return order


async def status_page(services: Services, order_id: str) -> StatusPage:
    now = services.clock()
    async with services.store.read() as uow:
        order = (await uow.orders.by_ids([order_id], EVERYTHING)).get(order_id)
        if order is None:
            raise NotFound("no such order", field=("number",))
        lines = (await uow.orders.lines_by_order_ids([order_id])).get(order_id, [])
        work = (await uow.orders.fulfillment_orders_by_order_ids([order_id])).get(order_id, [])
        shipments = (await uow.orders.shipments_by_order_ids([order_id])).get(order_id, [])
        scans = await uow.orders.shipment_events_by_shipment_ids([s.id for s in shipments])
        order_returns = (await uow.returns.by_order_ids([order_id])).get(order_id, [])
        return_lines = await uow.returns.lines_by_return_ids([r.id for r in order_returns])
        history = (await uow.events.by_order_ids([order_id])).get(order_id, [])
        products = await uow.catalog.products_by_skus([line.sku for line in lines])
        places = await uow.catalog.locations_by_ids([fo.location_id for fo in work])
    left = last_left(history)
    parcels = [_parcel(shipment, scans.get(shipment.id, [])) for shipment in shipments]
    open_units = pending_units(order_returns, return_lines)
    may_return = _window_open(left, now, services) and order.status is not OrderStatus.CANCELLED
    return StatusPage(
        order=order,
        stage=stage_of(order, work, shipments),
        lines=sorted(lines, key=lambda line: line.position),
        parcels=parcels,
        pickups=_pickups(work, places),
        returns=[(r, return_lines.get(r.id, [])) for r in order_returns],
        returnable=[
            Returnable(line, units)
            for line in lines
            if may_return
            and (units := returnable(line, open_units)) > 0
            and (product := products.get(line.sku)) is not None
            and product.returnable
        ],
        return_until=left + services.policy.return_window if left is not None else None,
        as_of=now,
        label_ttl=services.policy.return_label_ttl,
    )


def _window_open(left: datetime | None, now: datetime, services: Services) -> bool:
    try:
        check_return_window(left, now=now, window=services.policy.return_window, bound=True)
    except ValidationFailed:
        return False
    return True


def _parcel(shipment: Shipment, scans: list[ShipmentEvent]) -> Parcel:
    latest = max(scans, key=lambda scan: scan.occurred_at, default=None)
    link = link_for(shipment.carrier, shipment.tracking_number, shipment.tracking_url)
    return Parcel(shipment, latest, link, carrier_name(shipment.carrier, shipment.service))


def _pickups(work: list[FulfillmentOrder], places: dict[str, Location]) -> list[Pickup]:
    """Where each pickup of the order waits (or will), and until when once it is ready."""
    return [
        Pickup(
            places[fo.location_id],
            fo.status,
            pickup_until(fo.updated_at) if fo.status is FulfillmentOrderStatus.READY_FOR_PICKUP else None,
        )
        for fo in work
        if fo.delivery_method is DeliveryMethod.PICKUP and fo.status not in GONE and fo.location_id in places
    ]


async def start_return(
    services: Services, order: Order, lines: list[ReturnLineRequest], idempotency_key: str | None
) -> OrderReturn:
    """A return asked for from the page: `requestReturn` as the order's customer."""
    command = RequestReturn(order_id=order.id, lines=tuple(lines), idempotency_key=idempotency_key)
    return await returns.request_return(services, customer_of(order), command)


def changes(services: Services, order: Order) -> AsyncIterator[OrderEvent]:
    """The order's events from now on, as its customer may follow them."""
    return events.follow(services, customer_of(order), order.id, None)
