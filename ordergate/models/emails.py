"""Transactional email to customers: which events send which message, which messages a
customer may opt out of, and what each message says (its facts, before any template).

One event sends at most one email, once: its outbox key is the order and the event, and its
`Message-ID` is derived from the event, so a send retried after an unclear failure is the same
message to every server and mail client that saw the first.

Essential messages tell a customer something about a purchase they need to act on or would
complain about not hearing (the order confirmed, delayed by a backorder, shipped, ready to
collect, cancelled, a return approved, its label and its expiry, a refund): they always go. Messages that
only tell what the customer can already see (delivered, picked up) are non-essential, and a
customer who opted out does not get them.

Orders imported from a storefront are the storefront's to email about: it confirmed them to the
shopper when it took them, and it tells of the shipments we push back to it. We email only about
orders placed through our API, so nobody hears of one event twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from ordergate.models.events import EventType, OrderEvent
from ordergate.models.order import CancelReason

EMAIL_POSITION = "email_dispatch"  # where the email dispatcher has got to in the event log
DEFAULT_LOCALE = "en"
MAX_LOCALE = 35


class EmailKind(StrEnum):
    ORDER_CONFIRMED = "order_confirmed"
    BACKORDERED = "backordered"
    DELAYED = "delayed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    READY_FOR_PICKUP = "ready_for_pickup"
    PICKED_UP = "picked_up"
    CANCELLED = "cancelled"
    RETURN_APPROVED = "return_approved"
    RETURN_LABEL = "return_label"
    RETURN_EXPIRED = "return_expired"
    REFUNDED = "refunded"


KIND_OF_EVENT: dict[EventType, EmailKind] = {
    EventType.ORDER_CONFIRMED: EmailKind.ORDER_CONFIRMED,
    EventType.ORDER_BACKORDERED: EmailKind.BACKORDERED,
    EventType.ORDER_DELAYED: EmailKind.DELAYED,
    EventType.FULFILLMENT_SHIPPED: EmailKind.SHIPPED,
    EventType.SHIPMENT_DELIVERED: EmailKind.DELIVERED,
    EventType.FULFILLMENT_READY_FOR_PICKUP: EmailKind.READY_FOR_PICKUP,
    EventType.FULFILLMENT_PICKED_UP: EmailKind.PICKED_UP,
    EventType.ORDER_CANCELLED: EmailKind.CANCELLED,
    EventType.ORDER_LINES_CANCELLED: EmailKind.CANCELLED,
    EventType.RETURN_APPROVED: EmailKind.RETURN_APPROVED,
    EventType.RETURN_LABEL_CREATED: EmailKind.RETURN_LABEL,
    EventType.RETURN_EXPIRED: EmailKind.RETURN_EXPIRED,
    EventType.PAYMENT_REFUNDED: EmailKind.REFUNDED,
}
"""Every event that emails the customer. A return's refund is one PAYMENT_REFUNDED (RETURN_REFUNDED
follows it for the same money), so only the payment's event sends."""

NON_ESSENTIAL = frozenset({EmailKind.DELIVERED, EmailKind.PICKED_UP})


def email_kind(event_type: str) -> EmailKind | None:
    try:
        return KIND_OF_EVENT.get(EventType(event_type))
    except ValueError:
        return None


def is_essential(kind: EmailKind) -> bool:
    return kind not in NON_ESSENTIAL


def ours_to_send(source_ref: str | None) -> bool:
    """Whether we email about an order: not when a storefront took it (its `source_ref`)."""
    return source_ref is None


def task_key(order_id: str, event_id: str) -> str:
    """The outbox key of an event's email: one task per event, listed per order by its prefix."""
    return f"{order_id}:{event_id}"


def key_prefix(order_id: str) -> str:
    return f"{order_id}:"


def message_id(event_id: str, kind: EmailKind, from_address: str) -> str:
    domain = from_address.rpartition("@")[2].strip(" >") or "ordergate.invalid"
    return f"<{event_id}.{kind.value}@{domain}>"


