"""Order and what hangs off it: lines, fulfilment orders, shipments, timeline."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

import strawberry

from ordergate.models.appeasements import allowance
from ordergate.models.events import EventType, customer_message, shown_to
from ordergate.models.events import OrderEvent as EventRecord
from ordergate.models.fraud import RiskLevel, RiskRule, level_of
from ordergate.models.fulfillment import OPEN_FULFILLMENT_STATUSES, FulfillmentOrderStatus
from ordergate.models.fulfillment import FulfillmentOrder as FulfillmentOrderRecord
from ordergate.models.fulfillment import FulfillmentOrderLine as FulfillmentOrderLineRecord
from ordergate.models.identity import Permission
from ordergate.models.notes import TargetKind
from ordergate.models.order import (
    CancelReason,
    DeliveryMethod,
    FulfillmentStatus,
    HoldReason,
    OrderStatus,
    PaymentStatus,
    ServiceLevel,
)
from ordergate.models.order import Order as OrderRecord
from ordergate.models.order import OrderLine as OrderLineRecord
from ordergate.models.payments import KIND_OF_TASK, PaymentEntryStatus, PaymentKind
from ordergate.models.returns import Disposition, ReturnLabelStatus, ReturnStatus
from ordergate.models.returns import OrderReturn as ReturnRecord
from ordergate.models.returns import send_by as last_day
from ordergate.models.shipment import Shipment as ShipmentRecord
from ordergate.models.shipment import TrackingStatus
from ordergate.models.supply import Backorder as BackorderRecord
from ordergate.models.supply import BackorderStatus, SellingPolicy
from ordergate.schema.context import Info, principal, services
from ordergate.schema.types.appeasements import Appeasement
from ordergate.schema.types.audit import AuditRecord
from ordergate.schema.types.catalog import Customer, Location, Looked
from ordergate.schema.types.common import Address, Money
from ordergate.schema.types.emails import OrderEmail
from ordergate.schema.types.lazy import lazily, read_lazily
from ordergate.schema.types.notes import Note, notes_of, tags_of
from ordergate.schema.types.routing import RoutingDecision
from ordergate.usecases import emails, orders
from ordergate.usecases.events import event_cursor
from ordergate.usecases.reads import OrderParts

V = TypeVar("V")
CARRIER_SCAN = "CARRIER_SCAN"
STAFF_NOTE = "STAFF_NOTE"


@strawberry.type
class OrderLine:
    id: strawberry.ID
    sku: str
    name: str
    quantity: int
    unit_price: Money = strawberry.field(
        resolver=lambda root: Money.of(root.amounts.unit_price, root.currency)
    )
    total: Money = strawberry.field(
        resolver=lambda root: Money.of(root.amounts.unit_price * root.amounts.quantity, root.currency)
    )
    tax: Money = strawberry.field(
        description="Tax on this line at the destination's rate, to the cent.",
        resolver=lambda root: Money.of(root.amounts.tax, root.currency),
    )
    discount: Money = strawberry.field(
        description="This line's share of the order's `discountTotal` (in proportion to its value, to "
        "the cent), on its units still charged for; zero on an order without a discount.",
        resolver=lambda root: Money.of(root.amounts.discount, root.currency),
    )
    quantity_fulfilled: int
    quantity_cancelled: int
    quantity_returned: int
    order_id: strawberry.Private[str]
    amounts: strawberry.Private[OrderLineRecord]  # its money, built only when asked for
    currency: strawberry.Private[str]
    waiting: strawberry.Private[list[BackorderRecord] | None] = None  # the order's, read with its page

    @strawberry.field(
        description="Units of this line waiting for incoming supply (backordered or pre-ordered), "
        "not yet allocated to a location.",
        graphql_type=int,
    )
    def quantity_backordered(self, info: Info) -> int | Awaitable[int]:
        if self.waiting is not None:
            return self._waiting(self.waiting)
        return self._quantity_backordered(info)

    async def _quantity_backordered(self, info: Info) -> int:
        return self._waiting(await info.context.loaders.backorders_by_order_id.load(self.order_id))

    def _waiting(self, rows: list[BackorderRecord]) -> int:
        return sum(
            b.quantity for b in rows if b.order_line_id == self.id and b.status is BackorderStatus.WAITING
        )

    @classmethod
    def from_model(
        cls, record: OrderLineRecord, currency: str, waiting: list[BackorderRecord] | None = None
    ) -> OrderLine:
        return lazily(cls, amounts=record, currency=currency, waiting=waiting)


read_lazily(
    OrderLine,
    "amounts",
    [
        "id",
        "sku",
        "name",
        "quantity",
        "quantity_fulfilled",
        "quantity_cancelled",
        "quantity_returned",
        "order_id",
    ],
)


@strawberry.type(description="Units of an order line sold against incoming supply at a location.")
class Backorder:
    sku: str
    kind: SellingPolicy = strawberry.field(description="BACKORDER or PRE_ORDER.")
    status: BackorderStatus = strawberry.field(
        description="WAITING until every unit is allocated (ALLOCATED), or CANCELLED."
    )
    quantity_waiting: int
    quantity_allocated: int
    promised_on: date | None = strawberry.field(description="The day promised to the customer at placement.")
    release_on: date | None = strawberry.field(
        description="A pre-order's release date: nothing ships before."
    )
    order_line_id: strawberry.ID
    placed_at: datetime
    location_id: strawberry.Private[str]

    @strawberry.field(description="Where the units wait for their supply.")
    async def location(self, info: Info) -> Location:
        return Location.from_model(await info.context.loaders.location_by_id.load_present(self.location_id))

    @classmethod
    def from_model(cls, record: BackorderRecord) -> Backorder:
        return cls(
            sku=record.sku,
            kind=record.kind,
            status=record.status,
            quantity_waiting=record.quantity,
            quantity_allocated=record.quantity_allocated,
            promised_on=record.promised_on,
            release_on=record.release_on,
            order_line_id=strawberry.ID(record.order_line_id),
            placed_at=record.placed_at,
            location_id=record.location_id,
        )


@strawberry.type
class FulfillmentOrderLine:
    sku: str
    quantity: int
    order_line_id: strawberry.ID


@strawberry.type
class FulfillmentOrder:
    id: strawberry.ID
    status: FulfillmentOrderStatus
    delivery_method: DeliveryMethod
    rejection_reason: str | None
    created_at: datetime
    updated_at: datetime
    starts_on: date | None = strawberry.field(
        description=(
            "The day the node is to start on it, on the node's clock: the day it was opened, or a "
            "later working day when the node's capacity for that day was already taken (its "
            "capacity per day is counted by this day). Null only for work opened before the day "
            "was kept."
        )
    )
    location_id: strawberry.Private[str]
    order_id: strawberry.Private[str]
    parts: strawberry.Private[PageParts | None] = None  # read up front with its page
    record: strawberry.Private[FulfillmentOrderRecord | None] = None  # its fields, read when asked for

    @strawberry.field(description="Staff notes on this fulfilment order, oldest first.")
    async def notes(self, info: Info) -> list[Note]:
        return await notes_of(info, TargetKind.FULFILLMENT_ORDER, str(self.id))

    @strawberry.field(description="Staff tags on this fulfilment order, as added.")
    async def tags(self, info: Info) -> list[str]:
        return await tags_of(info, TargetKind.FULFILLMENT_ORDER, str(self.id))

    @strawberry.field
    async def order(self, info: Info) -> Order:
        return Order.from_model(await info.context.loaders.order_by_id.load_present(self.order_id))

    @strawberry.field(graphql_type=Location)
    def location(self, info: Info) -> Location | Awaitable[Location]:
        if self.parts is not None and self.parts.found.locations is not None:
            return self.parts.location(self.location_id)
        return self._location(info)

    async def _location(self, info: Info) -> Location:
        record = await info.context.loaders.location_by_id.load_present(self.location_id)
        return Location.from_model(record)

    @strawberry.field(graphql_type=list[FulfillmentOrderLine])
    def lines(self, info: Info) -> list[FulfillmentOrderLine] | Awaitable[list[FulfillmentOrderLine]]:
        if self.parts is not None and self.parts.found.fulfillment_lines is not None:
            return _work_lines(self.parts.found.fulfillment_lines.get(str(self.id), []))
        return self._lines(info)

    async def _lines(self, info: Info) -> list[FulfillmentOrderLine]:
        return _work_lines(await info.context.loaders.fulfillment_lines_by_fo_id.load(str(self.id)))

    @strawberry.field(
        description="The SKUs of this work whose units its node's last ERP count no longer covers "
        "(more allocated there than on hand, see `shortPositions`): its pick may come up short. "
        "For those who fulfil (associates, agents, admins); empty for anyone else and for work "
        "that no longer holds units."
    )
    async def short_skus(self, info: Info) -> list[str]:
        if not principal(info).can(Permission.FULFIL) or self.status not in OPEN_FULFILLMENT_STATUSES:
            return []
        found = self.lines(info)
        lines = found if isinstance(found, list) else await found
        skus = sorted({line.sku for line in lines})
        short_at = await info.context.loaders.short_nodes_by_sku.load_many(skus)
        return [sku for sku, nodes in zip(skus, short_at, strict=True) if self.location_id in nodes]

    @classmethod
    def from_model(cls, record: FulfillmentOrderRecord, parts: PageParts | None = None) -> FulfillmentOrder:
        return lazily(cls, record=record, parts=parts)


read_lazily(
    FulfillmentOrder,
    "record",
    [
        "id",
        "status",
        "delivery_method",
        "rejection_reason",
        "created_at",
        "updated_at",
        "starts_on",
        "location_id",
        "order_id",
    ],
)


def _work_lines(rows: list[FulfillmentOrderLineRecord]) -> list[FulfillmentOrderLine]:
    return [
        FulfillmentOrderLine(sku=r.sku, quantity=r.quantity, order_line_id=strawberry.ID(r.order_line_id))
        for r in rows
    ]


class PageParts:
    """What `Query.orders` read up front for its page (`reads.order_parts`), and the locations
    built from it so far: a page's fulfilment orders share a few locations, each built once."""

    def __init__(self, found: OrderParts) -> None:
        self.found = found
        self._locations: dict[str, Location] = {}

    def location(self, location_id: str) -> Location:
        built = self._locations.get(location_id)
        if built is None:
            assert self.found.locations is not None
            built = self._locations[location_id] = Location.from_model(
                present(self.found.locations, location_id)
            )
        return built


