"""What ordergate needs from any payment provider, and exact money on the wire.

A payment is authorised once at placement, captured in parts as lines ship (never more than is
left authorised), refunded in parts (never more than was captured) and voided to release what is
authorised and not captured. Every call takes an idempotency key: a retry with the same key
returns the first result and moves no money twice.

UpstreamRejected               (ordergate.connectors.errors)
 ├── PaymentDeclined           (PAYMENT_DECLINED: the card said no; decline_code; never retried)
 └── PaymentRejected           (PAYMENT_REJECTED: the provider refused the request; provider_code)

Provider failures and timeouts raise `UpstreamUnavailable`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from ordergate.connectors.errors import UpstreamRejected

CURRENCY_EXPONENTS: Mapping[str, int] = {
    **dict.fromkeys(("CLP", "ISK", "JPY", "KRW", "PYG", "UGX", "VND", "XAF", "XOF"), 0),
    **dict.fromkeys(
        (
            "AED", "AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF",
            "ILS", "INR", "MXN", "NOK", "NZD", "PLN", "SEK", "SGD", "USD", "ZAR",
        ),
        2,
    ),
    **dict.fromkeys(("BHD", "JOD", "KWD", "OMR", "TND"), 3),
}  # fmt: skip
"""ISO 4217 minor-unit exponents of the currencies we accept."""


@dataclass(frozen=True)
class Authorization:
    """`reference` is the provider's id for the payment; `status` its own word for the state."""

    reference: str
    amount: Decimal
    currency: str
    status: str


@dataclass(frozen=True)
class Capture:
    reference: str
    amount: Decimal


@dataclass(frozen=True)
class Refund:
    reference: str
    amount: Decimal


@dataclass(frozen=True)
class Void:
    reference: str


class PaymentDeclined(UpstreamRejected):
    """The card said no: a userError for the shopper, never retried. `decline_code` is the
    provider's (`card_declined`, `insufficient_funds`...); `code` stays the stable client code."""

    code = "PAYMENT_DECLINED"
    kind = "declined"

    def __init__(
        self,
        decline_code: str,
        message: str,
        *,
        upstream: str = "payments",
        status: int = 402,
        body: str = "",
    ) -> None:
        super().__init__(upstream, message, status=status, body=body)
        self.decline_code = decline_code


class PaymentRejected(UpstreamRejected):
    """The provider refused the request itself (`amount_too_large`, `idempotency_key_in_use`...)."""

    code = "PAYMENT_REJECTED"

    def __init__(
        self, upstream: str, message: str, *, provider_code: str, status: int, body: str = ""
    ) -> None:
        super().__init__(upstream, message, status=status, body=body)
        self.provider_code = provider_code


class PaymentProvider(Protocol):
    async def authorize(
        self, *, order_reference: str, amount: Decimal, currency: str, token: str, idempotency_key: str
    ) -> Authorization: ...

    async def increment(self, reference: str, amount: Decimal, *, idempotency_key: str) -> Authorization:
        """Raise what is authorised to `amount` (the new total, as Stripe's
        increment_authorization takes it); PaymentDeclined when the issuer says no."""
        ...

    async def capture(self, reference: str, amount: Decimal, *, idempotency_key: str) -> Capture: ...

    async def refund(self, reference: str, amount: Decimal, *, idempotency_key: str) -> Refund: ...

    async def void(self, reference: str, *, idempotency_key: str) -> Void: ...

    async def aclose(self) -> None: ...


def exponent(currency: str) -> int:
    """The currency's minor-unit exponent, or ValueError for a currency we do not accept."""
    try:
        return CURRENCY_EXPONENTS[currency.upper()]
    except KeyError:
        raise ValueError(f"unsupported currency {currency!r}") from None


def to_minor(amount: Decimal, currency: str) -> int:
    """`amount` in integer minor units, exactly: ValueError when it has more precision than the
    currency allows (0.001 USD) or is not a finite Decimal."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValueError(f"{amount!r} is not a finite Decimal amount")
    places = exponent(currency)
    sign, digits, power = amount.as_tuple()
    assert isinstance(power, int)  # finite, checked above
    coefficient = int("".join(map(str, digits)) or "0")
    shift = power + places
    if shift >= 0:
        units = coefficient * int(10**shift)
    else:
        units, rest = divmod(coefficient, int(10**-shift))
        if rest:
            raise ValueError(f"{amount} {currency.upper()} has more than {places} decimal places")
    return -units if sign else units


def from_minor(units: int, currency: str) -> Decimal:
    """Integer minor units as a Decimal amount with the currency's places: 1999 USD -> 19.99."""
    digits = tuple(int(digit) for digit in str(abs(units)))
    return Decimal((1 if units < 0 else 0, digits, -exponent(currency)))
