"""Every record class, imported once so SQLModel's metadata knows all tables."""

from ordergate.models.appeasements import Appeasement
from ordergate.models.catalog import Product
from ordergate.models.customer import Customer
from ordergate.models.erp import ErpSalesOrderRef
from ordergate.models.events import Counter, OrderEvent
from ordergate.models.fulfillment import FulfillmentOrder, FulfillmentOrderLine
from ordergate.models.idempotency import IdempotencyRecord
from ordergate.models.inventory import (
    IncomingSupplyRecord,
    InventoryPosition,
    LedgerEntry,
    Reservation,
    ReservationLine,
    WebhookDelivery,
)
from ordergate.models.location import Location
from ordergate.models.loyalty import LoyaltyEntry
from ordergate.models.order import Order, OrderHold, OrderLine
from ordergate.models.outbox import OutboxTask
from ordergate.models.payments import PaymentTransaction
from ordergate.models.returns import OrderReturn, ReturnLine
from ordergate.models.routing import RoutingDecisionRecord
from ordergate.models.shipment import Shipment, ShipmentEvent
from ordergate.models.sync import SyncCheckpoint
from ordergate.models.webhooks import WebhookAttempt, WebhookEndpoint

__all__ = [
    "Appeasement",
    "Counter",
    "Customer",
    "ErpSalesOrderRef",
    "FulfillmentOrder",
    "FulfillmentOrderLine",
    "IdempotencyRecord",
    "IncomingSupplyRecord",
    "InventoryPosition",
    "LedgerEntry",
    "Location",
    "LoyaltyEntry",
    "Order",
    "OrderEvent",
    "OrderHold",
    "OrderLine",
    "OrderReturn",
    "OutboxTask",
    "PaymentTransaction",
    "Product",
    "Reservation",
    "ReservationLine",
    "ReturnLine",
    "RoutingDecisionRecord",
    "Shipment",
    "ShipmentEvent",
    "SyncCheckpoint",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