def _money(order: Order, amount: Decimal) -> Money:
    return Money.of(amount, order.currency)


def _address(record: OrderRecord) -> Address | None:
    return Address.of(record.shipping_address) if record.shipping_address else None


def present(found: Mapping[str, V], key: str) -> V:
    """A record a foreign key promises, read up front (as `Loader.load_present` says)."""
    value = found.get(key)
    if value is None:
        raise LookupError(f"no record {key!r}, which a foreign key promises")
    return value


@strawberry.type
class TrackingEvent:
    occurred_at: datetime
    status: TrackingStatus
    raw_code: str | None
    description: str
    location: str | None


@strawberry.type
class Shipment:
    id: strawberry.ID
    carrier: str
    service: str
    tracking_number: str
    tracking_url: str | None
    label_url: str | None
    status: TrackingStatus
    raw_status: str | None
    estimated_delivery: date | None
    created_at: datetime
    record: strawberry.Private[ShipmentRecord | None] = None  # its fields, read when asked for

    @strawberry.field
    async def events(self, info: Info) -> list[TrackingEvent]:
        rows = await info.context.loaders.shipment_events_by_shipment_id.load(str(self.id))
        return [
            TrackingEvent(
                occurred_at=r.occurred_at,
                status=r.status,
                raw_code=r.raw_code,
                description=r.description,
                location=r.location,
            )
            for r in rows
        ]

    @classmethod
    def from_model(cls, record: ShipmentRecord) -> Shipment:
        return lazily(cls, record=record)


