"""Email to customers, landed on the outbox as webhooks are: the email dispatcher
(`workers.dispatch.EMAILS`) turns each event that tells a customer something (`models.emails`)
into one task in the relay's `email` lane, keyed by the order and the event, and `send` renders
and sends it until the server takes it.

- Once per event: the task's key is unique, the dispatcher's position moves in the transaction
  that queues it, and the message's `Message-ID` is derived from the event, so a retry after an
  unclear ending is recognisably the same message.
- Facts are read when the email is sent, so it tells what is true then (the label bought since
  the approval, say); the customer's opt-out is read then too. An email those facts have made
  pointless is not sent (a label to print for a parcel that is back already).
- A server that is down or answers 4xx: the relay retries with backoff, and the task's
  attempts and last error are what `order_emails` shows agents. A 5xx refusal gives up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ordergate.connectors.errors import UpstreamUnavailable
from ordergate.connectors.mail.base import UPSTREAM, MailRejected
from ordergate.models.customer import Customer, normalise_email
from ordergate.models.emails import (
    Email,
    EmailKind,
    Item,
    MessageFacts,
    Parcel,
    Pickup,
    Refund,
    ReturnLabel,
    backordered_items,
    cancel_reason,
    cancelled_items,
    delayed_from,
    email_kind,
    is_essential,
    key_prefix,
    message_id,
    ours_to_send,
    task_key,
)
from ordergate.models.errors import Forbidden, NotFound
from ordergate.models.events import EventType, OrderEvent
from ordergate.models.fulfillment import FulfillmentOrderLine
from ordergate.models.identity import Permission, Principal, Role
from ordergate.models.order import Order, OrderLine
from ordergate.models.order_status import pickup_until
from ordergate.models.outbox import EMAIL_MESSAGE, OutboxTask, Permanent
from ordergate.models.payments import PaymentKind
from ordergate.models.returns import ReturnLabelStatus, ReturnLine, ReturnStatus, send_by
from ordergate.models.scope import OrderScope
from ordergate.models.tracking import carrier_name, link_for
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases.email_templates import render
from ordergate.usecases.services import Services

EVERYTHING = OrderScope(everything=True)


class Skipped(Exception):
    """The email is not sent: what it would tell is no longer so (the reason is the task's result)."""


async def dispatch_audience(uow: UnitOfWork) -> bool:
    """Email has one audience, the order's customer, found when the email is sent."""
    return True


def dispatch_tasks(_: bool, event: OrderEvent, now: datetime) -> list[OutboxTask]:
    kind = email_kind(event.type)
    if kind is None:
        return []
    return [
        OutboxTask(
            kind=EMAIL_MESSAGE,
            key=task_key(event.order_id, event.id),
            payload={
                "event_id": event.id,
                "order_id": event.order_id,
                "kind": kind.value,
                "cursor": event.cursor,
            },
            available_at=now,
            created_at=now,
        )
    ]


async def send(services: Services, task: OutboxTask) -> str:
    """The relay's handler for EMAIL_MESSAGE: render what the event tells and send it."""
    kind = EmailKind(str(task.payload["kind"]))
    async with services.store.read() as uow:
        event = await uow.events.by_id(str(task.payload["event_id"]))
        order = (await uow.orders.by_ids([str(task.payload["order_id"])], EVERYTHING)).get(
            str(task.payload["order_id"])
        )
        if event is None or order is None:
            raise Permanent("the order or its event is gone")
        if not ours_to_send(order.source_ref):
            return "skipped: the storefront emails about its own orders"
        customer = (await uow.customers.by_ids([order.customer_id])).get(order.customer_id)
        if customer is not None and customer.email_opt_out and not is_essential(kind):
            return "skipped: the customer opted out"
        try:
            facts = await gather(services, uow, kind, event, order, customer)
        except Skipped as reason:
            return f"skipped: {reason}"[:128]
    subject, text, html = render(facts, order.locale)
    sender = services.email_sender
    email = Email(
        to=order.email,
        subject=subject,
        text=text,
        html=html,
        message_id=message_id(event.id, kind, sender.from_address),
        sender=sender,
        kind=kind,
        opt_out_url=facts.opt_out_url,
    )
    mailer = services.mailer
    if mailer is None:
        raise UpstreamUnavailable(UPSTREAM, "no mailer is configured")
    try:
        await mailer.send(email)
    except MailRejected as error:
        raise Permanent(error.message) from None
    return f"sent {email.message_id}"[:128]


async def gather(
    services: Services,
    uow: UnitOfWork,
    kind: EmailKind,
    event: OrderEvent,
    order: Order,
    customer: Customer | None,
) -> MessageFacts:
    """What the email of `kind` tells about this event, read from the store."""
    lines = (await uow.orders.lines_by_order_ids([order.id])).get(order.id, [])
    facts = MessageFacts(
        kind=kind,
        order_number=order.number,
        customer_name=(customer.first_name if customer and customer.first_name else None) or order.email,
        status_url=services.links.url(order.number),
        sender=services.email_sender,
        occurred_at=event.occurred_at,
        currency=order.currency,
        total=order.total,
        items=_open_items(lines),
        promised_on=order.promised_on,
        opt_out_url=services.links.opt_out_url(customer.id) if customer and not is_essential(kind) else None,
    )
    if kind in (EmailKind.SHIPPED, EmailKind.READY_FOR_PICKUP, EmailKind.PICKED_UP):
        facts = await _with_fulfilment(uow, facts, event, order, lines)
    elif kind is EmailKind.DELIVERED:
        facts = await _with_delivery(uow, facts, event)
    elif kind is EmailKind.BACKORDERED:
        facts = _replace(facts, items=backordered_items(event, {line.sku: line.name for line in lines}))
    elif kind is EmailKind.DELAYED:
        facts = _replace(facts, promised_before=delayed_from(event))
    elif kind is EmailKind.CANCELLED:
        named = {line.id: (line.name, line.sku) for line in lines}
        facts = _replace(
            facts,
            items=cancelled_items(event, named),
            reason=cancel_reason(event),
            whole=event.type == EventType.ORDER_CANCELLED,
        )
    elif kind in (EmailKind.RETURN_APPROVED, EmailKind.RETURN_LABEL, EmailKind.RETURN_EXPIRED):
        facts = await _with_return(uow, facts, event, lines, services.policy.return_label_ttl)
    elif kind is EmailKind.REFUNDED:
        facts = await _with_refund(uow, facts, event, order)
    return facts


def _replace(facts: MessageFacts, **changes: Any) -> MessageFacts:
    return replace(facts, **changes)


def _open_items(lines: Sequence[OrderLine]) -> list[Item]:
    return [
        Item(name=line.name, sku=line.sku, quantity=line.quantity - line.quantity_cancelled)
        for line in sorted(lines, key=lambda line: line.position)
        if line.quantity > line.quantity_cancelled
    ]


def _items_of(parts: Sequence[FulfillmentOrderLine | ReturnLine], lines: Sequence[OrderLine]) -> list[Item]:
    """Units of some lines (sent from a node, coming back), named as the order names them."""
    names = {line.id: line.name for line in lines}
    return [
        Item(name=names.get(part.order_line_id, part.sku), sku=part.sku, quantity=part.quantity)
        for part in parts
    ]


async def _with_fulfilment(
    uow: UnitOfWork, facts: MessageFacts, event: OrderEvent, order: Order, lines: Sequence[OrderLine]
) -> MessageFacts:
    fo_id = event.fulfillment_order_id or str(event.data.get("fulfillment_order_id") or "")
    fo_lines = (await uow.orders.fulfillment_lines_by_fo_ids([fo_id])).get(fo_id, [])
    facts = _replace(facts, items=_items_of(fo_lines, lines) or facts.items)
    if facts.kind is EmailKind.SHIPPED:
        shipment = await uow.orders.shipment_for(fo_id)
        carrier = shipment.carrier if shipment else str(event.data.get("carrier") or "")
        number = shipment.tracking_number if shipment else str(event.data.get("tracking") or "")
        parcel = Parcel(
            carrier=carrier_name(carrier, shipment.service if shipment else None),
            tracking_number=number,
            tracking_url=link_for(carrier, number, shipment.tracking_url if shipment else None),
            estimated_delivery=shipment.estimated_delivery if shipment else None,
        )
        return _replace(facts, parcel=parcel)
    location_id = order.pickup_location_id or event.location_id or ""
    location = (await uow.catalog.locations_by_ids([location_id])).get(location_id)
    if location is None:
        return facts
    place = ", ".join(part for part in (location.line1, location.postal_code, location.city) if part)
    pickup = Pickup(
        name=location.name, address=place, phone=location.phone, until=pickup_until(event.occurred_at)
    )
    return _replace(facts, pickup=pickup)


async def _with_delivery(uow: UnitOfWork, facts: MessageFacts, event: OrderEvent) -> MessageFacts:
    carrier, number = str(event.data.get("carrier") or ""), str(event.data.get("tracking_number") or "")
    shipment = (await uow.orders.shipments_by_tracking([number], carrier)).get(number) if number else None
    url = link_for(carrier, number, shipment.tracking_url if shipment else None)
    name = carrier_name(carrier, shipment.service if shipment else None)
    return _replace(facts, parcel=Parcel(carrier=name, tracking_number=number, tracking_url=url))


async def _with_return(
    uow: UnitOfWork,
    facts: MessageFacts,
    event: OrderEvent,
    lines: Sequence[OrderLine],
    label_ttl: timedelta | None,
) -> MessageFacts:
    return_id = str(event.data.get("return_id") or "")
    order_return = (await uow.returns.by_ids([return_id])).get(return_id)
    if order_return is None:
        raise Permanent("the return is gone")
    returned = (await uow.returns.lines_by_return_ids([return_id])).get(return_id, [])
    items = _items_of(returned, lines)
    label = ReturnLabel(
        carrier=order_return.label_carrier,
        tracking_number=order_return.label_tracking_number,
        url=order_return.label_url or None,
        send_by=send_by(order_return, label_ttl),
    )
    if facts.kind is EmailKind.RETURN_LABEL:
        if order_return.status is not ReturnStatus.APPROVED:
            raise Skipped(f"the return is {order_return.status.value}: its parcel is back")
        if order_return.label_status is not ReturnLabelStatus.PURCHASED:
            raise Skipped(f"the label is {order_return.label_status}")
        if not label.url:
            raise Permanent("the return has no label to send")
    return _replace(facts, items=items, label=label)


async def _with_refund(uow: UnitOfWork, facts: MessageFacts, event: OrderEvent, order: Order) -> MessageFacts:
    try:
        amount = Decimal(str(event.data.get("amount")))
    except InvalidOperation:
        raise Permanent("the refund's amount is unreadable") from None
    payments = (await uow.payments.by_order_ids([order.id])).get(order.id, [])
    refunds = [entry for entry in payments if entry.kind is PaymentKind.REFUND]
    method = (refunds or payments)[-1].provider if (refunds or payments) else ""
    return _replace(facts, refund=Refund(amount=amount, currency=order.currency, method=method))


@dataclass(frozen=True)
class EmailRecord:
    """One email of an order, as agents see it: what it is, and how sending it went."""

    task: OutboxTask
    to: str

    @property
    def kind(self) -> str:
        return str(self.task.payload.get("kind", ""))

    @property
    def status(self) -> str:
        if self.task.done_at is None:
            return "FAILING" if self.task.last_error else "QUEUED"
        result = self.task.result or ""
        if result.startswith("skipped"):
            return "SKIPPED"
        return "GAVE_UP" if result.startswith("gave up") else "SENT"


async def order_emails(services: Services, principal: Principal, order_id: str) -> list[EmailRecord]:
    """The emails an order sent or is sending, in the order of their events (staff only)."""
    if not principal.sees_all_orders:
        raise Forbidden("only staff see an order's emails")
    async with services.store.read() as uow:
        order = (await uow.orders.by_ids([order_id], EVERYTHING)).get(order_id)
        if order is None:
            raise NotFound("no such order", field=("order_id",))
        tasks = await uow.outbox.with_key_prefixes([key_prefix(order.id)], kind=EMAIL_MESSAGE)
    tasks.sort(key=lambda task: int(task.payload.get("cursor", 0)))  # one dispatch queues many at once
    return [EmailRecord(task, order.email) for task in tasks]


async def set_email_opt_out(
    services: Services, principal: Principal, customer_id: str | None, opt_out: bool
) -> Customer:
    """A customer opts themselves out of (or back into) non-essential email; staff who manage
    customers do it for one (`customer_id`)."""
    async with services.store.write() as uow:
        customer: Customer | None
        if customer_id is not None and principal.can(Permission.MANAGE_CUSTOMERS):
            customer = (await uow.customers.by_ids([customer_id])).get(customer_id)
        elif principal.role is Role.CUSTOMER and principal.email:
            customer = await uow.customers.by_email(normalise_email(principal.email))
            if customer is not None and customer_id not in (None, customer.id):
                customer = None  # another customer's record is simply not found
        else:
            raise Forbidden("only the customer, or staff who manage customers, change this")
        if customer is None:
            raise NotFound("no such customer", field=("customer_id",))
        customer.email_opt_out = opt_out
        uow.save(customer)
    return customer


async def opt_out_by_link(services: Services, customer_id: str, token: str) -> Customer:
    """The opt-out link in a non-essential email, followed (and confirmed): no sign-in, the
    link's token is the authority. A wrong token is simply not found."""
    if not services.links.valid_opt_out(customer_id, token):
        raise NotFound("no such customer", field=("customer_id",))
    async with services.store.write() as uow:
        customer = (await uow.customers.by_ids([customer_id])).get(customer_id)
        if customer is None:
            raise NotFound("no such customer", field=("customer_id",))
        customer.email_opt_out = True
        uow.save(customer)
    return customer


async def opt_out_email(services: Services, customer_id: str, token: str) -> str | None:
    """Whose email an opt-out link is for, shown before they confirm; None for a wrong link."""
    if not services.links.valid_opt_out(customer_id, token):
        return None
    async with services.store.read() as uow:
        customer = (await uow.customers.by_ids([customer_id])).get(customer_id)
    return customer.email if customer is not None else None
