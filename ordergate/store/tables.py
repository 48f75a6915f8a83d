"""The tables, in SQL terms: names, columns, types, keys and indexes. The records in
`ordergate.models` know nothing of them; `store.mapping` maps each record class onto its table.

The schema the migrations build (`store/migrations`) must equal this metadata: a test compares
them on every backend.
"""

from __future__ import annotations

import sqlalchemy as sa

from ordergate.models.appeasements import AppeasementReason
from ordergate.models.fulfillment import FulfillmentOrderStatus
from ordergate.models.inventory import LedgerKind, ReservationStatus
from ordergate.models.location import LocationType
from ordergate.models.loyalty import LoyaltyReason
from ordergate.models.movements import MovementKind
from ordergate.models.notes import TargetKind
from ordergate.models.order import (
    DeliveryMethod,
    FulfillmentStatus,
    HoldReason,
    OrderStatus,
    PaymentStatus,
    ServiceLevel,
)
from ordergate.models.payments import PaymentKind
from ordergate.models.returns import Disposition, ReturnLabelStatus, ReturnStatus
from ordergate.models.shipment import TrackingStatus
from ordergate.models.supply import BackorderStatus, SellingPolicy
from ordergate.store.columns import EnumText, UTCDateTime

metadata = sa.MetaData()

counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True, nullable=False),
    sa.Column("value", sa.Integer(), nullable=False),
)


customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("email", sa.String(320), nullable=False, unique=True, index=True),
    sa.Column("first_name", sa.String(128), nullable=True),
    sa.Column("last_name", sa.String(128), nullable=True),
    sa.Column("phone", sa.String(32), nullable=True),
    sa.Column("external_id", sa.String(64), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    # Name searches compare the start of a lowercased name: these serve them on both backends.
    sa.Index("ix_customers_first_name_lower", sa.func.lower(sa.column("first_name"))),
    sa.Index("ix_customers_last_name_lower", sa.func.lower(sa.column("last_name"))),
    sa.Column("email_opt_out", sa.Boolean(), nullable=False, server_default=sa.false()),
)


idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("scope", sa.String(255), primary_key=True, nullable=False),
    sa.Column("key", sa.String(255), primary_key=True, nullable=False),
    sa.Column("operation", sa.String(64), nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("result_id", sa.String(36), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("attempt", sa.String(36), nullable=False),
    sa.Column("leased_until", UTCDateTime(), nullable=True),
)


locations = sa.Table(
    "locations",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("code", sa.String(32), nullable=False, unique=True, index=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("type", EnumText(LocationType, 32), nullable=False),
    sa.Column("line1", sa.String(255), nullable=False),
    sa.Column("city", sa.String(128), nullable=False),
    sa.Column("region", sa.String(64), nullable=True),
    sa.Column("postal_code", sa.String(16), nullable=False),
    sa.Column("country_code", sa.String(2), nullable=False),
    sa.Column("latitude", sa.Float(), nullable=False),
    sa.Column("longitude", sa.Float(), nullable=False),
    sa.Column("ships", sa.Boolean(), nullable=False),
    sa.Column("pickup_enabled", sa.Boolean(), nullable=False),
    sa.Column("channels", sa.JSON(), nullable=False),
    sa.Column("capacity_per_day", sa.Integer(), nullable=False),
    sa.Column("priority", sa.Integer(), nullable=False),
    sa.Column("handling_days", sa.Integer(), nullable=False),
    sa.Column("safety_stock", sa.Integer(), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("erp_id", sa.String(64), nullable=True, index=True),
    sa.Column("feed_max_age_minutes", sa.Integer(), nullable=True),
    sa.Column("phone", sa.String(32), nullable=True),
    sa.Column("time_zone", sa.String(64), nullable=True),
    sa.Column("hours", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
)


outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("key", sa.String(128), nullable=False),
    sa.Column("payload", sa.JSON(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("available_at", UTCDateTime(), nullable=False),
    sa.Column("done_at", UTCDateTime(), nullable=True),
    sa.Column("result", sa.String(128), nullable=True),
    sa.Column("last_error", sa.String(500), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("leases", sa.Integer(), nullable=False, server_default=sa.text("1")),
    sa.Index("ix_outbox_due", "done_at", "available_at"),
    sa.UniqueConstraint("kind", "key", name="uq_outbox_kind_key"),
)


products = sa.Table(
    "products",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("sku", sa.String(64), nullable=False, unique=True, index=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("price", sa.Numeric(14, 2), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("returnable", sa.Boolean(), nullable=False),
    sa.Column("selling_policy", EnumText(SellingPolicy, 16), nullable=False, server_default="ON_HAND"),
    sa.Column("release_on", sa.Date(), nullable=True),
    sa.Column("policy_channels", sa.JSON(), nullable=False, server_default="[]"),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)


sync_checkpoints = sa.Table(
    "sync_checkpoints",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True, nullable=False),
    sa.Column("watermark", UTCDateTime(), nullable=True),
    sa.Column("imported", sa.Integer(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)


webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("source", sa.String(32), primary_key=True, nullable=False),
    sa.Column("delivery_id", sa.String(128), primary_key=True, nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
)


webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("event_types", sa.JSON(), nullable=False),
    sa.Column("secret", sa.String(128), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("description", sa.String(255), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
)


incoming_supply = sa.Table(
    "incoming_supply",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("sku", sa.String(64), nullable=False, index=True),
    sa.Column("location_id", sa.String(36), sa.ForeignKey("locations.id"), nullable=False),
    sa.Column("quantity", sa.Integer(), nullable=False),
    sa.Column("expected_on", sa.Date(), nullable=False),
    sa.Column("reference", sa.String(64), nullable=False),
    sa.Column("as_of", UTCDateTime(), nullable=False),
)


supply_reads = sa.Table(
    "supply_reads",
    metadata,
    # When each SKU's incoming supply was last read from the ERP and stored (`replace_incoming`):
    # a read that finished earlier does not replace it, even where it found no supply at all.
    sa.Column("sku", sa.String(64), primary_key=True, nullable=False),
    sa.Column("read_at", UTCDateTime(), nullable=False),
)


inventory_ledger = sa.Table(
    "inventory_ledger",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("location_id", sa.String(36), sa.ForeignKey("locations.id"), nullable=False),
    sa.Column("kind", EnumText(LedgerKind, 32), nullable=False),
    sa.Column("quantity", sa.Integer(), nullable=False),
    sa.Column("order_id", sa.String(36), nullable=True),
    sa.Column("reservation_id", sa.String(36), nullable=True),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("occurred_at", UTCDateTime(), nullable=False),
    sa.Index("ix_ledger_sku_location", "sku", "location_id"),
)


stock_movements = sa.Table(
    "stock_movements",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("location_id", sa.String(36), sa.ForeignKey("locations.id"), nullable=False),
    sa.Column("kind", EnumText(MovementKind, 16), nullable=False),
    sa.Column("quantity", sa.Integer(), nullable=False),
    sa.Column("order_id", sa.String(36), nullable=True),
    sa.Column("task_key", sa.String(128), nullable=False, index=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("sent_at", UTCDateTime(), nullable=True),
    sa.Column("acked_at", UTCDateTime(), nullable=True),
    sa.Column("counted_at", UTCDateTime(), nullable=True),
    sa.Index("ix_stock_movements_position", "sku", "location_id", "counted_at"),
)


backorders = sa.Table(
    "backorders",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("order_line_id", sa.String(36), sa.ForeignKey("order_lines.id"), nullable=False),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("location_id", sa.String(36), sa.ForeignKey("locations.id"), nullable=False),
    sa.Column("kind", EnumText(SellingPolicy, 16), nullable=False),
    sa.Column("quantity", sa.Integer(), nullable=False),
    sa.Column("quantity_allocated", sa.Integer(), nullable=False),
    sa.Column("status", EnumText(BackorderStatus, 16), nullable=False),
    sa.Column("release_on", sa.Date(), nullable=True),
    sa.Column("promised_on", sa.Date(), nullable=True),
    sa.Column("placed_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Index("ix_backorders_waiting", "sku", "status", "placed_at"),
)


inventory_positions = sa.Table(
    "inventory_positions",
    metadata,
    sa.Column("sku", sa.String(64), primary_key=True, nullable=False),
    sa.Column("location_id", sa.String(36), sa.ForeignKey("locations.id"), primary_key=True, nullable=False),
    sa.Column("on_hand", sa.Integer(), nullable=False),
    sa.Column("allocated", sa.Integer(), nullable=False),
    sa.Column("as_of", UTCDateTime(), nullable=False),
    sa.CheckConstraint("on_hand >= 0", name="ck_positions_on_hand_not_negative"),
    sa.CheckConstraint("allocated >= 0", name="ck_positions_allocated_not_negative"),
    # the few positions a count has left with fewer units than are allocated (`over_committed`)
    sa.Index(
        "ix_positions_over_committed",
        "sku",
        "location_id",
        postgresql_where=sa.text("allocated > on_hand"),
        sqlite_where=sa.text("allocated > on_hand"),
    ),
)


# Spells of short stock (`models.short_spells`): at most one open per position (the partial unique
# index), which replicas noting the same finding at once rely on.
short_spells = sa.Table(
    "short_spells",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("location_id", sa.String(36), sa.ForeignKey("locations.id"), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("ended_at", UTCDateTime(), nullable=True),
    sa.Column("most_missing", sa.Integer(), nullable=False),
    sa.Index(
        "ux_short_spells_open",
        "sku",
        "location_id",
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
        sqlite_where=sa.text("ended_at IS NULL"),
    ),
    sa.Index("ix_short_spells_started", "started_at"),
)

# A SKU's safety stock at a node, set by an admin: it replaces the node's own (`locations`).
safety_stock = sa.Table(
    "safety_stock",
    metadata,
    sa.Column("sku", sa.String(64), primary_key=True, nullable=False),
    sa.Column("location_id", sa.String(36), sa.ForeignKey("locations.id"), primary_key=True, nullable=False),
    sa.Column("quantity", sa.Integer(), nullable=False),
    sa.Column("updated_by", sa.String(255), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("quantity >= 0", name="ck_safety_stock_not_negative"),
)


orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("number", sa.String(32), nullable=False, unique=True),
    sa.Column("channel", sa.String(64), nullable=False, index=True),
    sa.Column("external_reference", sa.String(128), nullable=True),
    sa.Column("source_ref", sa.String(128), nullable=True, unique=True, index=True),
    sa.Column("customer_id", sa.String(36), sa.ForeignKey("customers.id"), nullable=False, index=True),
    sa.Column("email", sa.String(320), nullable=False, index=True),
    sa.Column("status", EnumText(OrderStatus, 32), nullable=False, index=True),
    sa.Column("status_before_hold", EnumText(OrderStatus, 32), nullable=True),
    sa.Column("fulfillment_status", EnumText(FulfillmentStatus, 32), nullable=False),
    sa.Column("payment_status", EnumText(PaymentStatus, 32), nullable=False),
    sa.Column("delivery_method", EnumText(DeliveryMethod, 32), nullable=False),
    sa.Column("pickup_location_id", sa.String(36), sa.ForeignKey("locations.id"), nullable=True),
    sa.Column("ship_name", sa.String(255), nullable=True),
    sa.Column("ship_line1", sa.String(255), nullable=True),
    sa.Column("ship_line2", sa.String(255), nullable=True),
    sa.Column("ship_city", sa.String(128), nullable=True),
    sa.Column("ship_region", sa.String(64), nullable=True),
    sa.Column("ship_postal_code", sa.String(16), nullable=True),
    sa.Column("ship_country_code", sa.String(2), nullable=True),
    sa.Column("ship_phone", sa.String(32), nullable=True),
    sa.Column("ship_company", sa.String(255), nullable=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("subtotal", sa.Numeric(14, 2), nullable=False),
    sa.Column("tax", sa.Numeric(14, 2), nullable=False),
    sa.Column("shipping_total", sa.Numeric(14, 2), nullable=False),
    sa.Column("shipping_tax", sa.Numeric(14, 2), nullable=False),
    sa.Column("discount", sa.Numeric(14, 2), nullable=False, server_default=sa.text("0")),
    sa.Column("total", sa.Numeric(14, 2), nullable=False),
    sa.Column("risk_score", sa.Integer(), nullable=True),
    sa.Column("risk_reasons", sa.String(500), nullable=True),
    sa.Column("promised_on", sa.Date(), nullable=True),
    sa.Column("service_level", EnumText(ServiceLevel, 16), nullable=True),
    sa.Column("bill_country_code", sa.String(2), nullable=True),
    sa.Column("bill_postal_code", sa.String(16), nullable=True),
    sa.Column("locale", sa.String(35), nullable=True),
    sa.Column("event_seq", sa.Integer(), nullable=False),
    sa.Column("placed_by", sa.String(255), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Index("ix_orders_created_at_id", "created_at", "id"),
    # The search's other orders and lookups (`store.orders`): each served by an index.
    sa.Index("ix_orders_updated_at_id", "updated_at", "id"),
    sa.Index("ix_orders_total_id", "total", "id"),
    sa.Index("ix_orders_external_reference", "external_reference"),
)


webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("endpoint_id", sa.String(36), sa.ForeignKey("webhook_endpoints.id"), nullable=False),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("task_key", sa.String(128), nullable=False),
    sa.Column("attempted_at", UTCDateTime(), nullable=False),
    sa.Column("status_code", sa.Integer(), nullable=True),
    sa.Column("error", sa.String(500), nullable=True),
    sa.Column("duration_ms", sa.Integer(), nullable=False),
    sa.Index("ix_webhook_attempts_log", "endpoint_id", "attempted_at", "id"),
)


routing_policy = sa.Table(
    "routing_policy",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True, nullable=False),  # one row: "network"
    sa.Column("weights", sa.JSON(), nullable=False),
    sa.Column("max_split", sa.Integer(), nullable=False),
    sa.Column("split_limits", sa.JSON(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("updated_by", sa.String(255), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)


notes = sa.Table(
    "notes",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("target_kind", EnumText(TargetKind, 32), nullable=False),
    sa.Column("target_id", sa.String(36), nullable=False),
    sa.Column("body", sa.String(2000), nullable=False),
    sa.Column("author", sa.String(255), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index("ix_notes_target", "target_kind", "target_id", "created_at"),
)


audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("occurred_at", UTCDateTime(), nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("operation", sa.String(64), nullable=False),
    sa.Column("request_id", sa.String(64), nullable=True),
    sa.Column("order_id", sa.String(36), nullable=True),
    sa.Column("changes", sa.JSON(), nullable=False),
    sa.Column("omitted", sa.Integer(), nullable=False),
    sa.Index("ix_audit_log_occurred_at_id", "occurred_at", "id"),
    sa.Index("ix_audit_log_order_id", "order_id", "occurred_at"),
    sa.Index("ix_audit_log_actor", "actor", "occurred_at"),
)


tags = sa.Table(
    "tags",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("target_kind", EnumText(TargetKind, 32), nullable=False),
    sa.Column("target_id", sa.String(36), nullable=False),
    sa.Column("tag", sa.String(40), nullable=False),
    sa.Column("added_by", sa.String(255), nullable=False),
    sa.Column("added_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("target_kind", "target_id", "tag", name="uq_tags_target_tag"),
    sa.Index("ix_tags_kind_tag_target", "target_kind", "tag", "target_id"),
)


appeasements = sa.Table(
    "appeasements",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("amount", sa.Numeric(14, 2), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("reason", EnumText(AppeasementReason, 32), nullable=False),
    sa.Column("note", sa.String(1000), nullable=True),
    sa.Column("issued_by", sa.String(255), nullable=False),
    sa.Column("issued_at", UTCDateTime(), nullable=False),
)


erp_sales_orders = sa.Table(
    "erp_sales_orders",
    metadata,
    sa.Column("key", sa.String(128), primary_key=True, nullable=False),
    sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("location_id", sa.String(36), nullable=False),
    sa.Column("erp_id", sa.String(64), nullable=True),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)


fulfillment_orders = sa.Table(
    "fulfillment_orders",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("location_id", sa.String(36), sa.ForeignKey("locations.id"), nullable=False, index=True),
    sa.Column("status", EnumText(FulfillmentOrderStatus, 32), nullable=False, index=True),
    sa.Column("delivery_method", EnumText(DeliveryMethod, 32), nullable=False),
    sa.Column("rejection_reason", sa.String(500), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("starts_on", sa.Date(), nullable=True),
    sa.Index("ix_fulfillment_orders_location_starts_on", "location_id", "starts_on"),
)


loyalty_entries = sa.Table(
    "loyalty_entries",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("customer_id", sa.String(36), sa.ForeignKey("customers.id"), nullable=False, index=True),
    sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("points", sa.Integer(), nullable=False),
    sa.Column("reason", EnumText(LoyaltyReason, 32), nullable=False),
    sa.Column("key", sa.String(160), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)


order_events = sa.Table(
    "order_events",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("cursor", sa.Integer(), nullable=False, unique=True, index=True),
    sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("occurred_at", UTCDateTime(), nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("data", sa.JSON(), nullable=False),
    sa.Column("fulfillment_order_id", sa.String(36), nullable=True),
    sa.Column("location_id", sa.String(36), nullable=True, index=True),
    sa.UniqueConstraint("order_id", "seq", name="uq_order_events_order_seq"),
)


order_holds = sa.Table(
    "order_holds",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("reason", EnumText(HoldReason, 32), nullable=False),
    sa.Column("note", sa.String(1000), nullable=True),
    sa.Column("placed_by", sa.String(255), nullable=False),
    sa.Column("placed_at", UTCDateTime(), nullable=False),
    sa.Column("released_by", sa.String(255), nullable=True),
    sa.Column("released_at", UTCDateTime(), nullable=True),
)


order_lines = sa.Table(
    "order_lines",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("quantity", sa.Integer(), nullable=False),
    sa.Column("unit_price", sa.Numeric(14, 2), nullable=False),
    sa.Column("tax", sa.Numeric(14, 2), nullable=False),
    sa.Column("discount", sa.Numeric(14, 2), nullable=False, server_default=sa.text("0")),
    sa.Column("quantity_fulfilled", sa.Integer(), nullable=False),
    sa.Column("quantity_cancelled", sa.Integer(), nullable=False),
    sa.Column("quantity_returned", sa.Integer(), nullable=False),
    sa.CheckConstraint("quantity > 0", name="ck_order_lines_quantity_positive"),
    sa.CheckConstraint(
        "quantity_fulfilled >= 0 AND quantity_cancelled >= 0 AND quantity_returned >= 0"
        " AND quantity_fulfilled + quantity_cancelled <= quantity"
        " AND quantity_returned <= quantity_fulfilled",
        name="ck_order_lines_quantities",
    ),
)


order_returns = sa.Table(
    "order_returns",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("status", EnumText(ReturnStatus, 32), nullable=False),
    sa.Column("requested_by", sa.String(255), nullable=False),
    sa.Column("requested_at", UTCDateTime(), nullable=False),
    sa.Column("decided_by", sa.String(255), nullable=True),
    sa.Column("decided_at", UTCDateTime(), nullable=True),
    sa.Column("note", sa.String(1000), nullable=True),
    sa.Column("received_at", UTCDateTime(), nullable=True),
    sa.Column("received_location_id", sa.String(36), sa.ForeignKey("locations.id"), nullable=True),
    sa.Column("refunded_at", UTCDateTime(), nullable=True),
    sa.Column("closed_at", UTCDateTime(), nullable=True),
    sa.Column("closed_by", sa.String(255), nullable=True),
    sa.Column("label_status", EnumText(ReturnLabelStatus, 32), nullable=True),
    sa.Column("label_shipment_id", sa.String(36), nullable=True),
    sa.Column("label_carrier", sa.String(32), nullable=True),
    sa.Column("label_service", sa.String(64), nullable=True),
    sa.Column("label_tracking_number", sa.String(64), nullable=True, index=True),
    sa.Column("label_url", sa.String(512), nullable=True),
    sa.Column("label_error", sa.String(500), nullable=True),
    sa.Column("label_created_at", UTCDateTime(), nullable=True),
    sa.Column("label_carrier_id", sa.String(64), nullable=True),
    sa.Column("label_tracking", EnumText(TrackingStatus, 32), nullable=True),
    sa.Column("label_tracked_at", UTCDateTime(), nullable=True),
    sa.Column("label_picked_up_at", UTCDateTime(), nullable=True),
)


payment_transactions = sa.Table(
    "payment_transactions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("kind", EnumText(PaymentKind, 32), nullable=False),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("reference", sa.String(128), nullable=False),
    sa.Column("amount", sa.Numeric(14, 2), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("key", sa.String(160), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)


reservations = sa.Table(
    "reservations",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("status", EnumText(ReservationStatus, 32), nullable=False, index=True),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"), nullable=True),
)


routing_decisions = sa.Table(
    "routing_decisions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("decided_at", UTCDateTime(), nullable=False),
    sa.Column("chosen", sa.JSON(), nullable=False),
    sa.Column("candidates", sa.JSON(), nullable=False),
    sa.Column("inputs", sa.JSON(), nullable=False),
)


fulfillment_order_lines = sa.Table(
    "fulfillment_order_lines",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column(
        "fulfillment_order_id",
        sa.String(36),
        sa.ForeignKey("fulfillment_orders.id"),
        nullable=False,
        index=True,
    ),
    sa.Column("order_line_id", sa.String(36), sa.ForeignKey("order_lines.id"), nullable=False),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("quantity", sa.Integer(), nullable=False),
    sa.CheckConstraint("quantity > 0", name="ck_fo_lines_quantity_positive"),
)


order_return_lines = sa.Table(
    "order_return_lines",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("return_id", sa.String(36), sa.ForeignKey("order_returns.id"), nullable=False, index=True),
    sa.Column("order_line_id", sa.String(36), sa.ForeignKey("order_lines.id"), nullable=False),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("quantity", sa.Integer(), nullable=False),
    sa.Column("reason", sa.String(500), nullable=False),
    sa.Column("disposition", EnumText(Disposition, 32), nullable=True),
    sa.CheckConstraint("quantity > 0", name="ck_return_lines_quantity_positive"),
)


reservation_lines = sa.Table(
    "reservation_lines",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("reservation_id", sa.String(36), sa.ForeignKey("reservations.id"), nullable=False, index=True),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("location_id", sa.String(36), sa.ForeignKey("locations.id"), nullable=False),
    sa.Column("quantity", sa.Integer(), nullable=False),
    sa.Index("ix_reservation_lines_sku_location", "sku", "location_id"),
    sa.CheckConstraint("quantity > 0", name="ck_reservation_lines_quantity_positive"),
)


shipments = sa.Table(
    "shipments",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("fulfillment_order_id", sa.String(36), sa.ForeignKey("fulfillment_orders.id"), nullable=False),
    sa.Column("carrier", sa.String(32), nullable=False),
    sa.Column("service", sa.String(64), nullable=False),
    sa.Column("tracking_number", sa.String(64), nullable=False, index=True),
    sa.Column("tracking_url", sa.String(512), nullable=True),
    sa.Column("label_url", sa.String(512), nullable=True),
    sa.Column("status", EnumText(TrackingStatus, 32), nullable=False),
    sa.Column("raw_status", sa.String(64), nullable=True),
    sa.Column("cost", sa.Numeric(14, 2), nullable=True),
    sa.Column("currency", sa.String(3), nullable=True),
    sa.Column("estimated_delivery", sa.Date(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)


shipment_events = sa.Table(
    "shipment_events",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("shipment_id", sa.String(36), sa.ForeignKey("shipments.id"), nullable=False, index=True),
    sa.Column("occurred_at", UTCDateTime(), nullable=False),
    sa.Column("status", EnumText(TrackingStatus, 32), nullable=False),
    sa.Column("raw_code", sa.String(64), nullable=True),
    sa.Column("description", sa.String(512), nullable=False),
    sa.Column("location", sa.String(255), nullable=True),
)


refusals = sa.Table(
    "refusals",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True, nullable=False),
    sa.Column("occurred_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
)
