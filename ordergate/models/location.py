"""Nodes of the network: distribution centres, stores and drop-ship vendors."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ordergate.models.ids import new_id


class LocationType(StrEnum):
    DISTRIBUTION_CENTER = "DISTRIBUTION_CENTER"
    STORE = "STORE"
    DROP_SHIP_VENDOR = "DROP_SHIP_VENDOR"


@dataclass(kw_only=True, eq=False)
class Location:
    id: str = field(default_factory=new_id)
    code: str
    name: str
    type: LocationType
    line1: str
    city: str
    region: str | None = None
    postal_code: str
    country_code: str
    latitude: float
    longitude: float
    ships: bool = True
    pickup_enabled: bool = False
    channels: list[str] = field(default_factory=list)
    capacity_per_day: int = 0
    priority: int = 0
    handling_days: int = 1
    safety_stock: int = 0
    active: bool = True
    erp_id: str | None = None
    # a vendor feed older than this counts as zero stock
    feed_max_age_minutes: int | None = None
    # who a carrier calls about a parcel leaving or coming back here
    phone: str | None = None

    def serves(self, channel: str) -> bool:
        return not self.channels or channel in self.channels


def contact_phone(location: Location | None, merchant_phone: str | None) -> str | None:
    """The phone a carrier gets for a parcel leaving or coming back to a node: the node's own,
    else the merchant's; None when neither is known."""
    for phone in (location.phone if location is not None else None, merchant_phone):
        if phone is not None and phone.strip():
            return phone.strip()
    return None
