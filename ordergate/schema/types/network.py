"""The network's configuration as staff read it and admins set it: the routing policy, the
locations and safety stock per SKU and location."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from ordergate.models.location import LocationType, Weekday
from ordergate.models.network_policy import RoutingPolicy as PolicyRecord
from ordergate.models.routing import Weights
from ordergate.schema.inputs import AddressInput
from ordergate.schema.types.catalog import Location
from ordergate.usecases.network import SafetyStockLevel as Level


@strawberry.type(description="How routing weighs a node: each 0 or more, at least one above 0.")
class RoutingWeights:
    distance: float
    cost: float
    capacity: float
    priority: float


@strawberry.type
class ChannelSplitLimit:
    channel: str
    limit: int


@strawberry.type(
    description="How orders are routed: the weights and how many nodes an order may ship from. Set "
    "through setRoutingPolicy, it holds at the next decision on every replica; version 0 is the settings'."
)
class RoutingPolicy:
    weights: RoutingWeights
    max_split: int
    split_limits: list[ChannelSplitLimit]
    version: int
    updated_by: str | None
    updated_at: datetime | None

    @classmethod
    def from_model(cls, policy: PolicyRecord) -> RoutingPolicy:
        w = policy.weights
        return cls(
            weights=RoutingWeights(
                distance=w.distance, cost=w.cost, capacity=w.capacity, priority=w.priority
            ),
            max_split=policy.max_split,
            split_limits=[
                ChannelSplitLimit(channel=c, limit=n) for c, n in sorted(policy.split_limits.items())
            ],
            version=policy.version,
            updated_by=policy.updated_by,
            updated_at=policy.updated_at,
        )


@strawberry.input
class RoutingWeightsInput:
    distance: float
    cost: float
    capacity: float
    priority: float

    def to_weights(self) -> Weights:
        return Weights(distance=self.distance, cost=self.cost, capacity=self.capacity, priority=self.priority)


@strawberry.input
class ChannelSplitLimitInput:
    channel: str
    limit: int


@strawberry.input(description="The whole policy: what is left out is not kept.")
class SetRoutingPolicyInput:
    weights: RoutingWeightsInput
    max_split: int
    split_limits: list[ChannelSplitLimitInput] = strawberry.field(default_factory=list)


@strawberry.input(description="A period a location is open (HH:MM, 24-hour, on its own clock).")
class OpeningPeriodInput:
    day: Weekday
    opens: str
    closes: str

    def stored(self) -> dict[str, str]:
        return {"day": self.day.value, "opens": self.opens.strip(), "closes": self.closes.strip()}


@strawberry.input(
    description="Where a location is; its coordinates come from the postal code when not given."
)
class LocationAddressInput:
    line1: str
    city: str
    postal_code: str
    country_code: str
    region: str | None = None
    phone: str | None = None

    def values(self) -> dict[str, Any]:
        """Its fields as a location keeps them, written as any address input is (trimmed, region
        and country in capitals)."""
        given = AddressInput(
            name="",
            line1=self.line1,
            city=self.city,
            postal_code=self.postal_code,
            country_code=self.country_code,
            region=self.region,
            phone=self.phone,
        ).to_command()
        return {
            name: getattr(given, name)
            for name in ("line1", "city", "postal_code", "country_code", "region", "phone")
        }


# GraphQL name -> the location's field, for what an input may set
_FIELDS = {
    "name": "name",
    "type": "type",
    "latitude": "latitude",
    "longitude": "longitude",
    "ship_enabled": "ships",
    "pickup_enabled": "pickup_enabled",
    "channels": "channels",
    "capacity_per_day": "capacity_per_day",
    "priority": "priority",
    "handling_days": "handling_days",
    "safety_stock": "safety_stock",
    "erp_id": "erp_id",
    "feed_max_age_minutes": "feed_max_age_minutes",
    "time_zone": "time_zone",
}
_CLEARABLE = frozenset({"erp_id", "feed_max_age_minutes", "time_zone"})


def _values(given: Any) -> dict[str, Any]:
    """The location fields an input sets: left out (or null, for a field that cannot be empty)
    is unchanged; null clears the ERP id, the feed's maximum age and the time zone."""
    values: dict[str, Any] = {}
    for name, field in _FIELDS.items():
        value = getattr(given, name)
        if value is strawberry.UNSET or (value is None and name not in _CLEARABLE):
            continue
        values[field] = value.strip() if isinstance(value, str) else value
    if given.channels not in (None, strawberry.UNSET):
        values["channels"] = [c.strip().lower() for c in given.channels]
    if given.hours not in (None, strawberry.UNSET):
        values["hours"] = [period.stored() for period in given.hours]
    if given.address not in (None, strawberry.UNSET):
        values.update(given.address.values())
    return values