read_lazily(
    Shipment,
    "record",
    [
        "id",
        "carrier",
        "service",
        "tracking_number",
        "tracking_url",
        "label_url",
        "status",
        "raw_status",
        "estimated_delivery",
        "created_at",
    ],
)


@strawberry.type
class OrderHold:
    reason: HoldReason
    note: str | None
    placed_at: datetime
    placed_by: str


@strawberry.type
class ReturnLine:
    id: strawberry.ID
    sku: str
    quantity: int
    reason: str
    disposition: Disposition | None
    order_line_id: strawberry.ID


@strawberry.type(
    description="The carrier's label the customer sends a return back with: PENDING until the carrier "
    "sells it (the tracking number and download URL come then), FAILED when the carrier refused it "
    "(an agent may ask again: retryReturnLabel)."
)
class ReturnLabel:
    status: ReturnLabelStatus
    carrier: str
    service: str | None
    tracking_number: str | None
    label_url: str | None = strawberry.field(description="Where the printable label is downloaded.")
    created_at: datetime | None
    tracking: TrackingStatus | None = strawberry.field(
        default=None,
        description=(
            "What the carrier's tracking says of the parcel on this label, as of its newest scan; "
            "null until the carrier has said anything."
        ),
    )
    picked_up_at: datetime | None = strawberry.field(
        default=None,
        description=(
            "When the carrier first had the parcel: the return is on its way back (null: not yet). "
            "From then the return no longer expires."
        ),
    )
    failure: strawberry.Private[str | None] = None
    record: strawberry.Private[ReturnRecord | None] = None

    @strawberry.field(
        description=(
            "The last day to hand the parcel to the carrier, while the return waits for it: a parcel "
            "the carrier has not picked up in the label's time is not awaited any more (the return "
            "EXPIRED, the label VOIDED), until the carrier picks it up after all. Null when there is "
            "nothing to send (the carrier has the parcel already, say), or labels do not expire."
        )
    )
    def send_by(self, info: Info) -> date | None:
        if self.record is None:
            return None
        return last_day(self.record, services(info).policy.return_label_ttl)

    @strawberry.field(
        description=(
            "Why the carrier refused a FAILED label, in its words; staff only. Others see that the "
            "label is not ready yet, never the carrier's error."
        )
    )
    def error(self, info: Info) -> str | None:
        if self.failure is None:
            return None
        return self.failure if principal(info).can(Permission.READ_ALL_ORDERS) else LABEL_NOT_READY

    @classmethod
    def of(cls, record: ReturnRecord) -> ReturnLabel | None:
        if record.label_status is None or record.label_carrier is None:
            return None  # handed over in store: the units come back over the counter
        return cls(
            status=record.label_status,
            carrier=record.label_carrier,
            service=record.label_service,
            tracking_number=record.label_tracking_number,
            label_url=record.label_url,
            created_at=record.label_created_at,
            tracking=record.label_tracking,
            picked_up_at=record.label_picked_up_at,
            failure=record.label_error if record.label_status is ReturnLabelStatus.FAILED else None,
            record=record,
        )


