"""Mutation: expected failures are `userErrors`, never top-level errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import strawberry

from ordergate.models.errors import DomainError
from ordergate.models.fulfillment import FulfillmentAction
from ordergate.models.fulfillment import FulfillmentOrder as FulfillmentOrderRecord
from ordergate.models.location import Location as LocationRecord
from ordergate.models.notes import Tag as TagRecord
from ordergate.models.order import Order as OrderRecord
from ordergate.models.returns import OrderReturn as ReturnRecord
from ordergate.schema.context import Info, principal, services
from ordergate.schema.inputs import (
    AddNoteInput,
    CancelOrderInput,
    ChangeInventoryHoldInput,
    CloseReturnInput,
    DecideReturnInput,
    EditOrderInput,
    HoldOrderInput,
    IssueAppeasementInput,
    PlaceOrderInput,
    ReceiveReturnInput,
    RegisterWebhookEndpointInput,
    ReleaseOrderHoldInput,
    ReportShortPickInput,
    RequestReturnInput,
    ReserveInventoryInput,
    RetryReturnLabelInput,
    SetEmailOptOutInput,
    SetSellingPolicyInput,
    ShipFulfillmentOrderInput,
    TagsInput,
    UpdateWebhookEndpointInput,
)
from ordergate.schema.loaders import prime_placed
from ordergate.schema.text import at_most
from ordergate.schema.types.appeasements import Appeasement
from ordergate.schema.types.catalog import Customer, Location, Product
from ordergate.schema.types.common import Money, UserError, user_errors
from ordergate.schema.types.inventory import Reservation
from ordergate.schema.types.network import (
    CreateLocationInput,
    RoutingPolicy,
    SafetyStockLevel,
    SetRoutingPolicyInput,
    SetSafetyStockInput,
    UpdateLocationInput,
)
from ordergate.schema.types.notes import Note
from ordergate.schema.types.order import FulfillmentOrder, Order, OrderReturnType, Shipment
from ordergate.schema.types.routing import RoutingDecision
from ordergate.schema.types.webhooks import WebhookDelivery, WebhookEndpoint
from ordergate.usecases import (
    appeasements,
    audit,
    cancellation,
    catalog,
    edits,
    emails,
    fulfillment,
    holds,
    network,
    notes,
    orders,
    rerouting,
    reservations,
    returns,
    shipping,
    webhooks_out,
)

R = TypeVar("R")
P = TypeVar("P")


async def answer(
    info: Info, change: Awaitable[R], done: Callable[[R], P], refused: Callable[[list[UserError]], P]
) -> P:
    """Every mutation's one rule: an expected failure becomes `userErrors`, never a top-level
    error, each addressed to the input field the client sent (`input_path`); anything else is
    unexpected and goes to the error policy."""
    caller = info.context.principal
    who = (caller.subject, caller.role.value) if caller is not None else ("anonymous", "NONE")
    with audit.acting(*who, info.field_name):  # every write it makes is audited as this mutation's
        try:
            result = await change
        except DomainError as error:
            return refused(user_errors(error.problems, info))
    return done(result)


@strawberry.type
class OrderPayload:
    order: Order | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    async def of(cls, info: Info, change: Awaitable[OrderRecord]) -> OrderPayload:
        return await answer(
            info, change, lambda r: cls(order=Order.from_model(r)), lambda e: cls(user_errors=e)
        )


@strawberry.type
class FulfillmentOrderPayload:
    fulfillment_order: FulfillmentOrder | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    async def of(cls, info: Info, change: Awaitable[FulfillmentOrderRecord]) -> FulfillmentOrderPayload:
        return await answer(
            info,
            change,
            lambda r: cls(fulfillment_order=FulfillmentOrder.from_model(r)),
            lambda e: cls(user_errors=e),
        )


def _move(
    info: Info, id: strawberry.ID, action: FulfillmentAction, reason: str | None = None, damaged: bool = False
) -> Awaitable[FulfillmentOrderRecord]:
    return fulfillment.move(services(info), principal(info), str(id), action, reason, damaged)


@strawberry.type
class ShipPayload:
    fulfillment_order: FulfillmentOrder | None = None
    shipment: Shipment | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ReservationPayload:
    reservation: Reservation | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    async def of(cls, info: Info, change: Awaitable[reservations.Hold]) -> ReservationPayload:
        return await answer(
            info,
            change,
            lambda hold: cls(reservation=Reservation.from_model(hold)),
            lambda e: cls(user_errors=e),
        )


@strawberry.type
class ReturnPayload:
    order_return: OrderReturnType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    async def of(cls, info: Info, change: Awaitable[ReturnRecord]) -> ReturnPayload:
        return await answer(
            info,
            change,
            lambda r: cls(order_return=OrderReturnType.from_model(r)),
            lambda e: cls(user_errors=e),
        )


@strawberry.type
class AppeasementPayload:
    appeasement: Appeasement | None = None
    order: Order | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RoutingPolicyPayload:
    policy: RoutingPolicy | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LocationPayload:
    location: Location | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    async def of(cls, info: Info, change: Awaitable[LocationRecord]) -> LocationPayload:
        return await answer(
            info, change, lambda r: cls(location=Location.from_model(r)), lambda e: cls(user_errors=e)
        )


@strawberry.type
class SafetyStockPayload:
    level: SafetyStockLevel | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class NotePayload:
    note: Note | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TagsPayload:
    tags: list[str] | None = strawberry.field(default=None, description="The target's tags after the change.")
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    async def of(cls, info: Info, change: Awaitable[list[TagRecord]]) -> TagsPayload:
        return await answer(
            info, change, lambda tags: cls(tags=[t.tag for t in tags]), lambda e: cls(user_errors=e)
        )


@strawberry.type(description="One line as the edit leaves it.")
class LineEdit:
    line_id: strawberry.ID | None = strawberry.field(description="Null for a line the edit adds.")
    sku: str
    quantity_before: int
    quantity_after: int


@strawberry.type
class EditOrderPayload:
    order: Order | None = strawberry.field(
        default=None, description="The order as the edit leaves it (in a dry run: as it is now)."
    )
    dry_run: bool = False
    changes: list[LineEdit] = strawberry.field(default_factory=list)
    total_before: Money | None = None
    total_after: Money | None = None
    authorize_more: Money | None = strawberry.field(
        default=None,
        description="What the card is (or would be) authorised for on top, to cover a larger total.",
    )
    refund: Money | None = strawberry.field(
        default=None, description="What is (or would be) refunded, charged already and no longer owed."
    )
    decision: RoutingDecision | None = strawberry.field(
        default=None, description="Where the open units go after the edit."
    )
    rerouted: bool = strawberry.field(default=False, description="Whether any work moves between nodes.")
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, outcome: edits.EditOutcome, order: OrderRecord) -> EditOrderPayload:
        currency = order.currency
        return cls(
            order=Order.from_model(order),
            dry_run=outcome.dry_run,
            changes=[
                LineEdit(
                    line_id=strawberry.ID(c.line_id) if c.line_id else None,
                    sku=c.sku,
                    quantity_before=c.before,
                    quantity_after=c.after,
                )
                for c in outcome.changes
            ],
            total_before=Money.of(outcome.total_before, currency),
            total_after=Money.of(outcome.total_after, currency),
            authorize_more=Money.of(outcome.authorize, currency),
            refund=Money.of(outcome.refund, currency),
            decision=RoutingDecision.from_model(outcome.decision) if outcome.decision else None,
            rerouted=outcome.rerouted,
        )


@strawberry.type
class RouteOrderPayload:
    order: Order | None = None
    decision: RoutingDecision | None = strawberry.field(
        default=None, description="Every candidate's score or exclusion reasons, and the chosen nodes."
    )
    changed: bool = strawberry.field(
        default=False, description="Whether the allocation moves (or, in a dry run, would move)."
    )
    dry_run: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookEndpointPayload:
    endpoint: WebhookEndpoint | None = None
    secret: str | None = strawberry.field(
        default=None,
        description="The signing secret, shown only when it is made: at registration and on rotation.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    async def of(cls, info: Info, change: Awaitable[webhooks_out.EndpointChange]) -> WebhookEndpointPayload:
        return await answer(
            info,
            change,
            lambda c: cls(endpoint=WebhookEndpoint.from_model(c.endpoint), secret=c.secret),
            lambda e: cls(user_errors=e),
        )


@strawberry.type
class ProductPayload:
    product: Product | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CustomerPayload:
    customer: Customer | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ReplayWebhookDeliveryPayload:
    delivery: WebhookDelivery | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Capture an order; a repeat of the idempotencyKey returns the first one."
    )
    async def place_order(self, info: Info, input: PlaceOrderInput) -> OrderPayload:
        async def placed() -> OrderRecord:
            done = await orders.place(services(info), principal(info), input.to_command())
            prime_placed(info.context.loaders, done)
            return done.order

        return await OrderPayload.of(info, placed())

    @strawberry.mutation(description="Stop an order from progressing (agents); it becomes ON_HOLD.")
    async def hold_order(self, info: Info, input: HoldOrderInput) -> OrderPayload:
        return await OrderPayload.of(
            info, holds.hold_order(services(info), principal(info), input.to_command())
        )

    @strawberry.mutation(
        description="Cancel an order, or some units of its lines, with a reason. Customers cancel their "
        "own units that no node has started on; agents any unit not yet shipped or handed over. Units "
        "come from the least advanced work first and, among work equally far along, from the node "
        "holding fewer of the line's units (it may then have a parcel fewer to send)."
    )
    async def cancel_order(self, info: Info, input: CancelOrderInput) -> OrderPayload:
        return await OrderPayload.of(
            info, cancellation.cancel_order(services(info), principal(info), input.to_command())
        )

    @strawberry.mutation(
        description="Change quantities, add or remove lines, or change the shipping address of units no "
        "node has started on (agents; customers within the edit window). dryRun previews the "
        "re-allocation and the payment difference without changing anything."
    )
    async def edit_order(self, info: Info, input: EditOrderInput) -> EditOrderPayload:
        async def edited() -> tuple[edits.EditOutcome, OrderRecord]:
            outcome = await edits.edit_order(services(info), principal(info), input.to_command())
            # a preview's order was rolled back with it: show the order as it is
            order = outcome.order or await orders.order(services(info), principal(info), outcome.order_id)
            return outcome, order

        return await answer(
            info,
            edited(),
            lambda done: EditOrderPayload.of(*done),
            lambda e: EditOrderPayload(dry_run=input.dry_run, user_errors=e),
        )

    @strawberry.mutation(
        description="Ask to send units back: customers for their own orders within the return window, "
        "for what has reached them; agents for anyone."
    )
    async def request_return(self, info: Info, input: RequestReturnInput) -> ReturnPayload:
        return await ReturnPayload.of(
            info, returns.request_return(services(info), principal(info), input.to_command())
        )

    @strawberry.mutation(description="Agents: the customer may send the units back.")
    async def approve_return(self, info: Info, input: DecideReturnInput) -> ReturnPayload:
        return await ReturnPayload.of(
            info,
            returns.decide_return(
                services(info), principal(info), str(input.return_id), approve=True, note=input.note
            ),
        )

    @strawberry.mutation(description="Agents: the return is refused, with a note for the customer.")
    async def decline_return(self, info: Info, input: DecideReturnInput) -> ReturnPayload:
        return await ReturnPayload.of(
            info,
            returns.decide_return(
                services(info), principal(info), str(input.return_id), approve=False, note=input.note
            ),
        )

    @strawberry.mutation(
        description="The units are back at a node: RESTOCK makes them sellable there again, DAMAGED does not."
    )
    async def receive_return(self, info: Info, input: ReceiveReturnInput) -> ReturnPayload:
        return await ReturnPayload.of(
            info, returns.receive_return(services(info), principal(info), input.to_command())
        )

    @strawberry.mutation(
        description="Agents: close a RECEIVED or REFUNDED return by hand (a refund already promised "
        "still goes out); returns close by themselves once refunded."
    )
    async def close_return(self, info: Info, input: CloseReturnInput) -> ReturnPayload:
        return await ReturnPayload.of(
            info, returns.close_return(services(info), principal(info), input.to_command())
        )

    @strawberry.mutation(
        description="Agents: ask the carrier again for a FAILED return label (PENDING until it is bought, "
        "as after the approval); any other label is INVALID_TRANSITION. A repeat of the idempotencyKey "
        "returns the first answer."
    )
    async def retry_return_label(self, info: Info, input: RetryReturnLabelInput) -> ReturnPayload:
        return await ReturnPayload.of(
            info, returns.retry_return_label(services(info), principal(info), input.to_command())
        )

    @strawberry.mutation(
        description="Give money back without a return (agents up to their limit, admins beyond it), with "
        "a reason; refunded through the order's payment. A repeat of the idempotencyKey returns the first."
    )
    async def issue_appeasement(self, info: Info, input: IssueAppeasementInput) -> AppeasementPayload:
        return await answer(
            info,
            appeasements.issue_appeasement(services(info), principal(info), input.to_command()),
            lambda issued: AppeasementPayload(
                appeasement=Appeasement.from_model(issued.appeasement), order=Order.from_model(issued.order)
            ),
            lambda e: AppeasementPayload(user_errors=e),
        )

    @strawberry.mutation(
        description="A staff note on an order, a customer or a fulfilment order (staff who may see it)."
    )
    async def add_note(self, info: Info, input: AddNoteInput) -> NotePayload:
        return await answer(
            info,
            notes.add_note(
                services(info), principal(info), input.target_type, str(input.target_id), input.body
            ),
            lambda note: NotePayload(note=Note.from_model(note)),
            lambda e: NotePayload(user_errors=e),
        )

    @strawberry.mutation(
        description="Tag an order, a customer or a fulfilment order; a tag it has is no change."
    )
    async def add_tags(self, info: Info, input: TagsInput) -> TagsPayload:
        return await TagsPayload.of(
            info,
            notes.tag(services(info), principal(info), input.target_type, str(input.target_id), input.tags),
        )

    @strawberry.mutation(description="Take tags off; a tag it does not have is no change.")
    async def remove_tags(self, info: Info, input: TagsInput) -> TagsPayload:
        return await TagsPayload.of(
            info,
            notes.untag(services(info), principal(info), input.target_type, str(input.target_id), input.tags),
        )

    @strawberry.mutation(
        description="Replace the routing policy (admins): weights and split limits, used from the next "
        "decision on every replica; audited."
    )
    async def set_routing_policy(self, info: Info, input: SetRoutingPolicyInput) -> RoutingPolicyPayload:
        limits = {item.channel: item.limit for item in input.split_limits}
        return await answer(
            info,
            network.set_routing_policy(
                services(info), principal(info), input.weights.to_weights(), input.max_split, limits
            ),
            lambda policy: RoutingPolicyPayload(policy=RoutingPolicy.from_model(policy)),
            lambda e: RoutingPolicyPayload(user_errors=e),
        )

    @strawberry.mutation(
        description="Add a location to the network (admins): routed to from the next order on every "
        "replica; audited. INVALID_CODE, DUPLICATE_CODE, INVALID_COORDINATES, INVALID_TIME_ZONE, "
        "INVALID_HOURS, INVALID_CHANNEL, OUT_OF_RANGE."
    )
    async def create_location(self, info: Info, input: CreateLocationInput) -> LocationPayload:
        return await LocationPayload.of(
            info, network.create_location(services(info), principal(info), input.values())
        )

    @strawberry.mutation(
        description="Change a location (admins): what is given changes, the rest stays; from the next "
        "request on every replica; audited."
    )
    async def update_location(self, info: Info, input: UpdateLocationInput) -> LocationPayload:
        return await LocationPayload.of(
            info, network.update_location(services(info), principal(info), str(input.id), input.values())
        )

    @strawberry.mutation(
        description="Take a location out of routing, pickup and availability (admins). Refused with "
        "LOCATION_HAS_OPEN_WORK while it has open fulfilment orders, order lines waiting there for "
        "supply, or pickup orders for it with units no location holds yet."
    )
    async def deactivate_location(self, info: Info, id: strawberry.ID) -> LocationPayload:
        return await LocationPayload.of(
            info, network.set_location_active(services(info), principal(info), str(id), False)
        )

    @strawberry.mutation(description="Bring a deactivated location back (admins).")
    async def reactivate_location(self, info: Info, id: strawberry.ID) -> LocationPayload:
        return await LocationPayload.of(
            info, network.set_location_active(services(info), principal(info), str(id), True)
        )

    @strawberry.mutation(
        description="Set how many units of a SKU a location keeps back from sale (admins), replacing "
        "the location's own figure for that SKU; null gives it back. From the next answer on every "
        "replica; audited."
    )
    async def set_safety_stock(self, info: Info, input: SetSafetyStockInput) -> SafetyStockPayload:
        return await answer(
            info,
            network.set_safety_stock(
                services(info), principal(info), input.sku.strip(), str(input.location_id), input.quantity
            ),
            lambda level: SafetyStockPayload(level=SafetyStockLevel.from_model(level)),
            lambda e: SafetyStockPayload(user_errors=e),
        )

    @strawberry.mutation(description="Release an order's holds; with none left it returns to where it was.")
    async def release_order_hold(self, info: Info, input: ReleaseOrderHoldInput) -> OrderPayload:
        return await OrderPayload.of(
            info, holds.release_order_hold(services(info), principal(info), input.to_command())
        )

    @strawberry.mutation(
        description="Route an order's open, not-yet-started units again (agents). With dryRun, only "
        "show where they would go; otherwise move them when the best plan differs from today's. An "
        "order held before it was routed (the fraud screen) is routed when released: INVALID_TRANSITION."
    )
    async def route_order(
        self, info: Info, order_id: strawberry.ID, dry_run: bool = False
    ) -> RouteOrderPayload:
        async def routed() -> tuple[rerouting.RouteOutcome, OrderRecord]:
            outcome = await rerouting.route_order(
                services(info), principal(info), str(order_id), dry_run=dry_run
            )
            return outcome, await orders.order(services(info), principal(info), outcome.order_id)

        return await answer(
            info,
            routed(),
            lambda done: RouteOrderPayload(
                order=Order.from_model(done[1]),
                decision=RoutingDecision.from_model(done[0].decision),
                changed=done[0].changed,
                dry_run=done[0].dry_run,
            ),
            lambda e: RouteOrderPayload(dry_run=dry_run, user_errors=e),
        )

    @strawberry.mutation(description="Hold units for a cart until ttlSeconds pass; idempotent by key.")
    async def reserve_inventory(self, info: Info, input: ReserveInventoryInput) -> ReservationPayload:
        return await ReservationPayload.of(
            info, reservations.reserve_inventory(services(info), principal(info), input.to_command())
        )

    @strawberry.mutation(
        description="Change what a live hold holds to these lines: fewer units are given back at once, "
        "more are found as a new hold's are (INSUFFICIENT_STOCK when they cannot be)."
    )
    async def change_inventory_hold(self, info: Info, input: ChangeInventoryHoldInput) -> ReservationPayload:
        return await ReservationPayload.of(
            info, reservations.change_inventory_hold(services(info), principal(info), input.to_command())
        )

    @strawberry.mutation(
        description="Give a cart's held units back now instead of at expiry (its holder, or staff who "
        "manage holds). HOLD_NOT_ACTIVE when an order used it, it was released, or it expired."
    )
    async def release_inventory_hold(self, info: Info, id: strawberry.ID) -> ReservationPayload:
        return await ReservationPayload.of(
            info, reservations.release_inventory_hold(services(info), principal(info), str(id))
        )

    @strawberry.mutation(description="The node takes the work on.")
    async def accept_fulfillment_order(self, info: Info, id: strawberry.ID) -> FulfillmentOrderPayload:
        return await FulfillmentOrderPayload.of(info, _move(info, id, FulfillmentAction.ACCEPT))

    @strawberry.mutation
    async def start_picking(self, info: Info, id: strawberry.ID) -> FulfillmentOrderPayload:
        return await FulfillmentOrderPayload.of(info, _move(info, id, FulfillmentAction.START_PICKING))

    @strawberry.mutation
    async def pack_fulfillment_order(self, info: Info, id: strawberry.ID) -> FulfillmentOrderPayload:
        return await FulfillmentOrderPayload.of(info, _move(info, id, FulfillmentAction.PACK))

    @strawberry.mutation(description="A packed pickup order waits at the store's counter.")
    async def mark_ready_for_pickup(self, info: Info, id: strawberry.ID) -> FulfillmentOrderPayload:
        return await FulfillmentOrderPayload.of(
            info, _move(info, id, FulfillmentAction.MARK_READY_FOR_PICKUP)
        )

    @strawberry.mutation(description="The customer collected it: the units are fulfilled.")
    async def confirm_pickup(self, info: Info, id: strawberry.ID) -> FulfillmentOrderPayload:
        return await FulfillmentOrderPayload.of(info, _move(info, id, FulfillmentAction.CONFIRM_PICKUP))

    @strawberry.mutation(
        description=(
            "The node cannot do it (before the work is packed; while picking, when it finds none of "
            "the units): its units are re-routed to another node."
        )
    )
    async def reject_fulfillment_order(
        self,
        info: Info,
        id: strawberry.ID,
        reason: Annotated[
            str, strawberry.argument(description=at_most("Mutation.rejectFulfillmentOrder(reason:)"))
        ],
        damaged: Annotated[
            bool,
            strawberry.argument(
                description="The units are damaged or missing here: they are written off this node's stock "
                "(and the ERP's) so the next order for them goes elsewhere."
            ),
        ] = False,
    ) -> FulfillmentOrderPayload:
        return await FulfillmentOrderPayload.of(
            info, _move(info, id, FulfillmentAction.REJECT, reason, damaged)
        )

    @strawberry.mutation(
        description="Units of a fulfilment order are not on the shelf (found while picking): what is "
        "there goes on; the missing units are written off this node's stock (and the ERP's; not with "
        "writeOff: false) and routed to another node, or the order waits for an agent when none can "
        "take them."
    )
    async def report_short_pick(self, info: Info, input: ReportShortPickInput) -> FulfillmentOrderPayload:
        return await FulfillmentOrderPayload.of(
            info,
            fulfillment.report_short_pick(
                services(info),
                principal(info),
                str(input.fulfillment_order_id),
                input.missing(),
                write_off=input.write_off,
            ),
        )

    @strawberry.mutation(
        description="Admins: what a product may be sold against besides the units on hand (BACKORDER "
        "against incoming purchase orders, PRE_ORDER until its release date), in some channels or all."
    )
    async def set_selling_policy(self, info: Info, input: SetSellingPolicyInput) -> ProductPayload:
        return await answer(
            info,
            catalog.set_selling_policy(services(info), principal(info), input.sku.strip(), input.to_policy()),
            lambda p: ProductPayload(product=Product.from_model(p)),
            lambda e: ProductPayload(user_errors=e),
        )

    @strawberry.mutation(
        description="Rate, buy one label and record the shipment; repeated, it returns the same one."
    )
    async def ship_fulfillment_order(self, info: Info, input: ShipFulfillmentOrderInput) -> ShipPayload:
        return await answer(
            info,
            shipping.ship(services(info), principal(info), input.to_command()),
            lambda shipped: ShipPayload(
                fulfillment_order=FulfillmentOrder.from_model(shipped.fulfillment_order),
                shipment=Shipment.from_model(shipped.shipment),
            ),
            lambda e: ShipPayload(user_errors=e),
        )

    @strawberry.mutation(
        description="Send events to a URL (admins). Each POST is signed: `X-Ordergate-Signature: "
        "t=<unix time>,v1=<hex HMAC-SHA256 of '<t>.' + body under the secret>`."
    )
    async def register_webhook_endpoint(
        self, info: Info, input: RegisterWebhookEndpointInput
    ) -> WebhookEndpointPayload:
        return await WebhookEndpointPayload.of(
            info, webhooks_out.register_endpoint(services(info), principal(info), input.to_command())
        )

    @strawberry.mutation(description="Change, pause (active: false) or re-key an endpoint (admins).")
    async def update_webhook_endpoint(
        self, info: Info, input: UpdateWebhookEndpointInput
    ) -> WebhookEndpointPayload:
        return await WebhookEndpointPayload.of(
            info, webhooks_out.update_endpoint(services(info), principal(info), input.to_command())
        )

    @strawberry.mutation(
        description="Send a delivery again now (admins); `id` is a delivery's or one of its attempts'."
    )
    async def replay_webhook_delivery(self, info: Info, id: strawberry.ID) -> ReplayWebhookDeliveryPayload:
        return await answer(
            info,
            webhooks_out.replay_delivery(services(info), principal(info), str(id)),
            lambda task: ReplayWebhookDeliveryPayload(delivery=WebhookDelivery.from_model(task)),
            lambda e: ReplayWebhookDeliveryPayload(user_errors=e),
        )

    @strawberry.mutation(
        description="Opt out of non-essential email (delivered, picked up), or back in: customers for "
        "themselves, agents for a customer (customerId). Essential email always goes."
    )
    async def set_email_opt_out(self, info: Info, input: SetEmailOptOutInput) -> CustomerPayload:
        customer_id = str(input.customer_id) if input.customer_id is not None else None
        return await answer(
            info,
            emails.set_email_opt_out(services(info), principal(info), customer_id, input.opt_out),
            lambda c: CustomerPayload(customer=Customer.from_model(c)),
            lambda e: CustomerPayload(user_errors=e),
        )
