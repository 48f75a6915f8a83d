"""Inventory records: positions per (SKU, location), holds, incoming supply and the ledger."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ordergate.models.columns import EnumText, UTCDateTime, new_id


class InventoryPosition(SQLModel, table=True):
    """`on_hand` is the ERP's last snapshot (as of `as_of`); `allocated` is ours: units
    committed to orders and not yet shipped. Row-locked when allocating or holding."""

    __tablename__ = "inventory_positions"
    __table_args__ = (
        sa.CheckConstraint("on_hand >= 0", name="ck_positions_on_hand_not_negative"),
        sa.CheckConstraint("allocated >= 0", name="ck_positions_allocated_not_negative"),
    )

    sku: str = Field(primary_key=True, max_length=64)
    location_id: str = Field(primary_key=True, foreign_key="locations.id", max_length=36)
    on_hand: int = 0
    allocated: int = 0
    as_of: datetime = Field(sa_type=UTCDateTime)


class ReservationStatus(StrEnum):
    ACTIVE = "ACTIVE"
    CONSUMED = "CONSUMED"
    RELEASED = "RELEASED"


class Reservation(SQLModel, table=True):
    """A hold on units for a cart or checkout; it stops counting at `expires_at` by itself."""

    __tablename__ = "reservations"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    status: ReservationStatus = Field(sa_type=EnumText(ReservationStatus, 16), index=True)
    channel: str = Field(max_length=64)
    created_by: str = Field(max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    order_id: str | None = Field(default=None, foreign_key="orders.id", max_length=36)


class ReservationLine(SQLModel, table=True):
    __tablename__ = "reservation_lines"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="ck_reservation_lines_quantity_positive"),
        sa.Index("ix_reservation_lines_sku_location", "sku", "location_id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    reservation_id: str = Field(foreign_key="reservations.id", index=True, max_length=36)
    sku: str = Field(max_length=64)
    location_id: str = Field(foreign_key="locations.id", max_length=36)
    quantity: int


class IncomingSupplyRecord(SQLModel, table=True):
    """Open purchase-order quantity expected at a location, as the ERP last reported it."""

    __tablename__ = "incoming_supply"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sku: str = Field(max_length=64, index=True)
    location_id: str = Field(foreign_key="locations.id", max_length=36)
    quantity: int
    expected_on: date
    reference: str = Field(max_length=64)
    as_of: datetime = Field(sa_type=UTCDateTime)


class LedgerKind(StrEnum):
    SNAPSHOT = "SNAPSHOT"
    ALLOCATE = "ALLOCATE"
    RESERVE = "RESERVE"
    RELEASE = "RELEASE"
    SHIP = "SHIP"
    RETURN = "RETURN"
    ADJUST = "ADJUST"


class LedgerEntry(SQLModel, table=True):
    """What ordergate did to a position, and why: the audit trail between ERP snapshots."""

    __tablename__ = "inventory_ledger"
    __table_args__ = (sa.Index("ix_ledger_sku_location", "sku", "location_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sku: str = Field(max_length=64)
    location_id: str = Field(foreign_key="locations.id", max_length=36)
    kind: LedgerKind = Field(sa_type=EnumText(LedgerKind, 16))
    quantity: int
    order_id: str | None = Field(default=None, max_length=36)
    reservation_id: str | None = Field(default=None, max_length=36)
    actor: str = Field(max_length=255)
    occurred_at: datetime = Field(sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    """Deliveries already taken in, so a retried webhook has one effect."""

    __tablename__ = "webhook_deliveries"

    source: str = Field(primary_key=True, max_length=32)
    delivery_id: str = Field(primary_key=True, max_length=128)
    received_at: datetime = Field(sa_type=UTCDateTime)