LABEL_NOT_READY = "the carrier could not make the label yet; we are on it"


@strawberry.type(name="OrderReturn")
class OrderReturnType:
    id: strawberry.ID
    status: ReturnStatus
    requested_at: datetime
    note: str | None
    received_at: datetime | None
    closed_at: datetime | None = None
    label: ReturnLabel | None = strawberry.field(
        default=None, description="The return label, for units that were shipped; none for a pickup."
    )

    @strawberry.field
    async def lines(self, info: Info) -> list[ReturnLine]:
        rows = await info.context.loaders.return_lines_by_return_id.load(str(self.id))
        return [
            ReturnLine(
                id=strawberry.ID(r.id),
                sku=r.sku,
                quantity=r.quantity,
                reason=r.reason,
                disposition=r.disposition,
                order_line_id=strawberry.ID(r.order_line_id),
            )
            for r in rows
        ]

    @classmethod
    def from_model(cls, record: ReturnRecord) -> OrderReturnType:
        return cls(
            id=strawberry.ID(record.id),
            status=record.status,
            requested_at=record.requested_at,
            note=record.note,
            received_at=record.received_at,
            closed_at=record.closed_at,
            label=ReturnLabel.of(record),
        )


@strawberry.type(
    description="A payment transaction: done by the provider (SUCCEEDED), or promised and waiting (PENDING)."
)
class Payment:
    kind: PaymentKind
    status: PaymentEntryStatus
    amount: Money
    reference: str | None
    created_at: datetime
    failure: strawberry.Private[str | None] = None

    @strawberry.field(
        description=(
            "Why a pending transaction has not gone through yet, as the relay last saw it; staff only. "
            "Others see that it is being retried, never the provider's error."
        )
    )
    def last_error(self, info: Info) -> str | None:
        if self.failure is None:
            return None
        return self.failure if principal(info).can(Permission.READ_ALL_ORDERS) else RETRYING


