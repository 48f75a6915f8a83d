"""Builders for the domain's records and commands as planners take them: plain objects in
memory, no database. Each takes the fields a test cares about and fills in the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ordergate.models.address import Address
from ordergate.models.catalog import Product
from ordergate.models.commands import CustomerDetails, LineRequest, PlaceOrder
from ordergate.models.customer import Customer
from ordergate.models.events import OrderEvent
from ordergate.models.fulfillment import FulfillmentOrder, FulfillmentOrderLine, FulfillmentOrderStatus
from ordergate.models.inventory import Reservation, ReservationLine, ReservationStatus
from ordergate.models.location import Location, LocationType
from ordergate.models.order import (
    DeliveryMethod,
    FulfillmentStatus,
    Order,
    OrderLine,
    OrderStatus,
    PaymentStatus,
)
from ordergate.models.payments import PaymentKind, PaymentTransaction
from ordergate.models.returns import OrderReturn, ReturnLine, ReturnStatus

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


def an_order(**overrides: Any) -> Order:
    fields: dict[str, Any] = {
        "id": "order-1",
        "number": "OG-1",
        "channel": "web",
        "customer_id": "customer-1",
        "email": "ann@example.com",
        "status": OrderStatus.CONFIRMED,
        "fulfillment_status": FulfillmentStatus.UNFULFILLED,
        "payment_status": PaymentStatus.AUTHORIZED,
        "delivery_method": DeliveryMethod.SHIP,
        "currency": "USD",
        "subtotal": Decimal("40.00"),
        "tax": Decimal("0.00"),
        "shipping_total": Decimal("0.00"),
        "total": Decimal("40.00"),
        "placed_by": "customer-test",
        "created_at": NOW - timedelta(minutes=10),
        "updated_at": NOW - timedelta(minutes=10),
    }
    return Order(**(fields | overrides))


def an_order_line(line_id: str, sku: str, quantity: int, **overrides: Any) -> OrderLine:
    fields: dict[str, Any] = {
        "id": line_id,
        "order_id": "order-1",
        "position": 0,
        "sku": sku,
        "name": sku.title(),
        "quantity": quantity,
        "unit_price": Decimal("10.00"),
    }
    return OrderLine(**(fields | overrides))


def a_product(sku: str, **overrides: Any) -> Product:
    fields: dict[str, Any] = {
        "sku": sku,
        "name": sku.title(),
        "price": Decimal("14.00"),
        "currency": "USD",
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Product(**(fields | overrides))


def a_location(code: str, **overrides: Any) -> Location:
    """A store in Chicago that ships and offers pickup, for every channel."""
    fields: dict[str, Any] = {
        "id": f"loc-{code.lower()}",
        "code": code,
        "name": code,
        "type": LocationType.STORE,
        "line1": "1 State St",
        "city": "Chicago",
        "region": "IL",
        "postal_code": "60602",
        "country_code": "US",
        "latitude": 41.88,
        "longitude": -87.63,
        "pickup_enabled": True,
    }
    return Location(**(fields | overrides))


def a_customer(email: str = "ann@example.com", **overrides: Any) -> Customer:
    fields: dict[str, Any] = {"id": "customer-1", "email": email, "created_at": NOW}
    return Customer(**(fields | overrides))


def an_address(**overrides: Any) -> Address:
    """Austin, TX."""
    fields: dict[str, Any] = {
        "name": "Ann Lee",
        "line1": "500 Congress Ave",
        "city": "Austin",
        "region": "TX",
        "postal_code": "78701",
        "country_code": "US",
    }
    return Address(**(fields | overrides))


def a_place_order(*lines: LineRequest, **overrides: Any) -> PlaceOrder:
    """Ann's order, shipped to Austin; two mugs unless lines are given."""
    fields: dict[str, Any] = {
        "idempotency_key": "key-1",
        "channel": "web",
        "customer": CustomerDetails("ann@example.com", "Ann", "Lee"),
        "lines": lines or (LineRequest("MUG-BLUE", 2),),
        "delivery_method": DeliveryMethod.SHIP,
        "shipping_address": an_address(),
    }
    return PlaceOrder(**(fields | overrides))


def a_reservation(**overrides: Any) -> Reservation:
    fields: dict[str, Any] = {
        "id": "reservation-1",
        "status": ReservationStatus.ACTIVE,
        "channel": "web",
        "created_by": "storefront-test",
        "created_at": NOW - timedelta(minutes=5),
        "expires_at": NOW + timedelta(minutes=10),
    }
    return Reservation(**(fields | overrides))


def a_reservation_line(sku: str, location_id: str, quantity: int) -> ReservationLine:
    return ReservationLine(
        reservation_id="reservation-1", sku=sku, location_id=location_id, quantity=quantity
    )


def a_fulfillment_order(
    fo_id: str, status: FulfillmentOrderStatus, location_id: str = "loc-dfw", **overrides: Any
) -> FulfillmentOrder:
    fields: dict[str, Any] = {
        "id": fo_id,
        "order_id": "order-1",
        "location_id": location_id,
        "status": status,
        "delivery_method": DeliveryMethod.SHIP,
        "created_at": NOW - timedelta(minutes=10),
        "updated_at": NOW - timedelta(minutes=10),
    }
    return FulfillmentOrder(**(fields | overrides))


def a_fulfillment_line(
    fo_id: str, line_id: str, quantity: int, sku: str = "MUG-BLUE"
) -> FulfillmentOrderLine:
    return FulfillmentOrderLine(
        id=f"{fo_id}/{line_id}", fulfillment_order_id=fo_id, order_line_id=line_id, sku=sku, quantity=quantity
    )


def a_return(return_id: str, status: ReturnStatus, **overrides: Any) -> OrderReturn:
    fields: dict[str, Any] = {
        "id": return_id,
        "order_id": "order-1",
        "status": status,
        "requested_by": "customer-test",
        "requested_at": NOW - timedelta(days=1),
    }
    return OrderReturn(**(fields | overrides))


def a_return_line(return_id: str, line_id: str, quantity: int, sku: str = "MUG-BLUE") -> ReturnLine:
    return ReturnLine(
        return_id=return_id, order_line_id=line_id, sku=sku, quantity=quantity, reason="too small"
    )


def an_event(event_type: str, occurred_at: datetime) -> OrderEvent:
    return OrderEvent(
        cursor=0, order_id="order-1", seq=1, type=event_type, occurred_at=occurred_at, actor="test"
    )


def a_payment(kind: PaymentKind, amount: str) -> PaymentTransaction:
    """A ledger entry of order-1's card payment (`amount` in dollars, as text)."""
    return PaymentTransaction(
        order_id="order-1",
        kind=kind,
        provider="sandbox",
        reference="pi_1",
        amount=Decimal(amount),
        currency="USD",
        key=f"{kind}-{amount}",
        created_at=NOW,
    )
