"""Nodes of the network: distribution centres, stores and drop-ship vendors."""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ordergate.models.columns import EnumText, new_id


class LocationType(StrEnum):
    DISTRIBUTION_CENTER = "DISTRIBUTION_CENTER"
    STORE = "STORE"
    DROP_SHIP_VENDOR = "DROP_SHIP_VENDOR"


class Location(SQLModel, table=True):
    __tablename__ = "locations"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=255)
    type: LocationType = Field(sa_type=EnumText(LocationType, 32))
    line1: str = Field(max_length=255)
    city: str = Field(max_length=128)
    region: str | None = Field(default=None, max_length=64)
    postal_code: str = Field(max_length=16)
    country_code: str = Field(max_length=2)
    latitude: float
    longitude: float
    ships: bool = True
    pickup_enabled: bool = False
    channels: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    capacity_per_day: int = 0
    priority: int = 0
    handling_days: int = 1
    safety_stock: int = 0
    active: bool = True
    erp_id: str | None = Field(default=None, max_length=64, index=True)
    feed_max_age_minutes: int | None = Field(
        default=None, description="a vendor feed older than this counts as zero stock"
    )

    def serves(self, channel: str) -> bool:
        return not self.channels or channel in self.channels