RETRYING = "not confirmed by the payment provider yet; retrying"


@strawberry.type(description="How risky the fraud screen found an order, and which rules fired.")
class Risk:
    score: int
    level: RiskLevel
    rules: list[RiskRule]


@strawberry.type
class TimelineEntry:
    occurred_at: datetime
    type: str
    message: str


@strawberry.federation.type(keys=["id"], name="Order")
class Order:
    id: strawberry.ID
    number: str
    status: OrderStatus
    fulfillment_status: FulfillmentStatus
    payment_status: PaymentStatus
    channel: str
    external_reference: str | None
    delivery_method: DeliveryMethod
    email: str
    subtotal: Money = strawberry.field(resolver=lambda root: _money(root, root.record.subtotal))
    tax: Money = strawberry.field(resolver=lambda root: _money(root, root.record.tax))
    discount_total: Money = strawberry.field(
        description="Taken off the goods before tax: the coupons and discounts of a storefront's sale, "
        "on the units still charged for. `total` = `subtotal` - `discountTotal` + `shippingTotal` + `tax`.",
        resolver=lambda root: _money(root, root.record.discount),
    )
    shipping_total: Money = strawberry.field(resolver=lambda root: _money(root, root.record.shipping_total))
    shipping_tax: Money = strawberry.field(
        description="Tax on shipping (part of `tax`): where the destination taxes delivery.",
        resolver=lambda root: _money(root, root.record.shipping_tax),
    )
    total: Money = strawberry.field(resolver=lambda root: _money(root, root.record.total))
    shipping_address: Address | None = strawberry.field(resolver=lambda root: _address(root.record))
    service_level: ServiceLevel | None = strawberry.field(
        description="How fast a shipped order was bought to go (its delivery option); null for a pickup."
    )
    version: int = strawberry.field(
        description="Grows with every change to the order; editOrder's expectedVersion guards against "
        "editing an order that changed since it was read."
    )
    created_at: datetime
    updated_at: datetime
    customer_id: strawberry.Private[str]
    pickup_location_id: strawberry.Private[str | None]
    currency: strawberry.Private[str]
    promised_on: strawberry.Private[date | None]
    risk_score: strawberry.Private[int | None]
    risk_reasons: strawberry.Private[str | None]
    record: strawberry.Private[OrderRecord]  # its money and address, built only when asked for
    parts: strawberry.Private[PageParts | None] = None  # read up front with its page

    @strawberry.field(
        description="Who changed the order, and what, oldest first (agents and admins; empty for others)."
    )
    async def audit(self, info: Info) -> list[AuditRecord]:
        if not principal(info).can(Permission.READ_AUDIT):
            return []
        return [
            AuditRecord.from_model(e) for e in await info.context.loaders.audit_by_order_id.load(str(self.id))
        ]

    @strawberry.field(description="Staff notes on the order, oldest first (empty for customers).")
    async def notes(self, info: Info) -> list[Note]:
        return await notes_of(info, TargetKind.ORDER, str(self.id))

    @strawberry.field(description="Staff tags on the order, as added (empty for customers).")
    async def tags(self, info: Info) -> list[str]:
        return await tags_of(info, TargetKind.ORDER, str(self.id))

    @strawberry.field(
        description="The order's status page for its customer: a signed link that opens it without signing "
        "in, the one in every email about the order. Show it on the storefront's thank-you page."
    )
    def status_page_url(self, info: Info) -> str:
        return info.context.services.links.url(self.number)

    locale: str | None = strawberry.field(
        description="The language its emails are written in; null: English."
    )

    @strawberry.field(
        description="The emails sent to the customer about this order, in the order of their events, "
        "with how sending each went (attempts, last error while it is retried); staff only (others: "
        "FORBIDDEN)."
    )
    async def emails(self, info: Info) -> list[OrderEmail]:
        found = await emails.order_emails(info.context.services, principal(info), str(self.id))
        return [OrderEmail.from_model(record) for record in found]

    @strawberry.field(description="The fraud screen's assessment at placement; staff only (null for others).")
    def risk(self, info: Info) -> Risk | None:
        if self.risk_score is None or not principal(info).can(Permission.READ_ALL_ORDERS):
            return None
        rules = tuple(RiskRule(r) for r in (self.risk_reasons or "").split(",") if r)
        held = (
            self.status is OrderStatus.ON_HOLD
            or self.risk_score >= info.context.services.policy.fraud.threshold
        )
        return Risk(score=self.risk_score, level=level_of(self.risk_score, held), rules=list(rules))

    @strawberry.field(graphql_type=Customer)
    def customer(self, info: Info) -> Customer | Awaitable[Customer]:
        parts = self.parts.found if self.parts is not None else None
        if parts is None or parts.customers is None:
            return self._customer(info)
        record = present(parts.customers, self.customer_id)
        found = parts.storefront
        if found is None:
            return Customer.from_model(record)
        key = record.email.casefold()
        if key not in found and parts.storefront_failure is not None:
            return Customer.from_model(record, Looked(None, parts.storefront_failure))
        return Customer.from_model(record, Looked(found.get(key)))

    async def _customer(self, info: Info) -> Customer:
        return Customer.from_model(await info.context.loaders.customer_by_id.load_present(self.customer_id))

    @strawberry.field
    async def pickup_location(self, info: Info) -> Location | None:
        if self.pickup_location_id is None:
            return None
        return Location.from_model(
            await info.context.loaders.location_by_id.load_present(self.pickup_location_id)
        )

    @strawberry.field(description="The latest routing decision, with every candidate's score or reasons.")
    async def routing_decision(self, info: Info) -> RoutingDecision | None:
        record = await info.context.loaders.routing_decision_by_order_id.load(str(self.id))
        return RoutingDecision.from_model(record) if record is not None else None

    @strawberry.field(description="Active holds; the order is ON_HOLD while there is one.")
    async def holds(self, info: Info) -> list[OrderHold]:
        rows = await info.context.loaders.active_holds_by_order_id.load(str(self.id))
        return [
            OrderHold(reason=h.reason, note=h.note, placed_at=h.placed_at, placed_by=h.placed_by)
            for h in rows
        ]

    @strawberry.field(graphql_type=list[OrderLine])
    def lines(self, info: Info) -> list[OrderLine] | Awaitable[list[OrderLine]]:
        parts = self.parts.found if self.parts is not None else None
        if parts is None or parts.lines is None:
            return self._lines(info)
        waiting = parts.backorders.get(str(self.id), []) if parts.backorders is not None else None
        return [OrderLine.from_model(r, self.currency, waiting) for r in parts.lines.get(str(self.id), [])]

    async def _lines(self, info: Info) -> list[OrderLine]:
        rows = await info.context.loaders.lines_by_order_id.load(str(self.id))
        return [OrderLine.from_model(r, self.currency) for r in rows]

    @strawberry.field(graphql_type=list[FulfillmentOrder])
    def fulfillment_orders(self, info: Info) -> list[FulfillmentOrder] | Awaitable[list[FulfillmentOrder]]:
        parts = self.parts
        if parts is not None and parts.found.fulfillment_orders is not None:
            work = parts.found.fulfillment_orders.get(str(self.id), [])
            return [FulfillmentOrder.from_model(r, parts) for r in work]
        return self._fulfillment_orders(info)

    async def _fulfillment_orders(self, info: Info) -> list[FulfillmentOrder]:
        rows = await info.context.loaders.fulfillment_orders_by_order_id.load(str(self.id))
        return [FulfillmentOrder.from_model(r) for r in rows]

    @strawberry.field(
        description="Authorisation, captures, refunds and voids, oldest first; pending ones last."
    )
    async def payments(self, info: Info) -> list[Payment]:
        done = await info.context.loaders.payments_by_order_id.load(str(self.id))
        # A task whose ledger entry is written is done, whether or not the relay has settled it yet
        # (it settles in a transaction of its own, after the handler's).
        recorded = {entry.key for entry in done}
        waiting = [
            task
            for task in await info.context.loaders.pending_payments_by_order_id.load(str(self.id))
            if task.key not in recorded
        ]
        return [
            Payment(
                kind=entry.kind,
                status=PaymentEntryStatus.SUCCEEDED,
                amount=Money.of(entry.amount, entry.currency),
                reference=entry.reference,
                created_at=entry.created_at,
            )
            for entry in done
        ] + [
            Payment(
                kind=KIND_OF_TASK[task.kind],
                status=PaymentEntryStatus.PENDING,
                amount=Money.of(Decimal(str(task.payload["amount"])), self.currency),
                reference=None,
                created_at=task.created_at,
                failure=task.last_error,
            )
            for task in waiting
        ]

    @strawberry.field(
        description="Units sold against incoming supply (backorders and pre-orders), oldest first: "
        "what still waits, where, and the day promised; allocated when the supply is received."
    )
    async def backorders(self, info: Info) -> list[Backorder]:
        rows = await info.context.loaders.backorders_by_order_id.load(str(self.id))
        return [Backorder.from_model(r) for r in rows]

    @strawberry.field(
        description="What the caller's role may still give on this order in goodwill (its limit per "
        "order, less every appeasement already given); null without a limit, or for roles that give none."
    )
    async def appeasement_allowance(self, info: Info) -> Money | None:
        caller = principal(info)
        if not caller.can(Permission.ISSUE_APPEASEMENTS):
            return None
        rows = await info.context.loaders.appeasements_by_order_id.load(str(self.id))
        given = sum((r.amount for r in rows), Decimal(0))
        left = allowance(caller.role, given, info.context.services.policy.appeasement_limits)
        return None if left is None else Money.of(left, self.currency)

    @strawberry.field(description="Goodwill given on this order without a return, oldest first.")
    async def appeasements(self, info: Info) -> list[Appeasement]:
        rows = await info.context.loaders.appeasements_by_order_id.load(str(self.id))
        return [Appeasement.from_model(r) for r in rows]

    @strawberry.field(description="Returns asked for on this order, oldest first.")
    async def returns(self, info: Info) -> list[OrderReturnType]:
        rows = await info.context.loaders.returns_by_order_id.load(str(self.id))
        return [OrderReturnType.from_model(r) for r in rows]

    @strawberry.field(graphql_type=list[Shipment])
    def shipments(self, info: Info) -> list[Shipment] | Awaitable[list[Shipment]]:
        if self.parts is not None and self.parts.found.shipments is not None:
            return [Shipment.from_model(r) for r in self.parts.found.shipments.get(str(self.id), [])]
        return self._shipments(info)

    async def _shipments(self, info: Info) -> list[Shipment]:
        rows = await info.context.loaders.shipments_by_order_id.load(str(self.id))
        return [Shipment.from_model(r) for r in rows]

    @strawberry.field(
        description="The latest carrier estimate among the order's shipments; before any, the date "
        "routing promised (for a pickup, the day it is ready at the store)."
    )
    async def estimated_delivery(self, info: Info) -> date | None:
        rows = await info.context.loaders.shipments_by_order_id.load(str(self.id))
        estimates = [r.estimated_delivery for r in rows if r.estimated_delivery is not None]
        return max(estimates) if estimates else self.promised_on

    @strawberry.field(
        description="Why the order (or its latest cancelled units) was cancelled; null when nothing was."
    )
    async def cancel_reason(self, info: Info) -> CancelReason | None:
        rows = await info.context.loaders.events_by_order_id.load(str(self.id))
        cancelled = [
            r
            for r in rows
            if r.type in (EventType.ORDER_CANCELLED, EventType.ORDER_LINES_CANCELLED)
            and r.data.get("reason") in CancelReason.__members__
        ]
        return CancelReason(cancelled[-1].data["reason"]) if cancelled else None

    @strawberry.field(
        description="What happened to the order, oldest first, in words a customer reads: our events "
        "merged with the carriers' scans (type CARRIER_SCAN) and, for staff, their notes (STAFF_NOTE). "
        "Customers do not see staff-only events or notes."
    )
    async def timeline(self, info: Info) -> list[TimelineEntry]:
        loaders = info.context.loaders
        rows = await loaders.events_by_order_id.load(str(self.id))
        caller = principal(info)
        entries = [
            (
                r.occurred_at,
                r.cursor,
                TimelineEntry(occurred_at=r.occurred_at, type=r.type, message=customer_message(r.type)),
            )
            for r in rows
            if shown_to(caller, r.type)
        ]
        for note in await notes_of(info, TargetKind.ORDER, str(self.id)):  # staff only
            message = f"{note.author}: {note.body}"
            entries.append(
                (
                    note.created_at,
                    -1,
                    TimelineEntry(occurred_at=note.created_at, type=STAFF_NOTE, message=message),
                )
            )
        shipments = await loaders.shipments_by_order_id.load(str(self.id))
        scans = await loaders.shipment_events_by_shipment_id.load_many([str(s.id) for s in shipments])
        for shipment, shipment_scans in zip(shipments, scans, strict=True):
            for scan in shipment_scans:
                where = f" ({scan.location})" if scan.location else ""
                message = f"{shipment.carrier.upper()} {shipment.tracking_number}: {scan.description}{where}"
                entries.append(
                    (
                        scan.occurred_at,
                        -1,
                        TimelineEntry(occurred_at=scan.occurred_at, type=CARRIER_SCAN, message=message),
                    )
                )
        entries.sort(key=lambda entry: (entry[0], entry[1]))
        return [entry for _, _, entry in entries]

    @classmethod
    def from_model(cls, record: OrderRecord, parts: PageParts | None = None) -> Order:
        return lazily(cls, record=record, parts=parts)

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Order:
        return cls.from_model(await orders.order(info.context.services, principal(info), str(id)))


