"""Input types with the contract's field names, and their conversion to domain commands."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum

import strawberry

from ordergate.models.address import Address
from ordergate.models.appeasements import AppeasementReason
from ordergate.models.commands import (
    CancelOrder,
    ChangeHold,
    CloseReturn,
    CustomerDetails,
    EditOrder,
    HoldOrder,
    IssueAppeasement,
    LineChange,
    LineQuantity,
    LineRequest,
    PlaceOrder,
    ReceivedLine,
    ReceiveReturn,
    ReleaseOrderHold,
    RequestReturn,
    ReserveInventory,
    RetryReturnLabel,
    ReturnLineRequest,
)
from ordergate.models.criteria import OrderCriteria, OrderSort, OrderSortKey
from ordergate.models.errors import Problem, ValidationFailed
from ordergate.models.notes import TargetKind
from ordergate.models.order import (
    CancelReason,
    DeliveryMethod,
    FulfillmentStatus,
    HoldReason,
    OrderStatus,
    PaymentStatus,
)
from ordergate.models.returns import Disposition
from ordergate.models.supply import ProductPolicy, SellingPolicy
from ordergate.models.webhooks import RegisterEndpoint, UpdateEndpoint
from ordergate.schema.text import at_most
from ordergate.usecases.inventory import Destination
from ordergate.usecases.shipping import ShipCommand


@strawberry.input
class LineInput:
    sku: str
    quantity: int

    def to_command(self) -> LineRequest:
        return LineRequest(sku=self.sku.strip(), quantity=self.quantity)


@strawberry.input
class DestinationInput:
    country_code: str
    postal_code: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    def to_destination(self) -> Destination:
        return Destination(
            self.country_code.strip().upper(),
            self.postal_code.strip() if self.postal_code else None,
            self.latitude,
            self.longitude,
        )


@strawberry.input
class AddressInput:
    name: str
    line1: str
    city: str
    postal_code: str
    country_code: str
    line2: str | None = None
    region: str | None = None
    phone: str | None = None

    def to_command(self) -> Address:
        return Address(
            name=self.name.strip(),
            line1=self.line1.strip(),
            line2=self.line2.strip() if self.line2 else None,
            city=self.city.strip(),
            region=self.region.strip().upper() if self.region else None,
            postal_code=self.postal_code.strip(),
            country_code=self.country_code.strip().upper(),
            phone=self.phone.strip() if self.phone else None,
        )


@strawberry.input
class CustomerInput:
    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None

    def to_command(self) -> CustomerDetails:
        return CustomerDetails(
            email=self.email.strip(), first_name=self.first_name, last_name=self.last_name, phone=self.phone
        )


@strawberry.input
class PaymentInput:
    provider: str
    token: str
    amount: Decimal | None = None


@strawberry.input
class PlaceOrderInput:
    idempotency_key: str
    channel: str
    customer: CustomerInput
    lines: list[LineInput]
    delivery_method: DeliveryMethod
    shipping_address: AddressInput | None = None
    pickup_location_id: strawberry.ID | None = None
    reservation_id: strawberry.ID | None = None
    payment: PaymentInput | None = None
    external_reference: str | None = None
    billing_address: AddressInput | None = strawberry.field(
        default=None, description="The card's billing address, when known: the fraud screen compares it"
    )
    delivery_option_id: str | None = strawberry.field(
        default=None,
        description="A fulfillmentOptions option's id: the order goes that way at that price, or is "
        "refused with DELIVERY_OPTION_UNAVAILABLE when it no longer can; none: STANDARD.",
    )
    locale: str | None = strawberry.field(
        default=None,
        description="The customer's language for the order's emails, a tag such as `fr` or `fr-CA` "
        "(INVALID_LOCALE otherwise); English where there are no templates in it.",
    )

    def to_command(self) -> PlaceOrder:
        return PlaceOrder(
            idempotency_key=self.idempotency_key,
            channel=self.channel.strip(),
            customer=self.customer.to_command(),
            lines=tuple(line.to_command() for line in self.lines),
            delivery_method=self.delivery_method,
            shipping_address=self.shipping_address.to_command() if self.shipping_address else None,
            pickup_location_id=str(self.pickup_location_id) if self.pickup_location_id else None,
            reservation_id=str(self.reservation_id) if self.reservation_id else None,
            external_reference=self.external_reference,
            payment_provider=self.payment.provider if self.payment else None,
            payment_token=self.payment.token if self.payment else None,
            payment_amount=self.payment.amount if self.payment else None,
            billing_address=self.billing_address.to_command() if self.billing_address else None,
            delivery_option_id=self.delivery_option_id,
            locale=self.locale.strip() if self.locale is not None else None,
        )


@strawberry.input
class OrderFilter:
    status: list[OrderStatus] | None = None
    channel: str | None = None
    customer_email: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    location_id: strawberry.ID | None = strawberry.field(default=None, description="A location's id or code.")
    number: str | None = strawberry.field(
        default=None, description="The order number, exactly (`OG-100001`, `#OG-100001` or `100001`)."
    )
    reference: str | None = strawberry.field(
        default=None, description="The storefront's reference: `externalReference` or its import id, exactly."
    )
    customer_name: str | None = strawberry.field(
        default=None, description='The start of the customer\'s first or last name, any case; "ann le" both.'
    )
    payment_status: list[PaymentStatus] | None = None
    fulfillment_status: list[FulfillmentStatus] | None = None
    tags: list[str] | None = strawberry.field(
        default=None, description="Orders with every one of these tags."
    )
    text: str | None = strawberry.field(
        default=None,
        description="Free text: matches the number or storefront reference exactly, the start of the email "
        "or of a customer's name, or a tag.",
    )

    def to_criteria(self) -> OrderCriteria:
        for name, value in (("createdAfter", self.created_after), ("createdBefore", self.created_before)):
            if value is not None and value.tzinfo is None:
                raise ValidationFailed(
                    [Problem("INVALID_DATETIME", f"{name} needs a UTC offset", ("filter", name))]
                )
        return OrderCriteria(
            statuses=tuple(self.status or ()),
            channel=self.channel,
            customer_email=self.customer_email,
            created_after=self.created_after,
            created_before=self.created_before,
            location_id=str(self.location_id) if self.location_id else None,
            number=self.number,
            reference=self.reference,
            customer_name=self.customer_name,
            payment_statuses=tuple(self.payment_status or ()),
            fulfillment_statuses=tuple(self.fulfillment_status or ()),
            tags=tuple(self.tags or ()),
            text=self.text,
        )


@strawberry.input
class HoldOrderInput:
    order_id: strawberry.ID
    reason: HoldReason
    note: str | None = strawberry.field(default=None, description=at_most("HoldOrderInput.note"))
    idempotency_key: str | None = None

    def to_command(self) -> HoldOrder:
        return HoldOrder(str(self.order_id), self.reason, self.note, self.idempotency_key)


@strawberry.input
class OrderLineQuantityInput:
    line_id: strawberry.ID
    quantity: int


@strawberry.input
class CancelOrderInput:
    order_id: strawberry.ID
    reason: CancelReason
    lines: list[OrderLineQuantityInput] | None = strawberry.field(
        default=None, description="Lines and units to cancel; every unit that still can be, when omitted."
    )
    idempotency_key: str | None = None

    def to_command(self) -> CancelOrder:
        return CancelOrder(
            order_id=str(self.order_id),
            reason=self.reason,
            lines=tuple(LineQuantity(str(line.line_id), line.quantity) for line in self.lines)
            if self.lines is not None
            else None,
            idempotency_key=self.idempotency_key,
        )


@strawberry.input(description="Change an open order's unstarted units; dryRun previews the change.")
class EditOrderInput:
    order_id: strawberry.ID
    expected_version: int = strawberry.field(
        description="Order.version as the caller read it; VERSION_CONFLICT when it moved on since."
    )
    lines: list[OrderLineQuantityInput] = strawberry.field(
        default_factory=list, description="Lines and their new quantities; 0 takes a line off."
    )
    add_lines: list[LineInput] = strawberry.field(
        default_factory=list, description="Products to add (to the line of the same SKU, if there is one)."
    )
    shipping_address: AddressInput | None = None
    dry_run: bool = False
    idempotency_key: str | None = None

    def to_command(self) -> EditOrder:
        return EditOrder(
            order_id=str(self.order_id),
            expected_version=self.expected_version,
            lines=tuple(LineChange(str(line.line_id), line.quantity) for line in self.lines),
            add_lines=tuple(line.to_command() for line in self.add_lines),
            shipping_address=self.shipping_address.to_command() if self.shipping_address else None,
            dry_run=self.dry_run,
            idempotency_key=self.idempotency_key,
        )


@strawberry.input
class ReturnLineInput:
    line_id: strawberry.ID
    quantity: int
    reason: str = strawberry.field(description=at_most("ReturnLineInput.reason"))


@strawberry.input
class RequestReturnInput:
    order_id: strawberry.ID
    lines: list[ReturnLineInput]
    idempotency_key: str | None = None

    def to_command(self) -> RequestReturn:
        return RequestReturn(
            order_id=str(self.order_id),
            lines=tuple(ReturnLineRequest(str(x.line_id), x.quantity, x.reason) for x in self.lines),
            idempotency_key=self.idempotency_key,
        )


@strawberry.input
class DecideReturnInput:
    return_id: strawberry.ID
    note: str | None = strawberry.field(default=None, description=at_most("DecideReturnInput.note"))


@strawberry.input
class CloseReturnInput:
    return_id: strawberry.ID
    idempotency_key: str | None = None

    def to_command(self) -> CloseReturn:
        return CloseReturn(return_id=str(self.return_id), idempotency_key=self.idempotency_key)


@strawberry.input
class RetryReturnLabelInput:
    return_id: strawberry.ID
    idempotency_key: str | None = None

    def to_command(self) -> RetryReturnLabel:
        return RetryReturnLabel(return_id=str(self.return_id), idempotency_key=self.idempotency_key)


@strawberry.input
class ReceivedLineInput:
    line_id: strawberry.ID = strawberry.field(description="A line of the return (OrderReturn.lines.id).")
    disposition: Disposition


@strawberry.input
class ReceiveReturnInput:
    return_id: strawberry.ID
    location_id: strawberry.ID
    lines: list[ReceivedLineInput]

    def to_command(self) -> ReceiveReturn:
        return ReceiveReturn(
            return_id=str(self.return_id),
            location_id=str(self.location_id),
            lines=tuple(ReceivedLine(str(x.line_id), x.disposition) for x in self.lines),
        )


@strawberry.input
class IssueAppeasementInput:
    order_id: strawberry.ID
    amount: Decimal = strawberry.field(description="In the order's currency, in whole cents.")
    reason: AppeasementReason
    idempotency_key: str
    note: str | None = strawberry.field(default=None, description=at_most("IssueAppeasementInput.note"))

    def to_command(self) -> IssueAppeasement:
        return IssueAppeasement(
            order_id=str(self.order_id),
            amount=self.amount,
            reason=self.reason,
            idempotency_key=self.idempotency_key,
            note=(self.note.strip() or None) if self.note is not None else None,
        )


@strawberry.input
class ReleaseOrderHoldInput:
    order_id: strawberry.ID
    reason: HoldReason | None = strawberry.field(
        default=None, description="Release only holds with this reason; all when omitted."
    )
    idempotency_key: str | None = None

    def to_command(self) -> ReleaseOrderHold:
        return ReleaseOrderHold(str(self.order_id), self.reason, self.idempotency_key)


@strawberry.input
class ReserveInventoryInput:
    idempotency_key: str
    lines: list[LineInput]
    destination: DestinationInput | None = None
    pickup_location_id: strawberry.ID | None = None
    channel: str | None = None
    ttl_seconds: int | None = None

    def to_command(self) -> ReserveInventory:
        destination = self.destination
        return ReserveInventory(
            idempotency_key=self.idempotency_key,
            lines=tuple(line.to_command() for line in self.lines),
            channel=self.channel,
            pickup_location_id=str(self.pickup_location_id) if self.pickup_location_id else None,
            destination_country=destination.country_code.strip().upper() if destination else None,
            destination_postal_code=destination.postal_code if destination else None,
            destination_latitude=destination.latitude if destination else None,
            destination_longitude=destination.longitude if destination else None,
            ttl_seconds=self.ttl_seconds,
        )


@strawberry.input(description="What a hold should hold from now on: these lines, no others.")
class ChangeInventoryHoldInput:
    reservation_id: strawberry.ID
    idempotency_key: str
    lines: list[LineInput]

    def to_command(self) -> ChangeHold:
        return ChangeHold(
            reservation_id=str(self.reservation_id),
            idempotency_key=self.idempotency_key,
            lines=tuple(line.to_command() for line in self.lines),
        )


@strawberry.input
class ShipFulfillmentOrderInput:
    fulfillment_order_id: strawberry.ID
    carrier: str | None = strawberry.field(
        default=None, description="`shipengine` or `ups`; the default when omitted."
    )
    service: str | None = strawberry.field(
        default=None, description="The carrier's service code; the cheapest when omitted."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Accepted for symmetry: a fulfilment order is shipped once, whatever the key.",
    )

    def to_command(self) -> ShipCommand:
        return ShipCommand(str(self.fulfillment_order_id), self.carrier, self.service)


@strawberry.input
class SetSellingPolicyInput:
    sku: str
    policy: SellingPolicy
    release_on: date | None = strawberry.field(default=None, description="Required for PRE_ORDER.")
    channels: list[str] | None = strawberry.field(
        default=None, description="The channels the policy holds in; none or empty: every channel."
    )

    def to_policy(self) -> ProductPolicy:
        return ProductPolicy(self.policy, self.release_on, tuple(self.channels or ()))


@strawberry.input
class ShortLineInput:
    sku: str
    missing: int = strawberry.field(description="Units of this SKU not found on the shelf.")


@strawberry.input
class ReportShortPickInput:
    fulfillment_order_id: strawberry.ID
    lines: list[ShortLineInput]
    write_off: bool = strawberry.field(
        default=True,
        description="True (the default): the units are not on the shelf and leave this node's stock "
        "(and the ERP's). False: they are there but cannot go out from here now; they stay this node's "
        "stock to sell and the order takes them from another node (partial fulfilment).",
    )

    def missing(self) -> list[tuple[str, int]]:
        return [(line.sku.strip(), line.missing) for line in self.lines]


@strawberry.input
class RegisterWebhookEndpointInput:
    url: str
    event_types: list[str] = strawberry.field(
        default_factory=list, description="Event types to send (see OrderEvent.type); empty sends every type."
    )
    description: str = strawberry.field(
        default="", description=at_most("RegisterWebhookEndpointInput.description")
    )
    secret: str | None = strawberry.field(
        default=None, description="16 to 128 printable characters; one is generated when omitted."
    )

    def to_command(self) -> RegisterEndpoint:
        return RegisterEndpoint(self.url.strip(), tuple(self.event_types), self.description, self.secret)


@strawberry.input
class UpdateWebhookEndpointInput:
    id: strawberry.ID
    url: str | None = None
    event_types: list[str] | None = None
    description: str | None = strawberry.field(
        default=None, description=at_most("UpdateWebhookEndpointInput.description")
    )
    active: bool | None = None
    rotate_secret: bool = strawberry.field(
        default=False, description="Replace the secret; the new one is returned this once."
    )

    def to_command(self) -> UpdateEndpoint:
        return UpdateEndpoint(
            id=str(self.id),
            url=self.url.strip() if self.url is not None else None,
            event_types=tuple(self.event_types) if self.event_types is not None else None,
            description=self.description,
            active=self.active,
            rotate_secret=self.rotate_secret,
        )


@strawberry.enum
class SortDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.input(description="How a list of orders is ordered; ties are broken by id, the same way.")
class OrderSortInput:
    key: OrderSortKey = OrderSortKey.CREATED_AT
    direction: SortDirection = SortDirection.DESC

    def to_sort(self) -> OrderSort:
        return OrderSort(key=self.key, descending=self.direction is SortDirection.DESC)


@strawberry.input(description="A staff note on an order, a customer or a fulfilment order.")
class AddNoteInput:
    target_type: TargetKind
    target_id: strawberry.ID
    body: str = strawberry.field(description=at_most("AddNoteInput.body"))


@strawberry.input(description="Tags to add to, or remove from, an order, a customer or a fulfilment order.")
class TagsInput:
    target_type: TargetKind
    target_id: strawberry.ID
    tags: list[str] = strawberry.field(
        description="Letters, digits and `_ : . -`, kept lowercased. " + at_most("TagsInput.tags")
    )


@strawberry.input(description="Opt a customer out of non-essential email, or back in.")
class SetEmailOptOutInput:
    opt_out: bool
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Staff name the customer; a customer may leave it out for themselves."
    )
