"""Shipping a packed fulfilment order: rate it, buy one label, record the shipment.

A label is bought at most once per fulfilment order: its id is the purchase's reference,
the connector looks for a label with that reference before buying (so a retry after a lost
answer finds the first one), and the shipment is recorded under the fulfilment order's row
lock, so a concurrent repeat returns the recorded shipment instead of a second one.

A label no shipment takes is voided for its refund (`usecases.labels`): the work was
cancelled while its label was being bought, or a concurrent repeat recorded another label first
(a carrier that cannot look a purchase up, UPS, sells a second one).
"""

from __future__ import annotations

from dataclasses import dataclass

from ordergate.connectors.carriers.base import Label, LabelRequest, Parcel
from ordergate.connectors.errors import UpstreamError
from ordergate.models.errors import Forbidden, Problem, UpstreamFailed, ValidationFailed
from ordergate.models.events import EventType
from ordergate.models.fulfillment import FulfillmentAction, FulfillmentOrder, next_fulfillment_status
from ordergate.models.identity import Permission, Principal
from ordergate.models.location import contact_phone, node_address
from ordergate.models.order import OrderStatus, customer_address
from ordergate.models.scope import OrderScope
from ordergate.models.shipment import Shipment, TrackingStatus
from ordergate.usecases import labels, storefront
from ordergate.usecases.fulfillment import fulfil_units, fulfillment_order_of_yours, lock_work
from ordergate.usecases.services import Services

EVERYTHING = OrderScope(everything=True)
GRAMS_PER_UNIT = 1000  # until the catalogue carries weights


@dataclass(frozen=True)
class Shipped:
    fulfillment_order: FulfillmentOrder
    shipment: Shipment


@dataclass(frozen=True)
class ShipCommand:
    fulfillment_order_id: str
    carrier: str | None = None
    service: str | None = None


async def ship(services: Services, principal: Principal, command: ShipCommand) -> Shipped:
    if not principal.can(Permission.FULFIL):
        raise Forbidden("this role does not ship")
    carrier_name = command.carrier or services.default_carrier
    carrier = services.carriers.get(carrier_name)
    if carrier is None:
        raise ValidationFailed(
            [
                Problem(
                    "UNKNOWN_CARRIER",
                    f"no carrier named {carrier_name!r} is configured",
                    ("carrier",),
                )
            ]
        )
    async with services.store.read() as uow:
        fulfillment_order, location = await fulfillment_order_of_yours(
            uow, principal, command.fulfillment_order_id, field=("fulfillment_order_id",)
        )
        existing = await uow.orders.shipment_for(fulfillment_order.id)
        if existing is not None:
            return Shipped(fulfillment_order, existing)
        next_fulfillment_status(
            fulfillment_order.status, FulfillmentAction.SHIP, fulfillment_order.delivery_method
        )
        order = (await uow.orders.by_ids([fulfillment_order.order_id], EVERYTHING))[
            fulfillment_order.order_id
        ]
        if order.status is OrderStatus.ON_HOLD:
            raise ValidationFailed(
                [Problem("INVALID_TRANSITION", "the order is on hold", ("fulfillment_order_id",))]
            )
        units = sum(
            line.quantity
            for line in (await uow.orders.fulfillment_lines_by_fo_ids([fulfillment_order.id])).get(
                fulfillment_order.id, []
            )
        )
    merchant_phone = services.policy.merchant_phone
    ship_from, ship_to = node_address(location, merchant_phone), customer_address(order)
    parcels = [Parcel(weight_grams=max(1, units) * GRAMS_PER_UNIT)]
    try:
        rates = await carrier.rates(ship_from, ship_to, parcels)
        wanted = [r for r in rates if command.service is None or r.service == command.service]
        if not wanted:
            raise ValidationFailed(
                [
                    Problem(
                        "UNKNOWN_SERVICE",
                        f"{carrier_name} offers no service {command.service!r} here",
                        ("service",),
                    )
                ]
            )
        rate = min(wanted, key=lambda r: (r.amount, r.service))
        label = await carrier.buy_label(
            LabelRequest(
                fulfillment_order.id,
                rate.service,
                ship_from,
                ship_to,
                parcels,
                rate_id=rate.rate_id,
                phone=contact_phone(location, merchant_phone),
            )
        )
    except UpstreamError as error:
        raise UpstreamFailed(
            carrier_name, f"could not ship it: {error.message}", field=("carrier",)
        ) from None
    try:
        return await _record(services, principal, fulfillment_order.id, label)
    except Exception:
        why = "the work could not take the label bought for it (it moved on while the label was bought)"
        await labels.promise_void_now(services, label, why=why)
        raise


async def _record(
    services: Services, principal: Principal, fulfillment_order_id: str, label: Label
) -> Shipped:
    now = services.clock()
    async with services.store.write() as uow:
        order, fulfillment_order, _ = await lock_work(
            uow, None, fulfillment_order_id, field=("fulfillment_order_id",)
        )
        existing = await uow.orders.shipment_for(fulfillment_order_id)
        if existing is not None:  # a concurrent repeat recorded it first
            if existing.tracking_number != label.tracking_number:  # and bought a label of its own
                labels.promise_void(uow, label, now, why="a concurrent repeat shipped the work first")
            return Shipped(fulfillment_order, existing)
        fulfillment_order.status = next_fulfillment_status(
            fulfillment_order.status, FulfillmentAction.SHIP, fulfillment_order.delivery_method
        )
        fulfillment_order.updated_at = now
        uow.save(fulfillment_order)
        shipment = Shipment(
            order_id=order.id,
            fulfillment_order_id=fulfillment_order.id,
            carrier=label.carrier,
            service=label.service,
            tracking_number=label.tracking_number,
            label_url=label.label_url[:512],
            tracking_url=label.tracking_url,
            status=TrackingStatus.LABEL_CREATED,
            raw_status="LABEL_CREATED",
            cost=label.cost,
            currency=label.currency,
            estimated_delivery=label.estimated_delivery,
            created_at=now,
        )
        uow.save(shipment)
        await uow.flush()
        fo_lines = (await uow.orders.fulfillment_lines_by_fo_ids([fulfillment_order.id])).get(
            fulfillment_order.id, []
        )
        await uow.events.append(
            order,
            EventType.FULFILLMENT_SHIPPED,
            actor=principal.subject,
            occurred_at=now,
            data={
                "fulfillment_order_id": fulfillment_order.id,
                "carrier": label.carrier,
                "tracking": label.tracking_number,
            },
            fulfillment_order=fulfillment_order,
        )
        await fulfil_units(uow, order, fulfillment_order, fo_lines, principal, now, shipment)
        storefront.promise_shipment(uow, order, shipment.id, now)
    return Shipped(fulfillment_order, shipment)
