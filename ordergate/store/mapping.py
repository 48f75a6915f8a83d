"""The records of `ordergate.models` mapped onto the tables of `store.tables`, imperatively:
the records stay plain dataclasses that know nothing of SQL, and only the store knows where
each one lives. Mapped once per process, before any session is used (`Store` does it)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import composite, registry

from ordergate.models.address import Address
from ordergate.models.appeasements import Appeasement
from ordergate.models.audit import AuditEntry
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
    SafetyStock,
    WebhookDelivery,
)
from ordergate.models.location import Location
from ordergate.models.loyalty import LoyaltyEntry
from ordergate.models.movements import StockMovement
from ordergate.models.notes import Note, Tag
from ordergate.models.order import Order, OrderHold, OrderLine
from ordergate.models.outbox import OutboxTask
from ordergate.models.payments import PaymentTransaction
from ordergate.models.returns import OrderReturn, ReturnLine
from ordergate.models.routing import RoutingDecisionRecord
from ordergate.models.shipment import Shipment, ShipmentEvent
from ordergate.models.supply import Backorder
from ordergate.models.sync import SyncCheckpoint
from ordergate.models.webhooks import WebhookAttempt, WebhookEndpoint
from ordergate.store import tables

RECORDS: dict[type, sa.Table] = {
    Appeasement: tables.appeasements,
    AuditEntry: tables.audit_log,
    Note: tables.notes,
    Tag: tables.tags,
    Backorder: tables.backorders,
    Product: tables.products,
    Customer: tables.customers,
    ErpSalesOrderRef: tables.erp_sales_orders,
    OrderEvent: tables.order_events,
    Counter: tables.counters,
    FulfillmentOrder: tables.fulfillment_orders,
    FulfillmentOrderLine: tables.fulfillment_order_lines,
    IdempotencyRecord: tables.idempotency_keys,
    InventoryPosition: tables.inventory_positions,
    Reservation: tables.reservations,
    ReservationLine: tables.reservation_lines,
    IncomingSupplyRecord: tables.incoming_supply,
    LedgerEntry: tables.inventory_ledger,
    StockMovement: tables.stock_movements,
    WebhookDelivery: tables.webhook_deliveries,
    Location: tables.locations,
    LoyaltyEntry: tables.loyalty_entries,
    Order: tables.orders,
    OrderLine: tables.order_lines,
    OrderHold: tables.order_holds,
    OutboxTask: tables.outbox,
    PaymentTransaction: tables.payment_transactions,
    OrderReturn: tables.order_returns,
    ReturnLine: tables.order_return_lines,
    RoutingDecisionRecord: tables.routing_decisions,
    SafetyStock: tables.safety_stock,
    Shipment: tables.shipments,
    ShipmentEvent: tables.shipment_events,
    SyncCheckpoint: tables.sync_checkpoints,
    WebhookEndpoint: tables.webhook_endpoints,
    WebhookAttempt: tables.webhook_attempts,
}
"""Every record class and its table."""

mapper_registry = registry(metadata=tables.metadata)


def _nothing_kept(*values: object) -> bool:
    return all(value is None for value in values)


def _properties(record: type) -> dict[str, Any]:
    """Value objects kept in several columns of their record's table."""
    if record is Order:
        columns = tables.orders.c
        shipping_address = composite(
            Address,
            columns.ship_name,
            columns.ship_line1,
            columns.ship_city,
            columns.ship_postal_code,
            columns.ship_country_code,
            columns.ship_line2,
            columns.ship_region,
            columns.ship_phone,
            columns.ship_company,
            return_none_on=_nothing_kept,  # a pickup order ships nowhere: every column NULL
        )
        return {"shipping_address": shipping_address}
    return {}


def start_mappers() -> None:
    """Map every record onto its table; a second call does nothing."""
    for record, table in RECORDS.items():
        if not hasattr(record, "__mapper__"):
            mapper_registry.map_imperatively(record, table, properties=_properties(record))


start_mappers()