def locales(wanted: str | None) -> list[str]:
    """The template folders to try, most specific first: `fr-CA` -> fr-ca, fr, en."""
    chosen: list[str] = []
    text = (wanted or "").strip().lower().replace("_", "-")
    parts = [part for part in text.split("-") if part.isalnum()][:3]
    for size in range(len(parts), 0, -1):
        candidate = "-".join(parts[:size])
        if candidate not in chosen:
            chosen.append(candidate)
    if DEFAULT_LOCALE not in chosen:
        chosen.append(DEFAULT_LOCALE)
    return chosen


def valid_locale(locale: str) -> bool:
    """A BCP 47-shaped tag (`en`, `fr-CA`, `zh-Hant-TW`): letters and digits, hyphenated."""
    parts = locale.split("-")
    return (
        0 < len(locale) <= MAX_LOCALE
        and 2 <= len(parts[0]) <= 3
        and parts[0].isalpha()
        and all(part.isascii() and part.isalnum() and 1 <= len(part) <= 8 for part in parts)
    )


@dataclass(frozen=True)
class Sender:
    """Who emails come from: the merchant, as settings name it."""

    name: str
    from_address: str
    reply_to: str
    postal_address: str


@dataclass(frozen=True)
class Email:
    """One message as a mailer sends it: already rendered, addressed and identified."""

    to: str
    subject: str
    text: str
    html: str
    message_id: str
    sender: Sender
    kind: EmailKind
    opt_out_url: str | None = None  # non-essential email: its List-Unsubscribe (one click, RFC 8058)


@dataclass(frozen=True)
class Item:
    name: str
    sku: str
    quantity: int
    promised_on: date | None = None


@dataclass(frozen=True)
class Parcel:
    carrier: str
    tracking_number: str
    tracking_url: str | None
    estimated_delivery: date | None = None


@dataclass(frozen=True)
class Pickup:
    name: str
    address: str
    phone: str | None
    until: date


@dataclass(frozen=True)
class ReturnLabel:
    carrier: str | None
    tracking_number: str | None
    url: str | None
    send_by: date | None = None  # the last day to hand the parcel to the carrier (models.returns.label_due)


@dataclass(frozen=True)
class Refund:
    amount: Decimal
    currency: str
    method: str


@dataclass(frozen=True)
class MessageFacts:
    """What one email tells, gathered from the store: the templates' only input."""

    kind: EmailKind
    order_number: str
    customer_name: str
    status_url: str
    sender: Sender
    occurred_at: datetime
    currency: str
    total: Decimal
    items: Sequence[Item] = ()
    parcel: Parcel | None = None
    pickup: Pickup | None = None
    reason: str | None = None
    label: ReturnLabel | None = None
    refund: Refund | None = None
    promised_on: date | None = None
    promised_before: date | None = None  # a delay: the day that was promised until then
    whole: bool = False  # a cancellation of the whole order, not some of its lines
    opt_out_url: str | None = None  # where the customer stops non-essential email


def backordered_items(event: OrderEvent, names: Mapping[str, str]) -> list[Item]:
    """The units an ORDER_BACKORDERED event says are waiting, each with its promise date."""
    items = []
    for line in event.data.get("lines", []):
        promised = line.get("promised_on")
        items.append(
            Item(
                name=names.get(str(line.get("sku")), str(line.get("sku"))),
                sku=str(line.get("sku")),
                quantity=int(line.get("quantity", 0)),
                promised_on=date.fromisoformat(promised) if promised else None,
            )
        )
    return items


def delayed_from(event: OrderEvent) -> date | None:
    """The day an ORDER_DELAYED event says was promised until then."""
    before = event.data.get("from")
    try:
        return date.fromisoformat(before) if isinstance(before, str) else None
    except ValueError:
        return None


def cancelled_items(event: OrderEvent, lines: Mapping[str, tuple[str, str]]) -> list[Item]:
    """The units an ORDER_CANCELLED or ORDER_LINES_CANCELLED event took off: `lines` maps a
    line id to its (name, sku)."""
    items = []
    for line_id, quantity in dict(event.data.get("lines", {})).items():
        name, sku = lines.get(str(line_id), (str(line_id), ""))
        items.append(Item(name=name, sku=sku, quantity=int(quantity)))
    return items


def cancel_reason(event: OrderEvent) -> str:
    """The reason code (`models.order.CancelReason`) the templates put in words."""
    reason = str(event.data.get("reason") or "OTHER").upper()
    return reason if reason in {r.value for r in CancelReason} else CancelReason.OTHER.value