@strawberry.input(description="A new location (admins): routed to from the next order on every replica.")
class CreateLocationInput:
    code: str = strawberry.field(
        description="Its name for good (tokens and the ERP join on it): A-Z, 0-9, - and _."
    )
    name: str
    type: LocationType
    address: LocationAddressInput
    capacity_per_day: int
    latitude: float | None = strawberry.UNSET
    longitude: float | None = strawberry.UNSET
    ship_enabled: bool | None = True
    pickup_enabled: bool | None = False
    channels: list[str] | None = strawberry.field(
        default_factory=list, description="The channels it serves; none: every channel."
    )
    priority: int | None = 0
    handling_days: int | None = 1
    safety_stock: int | None = strawberry.field(
        default=0, description="Units of each SKU kept back from sale, unless setSafetyStock sets the SKU's."
    )
    erp_id: str | None = None
    feed_max_age_minutes: int | None = None
    time_zone: str | None = strawberry.field(default=None, description="IANA name; none: its region's.")
    hours: list[OpeningPeriodInput] | None = strawberry.field(default_factory=list)

    def values(self) -> dict[str, Any]:
        return {"code": self.code.strip().upper(), **_values(self)}


@strawberry.input(description="What to change on a location (admins); what is left out stays as it is.")
class UpdateLocationInput:
    id: strawberry.ID = strawberry.field(description="Its id or its code.")
    name: str | None = strawberry.UNSET
    type: LocationType | None = strawberry.UNSET
    address: LocationAddressInput | None = strawberry.UNSET
    latitude: float | None = strawberry.UNSET
    longitude: float | None = strawberry.UNSET
    ship_enabled: bool | None = strawberry.UNSET
    pickup_enabled: bool | None = strawberry.UNSET
    channels: list[str] | None = strawberry.UNSET
    capacity_per_day: int | None = strawberry.UNSET
    priority: int | None = strawberry.UNSET
    handling_days: int | None = strawberry.UNSET
    safety_stock: int | None = strawberry.UNSET
    erp_id: str | None = strawberry.UNSET
    feed_max_age_minutes: int | None = strawberry.UNSET
    time_zone: str | None = strawberry.UNSET
    hours: list[OpeningPeriodInput] | None = strawberry.UNSET

    def values(self) -> dict[str, Any]:
        return _values(self)


@strawberry.input(
    description="A SKU's safety stock at a location (admins); quantity null: the location's own again."
)
class SetSafetyStockInput:
    sku: str
    location_id: strawberry.ID = strawberry.field(description="Its id or its code.")
    quantity: int | None


@strawberry.type(description="Units of a SKU a location keeps back from sale.")
class SafetyStockLevel:
    sku: str
    location: Location
    quantity: int
    set_for_sku: bool = strawberry.field(description="False: the location's own figure holds for this SKU.")
    updated_by: str | None
    updated_at: datetime | None

    @classmethod
    def from_model(cls, level: Level) -> SafetyStockLevel:
        record = level.record
        return cls(
            sku=level.sku,
            location=Location.from_model(level.location),
            quantity=level.quantity,
            set_for_sku=record is not None,
            updated_by=record.updated_by if record else None,
            updated_at=record.updated_at if record else None,
        )
