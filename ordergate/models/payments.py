"""The money side of an order: a ledger of the provider's transactions, and the payment
status derived from it (never set by hand). Amounts are Decimals in the order's currency."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from ordergate.models.errors import Problem, ValidationFailed
from ordergate.models.ids import new_id
from ordergate.models.order import PaymentStatus

CENT = Decimal("0.01")


class PaymentKind(StrEnum):
    AUTHORIZATION = "AUTHORIZATION"
    CAPTURE = "CAPTURE"
    REFUND = "REFUND"
    VOID = "VOID"


class PaymentEntryStatus(StrEnum):
    SUCCEEDED = "SUCCEEDED"  # in the ledger: the provider did it
    PENDING = "PENDING"  # promised (in the outbox), not yet done


KIND_OF_TASK = {
    "payment.capture": PaymentKind.CAPTURE,
    "payment.void": PaymentKind.VOID,
    "payment.refund": PaymentKind.REFUND,
}


@dataclass(kw_only=True, eq=False)
class PaymentTransaction:
    id: str = field(default_factory=new_id)
    order_id: str
    kind: PaymentKind
    provider: str
    reference: str
    amount: Decimal
    currency: str
    key: str
    created_at: datetime


STOREFRONT_PROVIDERS = frozenset({"bigcommerce"})
"""Payments a storefront took itself: recorded in the ledger as the storefront reports them, and
never captured, voided or refunded through a provider of ours (that happens at the storefront)."""


def taken_elsewhere(entry: PaymentTransaction) -> bool:
    return entry.provider in STOREFRONT_PROVIDERS


@dataclass(frozen=True)
class LedgerTotals:
    """What the ledger adds up to. `released`: authorised and let go without being captured (a
    void releases what is left; an order finished for less releases the rest)."""

    authorised: Decimal
    captured: Decimal
    refunded: Decimal
    released: Decimal

    @property
    def capturable(self) -> Decimal:
        return max(Decimal(0), self.authorised - self.captured - self.released)

    @property
    def closed(self) -> bool:
        """Nothing more can be captured: the rest of the authorisation was released."""
        return self.released > 0 and self.capturable == 0


def totals(ledger: Iterable[PaymentTransaction]) -> LedgerTotals:
    authorised = captured = refunded = released = Decimal("0")
    for entry in ledger:
        if entry.kind is PaymentKind.AUTHORIZATION:
            authorised += entry.amount
        elif entry.kind is PaymentKind.CAPTURE:
            captured += entry.amount
        elif entry.kind is PaymentKind.REFUND:
            refunded += entry.amount
        else:
            released += entry.amount
    return LedgerTotals(authorised, captured, refunded, released)


def settle_new_total(
    ledger: Sequence[PaymentTransaction], total: Decimal, corrected: Decimal = Decimal(0)
) -> tuple[Decimal, Decimal]:
    """What a new order total means for the card: (more to authorise, charged and to refund).
    What was charged beyond the total is refunded, less what was given back (or promised) for
    earlier totals lowered (`corrected`); refunds for returns and goodwill are not part of it,
    since the total does not drop for them. A capture for what left is a share of the total of
    its day, so a total priced again can come out a cent under what was captured.
    Nothing to authorise when the order was never authorised with us or its authorisation was
    released; PAYMENT_CAPTURED when it would grow past an authorisation already captured in
    full, or past what was captured once the rest of the authorisation was let go (the card can
    be charged no more: an order that grew then would be shipped and never paid for)."""
    if not any(entry.kind is PaymentKind.AUTHORIZATION for entry in ledger):
        return Decimal(0), Decimal(0)
    money = totals(ledger)
    refund = max(Decimal(0), money.captured - corrected - total)
    if money.closed:
        if money.captured and total > money.captured:
            raise ValidationFailed([_CAPTURED_IN_FULL])
        return Decimal(0), refund
    authorize = max(Decimal(0), total - money.authorised)
    if authorize > 0 and money.captured >= money.authorised:
        raise ValidationFailed([_CAPTURED_IN_FULL])
    return authorize, refund


_CAPTURED_IN_FULL = Problem(
    "PAYMENT_CAPTURED",
    "the order's payment was captured in full and cannot grow: take the extra items as a new order",
    (),
)


def payment_status(ledger: Iterable[PaymentTransaction], order_total: Decimal) -> PaymentStatus:
    """From the ledger alone: refunds first, then captures against the order's total, then an
    authorisation released whole (VOIDED) or standing (AUTHORIZED)."""
    money = totals(ledger)
    if money.refunded > 0:
        return (
            PaymentStatus.REFUNDED if money.refunded >= money.captured else PaymentStatus.PARTIALLY_REFUNDED
        )
    if money.captured > 0:
        return PaymentStatus.PAID if money.captured >= order_total else PaymentStatus.PARTIALLY_PAID
    if money.authorised > 0:
        return PaymentStatus.VOIDED if money.released >= money.authorised else PaymentStatus.AUTHORIZED
    return PaymentStatus.PENDING


def share(part: Decimal, whole: Decimal, amount: Decimal) -> Decimal:
    """`amount` scaled by part/whole, to the cent (a shipment's share of tax and shipping)."""
    if whole <= 0:
        return Decimal("0.00")
    return (amount * part / whole).quantize(CENT, rounding=ROUND_HALF_UP)
