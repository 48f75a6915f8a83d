"""Product, Location and Customer: federation entities keyed by id."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import date, datetime

import strawberry

from ordergate.connectors.storefront.base import StorefrontCustomer
from ordergate.models.catalog import Product as ProductRecord
from ordergate.models.customer import Customer as CustomerRecord
from ordergate.models.errors import UpstreamFailed
from ordergate.models.identity import Permission
from ordergate.models.location import Location as LocationRecord
from ordergate.models.location import LocationType, Weekday, location_zone, opening_hours
from ordergate.models.notes import TargetKind
from ordergate.models.supply import SellingPolicy
from ordergate.schema.context import Info, principal
from ordergate.schema.types.common import Address, Money
from ordergate.schema.types.lazy import lazily, read_lazily
from ordergate.schema.types.loyalty import LoyaltyAccount
from ordergate.schema.types.notes import Note, notes_of, tags_of
from ordergate.usecases import catalog, loyalty


@strawberry.federation.type(keys=["id"], name="Product")
class Product:
    id: strawberry.ID
    sku: str
    name: str
    price: Money
    active: bool
    returnable: bool
    selling_policy: SellingPolicy = strawberry.field(
        description="ON_HAND: only units on hand are sold. BACKORDER: the rest against incoming "
        "purchase orders. PRE_ORDER: before releaseOn every unit waits for it."
    )
    release_on: date | None = strawberry.field(description="A pre-order's release date.")
    policy_channels: list[str] = strawberry.field(
        description="The channels the selling policy holds in (empty: every channel); elsewhere ON_HAND."
    )

    @classmethod
    def from_model(cls, record: ProductRecord) -> Product:
        return cls(
            id=strawberry.ID(record.id),
            sku=record.sku,
            name=record.name,
            price=Money.of(record.price, record.currency),
            active=record.active,
            returnable=record.returnable,
            selling_policy=record.selling_policy,
            release_on=record.release_on,
            policy_channels=list(record.policy_channels),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Product | None:
        if not principal(info).can(Permission.READ_CATALOG):
            return None
        async with info.context.services.store.read() as uow:
            found = (await uow.catalog.products_by_ids([str(id)])).get(str(id))
        return cls.from_model(found) if found else None


@strawberry.type(description="A period a location is open on a day of the week (HH:MM, 24-hour, its clock).")
class OpeningPeriod:
    day: Weekday
    opens: str
    closes: str


@strawberry.federation.type(keys=["id"], name="Location")
class Location:
    id: strawberry.ID
    code: str
    name: str
    type: LocationType
    address: Address
    latitude: float
    longitude: float
    ship_enabled: bool
    pickup_enabled: bool
    channels: list[str]
    capacity_per_day: int
    priority: int
    handling_days: int
    safety_stock: int
    active: bool
    erp_id: str | None = strawberry.field(description="The ERP location this node is joined to.")
    time_zone: str = strawberry.field(
        description="The IANA time zone of its clock: its capacity per day and pickup days count on it."
    )
    hours: list[OpeningPeriod] = strawberry.field(
        description="When it is open (its own clock); none listed: every day. Pickups are ready on open days."
    )
    feed_max_age_minutes: int | None = strawberry.field(
        description="A drop-ship vendor's stock feed older than this counts as no stock."
    )

    @strawberry.field(description="Fulfilment orders at this location not yet shipped, picked up or closed.")
    async def open_fulfillment_orders(self, info: Info) -> int:
        return await info.context.loaders.open_fulfillment_count_by_location_id.load(str(self.id))

    @classmethod
    def from_model(cls, record: LocationRecord) -> Location:
        return cls(
            id=strawberry.ID(record.id),
            code=record.code,
            name=record.name,
            type=record.type,
            address=Address.of(record.address),
            latitude=record.latitude,
            longitude=record.longitude,
            ship_enabled=record.ships,
            pickup_enabled=record.pickup_enabled,
            channels=list(record.channels),
            capacity_per_day=record.capacity_per_day,
            priority=record.priority,
            handling_days=record.handling_days,
            safety_stock=record.safety_stock,
            active=record.active,
            erp_id=record.erp_id,
            time_zone=str(location_zone(record)),
            hours=[
                OpeningPeriod(day=o.day, opens=f"{o.opens:%H:%M}", closes=f"{o.closes:%H:%M}")
                for o in opening_hours(record)
            ],
            feed_max_age_minutes=record.feed_max_age_minutes,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Location | None:
        if not principal(info).can(Permission.READ_LOCATIONS):
            return None
        found = await info.context.loaders.location_by_id.load(str(id))
        return cls.from_model(found) if found else None


@strawberry.type(description="The storefront's record of a customer (BigCommerce).")
class StorefrontProfile:
    id: strawberry.ID
    first_name: str | None
    last_name: str | None
    phone: str | None
    company: str | None
    customer_group_id: int | None
    addresses: list[Address]

    @classmethod
    def from_connector(cls, found: StorefrontCustomer) -> StorefrontProfile:
        return cls(
            id=strawberry.ID(str(found.id)),
            first_name=found.first_name or None,
            last_name=found.last_name or None,
            phone=found.phone or None,
            company=found.company or None,
            customer_group_id=found.customer_group_id or None,
            addresses=[Address.of(a) for a in found.addresses],
        )


@dataclass(frozen=True)
class Looked:
    """A customer's storefront record as read with their page: `found` (None: the storefront does
    not know them), or the `failure` that kept the storefront from answering."""

    found: StorefrontCustomer | None
    failure: UpstreamFailed | None = None


@strawberry.federation.type(keys=["id"], name="Customer")
class Customer:
    id: strawberry.ID
    email: str
    first_name: str | None
    last_name: str | None
    own_name: strawberry.Private[str]
    phone: str | None
    created_at: datetime
    email_opt_out: bool = strawberry.field(
        description="Whether they opted out of non-essential email (delivered, picked up); essential "
        "email (confirmation, shipping, pickup, cancellation, returns, refunds) always goes."
    )
    looked: strawberry.Private[Looked | None] = None  # their storefront record, read with their page
    record: strawberry.Private[CustomerRecord | None] = None  # their fields, read when asked for

    @strawberry.field(description="Staff notes on the customer, oldest first.")
    async def notes(self, info: Info) -> list[Note]:
        return await notes_of(info, TargetKind.CUSTOMER, str(self.id))

    @strawberry.field(description="Staff tags on the customer, as added.")
    async def tags(self, info: Info) -> list[str]:
        return await tags_of(info, TargetKind.CUSTOMER, str(self.id))

    @strawberry.field(
        description="Their name as the storefront has it (customers live there), else as they gave it "
        "to us, else their email. Never fails: with the storefront down it is ours.",
        graphql_type=str,
    )
    def display_name(self, info: Info) -> str | Awaitable[str]:
        if self.looked is not None:
            return self._name(self.looked.found)
        return self._display_name(info)

    async def _display_name(self, info: Info) -> str:
        try:
            found = await info.context.loaders.storefront_customer_by_email.load(self.email)
        except UpstreamFailed:
            found = None
        return self._name(found)

    def _name(self, found: StorefrontCustomer | None) -> str:
        name = " ".join(part for part in (found.first_name, found.last_name) if part) if found else ""
        return name or self.own_name

    @strawberry.field(description="How many orders they placed, from any channel.")
    async def order_count(self, info: Info) -> int:
        count, _ = await info.context.loaders.customer_totals_by_id.load(str(self.id))
        return int(count)

    @strawberry.field(description="What their orders add up to, cancelled ones left out.")
    async def lifetime_value(self, info: Info) -> Money:
        _, value = await info.context.loaders.customer_totals_by_id.load(str(self.id))
        return Money.of(value, info.context.services.policy.currency)

    @strawberry.field(
        description="Loyalty points: earned as money is captured, taken back as it is refunded. "
        "Customers see their own; staff who look customers up see anyone's (others: FORBIDDEN)."
    )
    def loyalty(self, info: Info) -> LoyaltyAccount | None:
        loyalty.check_access(principal(info), self.email)
        return LoyaltyAccount(customer_id=str(self.id))

    @strawberry.field(
        description="The storefront's record (name, phone, addresses, group), joined by email; one "
        "storefront request serves a whole page. Null when the storefront does not know them; when it "
        "cannot be reached, null with an UPSTREAM_UNAVAILABLE error for this field.",
        graphql_type=StorefrontProfile | None,
    )
    def storefront(self, info: Info) -> StorefrontProfile | Awaitable[StorefrontProfile | None] | None:
        if self.looked is None:
            return self._storefront(info)
        if self.looked.failure is not None:
            raise self.looked.failure
        found = self.looked.found
        return StorefrontProfile.from_connector(found) if found is not None else None

    async def _storefront(self, info: Info) -> StorefrontProfile | None:
        found = await info.context.loaders.storefront_customer_by_email.load(self.email)
        return StorefrontProfile.from_connector(found) if found is not None else None

    @classmethod
    def from_model(cls, record: CustomerRecord, looked: Looked | None = None) -> Customer:
        return lazily(cls, record=record, looked=looked)

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Customer | None:
        return cls.from_model(await catalog.customer(info.context.services, principal(info), str(id)))


read_lazily(
    Customer,
    "record",
    ["id", "email", "first_name", "last_name", "phone", "created_at", "email_opt_out"],
    own_name="display_name",
)