read_lazily(
    Order,
    "record",
    [
        "id",
        "number",
        "status",
        "fulfillment_status",
        "payment_status",
        "channel",
        "external_reference",
        "delivery_method",
        "email",
        "service_level",
        "created_at",
        "updated_at",
        "customer_id",
        "pickup_location_id",
        "currency",
        "promised_on",
        "risk_score",
        "risk_reasons",
        "locale",
    ],
    version="event_seq",
)


@strawberry.type(name="OrderEvent")
class OrderEventMessage:
    cursor: str
    type: str
    sequence: int = strawberry.field(
        description="The event's number within its order, from 1. A customer's stream leaves out "
        "staff-only events, so its numbers may skip; resume with `cursor`."
    )
    occurred_at: datetime
    order_id: strawberry.ID

    @strawberry.field(description="The order as it is now.")
    async def order(self, info: Info) -> Order:
        return Order.from_model(
            await orders.order(info.context.services, principal(info), str(self.order_id))
        )

    @classmethod
    def from_model(cls, record: EventRecord) -> OrderEventMessage:
        return cls(
            cursor=event_cursor(record),
            type=record.type,
            sequence=record.seq,
            occurred_at=record.occurred_at,
            order_id=strawberry.ID(record.order_id),
        )


@strawberry.type(name="FulfillmentOrderEvent")
class FulfillmentOrderEventMessage:
    cursor: str
    type: str
    occurred_at: datetime
    fulfillment_order_id: strawberry.Private[str]

    @strawberry.field(description="The fulfilment order as it is now.")
    async def fulfillment_order(self, info: Info) -> FulfillmentOrder:
        return FulfillmentOrder.from_model(
            await info.context.loaders.fulfillment_order_by_id.load_present(self.fulfillment_order_id)
        )

    @classmethod
    def from_model(cls, record: EventRecord) -> FulfillmentOrderEventMessage:
        assert record.fulfillment_order_id is not None  # the location stream only holds these
        return cls(
            cursor=event_cursor(record),
            type=record.type,
            occurred_at=record.occurred_at,
            fulfillment_order_id=record.fulfillment_order_id,
        )
