"""What ordergate needs from any carrier: rates, one label per shipment, a label voided when it
was not used, tracking by number, and tracking webhooks normalised to the contract's
TrackingStatus (raw codes kept)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from ordergate.models.address import Address
from ordergate.models.shipment import TrackingStatus


@dataclass(frozen=True)
class Parcel:
    weight_grams: int
    length_cm: float = 30.0
    width_cm: float = 20.0
    height_cm: float = 15.0


@dataclass(frozen=True)
class RateQuote:
    carrier: str
    service: str
    amount: Decimal
    currency: str
    delivery_days: int | None = None
    estimated_delivery: date | None = None
    rate_id: str | None = None


@dataclass(frozen=True)
class LabelRequest:
    """`reference` is ours (the fulfilment order, or the return); carriers that accept an
    idempotency or external key get it, so a retried purchase returns the first label.

    A return label (`is_return`) is drawn the way the parcel travels: `ship_from` is the
    customer, `ship_to` the node that takes the units back; `contents` says what is inside
    (UPS wants a description on every package of a return).

    `phone` is ours to give where the carrier requires a phone and the address has none (the
    node's, else the merchant's): which parties need one is the connector's to know."""

    reference: str
    service: str
    ship_from: Address
    ship_to: Address
    parcels: Sequence[Parcel]
    rate_id: str | None = None
    is_return: bool = False
    contents: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Label:
    carrier: str
    service: str
    tracking_number: str
    label_url: str
    cost: Decimal
    currency: str
    carrier_shipment_id: str
    estimated_delivery: date | None = None
    tracking_url: str | None = None  # the carrier's public page for the parcel (`models.tracking`)
    carrier_label_id: str = ""
    """What the carrier voids this label by (ShipEngine's `label_id`, UPS's shipment
    identification number)."""


@dataclass(frozen=True)
class VoidResult:
    """The carrier's answer to a void: `voided` (its cost is refunded; a label voided before
    counts, so a void repeated after a lost answer is one void), else its reason, in its words."""

    voided: bool
    reason: str = ""


@dataclass(frozen=True)
class TrackingScan:
    occurred_at: datetime
    status: TrackingStatus
    raw_code: str
    description: str
    location: str | None = None


@dataclass(frozen=True)
class TrackingUpdate:
    tracking_number: str
    status: TrackingStatus
    raw_status: str
    estimated_delivery: date | None = None
    events: Sequence[TrackingScan] = field(default_factory=tuple)


class Carrier(Protocol):
    name: str

    async def rates(self, ship_from: Address, ship_to: Address, parcels: Sequence[Parcel]) -> list[RateQuote]:
        """Quotes for every service the account offers between these addresses."""
        ...

    async def buy_label(self, request: LabelRequest) -> Label:
        """Buy one label. Never retried blindly: the connector sends no second purchase after a
        lost answer (the gateway's own record of the purchase is what makes it idempotent)."""
        ...

    async def void_label(self, carrier_label_id: str) -> VoidResult:
        """Ask the carrier to void a label that was not used. A refusal (used, too old, not
        known) is a `VoidResult` that is not voided; a carrier that does not answer raises."""
        ...

    async def track(self, tracking_numbers: Sequence[str]) -> list[TrackingUpdate]: ...

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[TrackingUpdate]:
        """The tracking updates in a verified delivery; raises WebhookRejected otherwise."""
        ...

    async def aclose(self) -> None: ...
